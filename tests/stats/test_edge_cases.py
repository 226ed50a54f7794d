"""Edge cases of the statistics API: R's conventions at the boundaries and the package's own errors.

Where no R answer was computed the expected values are derived by hand from the documented R algorithm
(named in each test).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import LogisticRegression

from her2mri.exceptions import FitError, Her2MriError, StatisticalWarning
from her2mri.stats import (
    StatsInputError,
    auc,
    auc_ci,
    bootstrap_ci,
    calibration,
    calibration_curve,
    chi_square,
    cohen_kappa,
    delong_matrix,
    delong_test,
    delong_test_unpaired,
    diagnostic_metrics,
    hosmer_lemeshow,
    icc,
    logrank_test,
    optimism_corrected,
    p_adjust,
    proportion_ci,
    resample_counts,
    t_test,
)

RTOL = 1e-6


# ---- 1. calibration C / Dxy: exact (somers2) vs rms::lrm.fit's 5,001 bins ------------------------------


def test_calibration_concordance_lrm_bins_matches_val_prob_on_reference(r_ref, r_csv):
    d = r_csv("calibration")
    ref = r_ref["calibration"]
    for concordance in ("exact", "lrm"):
        res = calibration(d["y"], d["p"], concordance=concordance)
        assert res.c_index == pytest.approx(ref["c_index"], rel=RTOL)
        assert res.dxy == pytest.approx(ref["dxy"], rel=RTOL)


def test_calibration_concordance_lrm_counts_pairs_in_one_bin_as_ties():
    # lrm.fit's bin is int(5000·p + 1): 0.30001 and 0.30002 share bin 1501, so the (positive, negative) pair
    # between them is a tie (½) instead of concordant. By hand, of the 9 pairs 6 are concordant (exact C 6/9,
    # as somers2); binned, one of them is a tie: C = 5.5/9, Dxy = 2C − 1
    y = [0, 1, 0, 1, 0, 1]
    p = [0.30001, 0.30002, 0.1, 0.9, 0.8, 0.2]
    exact = calibration(y, p)
    binned = calibration(y, p, concordance="lrm")
    assert exact.c_index == pytest.approx(6 / 9, rel=1e-12)
    assert binned.c_index == pytest.approx(5.5 / 9, rel=1e-12)
    assert binned.dxy == pytest.approx(2 * 5.5 / 9 - 1, rel=1e-12)
    assert binned.slope == exact.slope
    assert binned.brier == exact.brier
    with pytest.raises(StatsInputError, match="'concordance'"):
        calibration(y, p, concordance="binned")


# ---- 2. auc_ci with a single case in a class → NaN interval (pROC: NA) ----------------------------------


def test_auc_ci_single_case_in_a_class_gives_nan_interval():
    res = auc_ci([1] + [0] * 9, [5, 0, 1, 2, 3, 4, 5, 6, 7, 8])
    assert res.estimate == pytest.approx(5.5 / 9)  # the AUC itself is defined
    assert np.isnan(res.variance)
    assert np.isnan(res.ci_low)
    assert np.isnan(res.ci_high)
    assert res.n_pos == 1


def test_delong_tests_single_case_in_a_class_give_nan():
    y = [1, 0, 0, 0, 0]
    s1, s2 = [3, 1, 2, 4, 0], [4, 3, 1, 0, 2]
    paired = delong_test(y, s1, s2)
    assert np.isnan(paired.pvalue)
    assert np.isnan(paired.statistic)
    assert np.isnan(paired.ci_low)
    unpaired = delong_test_unpaired([0, 0, 1], [1, 2, 3], [0, 1, 1], [1, 2, 3])
    assert np.isnan(unpaired.pvalue)
    assert np.isnan(unpaired.df)
    mat = delong_matrix(y, {"a": s1, "b": s2, "c": [0, 1, 2, 3, 4]})
    assert np.isnan(mat.pvalues[0, 1])
    assert np.isnan(mat.pvalues_adjusted[0, 1])
    assert np.all(np.diag(mat.pvalues) == 1.0)


def test_delong_test_unpaired_zero_variance_like_paired():
    # both curves separate perfectly: V1 = V2 = 0, equal AUCs → t = 0, p = 1 (as delong_test), df undefined
    res = delong_test_unpaired([0, 0, 1, 1], [1, 2, 3, 4], [0, 0, 1, 1], [5, 6, 7, 8])
    assert res.statistic == 0.0
    assert res.pvalue == 1.0
    assert np.isnan(res.df)


# ---- 3. built-in exceptions become the package's error naming the argument -----------------------------


@pytest.mark.parametrize(
    ("call", "names"),
    [
        (lambda: logrank_test([1, 2, 3, 4], [0, 0, 0, 0], [0, 1, 0, 1]), "'event'"),
        (lambda: delong_matrix([0, 1, 0, 1], {"a": [1, 2, 3, 4], "b": [1, 2, 3]}), "'b'"),
        (lambda: auc([0, 1, 1], ["a", "b", "c"]), "'y_score'"),
        (lambda: icc([["a", 1], [2, 3]]), "'ratings'"),
        (lambda: icc([[1, 2], [3]]), "'ratings'"),
        (lambda: chi_square([["1", "x"], [3, 4]]), "'table'"),
        (lambda: t_test(["a", "b"], [1, 2]), "'group 1'"),
        (lambda: p_adjust(["0.1", "abc"]), "'pvalues'"),
        (lambda: proportion_ci(float("nan"), 10), "'x'"),
        (lambda: proportion_ci(3, "10"), "'n'"),
        (lambda: diagnostic_metrics([0, 1], [0.2, 0.8], None), "'threshold'"),
        (lambda: diagnostic_metrics([0, 1], [0.2, 0.8], "0.5"), "'threshold'"),
    ],
)
def test_bad_input_raises_package_error_naming_argument(call, names):
    with pytest.raises(StatsInputError) as info:
        call()
    assert isinstance(info.value, Her2MriError)
    assert isinstance(info.value, ValueError)
    assert names in str(info.value)


def test_logrank_singular_variance_is_fit_error():
    # group "a" is never at risk at an event time: survdiff leaves it out, and one group is left to compare
    with pytest.raises(FitError, match="at risk"):
        logrank_test([1, 2, 3, 4], [0, 0, 1, 1], ["a", "a", "b", "b"])


# ---- 4. silent wrong numbers -------------------------------------------------------------------------------


def test_logrank_drops_rows_with_missing_group_like_r():
    rng = np.random.default_rng(4)
    t = rng.exponential(10, 40).round(1)
    e = rng.binomial(1, 0.7, 40)
    g = rng.choice(["x", "y"], 40).astype(object)
    full = logrank_test(t, e, g)
    g_nan = g.copy()
    g_nan[[3, 17]] = np.nan
    g_nan[25] = None
    keep = np.ones(40, dtype=bool)
    keep[[3, 17, 25]] = False
    dropped = logrank_test(t, e, g_nan)
    assert dropped.n == 37
    assert dropped.df == 1.0  # not a third group "nan"
    expected = logrank_test(t[keep], e[keep], g[keep])
    assert dropped.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert dropped.pvalue == pytest.approx(expected.pvalue, rel=1e-12)
    assert full.n == 40
    pd_na = logrank_test(t, e, pd.Series(g_nan).where(pd.notna(g_nan), pd.NA))
    assert pd_na.statistic == pytest.approx(expected.statistic, rel=1e-12)


def test_cohen_kappa_uses_complete_pairs_like_psych():
    res = cohen_kappa([1, 2, np.nan, 1, 2, 2], [1, 2, 1, 1, 2, 2])
    assert res.estimate == pytest.approx(1.0)
    assert res.n == 5
    same = cohen_kappa([1, 2, 1, 2, 2], [1, 2, 1, 2, 2])
    assert res.estimate == same.estimate
    assert res.se == same.se
    with_none = cohen_kappa(["a", None, "b", "a"], ["a", "b", "b", pd.NA])
    assert with_none.n == 2
    assert with_none.estimate == pytest.approx(1.0)


@pytest.mark.parametrize("conf_level", [2, 0, 1, -0.5, float("nan"), "0.95", None])
def test_calibration_curve_validates_conf_level(conf_level):
    with pytest.raises(StatsInputError, match="'conf_level'"):
        calibration_curve([0, 1, 0, 1], [0.1, 0.4, 0.6, 0.9], n_bins=2, conf_level=conf_level)


@pytest.mark.parametrize("n_resamples", [2.7, 0, -3, "10", True, float("nan"), None])
def test_bootstrap_n_resamples_must_be_positive_integer(n_resamples):
    y, s = [0, 1, 0, 1, 1, 0], [0.1, 0.8, 0.3, 0.6, 0.9, 0.2]
    with pytest.raises(StatsInputError, match="'n_resamples'"):
        bootstrap_ci(y, s, n_resamples=n_resamples, random_state=0)


def test_bootstrap_n_resamples_integral_float_accepted():
    y, s = [0, 1, 0, 1, 1, 0], [0.1, 0.8, 0.3, 0.6, 0.9, 0.2]
    a = bootstrap_ci(y, s, n_resamples=30.0, random_state=0)
    b = bootstrap_ci(y, s, n_resamples=30, random_state=0)
    assert a.n_resamples == 30
    assert np.array_equal(a.distribution, b.distribution)


@pytest.mark.parametrize("missing", [np.nan, None, pd.NA])
def test_missing_patient_ids_are_an_error_not_one_patient(missing):
    y = [0, 1, 0, 1, 1, 0]
    s = [0.1, 0.8, 0.3, 0.6, 0.9, 0.2]
    groups = np.array(["p1", "p2", missing, "p3", missing, "p4"], dtype=object)
    with pytest.raises(StatsInputError, match="'groups'.*position 2"):
        bootstrap_ci(y, s, n_resamples=10, groups=groups, random_state=0)
    with pytest.raises(StatsInputError, match="'groups'"):
        resample_counts(y, n_resamples=10, groups=groups, random_state=0)
    with pytest.raises(StatsInputError, match="'groups'"):
        diagnostic_metrics(y, s, 0.5, n_resamples=10, groups=groups, random_state=0)


# ---- 5. optimism_corrected: unstratified resampling as rms::validate ---------------------------------------


def test_optimism_corrected_unstratified_matches_manual_rms_validate_scheme():
    from sklearn.base import clone

    from her2mri.stats.calibration import _metrics

    rng = np.random.default_rng(8)
    X = rng.normal(size=(60, 3))
    y = rng.binomial(1, 1 / (1 + np.exp(-(X[:, 0]))))
    est = LogisticRegression(max_iter=500)
    res = optimism_corrected(est, X, y, n_resamples=6, random_state=5, stratify=False)
    # by hand: plain bootstrap resamples (class counts vary), refit, bootstrap minus test performance
    w = resample_counts(y, n_resamples=6, stratify=False, random_state=5)
    assert len({int(row @ y) for row in w}) > 1  # unstratified: the number of positives varies
    opt = []
    for row in w:
        idx = np.repeat(np.arange(y.size), row)
        model = clone(est).fit(X[idx], y[idx])
        opt.append(_metrics(y[idx], model.predict_proba(X[idx])[:, 1]) - _metrics(y, model.predict_proba(X)[:, 1]))
    assert_allclose(res.optimism, np.nanmean(opt, axis=0), rtol=1e-12)
    stratified = optimism_corrected(est, X, y, n_resamples=6, random_state=5)
    assert not np.allclose(stratified.optimism, res.optimism)  # the default keeps class counts fixed
    with pytest.raises(StatsInputError, match="'stratify'"):
        optimism_corrected(est, X, y, n_resamples=2, stratify="no")


# ---- 6. Hosmer–Lemeshow grouping as ResourceSelection::hoslem.test ------------------------------------------


def _hoslem_by_hand(y, p, breaks):
    """hoslem.test's statistic: Σ over both outcome columns of (O − E)²/E within cut(p, breaks) groups."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    lower = np.r_[-np.inf, breaks[1:-1]]
    upper = breaks[1:]
    stat, sizes = 0.0, []
    for lo, hi in zip(lower, upper, strict=True):
        m = (p > lo) & (p <= hi)
        if not m.any():  # R keeps the empty level and its 0/0 makes the statistic NaN; her2mri drops it
            continue
        sizes.append(int(m.sum()))
        for obs, exp in ((y[m].sum(), p[m].sum()), ((1 - y[m]).sum(), (1 - p[m]).sum())):
            stat += (obs - exp) ** 2 / exp
    return stat, sizes


def test_hosmer_lemeshow_quantile_groups_as_hoslem_test():
    # n = 12, g = 5: R quantile type 7 at index 1 + 11·(0, .2, .4, .6, .8, 1) = 1, 3.2, 5.4, 7.6, 9.8, 12
    # → breaks .01, .032, .054, .076, .098, .12 → groups of 3, 2, 2, 2, 3 (an equal-count split gives 3, 2, 3, 2, 2)
    p = np.arange(1, 13) / 100
    y = np.array([0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1])
    breaks = np.array([0.01, 0.032, 0.054, 0.076, 0.098, 0.12])
    stat, sizes = _hoslem_by_hand(y, p, breaks)
    assert sizes == [3, 2, 2, 2, 3]
    with pytest.warns(StatisticalWarning, match="expected counts"):
        res = hosmer_lemeshow(y, p, n_groups=5)
    assert res.counts.tolist() == sizes
    assert res.statistic == pytest.approx(stat, rel=1e-12)
    assert res.df == 3.0
    with pytest.warns(StatisticalWarning, match="expected counts"):
        old = hosmer_lemeshow(y, p, n_groups=5, grouping="equal_count")
    assert old.counts.tolist() == [3, 2, 3, 2, 2]


def test_hosmer_lemeshow_case_on_a_break_goes_to_lower_group_and_ties_merge_groups():
    # n = 11, g = 5: indices 1, 3, 5, 7, 9, 11 are data points; (b_k, b_k+1] puts x3, x5, ... in the lower group
    p = np.arange(1, 12) / 20
    y = np.array([0, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1])
    with pytest.warns(StatisticalWarning, match="expected counts"):
        res = hosmer_lemeshow(y, p, n_groups=5)
    assert res.counts.tolist() == [3, 2, 2, 2, 2]
    # heavy ties: unique(quantile) leaves the breaks .2, .32 (index 8.6: .2 + .6·(.4 − .2)), .4, .46 (index 16.2)
    # and .7, so (.2, .32] and (.4, .46] are empty and 3 groups remain; df stays g − 2 as in R
    p_tied = np.array([0.2] * 8 + [0.4] * 8 + [0.7] * 4)
    y_tied = np.array([0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1])
    with pytest.warns(StatisticalWarning, match="expected counts"):
        tied = hosmer_lemeshow(y_tied, p_tied, n_groups=10)
    breaks = np.unique(np.quantile(p_tied, np.linspace(0, 1, 11)))
    assert_allclose(breaks, [0.2, 0.32, 0.4, 0.46, 0.7])
    stat, sizes = _hoslem_by_hand(y_tied, p_tied, breaks)
    assert tied.counts.tolist() == sizes == [8, 8, 4]
    assert tied.statistic == pytest.approx(stat, rel=1e-12)
    assert tied.df == 8.0


@pytest.mark.filterwarnings("ignore::her2mri.exceptions.StatisticalWarning")
def test_hosmer_lemeshow_large_sample_without_ties_differs_from_equal_count_split():
    rng = np.random.default_rng(505)
    p = rng.uniform(0.05, 0.95, 505)
    y = rng.binomial(1, p)
    res = hosmer_lemeshow(y, p)
    breaks = np.unique(np.quantile(p, np.linspace(0, 1, 11)))
    stat, sizes = _hoslem_by_hand(y, p, breaks)
    assert res.counts.tolist() == sizes
    assert res.statistic == pytest.approx(stat, rel=1e-10)
    assert res.n_groups == 10
    assert res.counts.sum() == 505


def test_hosmer_lemeshow_constant_predictions_is_an_error_as_in_r():
    # unique(quantile(p)) is a single break; R's cut() then fails ("invalid number of intervals")
    with pytest.raises(StatsInputError, match="'p' are equal"):
        hosmer_lemeshow([0, 1, 0, 1, 1], [0.4] * 5, n_groups=3)


def test_fisher_exact_huge_counts_are_refused_not_hanging():
    # found by the fuzz test: n = 1e9 made the exact test run without end; 1e300 failed inside gammaln
    from her2mri.stats import FisherTooLargeError, categorical_test, fisher_exact

    with pytest.raises(FisherTooLargeError, match="chi_square"):
        fisher_exact([[1e9, 1], [0, 1]])
    with pytest.warns(StatisticalWarning, match="too large for Fisher"):
        assert categorical_test([[1e9, 1], [0, 1]]).pvalue < 1e-6
    with pytest.raises(StatsInputError, match="'table'"):
        chi_square([[1e300, 1], [0, 1]])
