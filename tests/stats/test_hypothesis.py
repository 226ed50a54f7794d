"""Classical tests against R's stats and car, and p-value adjustment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from her2mri.stats import (
    FisherTooLargeError,
    anova_oneway,
    categorical_test,
    chi_square,
    fisher_exact,
    kruskal_wallis,
    levene,
    mann_whitney,
    p_adjust,
    shapiro_wilk,
    t_test,
)

RTOL = 1e-6


@pytest.fixture
def t1(r_csv):  # type: ignore[no-untyped-def]
    d = r_csv("table1")
    d["two"] = d["her2"] != "zero"
    return d


def _by(d, col, grp):  # type: ignore[no-untyped-def]
    return [d.loc[d[grp] == g, col].to_numpy() for g in sorted(d[grp].unique())]


def test_anova_and_kruskal_matches_r(r_ref, t1):
    """summary(aov(age ~ her2)) and kruskal.test(size_mm ~ her2)."""
    assert_allclose(anova_oneway(*_by(t1, "age", "her2")).pvalue, r_ref["tests"]["age_anova_p"], rtol=RTOL)
    assert_allclose(kruskal_wallis(*_by(t1, "size_mm", "her2")).pvalue, r_ref["tests"]["size_kruskal_p"],
                    rtol=RTOL)


def test_chi_square_and_fisher_matches_r(r_ref, t1):
    """chisq.test (3x2, 3x3, 2x2 with/without Yates) and fisher.test (3x2 r×c, 2x2)."""
    ref = r_ref["tests"]
    assert_allclose(chi_square(pd.crosstab(t1["her2"], t1["edema"])).pvalue, ref["edema_chisq_3x2_p"], rtol=RTOL)
    assert_allclose(chi_square(pd.crosstab(t1["her2"], t1["shape"])).pvalue, ref["shape_chisq_3x3_p"], rtol=RTOL)
    assert_allclose(fisher_exact(pd.crosstab(t1["her2"], t1["rare"])).pvalue, ref["rare_fisher_3x2_p"], rtol=RTOL)
    two = pd.crosstab(t1["two"], t1["edema"])
    assert_allclose(chi_square(two).pvalue, ref["edema_chisq_2x2_yates_p"], rtol=RTOL)
    assert_allclose(chi_square(two, correction=False).pvalue, ref["edema_chisq_2x2_nocorrect_p"], rtol=RTOL)
    assert_allclose(fisher_exact(two).pvalue, ref["edema_fisher_2x2_p"], rtol=RTOL)


def test_two_sample_tests_matches_r(r_ref, t1):
    """t.test (Welch and var.equal = TRUE), wilcox.test(exact = FALSE, correct = TRUE)."""
    ref = r_ref["tests"]
    a, b = (t1.loc[~t1["two"], "age"], t1.loc[t1["two"], "age"])
    assert_allclose(t_test(a, b).pvalue, ref["age_welch_t_p"], rtol=RTOL)
    assert_allclose(t_test(a, b, equal_var=True).pvalue, ref["age_student_t_p"], rtol=RTOL)
    sa, sb = (t1.loc[~t1["two"], "size_mm"], t1.loc[t1["two"], "size_mm"])
    assert_allclose(mann_whitney(sa, sb).pvalue, ref["size_mannwhitney_p"], rtol=RTOL)


def test_shapiro_and_levene_matches_r(r_ref, t1):
    """shapiro.test(age) and car::leveneTest(age ~ factor(her2), center = median)."""
    assert_allclose(shapiro_wilk(t1["age"]).pvalue, r_ref["tests"]["age_shapiro_p"], rtol=RTOL)
    assert_allclose(levene(*_by(t1, "age", "her2")).pvalue, r_ref["tests"]["age_levene_median_p"], rtol=RTOL)


def test_p_adjust_matches_r(r_ref):
    """p.adjust(p, "BH") and p.adjust(p, "bonferroni")."""
    raw = r_ref["fdr"]["raw"]
    assert_allclose(p_adjust(raw, "bh"), r_ref["fdr"]["bh"], rtol=RTOL)
    assert_allclose(p_adjust(raw, "bonferroni"), r_ref["fdr"]["bonferroni"], rtol=RTOL)


def test_p_adjust_holm_known_values_and_nan_kept():
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.2), "holm") = 0.04 0.09 0.09 0.20
    assert_allclose(p_adjust([0.01, 0.04, 0.03, 0.2], "holm"), [0.04, 0.09, 0.09, 0.2])
    out = p_adjust([0.01, np.nan, 0.02], "bonferroni")
    assert np.isnan(out[1])
    assert out[0] == pytest.approx(0.02)


def test_fisher_exact_rxc_equals_2x2_path_on_2x2():
    table = np.array([[3, 7], [9, 2]])
    from her2mri.stats.hypothesis import _log_prob_tables

    rows, cols = table.sum(axis=1), table.sum(axis=0)
    logp = _log_prob_tables(rows, cols)
    assert np.exp(logp).sum() == pytest.approx(1.0)


def test_fisher_exact_too_large_raises_and_categorical_test_falls_back(monkeypatch):
    import her2mri.stats.hypothesis as hyp

    monkeypatch.setattr(hyp, "FISHER_MAX_TABLES", 10)
    table = np.array([[1, 5, 9], [4, 2, 8], [6, 3, 1]])
    with pytest.raises(FisherTooLargeError, match="too large|more than"):
        fisher_exact(table)
    with pytest.warns(UserWarning, match="too large"):
        res = categorical_test(table)
    assert "Fisher infeasible" in res.method


def test_test_result_unpacks_statistic_pvalue():
    stat, p = t_test([1.0, 2.0, 3.0, 4.0], [2.0, 3.5, 4.0, 6.0])
    assert 0 < p < 1
    assert stat < 0
