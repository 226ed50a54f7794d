"""ROC, DeLong and Youden: pROC parity and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from her2mri.stats import (
    StatsInputError,
    auc,
    auc_ci,
    delong_covariance,
    delong_matrix,
    delong_test,
    delong_test_unpaired,
    p_adjust,
    roc_curve,
    youden_threshold,
)

RTOL = 1e-6


def test_auc_ci_delong_matches_r(r_ref, r_csv):
    """pROC: auc(r), var(r, method = "delong"), ci.auc(r, method = "delong") with direction = "<"."""
    d = r_csv("roc")
    ref = r_ref["roc"]
    for col, key in (("score1", "auc1"), ("score2", "auc2")):
        res = auc_ci(d["y"], d[col])
        assert_allclose(res.estimate, ref[key], rtol=RTOL)
        assert_allclose(res.variance, ref[f"{key}_var_delong"], rtol=RTOL)
        assert_allclose([res.ci_low, res.ci_high], ref[f"{key}_ci"], rtol=RTOL)


def test_delong_test_paired_matches_r(r_ref, r_csv):
    """pROC: roc.test(r1, r2, method = "delong", paired = TRUE)."""
    d = r_csv("roc")
    res = delong_test(d["y"], d["score1"], d["score2"])
    assert_allclose(res.statistic, r_ref["roc"]["paired_delong_z"], rtol=RTOL)
    assert_allclose(res.pvalue, r_ref["roc"]["paired_delong_p"], rtol=RTOL)
    assert res.ci_low < res.difference < res.ci_high


def test_delong_test_unpaired_matches_r(r_ref, r_csv):
    """pROC: roc.test(ru1, ru2, method = "delong", paired = FALSE) — Welch t with Satterthwaite df."""
    d = r_csv("roc")
    half = np.arange(len(d)) < len(d) // 2
    res = delong_test_unpaired(d["y"][half], d["score1"][half], d["y"][~half], d["score2"][~half])
    ref = r_ref["roc"]
    assert_allclose(res.statistic, ref["unpaired_delong_d"], rtol=RTOL)
    assert_allclose(res.df, ref["unpaired_delong_df"], rtol=RTOL)
    assert_allclose(res.pvalue, ref["unpaired_delong_p"], rtol=RTOL)


def test_youden_threshold_midpoint_matches_r(r_ref, r_csv):
    """pROC: coords(r1, "best", best.method = "youden") — midpoint threshold, score >= t positive."""
    d = r_csv("roc")
    res = youden_threshold(d["y"], d["score1"])
    ref = r_ref["roc"]
    assert_allclose(res.threshold, ref["youden_threshold"], rtol=RTOL)
    assert_allclose(res.sensitivity, ref["youden_sensitivity"], rtol=RTOL)
    assert_allclose(res.specificity, ref["youden_specificity"], rtol=RTOL)


def test_delong_matrix_pairs_equal_paired_test_and_adjust(r_csv):
    d = r_csv("roc")
    rng = np.random.default_rng(3)
    scores = {"a": d["score1"], "b": d["score2"], "c": d["score1"] + rng.normal(size=len(d))}
    res = delong_matrix(d["y"], scores, correction="holm")
    for i, j in ((0, 1), (0, 2), (1, 2)):
        names = res.names
        single = delong_test(d["y"], scores[names[i]], scores[names[j]])
        assert_allclose(res.pvalues[i, j], single.pvalue, rtol=1e-12)
        assert_allclose(res.pvalues[j, i], single.pvalue, rtol=1e-12)
    iu = np.triu_indices(3, 1)
    assert_allclose(res.pvalues_adjusted[iu], p_adjust(res.pvalues[iu], "holm"))
    assert np.all(np.diag(res.pvalues) == 1.0)
    assert res.to_frame().shape == (3, 7)
    assert res.matrix().loc["a", "b"] == res.pvalues_adjusted[0, 1]


def test_delong_covariance_direction_reverses_auc(r_csv):
    d = r_csv("roc")
    a1, _ = delong_covariance(d["y"], np.vstack([d["score1"], d["score2"]]))
    a2, _ = delong_covariance(d["y"], np.vstack([d["score1"], d["score2"]]), direction="<")
    assert_allclose(a1 + a2, 1.0)


def test_roc_curve_endpoints_and_auc_by_trapezoid(r_csv):
    d = r_csv("roc")
    res = roc_curve(d["y"], d["score1"])
    assert (res.fpr[0], res.tpr[0]) == (0.0, 0.0)
    assert (res.fpr[-1], res.tpr[-1]) == (1.0, 1.0)
    assert np.all(np.diff(res.fpr) >= 0)
    assert np.all(np.diff(res.tpr) >= 0)
    assert_allclose(np.trapezoid(res.tpr, res.fpr), res.auc, rtol=1e-12)
    assert res.to_dict()["thresholds"][0] is None  # +inf is not JSON


def test_youden_threshold_lower_direction_reports_original_scale():
    y = np.array([1, 1, 1, 0, 0, 0])
    s = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    res = youden_threshold(y, s, direction="<")
    assert res.threshold == pytest.approx(0.5)
    assert res.sensitivity == 1.0
    assert res.specificity == 1.0


def test_auc_ci_rejects_single_class():
    with pytest.raises(StatsInputError, match="at least one positive"):
        auc_ci([1, 1, 1], [0.1, 0.2, 0.3])


def test_auc_ci_rejects_bad_labels_and_direction():
    with pytest.raises(StatsInputError, match="only 0"):
        auc_ci([0, 2, 1], [0.1, 0.2, 0.3])
    with pytest.raises(StatsInputError, match="'direction' parameter"):
        auc_ci([0, 1, 1], [0.1, 0.2, 0.3], direction="auto")
    with pytest.raises(StatsInputError, match="same length"):
        auc_ci([0, 1, 1], [0.1, 0.2])


@st.composite
def _labelled_scores(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(4, 60))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda v: 0 < sum(v) < len(v)))
    s = draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n))  # small integers: many ties
    return np.array(y), np.array(s, dtype=float)


@settings(max_examples=60, deadline=None)
@given(_labelled_scores())
def test_auc_reversed_scores_is_one_minus_auc(data):
    y, s = data
    assert auc(y, -s) == pytest.approx(1 - auc(y, s), abs=1e-12)
    assert auc(y, s, direction="<") == pytest.approx(1 - auc(y, s), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(_labelled_scores())
def test_auc_ci_variance_nonnegative_and_ci_contains_estimate(data):
    y, s = data
    res = auc_ci(y, s)
    if min(res.n_pos, res.n_neg) < 2:  # a single case in a class: no DeLong variance, NaN as pROC's NA
        assert np.isnan(res.variance)
        assert np.isnan(res.ci_low)
        assert np.isnan(res.ci_high)
        return
    assert res.variance >= -1e-15
    assert res.ci_low <= res.estimate <= res.ci_high
    _, cov = delong_covariance(y, np.vstack([s, s + np.arange(s.size) % 3]))
    assert np.all(np.linalg.eigvalsh(cov) >= -1e-12)
