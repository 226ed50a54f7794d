"""ICC and Cohen's kappa: psych parity."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from statsmodels.stats.inter_rater import cohens_kappa

from her2mri.stats import StatsInputError, cohen_kappa, icc

RTOL = 1e-6


@pytest.mark.parametrize(("key", "ncols"), [("icc_two_raters", 2), ("icc_three_raters", 3)])
def test_icc_all_forms_matches_r(r_ref, r_csv, key, ncols):
    """psych::ICC(x, lmer = FALSE)$results — ICC, F, p and bounds for all six Shrout–Fleiss forms."""
    ratings = r_csv("icc").iloc[:, :ncols].to_numpy()
    res = icc(ratings)
    for form, ref in zip(res.forms, r_ref[key], strict=True):
        assert form.type == ref["type"]
        assert_allclose([form.estimate, form.statistic, form.ci_low, form.ci_high],
                        [ref["icc"], ref["f"], ref["lower"], ref["upper"]], rtol=RTOL)
        assert_allclose(form.pvalue, ref["p"], rtol=RTOL)


def test_icc_get_accepts_aliases_and_default_is_icc2(r_csv):
    res = icc(r_csv("icc").to_numpy())
    assert res.get("ICC(2,1)") is res.get("ICC2")
    assert res.estimate == res.get("ICC2").estimate
    assert res.to_frame().shape[0] == 6
    with pytest.raises(ValueError, match="not found"):
        res.get("ICC9")


def test_icc_rejects_missing_values():
    with pytest.raises(StatsInputError, match="missing"):
        icc(np.array([[1.0, 2.0], [np.nan, 3.0], [2.0, 2.5]]))


def test_cohen_kappa_unweighted_matches_r(r_ref, r_csv):
    """psych::cohen.kappa(cbind(a, b))$kappa and $confid[1, ]."""
    d = r_csv("kappa")
    res = cohen_kappa(d["reader1"], d["reader2"])
    assert_allclose(res.estimate, r_ref["kappa"]["unweighted"], rtol=RTOL)
    assert_allclose([res.ci_low, res.ci_high], r_ref["kappa"]["unweighted_ci"], rtol=RTOL)


def test_cohen_kappa_quadratic_psych_se_matches_r(r_ref, r_csv):
    """psych::cohen.kappa(cbind(a, b))$weighted.kappa and $confid[2, ] (psych's SE, se_method="psych")."""
    d = r_csv("kappa")
    res = cohen_kappa(d["reader1"], d["reader2"], weights="quadratic", se_method="psych")
    assert_allclose(res.estimate, r_ref["kappa"]["weighted_quadratic"], rtol=RTOL)
    assert_allclose([res.ci_low, res.ci_high], r_ref["kappa"]["weighted_ci"], rtol=RTOL)


def test_cohen_kappa_weighted_default_se_is_fleiss_cohen_everitt(r_ref, r_csv):
    """Documented relation: same estimate as psych, SE of Fleiss-Cohen-Everitt (= statsmodels), wider CI."""
    d = r_csv("kappa")
    table = np.zeros((4, 4))
    np.add.at(table, (d["reader1"] - 1, d["reader2"] - 1), 1)
    for weights in ("linear", "quadratic"):
        res = cohen_kappa(d["reader1"], d["reader2"], weights=weights)
        sm = cohens_kappa(table, wt=weights)
        assert_allclose([res.estimate, res.se], [sm.kappa, sm.std_kappa], rtol=1e-10)
    res = cohen_kappa(d["reader1"], d["reader2"], weights="quadratic")
    assert res.estimate == pytest.approx(r_ref["kappa"]["weighted_quadratic"], rel=RTOL)
    assert res.ci_high - res.ci_low > np.diff(r_ref["kappa"]["weighted_ci"])[0]


def test_cohen_kappa_perfect_agreement_is_one():
    res = cohen_kappa(["a", "b", "c", "a"], ["a", "b", "c", "a"])
    assert res.estimate == pytest.approx(1.0)
