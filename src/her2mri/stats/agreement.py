"""Agreement between readers: intraclass correlation (six Shrout–Fleiss forms) and Cohen's kappa.

Which ICC to report
-------------------
Shrout & Fleiss (1979) forms, psych::ICC names (McGraw & Wong 1996 names in brackets):

========  ===========================================  =========================================
ICC1      one-way random effects, single rater          ICC(1,1)
ICC2      two-way random, absolute agreement, single    ICC(2,1) = McGraw–Wong ICC(A,1)
ICC3      two-way mixed, consistency, single            ICC(3,1) = McGraw–Wong ICC(C,1)
ICC1k     one-way random, mean of k raters              ICC(1,k)
ICC2k     two-way random, absolute agreement, mean      ICC(2,k) = ICC(A,k)
ICC3k     two-way mixed, consistency, mean              ICC(3,k) = ICC(C,k)
========  ===========================================  =========================================

**ICC(2,1) is the default** (``IccResult.estimate``) for inter-reader robustness of segmentations and radiomic
features: "would *another* reader, drawn from the population of readers, obtain the same value?" needs
random raters and absolute agreement. Use ICC(3,1) for intra-reader repeatability (the same reader twice).
Interpret on the 95% CI (Koo & Li 2016): < 0.5 poor, 0.5–0.75 moderate, 0.75–0.9 good, > 0.9 excellent.
Radiomics filters commonly keep features with ICC ≥ 0.75 (or 0.9); always state the form in the report.

Formulas (n targets, k raters; MSR rows, MSC columns, MSE residual, MSW within-target):
ICC1 = (MSR − MSW)/(MSR + (k−1)MSW); ICC2 = (MSR − MSE)/(MSR + (k−1)MSE + k(MSC − MSE)/n);
ICC3 = (MSR − MSE)/(MSR + (k−1)MSE); ICC1k = (MSR − MSW)/MSR; ICC2k = (MSR − MSE)/(MSR + (MSC − MSE)/n);
ICC3k = (MSR − MSE)/MSR. F tests: MSR/MSW on (n−1, n(k−1)) df for ICC1/ICC1k, MSR/MSE on (n−1, (n−1)(k−1))
for the others. CIs are Shrout & Fleiss' F-based intervals; ICC2's uses the Satterthwaite df, exactly as
``psych::ICC(x, lmer = FALSE)`` (validated against psych 2.2.9 to 1e-6).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from her2mri.stats._checks import (
    StatsInputError,
    as_float_array,
    as_labels,
    check_conf_level,
    check_param,
    check_same_length,
)
from her2mri.stats.results import IccForm, IccResult, KappaResult

__all__ = ["cohen_kappa", "icc"]

_DESCRIPTIONS = {
    "ICC1": "one-way random effects, single rater, absolute agreement",
    "ICC2": "two-way random effects, single rater, absolute agreement",
    "ICC3": "two-way mixed effects, single rater, consistency",
    "ICC1k": "one-way random effects, mean of k raters, absolute agreement",
    "ICC2k": "two-way random effects, mean of k raters, absolute agreement",
    "ICC3k": "two-way mixed effects, mean of k raters, consistency",
}


def icc(ratings: Any, *, conf_level: float = 0.95) -> IccResult:
    """All six Shrout–Fleiss intraclass correlations with F tests and confidence intervals.

    ``ratings`` is an array (or DataFrame) of shape ``(n_targets, k_raters)`` with no missing values (drop
    incomplete targets first, as ``psych::ICC(missing = TRUE)`` does). ``IccResult.get("ICC2")`` returns the
    ICC(2,1) form, the project default for inter-reader segmentation robustness.

    R equivalent: ``psych::ICC(ratings, lmer = FALSE)$results`` (columns ICC, F, df1, df2, p, lower bound,
    upper bound).
    """
    where = "icc"
    conf_level = check_conf_level(conf_level, where)
    x = as_float_array(ratings, "ratings", where)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        msg = (f"{where}: 'ratings' must be a 2-D array (n_targets >= 2, k_raters >= 2); got shape {x.shape}. "
               "Put one target (lesion) per row and one reader per column.")
        raise StatsInputError(msg)
    if not np.all(np.isfinite(x)):
        msg = f"{where}: 'ratings' contains missing or non-finite values; drop incomplete targets first."
        raise StatsInputError(msg)
    n, k = x.shape
    with np.errstate(divide="ignore", invalid="ignore"):  # perfect agreement: MSE = 0 → F = inf
        return _icc_forms(x, n, k, conf_level)


def _icc_forms(x: np.ndarray, n: int, k: int, conf_level: float) -> IccResult:
    grand = x.mean()
    ss_total = np.sum((x - grand) ** 2)
    ss_rows = k * np.sum((x.mean(axis=1) - grand) ** 2)
    ss_cols = n * np.sum((x.mean(axis=0) - grand) ** 2)
    ss_err = ss_total - ss_rows - ss_cols
    msr = ss_rows / (n - 1)
    msc = ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    msw = (ss_cols + ss_err) / (n * (k - 1))
    alpha = 1 - conf_level

    icc1 = (msr - msw) / (msr + (k - 1) * msw)
    icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    icc3 = (msr - mse) / (msr + (k - 1) * mse)
    icc1k = (msr - msw) / msr
    icc2k = (msr - mse) / (msr + (msc - mse) / n)
    icc3k = (msr - mse) / msr

    f1 = msr / msw
    df1n, df1d = n - 1, n * (k - 1)
    f3 = msr / mse
    df3n, df3d = n - 1, (n - 1) * (k - 1)
    p1 = float(sps.f.sf(f1, df1n, df1d))
    p3 = float(sps.f.sf(f3, df3n, df3d))

    f1l = f1 / sps.f.ppf(1 - alpha / 2, df1n, df1d)
    f1u = f1 * sps.f.ppf(1 - alpha / 2, df1d, df1n)
    l1, u1 = (f1l - 1) / (f1l + k - 1), (f1u - 1) / (f1u + k - 1)
    f3l = f3 / sps.f.ppf(1 - alpha / 2, df3n, df3d)
    f3u = f3 * sps.f.ppf(1 - alpha / 2, df3d, df3n)
    l3, u3 = (f3l - 1) / (f3l + k - 1), (f3u - 1) / (f3u + k - 1)

    fj = msc / mse
    vn = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    vd = (n - 1) * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    v = vn / vd
    f2u = sps.f.ppf(1 - alpha / 2, n - 1, v)
    f2l = sps.f.ppf(1 - alpha / 2, v, n - 1)
    l2 = n * (msr - f2u * mse) / (f2u * (k * msc + (k * n - k - n) * mse) + n * msr)
    u2 = n * (f2l * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f2l * msr)

    rows = [
        ("ICC1", icc1, f1, df1n, df1d, p1, l1, u1),
        ("ICC2", icc2, f3, df3n, df3d, p3, l2, u2),
        ("ICC3", icc3, f3, df3n, df3d, p3, l3, u3),
        ("ICC1k", icc1k, f1, df1n, df1d, p1, 1 - 1 / f1l, 1 - 1 / f1u),
        ("ICC2k", icc2k, f3, df3n, df3d, p3, l2 * k / (1 + l2 * (k - 1)), u2 * k / (1 + u2 * (k - 1))),
        ("ICC3k", icc3k, f3, df3n, df3d, p3, 1 - 1 / f3l, 1 - 1 / f3u),
    ]
    forms = tuple(
        IccForm(type=name, description=_DESCRIPTIONS[name], estimate=float(est), statistic=float(f),
                df1=float(d1), df2=float(d2), pvalue=float(p), ci_low=float(lo), ci_high=float(hi),
                conf_level=conf_level)
        for name, est, f, d1, d2, p, lo, hi in rows
    )
    return IccResult(forms=forms, n=n, k=k)


def _weight_matrix(n_cat: int, weights: str | None) -> np.ndarray:
    i, j = np.indices((n_cat, n_cat))
    if weights is None:
        return np.eye(n_cat)
    power = 1 if weights == "linear" else 2
    return 1.0 - np.abs(i - j) ** power / (n_cat - 1) ** power


def _ratings(values: Any, name: str, where: str) -> np.ndarray:
    """One reader's ratings as a 1-D object array of hashable category labels."""
    arr = as_labels(values, name, where, "rating")
    for position, v in enumerate(arr.tolist()):
        try:
            hash(v)
        except TypeError:
            msg = (f"{where}: {name!r} holds an unhashable value at position {position} ({v!r:.40}); accepted: "
                   "one category label (number or text) per case.")
            raise StatsInputError(msg) from None
    return arr


def cohen_kappa(r1: Any, r2: Any, *, weights: Literal["linear", "quadratic"] | None = None,
                conf_level: float = 0.95, categories: Any = None,
                se_method: Literal["fleiss_cohen_everitt", "psych"] = "fleiss_cohen_everitt") -> KappaResult:
    """Cohen's kappa between two readers, unweighted or weighted, with the asymptotic CI.

    Categories are the sorted union of both readers' values (or ``categories`` in the given order, which
    matters for weighted kappa: it defines the ordinal distance). Agreement weights are
    ``1 − |i − j|/(c − 1)`` (linear) or ``1 − (i − j)²/(c − 1)²`` (quadratic, psych's default weighted kappa).
    The standard error is the large-sample formula of Fleiss, Cohen & Everitt (1969) and the interval is
    ``kappa ± z·SE`` (not clipped), the form ``psych::cohen.kappa`` reports in ``$confid``.

    Convention difference for *weighted* kappa: FCE's variance uses the marginal mean weights
    ``w̄_i. = Σ_j w_ij p_.j`` and ``w̄_.j = Σ_i w_ij p_i.`` (``se_method="fleiss_cohen_everitt"``, default; equal
    to statsmodels' ``cohens_kappa``). psych 2.2.9 uses ``p_j. · Σ_i w_ij`` for the second term, which is not
    the FCE variance and can make the SE **far too small**: its CI was 17% narrower on the reference data and
    73% narrower on another data set (psych SE 0.016 against a bootstrap SD of 0.0595); in simulated ordinal
    ratings psych's SE was 0.035 / 0.026 where the bootstrap SD was 0.066 / 0.048 and FCE's 0.064 / 0.048. Use
    ``se_method="psych"`` only to reproduce psych's numbers, not for inference. The kappa estimates and the
    unweighted SE are identical under both.

    Missing ratings (None, NaN, NA) drop the pair, as ``psych::cohen.kappa`` does (complete cases); ``n`` counts
    the complete pairs.

    R equivalent: ``psych::cohen.kappa(cbind(r1, r2))`` (``$kappa``, ``$weighted.kappa``, ``$confid``).
    """
    where = "cohen_kappa"
    check_param("weights", weights, (None, "linear", "quadratic"), where)
    check_param("se_method", se_method, ("fleiss_cohen_everitt", "psych"), where)
    conf_level = check_conf_level(conf_level, where)
    a = _ratings(r1, "r1", where)
    b = _ratings(r2, "r2", where)
    check_same_length(where, r1=a, r2=b)
    complete = ~(pd.isna(pd.Series(a, dtype=object)).to_numpy() | pd.isna(pd.Series(b, dtype=object)).to_numpy())
    a, b = a[complete], b[complete]  # psych::cohen.kappa uses the complete pairs only
    if a.size == 0:
        msg = f"{where}: no pair of ratings with both 'r1' and 'r2' present; pass at least one complete pair."
        raise StatsInputError(msg)
    if categories is None:
        try:
            cats = sorted(set(a.tolist()) | set(b.tolist()))
        except TypeError:
            cats = sorted({str(v) for v in set(a.tolist()) | set(b.tolist())})
            a, b = a.astype(str), b.astype(str)
    else:
        cats = list(_ratings(categories, "categories", where).tolist())
        if len(set(cats)) != len(cats) or not cats:
            msg = (f"{where}: 'categories' must list each category once, in ordinal order; got {categories!r}.")
            raise StatsInputError(msg)
    index = {c: i for i, c in enumerate(cats)}
    missing = [v for v in set(a.tolist()) | set(b.tolist()) if v not in index]
    if missing:
        msg = f"{where}: ratings {missing[:5]} are not among 'categories' {cats}; add them or fix the ratings."
        raise StatsInputError(msg)
    c = len(cats)
    if c < 2:
        msg = f"{where}: needs at least two distinct categories across both readers; got {cats}."
        raise StatsInputError(msg)
    n = a.size
    table = np.zeros((c, c))
    np.add.at(table, (np.array([index[v] for v in a.tolist()]), np.array([index[v] for v in b.tolist()])), 1.0)
    p = table / n
    w = _weight_matrix(c, weights)
    rs, cs = p.sum(axis=1), p.sum(axis=0)
    po = np.float64(np.sum(w * p))
    pe = np.float64(np.sum(w * np.outer(rs, cs)))
    with np.errstate(divide="ignore", invalid="ignore"):  # pe = 1 (one category used by both): kappa undefined
        kappa = (po - pe) / (1 - pe)
    wi = w @ cs  # mean weight of row category i against the column marginal
    wj = rs @ w if se_method == "fleiss_cohen_everitt" else w.sum(axis=0) * rs
    inner = w * (1 - pe) - np.add.outer(wi, wj) * (1 - po)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (np.sum(p * inner**2) - (po * pe - 2 * pe + po) ** 2) / (n * (1 - pe) ** 4)
    se = float(np.sqrt(max(var, 0.0))) if np.isfinite(var) else float("nan")
    z = sps.norm.ppf(1 - (1 - conf_level) / 2)
    label = "unweighted" if weights is None else weights
    return KappaResult(estimate=float(kappa), se=se, ci_low=float(kappa - z * se), ci_high=float(kappa + z * se),
                       weights=label, n=int(n), conf_level=conf_level,
                       method=f"Cohen's kappa ({label}), asymptotic SE ({se_method})",
                       observed_agreement=float(po), expected_agreement=float(pe))
