"""Proportion CIs and diagnostic metrics at a fixed threshold."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from her2mri.stats import StatsInputError, diagnostic_metrics, proportion_ci

RTOL = 1e-6


@pytest.mark.parametrize("method", ["wilson", "clopper_pearson"])
def test_proportion_ci_matches_r(r_ref, method):
    """binom.test(x, n)$conf.int (Clopper–Pearson) and prop.test(x, n, correct = FALSE)$conf.int (Wilson)."""
    for case in r_ref["proportions"]:
        res = proportion_ci(case["x"], case["n"], method=method)
        assert_allclose([res.ci_low, res.ci_high], case[method], rtol=RTOL, atol=1e-12)


def test_diagnostic_metrics_counts_and_threshold_inclusive():
    y = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    s = np.array([0.9, 0.5, 0.2, 0.5, 0.1, 0.3, 0.7, 0.8])
    res = diagnostic_metrics(y, s, 0.5)
    assert (res.tp, res.fn, res.fp, res.tn) == (3, 1, 2, 2)
    assert res.sensitivity.estimate == pytest.approx(0.75)
    assert res.ppv.n == 5
    assert res.npv.n == 3
    assert res.to_frame()["metric"].tolist() == ["sensitivity", "specificity", "accuracy", "ppv", "npv"]
    low = diagnostic_metrics(y, -s, -0.5, direction="<")
    assert (low.tp, low.fp) == (res.tp, res.fp)


def test_diagnostic_metrics_bootstrap_ci_reproducible_and_contains_estimate(rng):
    y = rng.integers(0, 2, 300)
    s = y + rng.normal(size=300)
    a = diagnostic_metrics(y, s, 0.5, n_resamples=400, random_state=7)
    b = diagnostic_metrics(y, s, 0.5, n_resamples=400, random_state=7)
    assert a.to_dict() == b.to_dict()
    for name in ("sensitivity", "specificity", "accuracy", "ppv", "npv"):
        e = getattr(a, name)
        assert e.ci_low <= e.estimate <= e.ci_high
        assert "bootstrap" in e.method


def test_diagnostic_metrics_zero_denominator_is_nan():
    res = diagnostic_metrics([1, 0, 0], [0.1, 0.2, 0.3], 0.9)
    assert np.isnan(res.ppv.estimate)
    assert res.to_dict()["ppv"]["estimate"] is None


def test_proportion_ci_rejects_x_above_n():
    with pytest.raises(StatsInputError, match="0 <= x <= n"):
        proportion_ci(5, 3)


def test_diagnostic_metrics_infinite_threshold_calls_all_or_none() -> None:
    """Youden's J can pick pROC's -Inf end point; the metrics then describe calling every case positive."""
    from her2mri.stats import diagnostic_metrics

    y = np.array([0, 0, 1, 1, 1])
    s = np.array([0.2, 0.4, 0.1, 0.9, 0.3])
    every = diagnostic_metrics(y, s, -np.inf)
    assert (every.tp, every.fp, every.tn, every.fn) == (3, 2, 0, 0)
    none = diagnostic_metrics(y, s, np.inf)
    assert (none.tp, none.fp, none.tn, none.fn) == (0, 0, 2, 3)
    with pytest.raises(ValueError, match="threshold"):
        diagnostic_metrics(y, s, float("nan"))
