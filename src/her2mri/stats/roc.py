"""ROC analysis with pROC conventions: AUC, DeLong variance/CI, paired and unpaired DeLong tests, Youden.

Conventions (read these before comparing with other software)
--------------------------------------------------------------
* **Direction.** ``direction=">"`` (default) means *higher scores are more likely positive* (y = 1);
  ``direction="<"`` means lower scores are more likely positive. This is pROC's ``direction = "<"`` and
  ``direction = ">"`` respectively — pROC names the comparison *controls vs cases*, we name the score's relation
  to the positive class. Direction is a parameter you fix **on the training data**; it is never chosen from the
  data being evaluated. pROC's default ``direction = "auto"`` flips any curve whose AUC is below 0.5, which on a
  test set silently turns a worse-than-chance model into a better-than-chance one; we do not do that.
* **Ties** between a positive and a negative score count ½ (Mann–Whitney).
* **DeLong variance** uses the fast midrank algorithm of Sun & Xu (IEEE SPL 2014;21:1389) for K models at
  once in O(K·N log N): with m positives and n negatives, ``Tz`` pooled midranks, ``Tx``/``Ty`` midranks within
  positives/negatives, placements ``V10 = (Tz_pos − Tx)/n`` and ``V01 = 1 − (Tz_neg − Ty)/m``,
  ``Cov(AUC) = S10/m + S01/n`` with *unbiased* sample covariances (denominators m − 1 and n − 1) as in pROC's
  ``delong.R``. Some public re-implementations use the biased covariance (``bias=True``), which is smaller by
  a factor of about (m − 1)/m.
* **CI** is normal on the AUC scale, ``AUC ± z·√Var``, clipped to [0, 1] (pROC ``ci.auc(method="delong")``).
* **Thresholds** follow pROC: candidate thresholds are ``-inf``, the midpoints between adjacent distinct scores,
  and ``+inf``; a case is called positive when ``score >= threshold`` (``score <= threshold`` for
  ``direction="<"``). Because midpoints never equal an observed score, ``>=`` and ``>`` give the same calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats as sps

from her2mri.stats._checks import (
    StatsInputError,
    as_binary,
    as_float_1d,
    as_float_array,
    check_both_classes,
    check_conf_level,
    check_direction,
    check_param,
    check_same_length,
    oriented,
)
from her2mri.stats._multiplicity import CORRECTIONS, Correction, p_adjust
from her2mri.stats.results import (
    AucResult,
    DelongMatrixResult,
    DelongTestResult,
    RocCurveResult,
    ThresholdResult,
)

__all__ = [
    "auc",
    "auc_ci",
    "delong_covariance",
    "delong_matrix",
    "delong_test",
    "delong_test_unpaired",
    "roc_curve",
    "youden_threshold",
]


def _prepare(y_true: Any, y_score: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    y = as_binary(y_true, where)
    s = as_float_1d(y_score, "y_score", where)
    check_same_length(where, y_true=y, y_score=s)
    check_both_classes(y, where)
    return y, s


def _fast_delong(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sun & Xu fast DeLong for a (K, N) score matrix (larger = positive).

    Returns ``aucs (K,)``, ``cov (K, K)``, placements of positives ``v10 (K, m)`` and of negatives
    ``v01 (K, n)``.
    """
    pos = y == 1
    x = scores[:, pos]
    z = scores[:, ~pos]
    m = x.shape[1]
    n = z.shape[1]
    pooled = np.concatenate([x, z], axis=1)
    tz = sps.rankdata(pooled, axis=1)  # midranks (method="average")
    tx = sps.rankdata(x, axis=1)
    ty = sps.rankdata(z, axis=1)
    aucs = (tz[:, :m].sum(axis=1) - m * (m + 1) / 2.0) / (m * n)
    v10 = (tz[:, :m] - tx) / n
    v01 = 1.0 - (tz[:, m:] - ty) / m
    k = scores.shape[0]
    # pROC divides by m - 1 and n - 1: with a single case in a class the variance is undefined (NaN)
    s10 = np.atleast_2d(np.cov(v10, ddof=1)) if m > 1 else np.full((k, k), np.nan)
    s01 = np.atleast_2d(np.cov(v01, ddof=1)) if n > 1 else np.full((k, k), np.nan)
    cov = s10 / m + s01 / n
    return aucs, cov, v10, v01


def delong_covariance(y_true: Any, scores: Mapping[str, Any] | np.ndarray, *,
                      direction: str = ">") -> tuple[np.ndarray, np.ndarray]:
    """AUCs and their DeLong covariance matrix for K scores on the same cases (fast Sun & Xu algorithm).

    ``scores`` is a mapping name → scores or a (K, N) array. Returns ``(aucs (K,), covariance (K, K))``.
    Equivalent to pROC's internal ``delongPlacements`` + covariance used by ``roc.test(paired=TRUE)``.
    """
    where = "delong_covariance"
    check_direction(direction, where)
    y = as_binary(y_true, where)
    if isinstance(scores, Mapping):
        rows = [as_float_1d(v, f"scores[{k!r}]", where, allow_nan=True) for k, v in scores.items()]
        bad = [f"{k!r} ({r.size})" for k, r in zip(scores, rows, strict=True) if r.size != y.size]
        if bad:
            msg = (f"{where}: each score vector must have {y.size} entries (one per case); got "
                   f"{', '.join(bad)}. Pass scores of all models on the same cases.")
            raise StatsInputError(msg)
        if not rows:
            msg = f"{where}: 'scores' is empty; pass at least one score vector."
            raise StatsInputError(msg)
        mat = np.vstack(rows)
    else:
        mat = np.atleast_2d(as_float_array(scores, "scores", where))
        if mat.ndim != 2 or mat.shape[1] != y.size:
            msg = (f"{where}: 'scores' must be a (K, {y.size}) array, one row per model and one column per case; "
                   f"got shape {mat.shape}.")
            raise StatsInputError(msg)
    if not np.all(np.isfinite(mat)):
        msg = f"{where}: scores contain non-finite values; drop or impute them first."
        raise StatsInputError(msg)
    check_both_classes(y, where)
    aucs, cov, _, _ = _fast_delong(y, oriented(mat, direction))
    return aucs, cov


def auc(y_true: Any, y_score: Any, *, direction: str = ">") -> float:
    """Area under the ROC curve (Mann–Whitney; ties count ½). R: ``pROC::auc``."""
    check_direction(direction, "auc")
    y, s = _prepare(y_true, y_score, "auc")
    aucs, _, _, _ = _fast_delong(y, oriented(s, direction)[None, :])
    return float(aucs[0])


def auc_ci(y_true: Any, y_score: Any, *, conf_level: float = 0.95, direction: str = ">") -> AucResult:
    """AUC with DeLong variance and confidence interval.

    R equivalent: ``ci.auc(roc(y, s, levels = c(0, 1), direction = "<"), method = "delong")`` and
    ``var(roc, method = "delong")`` (our ``direction=">"`` is pROC's ``"<"``). The interval is
    ``AUC ± qnorm((1 + conf_level)/2)·√Var`` clipped to [0, 1].
    """
    where = "auc_ci"
    check_direction(direction, where)
    conf_level = check_conf_level(conf_level, where)
    y, s = _prepare(y_true, y_score, where)
    aucs, cov, _, _ = _fast_delong(y, oriented(s, direction)[None, :])
    est = float(aucs[0])
    var = float(cov[0, 0])
    half = float(sps.norm.ppf((1 + conf_level) / 2) * np.sqrt(max(var, 0.0))) if np.isfinite(var) else np.nan
    n_pos = int(y.sum())
    lo, hi = (max(0.0, est - half), min(1.0, est + half)) if np.isfinite(half) else (np.nan, np.nan)
    return AucResult(estimate=est, variance=var, ci_low=float(lo), ci_high=float(hi),
                     n_pos=n_pos, n_neg=int(y.size - n_pos), conf_level=conf_level,
                     method="DeLong (fast midrank, Sun & Xu 2014)", direction=direction)


def _roc_points(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pROC thresholds (+inf, descending midpoints, -inf) with tpr and fpr for 'score >= t positive'."""
    levels = np.unique(s)
    mids = (levels[:-1] + levels[1:]) / 2.0
    thresholds = np.concatenate([[np.inf], mids[::-1], [-np.inf]])
    pos = np.sort(s[y == 1])
    neg = np.sort(s[y == 0])
    tp = pos.size - np.searchsorted(pos, thresholds, side="left")
    fp = neg.size - np.searchsorted(neg, thresholds, side="left")
    return thresholds, tp / pos.size, fp / neg.size


def roc_curve(y_true: Any, y_score: Any, *, direction: str = ">") -> RocCurveResult:
    """ROC curve with pROC's thresholds (``-inf``, midpoints between adjacent distinct scores, ``+inf``).

    R equivalent: ``coords(roc(y, s, direction = "<"), "all", transpose = FALSE)`` (rows reversed: we go from
    ``+inf`` — nothing called positive — down to ``-inf``). For ``direction="<"`` thresholds are reported on
    the original score scale and a case is positive when ``score <= threshold``.
    """
    where = "roc_curve"
    check_direction(direction, where)
    y, s = _prepare(y_true, y_score, where)
    thr, tpr, fpr = _roc_points(y, oriented(s, direction))
    if direction == "<":
        thr = -thr
    return RocCurveResult(fpr=fpr, tpr=tpr, thresholds=thr, auc=auc(y, s, direction=direction),
                          direction=direction)


def youden_threshold(y_true: Any, y_score: Any, *, direction: str = ">") -> ThresholdResult:
    """Threshold maximising Youden's J = sensitivity + specificity − 1 (pROC ``coords(.., "best")``).

    R equivalent: ``coords(r, "best", best.method = "youden", transpose = FALSE)[1, ]``. Thresholds are pROC's
    midpoints between adjacent distinct scores and ``score >= threshold`` is positive. When several thresholds
    tie for the maximum, the lowest one (pROC's first row for ``direction = "<"``) is returned. Fit it on the
    training data and pass it unchanged to :func:`her2mri.stats.diagnostic_metrics` on validation data.
    """
    where = "youden_threshold"
    check_direction(direction, where)
    y, s = _prepare(y_true, y_score, where)
    thr, tpr, fpr = _roc_points(y, oriented(s, direction))
    j = tpr + (1.0 - fpr)
    best = np.flatnonzero(np.isclose(j, j.max(), rtol=0, atol=1e-12))
    i = int(best[-1])  # thresholds are descending: last tie = lowest threshold
    t = float(thr[i]) if direction == ">" else float(-thr[i])
    return ThresholdResult(threshold=t, sensitivity=float(tpr[i]), specificity=float(1.0 - fpr[i]),
                           youden=float(j[i] - 1.0), direction=direction)


def delong_test(y_true: Any, score1: Any, score2: Any, *, conf_level: float = 0.95,
                direction: str = ">") -> DelongTestResult:
    """Paired DeLong test of two correlated AUCs on the same cases.

    ``z = (AUC1 − AUC2) / √(V11 + V22 − 2·V12)``, two-sided normal p-value; the CI is for AUC1 − AUC2.
    R equivalent: ``roc.test(r1, r2, method = "delong", paired = TRUE)``.
    """
    where = "delong_test"
    check_direction(direction, where)
    conf_level = check_conf_level(conf_level, where)
    y, s1 = _prepare(y_true, score1, where)
    s2 = as_float_1d(score2, "score2", where)
    check_same_length(where, y_true=y, score2=s2)
    aucs, cov, _, _ = _fast_delong(y, oriented(np.vstack([s1, s2]), direction))
    diff = float(aucs[0] - aucs[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    zcrit = sps.norm.ppf((1 + conf_level) / 2)
    if np.isnan(var):  # a single case in a class: no DeLong variance (pROC gives NA)
        stat = pval = half = np.nan
    elif var <= 0:
        stat = 0.0 if diff == 0 else np.copysign(np.inf, diff)
        pval = 1.0 if diff == 0 else 0.0
        half = 0.0
    else:
        se = np.sqrt(var)
        stat = diff / se
        pval = float(2 * sps.norm.sf(abs(stat)))
        half = zcrit * se
    return DelongTestResult(statistic=float(stat), pvalue=pval, estimate1=float(aucs[0]),
                            estimate2=float(aucs[1]), difference=diff, ci_low=float(diff - half), ci_high=float(diff + half),
                            method="DeLong paired z test", df=None, conf_level=conf_level, paired=True)


def delong_test_unpaired(y1: Any, score1: Any, y2: Any, score2: Any, *, conf_level: float = 0.95,
                         direction: str = ">") -> DelongTestResult:
    """Unpaired DeLong test of two AUCs from independent samples (pROC's Welch t).

    ``t = (AUC1 − AUC2) / √(V1 + V2)`` with Welch–Satterthwaite
    ``df = (V1 + V2)² / (V1²/(N1 − 1) + V2²/(N2 − 1))`` (N = cases + controls of each curve); two-sided
    p from Student's t. The CI for the difference uses the same t quantile.
    R equivalent: ``roc.test(r1, r2, method = "delong", paired = FALSE)``.
    """
    where = "delong_test_unpaired"
    check_direction(direction, where)
    conf_level = check_conf_level(conf_level, where)
    ya, sa = _prepare(y1, score1, where)
    yb, sb = _prepare(y2, score2, where)
    a1, c1, _, _ = _fast_delong(ya, oriented(sa, direction)[None, :])
    a2, c2, _, _ = _fast_delong(yb, oriented(sb, direction)[None, :])
    v1, v2 = np.float64(c1[0, 0]), np.float64(c2[0, 0])
    diff = float(a1[0] - a2[0])
    if np.isnan(v1 + v2):  # a single case in a class: no DeLong variance (pROC gives NA)
        stat = pval = half = df = np.nan
    elif v1 + v2 <= 0:  # both curves perfectly separate or tie: as delong_test, t is 0 or ±inf, df undefined
        stat = 0.0 if diff == 0 else np.copysign(np.inf, diff)
        pval = 1.0 if diff == 0 else 0.0
        half, df = 0.0, np.nan
    else:
        se = np.sqrt(v1 + v2)
        with np.errstate(divide="ignore", invalid="ignore"):
            df = float((v1 + v2) ** 2 / (v1**2 / (ya.size - 1) + v2**2 / (yb.size - 1)))
        stat = diff / se
        pval = float(2 * sps.t.sf(abs(stat), df))
        half = float(sps.t.ppf((1 + conf_level) / 2, df) * se)
    return DelongTestResult(statistic=float(stat), pvalue=pval, estimate1=float(a1[0]), estimate2=float(a2[0]),
                            difference=diff, ci_low=float(diff - half), ci_high=float(diff + half),
                            method="DeLong unpaired Welch t test", df=float(df), conf_level=conf_level,
                            paired=False)


def delong_matrix(y_true: Any, scores: Mapping[str, Any], *, correction: Correction = "none",
                  direction: str = ">") -> DelongMatrixResult:
    """Pairwise paired-DeLong p-values for K models scored on the same cases.

    One fast DeLong pass gives all AUCs and their K×K covariance; each pair's z test is then
    ``(AUC_i − AUC_j)/√(V_ii + V_jj − 2V_ij)`` (identical to :func:`delong_test`). ``correction`` adjusts the
    K(K−1)/2 distinct p-values together (``"holm"``, ``"bonferroni"``, ``"bh"`` as R ``p.adjust``) and mirrors
    them into the symmetric matrix; the diagonal is 1.
    """
    where = "delong_matrix"
    check_param("correction", correction, CORRECTIONS, where)
    check_direction(direction, where)
    if not isinstance(scores, Mapping) or len(scores) < 2:
        msg = (f"{where}: 'scores' must be a mapping of at least two model names to score arrays; got "
               f"{type(scores).__name__} with {len(scores) if hasattr(scores, '__len__') else 0} entries.")
        raise StatsInputError(msg)
    names = tuple(str(k) for k in scores)
    aucs, cov = delong_covariance(y_true, scores, direction=direction)
    var = np.diag(cov)
    denom = var[:, None] + var[None, :] - 2 * cov
    diff = aucs[:, None] - aucs[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(denom > 0, diff / np.sqrt(np.where(denom > 0, denom, 1.0)), 0.0)
    p = 2 * sps.norm.sf(np.abs(z))
    p[(denom <= 0) & (diff != 0)] = 0.0
    p[np.isnan(denom)] = np.nan  # a single case in a class: no DeLong variance
    np.fill_diagonal(p, 1.0)
    iu = np.triu_indices(len(names), 1)
    adj_upper = p_adjust(p[iu], correction)
    adj = np.ones_like(p)
    adj[iu] = adj_upper
    adj[(iu[1], iu[0])] = adj_upper
    return DelongMatrixResult(names=names, pvalues=p, pvalues_adjusted=adj, aucs=aucs, correction=correction,
                              covariance=cov)
