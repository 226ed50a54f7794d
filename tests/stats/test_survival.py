"""Survival: survfit, survdiff, coxph parity; fixed cut-offs."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from her2mri.stats import (
    StatsInputError,
    cox_ph,
    kaplan_meier,
    logrank_test,
    score_cutoff,
    stratify_by_score,
)

RTOL = 1e-6


def test_kaplan_meier_log_ci_matches_r(r_ref, r_csv):
    """summary(survfit(Surv(time, event) ~ grp), times = c(12, 24, 36, 60)) — conf.type = "log"."""
    d = r_csv("survival")
    ref = r_ref["survival"]
    surv, low, high = [], [], []
    for g in (0, 1):
        at = kaplan_meier(d["time"][d["group"] == g], d["event"][d["group"] == g]).at([12, 24, 36, 60])
        surv += at["survival"].tolist()
        low += at["ci_low"].tolist()
        high += at["ci_high"].tolist()
    assert_allclose(surv, ref["km_surv"], rtol=RTOL)
    assert_allclose(low, ref["km_lower"], rtol=RTOL)
    assert_allclose(high, ref["km_upper"], rtol=RTOL)


def test_logrank_test_matches_r(r_ref, r_csv):
    """survdiff(Surv(time, event) ~ grp)$chisq and 1 - pchisq(chisq, 1)."""
    d = r_csv("survival")
    res = logrank_test(d["time"], d["event"], d["group"])
    assert_allclose(res.statistic, r_ref["survival"]["logrank_chisq"], rtol=RTOL)
    assert_allclose(res.pvalue, r_ref["survival"]["logrank_p"], rtol=RTOL)


def test_cox_ph_matches_r(r_ref, r_csv):
    """coxph(Surv(time, event) ~ score) (Efron): exp(coef), exp(confint), Wald p, concordance."""
    d = r_csv("survival")
    res = cox_ph(d["time"], d["event"], d["score"])
    ref = r_ref["survival"]
    assert_allclose(res.hazard_ratio, ref["cox_score_hr"], rtol=RTOL)
    assert_allclose([res.ci_low, res.ci_high], ref["cox_score_hr_ci"], rtol=RTOL)
    assert_allclose(res.pvalue, ref["cox_score_wald_p"], rtol=RTOL)
    assert_allclose(res.concordance, ref["concordance"], rtol=RTOL)


def test_kaplan_meier_no_censoring_equals_empirical_survival():
    t = np.array([1.0, 2, 3, 4, 5])
    res = kaplan_meier(t, np.ones(5))
    assert_allclose(res.survival, [0.8, 0.6, 0.4, 0.2, 0.0])
    assert np.isnan(res.ci_low[-1])
    assert np.all(res.ci_high[:-1] <= 1)


def test_stratify_by_score_uses_training_cutoff():
    train = np.array([0.1, 0.4, 0.5, 0.9])
    cut = score_cutoff(train)
    assert cut == pytest.approx(0.45)
    assert stratify_by_score([0.45, 0.2, 0.8], cut).tolist() == ["high", "low", "high"]
    youden = score_cutoff(train, method="youden", y_train=[0, 0, 1, 1])
    assert youden == pytest.approx(0.45)
    with pytest.raises(StatsInputError, match="y_train"):
        score_cutoff(train, method="youden")
