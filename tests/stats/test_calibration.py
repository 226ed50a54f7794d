"""Calibration: rms::val.prob parity, curves, Hosmer–Lemeshow, optimism correction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn.linear_model import LogisticRegression

from her2mri.exceptions import StatisticalWarning
from her2mri.stats import (
    StatsInputError,
    calibration,
    calibration_curve,
    hosmer_lemeshow,
    logistic_recalibration,
    optimism_corrected,
)

RTOL = 1e-6


def test_calibration_val_prob_matches_r(r_ref, r_csv):
    """rms::val.prob(p, y): Intercept, Slope, Brier, Emax, E90, Eavg, C (ROC), Dxy, R2; CITL from
    glm(y ~ offset(qlogis(p)), family = binomial)."""
    d = r_csv("calibration")
    res = calibration(d["y"], d["p"])
    ref = r_ref["calibration"]
    for field in ("intercept", "slope", "brier", "emax", "e90", "eavg", "c_index", "dxy", "r2_nagelkerke",
                  "calibration_in_the_large"):
        assert_allclose(getattr(res, field), ref[field], rtol=RTOL, err_msg=field)


def test_calibration_curve_binned_counts_and_loess(r_csv):
    d = r_csv("calibration")
    binned = calibration_curve(d["y"], d["p"], n_bins=10)
    assert binned.counts.sum() == len(d)
    assert np.all(binned.ci_low <= binned.observed)
    assert np.all(binned.observed <= binned.ci_high)
    uniform = calibration_curve(d["y"], d["p"], n_bins=5, strategy="uniform")
    assert uniform.counts.sum() == len(d)
    smooth = calibration_curve(d["y"], d["p"], method="loess")
    assert np.all(np.diff(smooth.predicted) > 0)
    assert smooth.to_frame().shape[1] == 3


def test_hosmer_lemeshow_well_calibrated_large_sample_not_rejected():
    rng = np.random.default_rng(11)
    p = rng.uniform(0.05, 0.95, 4000)
    y = rng.binomial(1, p)
    res = hosmer_lemeshow(y, p)
    assert res.df == 8
    assert res.pvalue > 0.001
    assert_allclose(res.observed.sum(), y.sum())


def test_hosmer_lemeshow_small_expected_counts_warns():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.001, 0.02, 100)
    y = rng.binomial(1, p)
    y[0] = 1
    with pytest.warns(StatisticalWarning, match="expected counts"):
        hosmer_lemeshow(y, p)


def test_calibration_rejects_probabilities_outside_unit_interval():
    with pytest.raises(StatsInputError, match=r"\[0, 1\]"):
        calibration([0, 1], [0.2, 1.3])


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000))
def test_logistic_recalibration_perfect_probabilities_slope_near_one(seed):
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-rng.normal(0, 1.5, 20_000)))
    y = rng.binomial(1, p)
    intercept, slope, citl = logistic_recalibration(y, p)
    assert slope == pytest.approx(1.0, abs=0.08)
    assert abs(intercept) < 0.08
    assert abs(citl) < 0.08


def test_optimism_corrected_logistic_shrinks_apparent_performance():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(150, 12))
    y = rng.binomial(1, 1 / (1 + np.exp(-(0.8 * X[:, 0]))))
    est = LogisticRegression(C=100.0, max_iter=500)
    res = optimism_corrected(est, X, y, n_resamples=15, random_state=3)
    assert res.metrics == ("auc", "slope", "brier")
    assert res.get("auc") < res.apparent[0]
    assert res.get("slope") < 1.0
    assert res.get("brier") > res.apparent[2]
    again = optimism_corrected(est, X, y, n_resamples=15, random_state=3)
    assert np.array_equal(res.corrected, again.corrected)
