"""Survival analysis: Kaplan–Meier, log-rank test, Cox hazard ratio and concordance (R ``survival`` parity).

* :func:`kaplan_meier` — product-limit estimate at every distinct time, Greenwood standard error of
  ``log S`` (``Σ d/(n(n − d))``) and the log-transformed CI ``S·exp(±z·σ)`` with the upper bound capped at 1,
  which is ``survfit``'s default ``conf.type = "log"``.
* :func:`logrank_test` — ``survdiff(Surv(time, event) ~ group)`` (rho = 0), chi-square on k − 1 df.
* :func:`cox_ph` — ``coxph(Surv(time, event) ~ x)`` with Efron ties (R's default), Newton–Raphson; hazard ratio
  per unit of ``x`` with Wald CI and p; Harrell's concordance as ``coxph``'s ``concordance`` (pairs with tied
  event times are not comparable; ties in the linear predictor count ½; a censoring at the same time as an
  event is taken to come after it).
* :func:`score_cutoff` and :func:`stratify_by_score` — split a model score into "high"/"low" risk with a
  cut-off **fixed on the training data** (median or Youden of the training scores) and applied unchanged to
  validation sets. Never choose the cut-off on the set being tested (optimistic "minimum p-value" bias).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from her2mri.exceptions import FitError
from her2mri.stats._checks import (
    StatsInputError,
    as_binary,
    as_float_1d,
    as_float_scalar,
    as_labels,
    check_conf_level,
    check_param,
    check_same_length,
)
from her2mri.stats.results import CoxResult, KaplanMeierResult, TestResult

__all__ = ["concordance_index", "cox_ph", "kaplan_meier", "logrank_test", "score_cutoff", "stratify_by_score"]


def _surv_data(time: Any, event: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    t = as_float_1d(time, "time", where)
    e = as_binary(event, where, name="event")
    check_same_length(where, time=t, event=e)
    if np.any(t < 0):
        msg = f"{where}: 'time' must be non-negative (time since diagnosis or surgery); got min {t.min():g}."
        raise StatsInputError(msg)
    if t.size == 0:
        msg = f"{where}: no observations."
        raise StatsInputError(msg)
    return t, e


def kaplan_meier(time: Any, event: Any, *, conf_level: float = 0.95) -> KaplanMeierResult:
    """Kaplan–Meier survival with Greenwood SE and log-scale CI (R ``survfit(Surv(time, event) ~ 1)``).

    ``std_err`` is the standard error of the cumulative hazard / ``log S`` (R's ``$std.err``). Use
    ``result.at([12, 24, 36, 60])`` for R's ``summary(fit, times = ...)``.
    """
    where = "kaplan_meier"
    conf_level = check_conf_level(conf_level, where)
    t, e = _surv_data(time, event, where)
    times, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=e).astype(float)
    total = np.bincount(inv).astype(float)
    n_risk = total[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1 - d / n_risk)
        green = np.cumsum(np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0))
        se = np.sqrt(green)
        z = sps.norm.ppf(1 - (1 - conf_level) / 2)
        lower = np.where(surv > 0, surv * np.exp(-z * se), np.nan)
        upper = np.where(surv > 0, np.minimum(1.0, surv * np.exp(z * se)), np.nan)
    return KaplanMeierResult(time=times, n_risk=n_risk, n_event=d, n_censor=total - d, survival=surv,
                             std_err=se, ci_low=lower, ci_high=upper, conf_level=conf_level, conf_type="log",
                             n=int(t.size))


def logrank_test(time: Any, event: Any, group: Any) -> TestResult:
    """Log-rank test of equal survival across groups (R ``survdiff(Surv(time, event) ~ group)``).

    Rows whose ``group`` is missing (None, NaN, NA) are dropped, as R's default ``na.action`` does; ``n`` is the
    number of rows used. As ``survdiff``, groups with no expected events are left out of the chi-square and of its
    degrees of freedom (groups with expected events − 1). No events at all is an error.
    """
    where = "logrank_test"
    t, e = _surv_data(time, event, where)
    g = as_labels(group, "group", where, "group label")
    check_same_length(where, time=t, group=g)
    import pandas as pd

    keep = ~pd.isna(pd.Series(g, dtype=object)).to_numpy()
    t, e, g = t[keep], e[keep], g[keep]
    levels, gi = np.unique(np.array([str(v) for v in g], dtype=str), return_inverse=True)
    k = levels.size
    if k < 2:
        msg = (f"{where}: needs at least two groups with a non-missing label; got {levels.tolist()}. "
               "Pass a 'group' with two or more levels.")
        raise StatsInputError(msg)
    if not np.any(e == 1):
        msg = f"{where}: 'event' has no events (all 0) among the {t.size} rows used; the test is undefined."
        raise StatsInputError(msg)
    event_times = np.unique(t[e == 1])
    observed = np.zeros(k)
    expected = np.zeros(k)
    var = np.zeros((k, k))
    for tt in event_times:
        at_risk = t >= tt
        n_g = np.bincount(gi[at_risk], minlength=k).astype(float)
        d_g = np.bincount(gi[(t == tt) & (e == 1)], minlength=k).astype(float)
        n, d = n_g.sum(), d_g.sum()
        observed += d_g
        expected += d * n_g / n
        if n > 1:
            frac = n_g / n
            var += d * (n - d) / (n - 1) * (np.diag(frac) - np.outer(frac, frac))
    used = expected > 0  # survdiff: groups with no expected events do not enter the chi-square
    if used.sum() < 2:
        msg = (f"{where}: only group(s) {levels[used].tolist()} have cases at risk at the event times; the "
               "others have no expected events, so there is nothing to compare.")
        raise FitError(msg)
    df = int(used.sum()) - 1
    diff = (observed - expected)[used][1:]
    vv = var[np.ix_(used, used)][1:, 1:]
    try:
        stat = float(diff @ np.linalg.solve(vv, diff))
    except np.linalg.LinAlgError:
        msg = (f"{where}: the variance matrix of the observed-minus-expected events is singular (e.g. a group "
               "at risk only after the last event); the log-rank chi-square is undefined.")
        raise FitError(msg) from None
    return TestResult(statistic=stat, pvalue=float(sps.chi2.sf(stat, df)), method="log-rank (survdiff)",
                      df=float(df), n=int(t.size))


def _efron(beta: float, x: np.ndarray, t: np.ndarray, e: np.ndarray) -> tuple[float, float, float]:
    """Efron partial log-likelihood, score and information for one covariate."""
    r = np.exp(beta * x)
    loglik = score = info = 0.0
    for tt in np.unique(t[e == 1]):
        risk = t >= tt
        dead = (t == tt) & (e == 1)
        d = int(dead.sum())
        s0, s1, s2 = r[risk].sum(), (r * x)[risk].sum(), (r * x * x)[risk].sum()
        d0, d1, d2 = r[dead].sum(), (r * x)[dead].sum(), (r * x * x)[dead].sum()
        loglik += beta * x[dead].sum()
        score += x[dead].sum()
        for j in range(d):
            f = j / d
            a0, a1, a2 = s0 - f * d0, s1 - f * d1, s2 - f * d2
            loglik -= np.log(a0)
            score -= a1 / a0
            info += a2 / a0 - (a1 / a0) ** 2
    return loglik, score, info


def concordance_index(time: Any, event: Any, risk: Any) -> float:
    """Harrell's C: P(higher risk ⇒ earlier event) over comparable pairs (R ``survival::concordance``)."""
    t, e = _surv_data(time, event, "concordance_index")
    lp = as_float_1d(risk, "risk", "concordance_index")
    check_same_length("concordance_index", time=t, risk=lp)
    conc = disc = tied = 0.0
    for i in np.flatnonzero(e == 1):
        later = (t > t[i]) | ((t == t[i]) & (e == 0))
        conc += np.sum(lp[later] < lp[i])
        disc += np.sum(lp[later] > lp[i])
        tied += np.sum(lp[later] == lp[i])
    total = conc + disc + tied
    return float((conc + 0.5 * tied) / total) if total else float("nan")


def cox_ph(time: Any, event: Any, covariate: Any, *, conf_level: float = 0.95) -> CoxResult:
    """Univariable Cox model: hazard ratio per unit of ``covariate`` (Efron ties, Wald CI and p, Harrell's C).

    R equivalent: ``coxph(Surv(time, event) ~ x)`` — ``exp(coef)``, ``exp(confint(fit))``,
    ``summary(fit)$coefficients[, 5]`` and ``fit$concordance["concordance"]``.
    """
    where = "cox_ph"
    conf_level = check_conf_level(conf_level, where)
    t, e = _surv_data(time, event, where)
    x = as_float_1d(covariate, "covariate", where)
    check_same_length(where, time=t, covariate=x)
    if e.sum() == 0:
        msg = f"{where}: no events; a hazard ratio cannot be estimated."
        raise FitError(msg)
    xc = x - x.mean()
    beta = 0.0
    loglik, score, info = _efron(beta, xc, t, e)
    for _ in range(50):
        if info <= 0:
            break
        step = score / info
        new = beta + step
        new_ll, new_score, new_info = _efron(new, xc, t, e)
        halvings = 0
        while new_ll < loglik - 1e-12 and halvings < 30:
            step /= 2
            new = beta + step
            new_ll, new_score, new_info = _efron(new, xc, t, e)
            halvings += 1
        converged = abs(new_ll - loglik) <= 1e-12 * max(1.0, abs(loglik)) and abs(step) < 1e-10
        beta, loglik, score, info = new, new_ll, new_score, new_info
        if converged:
            break
    if not np.isfinite(beta) or info <= 0 or abs(beta) * max(np.std(x), 1e-12) > 30:
        msg = f"{where}: the Cox fit did not converge (monotone likelihood / separation); HR is infinite."
        raise FitError(msg)
    se = float(np.sqrt(1 / info))
    z = beta / se
    zc = sps.norm.ppf(1 - (1 - conf_level) / 2)
    return CoxResult(hazard_ratio=float(np.exp(beta)), ci_low=float(np.exp(beta - zc * se)),
                     ci_high=float(np.exp(beta + zc * se)), pvalue=float(2 * sps.norm.sf(abs(z))), coef=float(beta),
                     se=se, statistic=float(z), concordance=concordance_index(t, e, x * np.sign(beta or 1.0)),
                     n=int(t.size), n_events=int(e.sum()), conf_level=conf_level)


def score_cutoff(train_score: Any, *, method: Literal["median", "youden"] = "median",
                 y_train: Any = None) -> float:
    """Cut-off for :func:`stratify_by_score`, computed on the **training** scores only.

    ``"median"``: median of the training scores. ``"youden"``: Youden-optimal threshold of the training
    scores against ``y_train`` (pROC midpoint convention; see :func:`her2mri.stats.youden_threshold`).
    """
    where = "score_cutoff"
    check_param("method", method, ("median", "youden"), where)
    s = as_float_1d(train_score, "train_score", where)
    if method == "median":
        return float(np.median(s))
    if y_train is None:
        msg = f"{where}: method='youden' needs the training labels; pass y_train=."
        raise StatsInputError(msg)
    from her2mri.stats.roc import youden_threshold

    try:
        return youden_threshold(y_train, s).threshold
    except StatsInputError as exc:
        msg = f"{where} (method='youden', 'y_train'): {exc}"
        raise StatsInputError(msg) from None


def stratify_by_score(score: Any, cutoff: float) -> np.ndarray:
    """Label each case ``"high"`` (``score >= cutoff``) or ``"low"``; ``cutoff`` must come from training data."""
    s = as_float_1d(score, "score", "stratify_by_score")
    cutoff = as_float_scalar(cutoff, "cutoff", "stratify_by_score", allow_inf=False)
    return np.where(s >= cutoff, "high", "low").astype(str)
