"""Decision curves: net benefit parity with the R reference, summaries and bootstrap band."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from her2mri.stats import StatsInputError, clinical_impact, decision_curve, net_benefit, optimal_threshold


def test_decision_curve_net_benefit_matches_r(r_ref, r_csv):
    """R reference: nb = (sum(p >= t & y == 1) - sum(p >= t & y == 0) * t / (1 - t)) / n, and treat-all."""
    d = r_csv("calibration")
    ref = r_ref["decision_curve"]
    res = decision_curve(d["y"], d["p"], thresholds=ref["thresholds"])
    assert_allclose(res.net_benefit, ref["net_benefit_model"], rtol=1e-6, atol=1e-12)
    assert_allclose(res.net_benefit_all, ref["net_benefit_treat_all"], rtol=1e-6, atol=1e-12)
    assert_allclose(net_benefit(d["y"], d["p"], ref["thresholds"]), res.net_benefit)


def test_decision_curve_interventions_avoided_definition(r_csv):
    d = r_csv("calibration")
    res = decision_curve(d["y"], d["p"])
    t = res.thresholds
    assert_allclose(res.interventions_avoided, (res.net_benefit - res.net_benefit_all) / (t / (1 - t)) * 100)
    assert np.all(res.net_benefit_none == 0)
    lo, hi = res.best_range
    inside = (t >= lo) & (t <= hi)
    assert np.all(res.net_benefit[inside] > np.maximum(res.net_benefit_all[inside], 0))
    adv = res.net_benefit - np.maximum(res.net_benefit_all, 0)
    assert res.optimal_threshold == pytest.approx(t[np.argmax(adv)])


def test_optimal_threshold_none_when_model_never_helps():
    t = np.array([0.2, 0.4])
    assert optimal_threshold(t, np.array([-0.1, -0.2]), np.array([0.1, -0.3])) is None
    assert optimal_threshold(t, np.array([0.3, 0.2]), np.array([0.1, -0.3]), rule="max_net_benefit") == 0.2


def test_decision_curve_bootstrap_band_reproducible(r_csv):
    d = r_csv("calibration")
    a = decision_curve(d["y"], d["p"], n_resamples=200, random_state=4)
    b = decision_curve(d["y"], d["p"], n_resamples=200, random_state=4)
    assert np.array_equal(a.band_low, b.band_low)
    assert np.all(a.band_low <= a.band_high)
    assert "band_low" in a.to_frame().columns


def test_clinical_impact_counts_per_1000(r_csv):
    d = r_csv("calibration")
    res = clinical_impact(d["y"], d["p"], thresholds=[0.5])
    high = d["p"] >= 0.5
    assert res.n_high_risk[0] == pytest.approx(1000 * high.mean())
    assert res.n_high_risk_with_event[0] == pytest.approx(1000 * (high & (d["y"] == 1)).mean())


def test_decision_curve_rejects_threshold_one():
    with pytest.raises(StatsInputError, match="strictly between 0 and 1"):
        decision_curve([0, 1], [0.2, 0.7], thresholds=[0.5, 1.0])
