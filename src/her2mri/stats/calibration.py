"""Calibration of predicted probabilities (rms::val.prob parity) and Harrell's optimism correction.

What each quantity means (Van Calster et al., BMC Med 2019;17:230)
-------------------------------------------------------------------
* **Calibration-in-the-large (CITL)**: intercept ``a`` of ``logit P(y=1) = a + offset(logit p̂)`` — the slope
  fixed at 1. Ideal 0; > 0 means risks are underestimated on average. R:
  ``coef(glm(y ~ offset(qlogis(p)), family = binomial))``.
* **Calibration slope** ``b`` and **intercept** from the joint logistic recalibration
  ``logit P(y=1) = a + b·logit p̂`` (rms ``val.prob``'s "Slope" and "Intercept"). Slope < 1 means predictions are
  too extreme (overfitting). val.prob's *Intercept* is estimated together with the slope and is **not** the
  CITL; both are reported under distinct names.
* **Brier score** ``mean((p − y)²)``.
* **Emax, E90, Eavg**: maximum, 90th percentile and mean of ``|p − ŝ(p)|`` where ``ŝ`` is the smoothed
  calibration curve ``lowess(p, y, iter = 0)`` (R's ``stats::lowess``: span 2/3, no robustness iterations,
  ``delta = 0.01·range(p)``) interpolated at each ``p`` — exactly as val.prob computes them. statsmodels'
  ``lowess`` with the same settings reproduces R's C routine (checked to 1e-6 against rms 6.5-0).
* **c-index** (= AUC), Somers' ``Dxy = 2(c − 0.5)`` and Nagelkerke's R² of the un-recalibrated predictions.
  By default C is the exact Mann–Whitney concordance (ties ½), equal to ``Hmisc::somers2(p, y)`` and
  ``pROC::auc``. ``val.prob`` instead reads C and Dxy from ``lrm.fit(logit, y, initial = c(0, 1),
  maxit = 1)``, whose Fortran routine counts concordance after binning each prediction into one of 5,001
  bins (``bin = ⌊5000·p⌋``): predictions of different classes in one bin count as ties there, so R's values
  can differ from the exact ones from the fifth decimal on (relative differences of about 1e-5 in C and
  5e-5 in Dxy have been seen).
  ``calibration(..., concordance="lrm")`` reproduces the binned values.

At internal validation focus on the slope (and the optimism-corrected slope from :func:`optimism_corrected`);
at external validation on CITL, slope and the curve. Curves need large samples (a few hundred events).
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
from scipy import stats as sps
from statsmodels.nonparametric.smoothers_lowess import lowess

from her2mri._typing import SeedLike
from her2mri.exceptions import ConvergenceWarning, FitError, StatisticalWarning
from her2mri.stats._checks import (
    StatsInputError,
    as_binary,
    as_float_1d,
    check_both_classes,
    check_conf_level,
    check_count,
    check_param,
    check_same_length,
)
from her2mri.stats.bootstrap import resample_counts
from her2mri.stats.results import (
    CalibrationCurveResult,
    CalibrationResult,
    HosmerLemeshowResult,
    OptimismResult,
)
from her2mri.stats.roc import auc as _auc

__all__ = ["calibration", "calibration_curve", "hosmer_lemeshow", "logistic_recalibration", "optimism_corrected"]

_EPS = 1e-12


def _prepare(y_true: Any, p: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    y = as_binary(y_true, where)
    prob = as_float_1d(p, "p", where)
    check_same_length(where, y_true=y, p=prob)
    if np.any((prob < 0) | (prob > 1)):
        msg = f"{where}: 'p' must hold probabilities in [0, 1]; got min {prob.min():g}, max {prob.max():g}."
        raise StatsInputError(msg)
    return y, prob


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _EPS, 1 - _EPS)
    return np.log(q / (1 - q))


def _irls(y: np.ndarray, x: np.ndarray, offset: np.ndarray, max_iter: int = 100) -> np.ndarray:
    """Newton–Raphson logistic fit of ``y ~ x + offset`` (x includes the intercept column)."""
    beta = np.zeros(x.shape[1])
    for _ in range(max_iter):
        eta = x @ beta + offset
        mu = 1.0 / (1.0 + np.exp(-eta))
        w = np.clip(mu * (1 - mu), 1e-12, None)
        grad = x.T @ (y - mu)
        hess = x.T @ (x * w[:, None])
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return np.full(x.shape[1], np.nan)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-11:
            return beta
    msg = "logistic recalibration did not converge (separation between outcome and predictions?)."
    warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    return beta


def logistic_recalibration(y_true: Any, p: Any) -> tuple[float, float, float]:
    """``(intercept, slope, calibration_in_the_large)`` of the logistic recalibration of ``p`` on ``y``.

    R: ``rms::val.prob(p, y)[c("Intercept", "Slope")]`` and ``glm(y ~ offset(qlogis(p)), binomial)``.
    Probabilities are clipped to [1e-12, 1 − 1e-12] before the logit.
    """
    y, prob = _prepare(y_true, p, "logistic_recalibration")
    lp = _logit(prob)
    ones = np.ones((y.size, 1))
    a, b = _irls(y.astype(float), np.column_stack([ones, lp]), np.zeros(y.size))
    (citl,) = _irls(y.astype(float), ones, lp)
    return float(a), float(b), float(citl)


def _smoothed(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R ``lowess(p, y, iter = 0)``: sorted unique x and the fitted values (ties averaged, as approx())."""
    delta = 0.01 * float(p.max() - p.min())
    fit = lowess(y.astype(float), p, frac=2.0 / 3.0, it=0, delta=delta, return_sorted=True)
    xs, ys = fit[:, 0], fit[:, 1]
    ux, inv = np.unique(xs, return_inverse=True)
    uy = np.bincount(inv, weights=ys) / np.bincount(inv)
    return ux, uy


#: rms' lrm.fit counts concordance over predictions binned as ``int(5000·p + 1)`` (5,001 bins)
_LRM_BINS = 5000


def _lrm_binned_concordance(y: np.ndarray, prob: np.ndarray) -> float:
    """C as ``rms::lrm.fit`` computes it for ``val.prob``: predictions put into 5,001 bins, ties ½.

    val.prob evaluates ``lrm.fit(logit(p), y, initial = c(0, 1), maxit = 1)``, whose Fortran loop forms
    ``prob = 1/(1 + exp(−min(max(logit, −30), 30)))`` and the bin ``int(5000·prob + 1)``; the
    concordance is then counted over bins (pairs in one bin are ties).
    """
    with np.errstate(divide="ignore"):
        lp = np.log(prob / (1.0 - prob))
    cp = 1.0 / (1.0 + np.exp(-np.clip(lp, -30.0, 30.0)))
    bins = np.floor(_LRM_BINS * cp + 1.0)
    return _auc(y, bins)


def calibration(y_true: Any, p: Any, *, concordance: Literal["exact", "lrm"] = "exact") -> CalibrationResult:
    """Calibration summary of predicted probabilities ``p`` against outcomes ``y_true``.

    R equivalent: ``rms::val.prob(p, y, pl = FALSE)`` (Intercept, Slope, Brier, Emax, E90, Eavg, C (ROC), Dxy,
    R2) plus ``glm(y ~ offset(qlogis(p)), family = binomial)`` for calibration-in-the-large. See the module
    docstring for definitions.

    ``concordance="exact"`` (default) gives the exact C and Dxy (``Hmisc::somers2``, ``pROC::auc``);
    ``"lrm"`` gives val.prob's values, counted over 5,001 bins of ``p`` as ``rms::lrm.fit`` does (they differ
    only when predictions of different classes lie within 1/5000 of each other).
    """
    where = "calibration"
    check_param("concordance", concordance, ("exact", "lrm"), where)
    y, prob = _prepare(y_true, p, where)
    check_both_classes(y, where)
    intercept, slope, citl = logistic_recalibration(y, prob)
    ux, uy = _smoothed(y, prob)
    smooth = np.interp(prob, ux, uy)
    err = np.abs(prob - smooth)
    c_index = _auc(y, prob) if concordance == "exact" else _lrm_binned_concordance(y, prob)
    q = np.clip(prob, _EPS, 1 - _EPS)
    ll_model = np.sum(y * np.log(q) + (1 - y) * np.log(1 - q))
    pm = y.mean()
    ll_null = np.sum(y * np.log(pm) + (1 - y) * np.log(1 - pm))
    n = y.size
    lr = -2 * (ll_null - ll_model)
    r2 = (1 - np.exp(-lr / n)) / (1 - np.exp(2 * ll_null / n))
    return CalibrationResult(intercept=intercept, slope=slope, calibration_in_the_large=citl,
                             brier=float(np.mean((prob - y) ** 2)), emax=float(err.max()),
                             e90=float(np.quantile(err, 0.9)), eavg=float(err.mean()), c_index=float(c_index),
                             n=int(n), dxy=float(2 * (c_index - 0.5)), r2_nagelkerke=float(r2))


def calibration_curve(y_true: Any, p: Any, *, method: Literal["binned", "loess"] = "binned", n_bins: int = 10,
                      strategy: Literal["quantile", "uniform"] = "quantile",
                      conf_level: float = 0.95) -> CalibrationCurveResult:
    """Calibration curve points.

    ``method="binned"``: ``n_bins`` groups of predicted risk — equal-count groups (``strategy="quantile"``,
    the deciles of risk of the Hosmer–Lemeshow tradition) or equal-width bins on [0, 1]
    (``"uniform"``); each point is (mean predicted, observed event rate) with a Wilson CI; empty bins are
    dropped. ``method="loess"``: the val.prob smoother ``lowess(p, y, iter = 0)`` evaluated at the sorted
    distinct predictions (``counts`` = cases at each prediction; no CI).
    """
    where = "calibration_curve"
    check_param("method", method, ("binned", "loess"), where)
    check_param("strategy", strategy, ("quantile", "uniform"), where)
    conf_level = check_conf_level(conf_level, where)
    y, prob = _prepare(y_true, p, where)
    if prob.size == 0:
        msg = f"{where}: no predictions; pass at least one case."
        raise StatsInputError(msg)
    if method == "loess":
        ux, uy = _smoothed(y, prob)
        counts = np.unique(prob, return_counts=True)[1]
        return CalibrationCurveResult(predicted=ux, observed=np.clip(uy, 0, 1), counts=counts, method="loess")
    n_bins = check_count(n_bins, "n_bins", where)
    if strategy == "quantile":
        order = np.argsort(prob, kind="mergesort")
        bins = np.empty(prob.size, dtype=int)
        bins[order] = np.arange(prob.size) * int(n_bins) // prob.size
    else:
        bins = np.minimum((prob * n_bins).astype(int), int(n_bins) - 1)
    present = np.unique(bins)
    counts = np.array([np.sum(bins == b) for b in present])
    predicted = np.array([prob[bins == b].mean() for b in present])
    events = np.array([y[bins == b].sum() for b in present])
    observed = events / counts
    z = sps.norm.ppf(1 - (1 - conf_level) / 2)
    den = 1 + z**2 / counts
    centre = (observed + z**2 / (2 * counts)) / den
    half = z * np.sqrt(observed * (1 - observed) / counts + z**2 / (4 * counts**2)) / den
    return CalibrationCurveResult(predicted=predicted, observed=observed, counts=counts,
                                  method=f"binned ({strategy}, {n_bins} bins)",
                                  ci_low=np.clip(centre - half, 0, 1), ci_high=np.clip(centre + half, 0, 1))


def _r_quantile7(x: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """R's ``quantile(x, probs)`` (type 7) with R's own arithmetic, so that breaks equal R's to the last bit.

    ``index = 1 + (n − 1)·p``, ``lo = floor(index)``, ``hi = ceiling(index)``,
    ``q = (1 − h)·x[lo] + h·x[hi]`` with ``h = index − lo`` where ``index > lo`` and ``x[hi] != x[lo]``.
    """
    xs = np.sort(x)
    index = 1.0 + (xs.size - 1) * probs
    lo = np.floor(index).astype(int)
    hi = np.ceil(index).astype(int)
    q = xs[lo - 1].copy()
    interp = (index > lo) & (xs[hi - 1] != q)
    h = (index - lo)[interp]
    q[interp] = (1 - h) * q[interp] + h * xs[hi - 1][interp]
    return q


def hosmer_lemeshow(y_true: Any, p: Any, n_groups: int = 10, *,
                    grouping: Literal["quantile", "equal_count"] = "quantile") -> HosmerLemeshowResult:
    """Hosmer–Lemeshow goodness-of-fit test over ``n_groups`` groups of predicted risk.

    ``C = Σ_g (O_g − E_g)² / (E_g (1 − E_g/n_g))`` on ``n_groups − 2`` df.

    ``grouping="quantile"`` (default) is ``ResourceSelection::hoslem.test(y, p, g)`` exactly: the groups are
    ``cut(p, breaks = unique(quantile(p, seq(0, 1, 1/g))), include.lowest = TRUE)`` — type-7 quantiles,
    right-closed intervals, the first one closed on the left. With ties (or a small n) some breaks coincide
    and fewer than ``n_groups`` groups remain; as in R the df stays ``n_groups − 2``. Even without ties the
    groups are *not* those of an equal-count split whenever ``n`` is not a multiple of ``g``: the breaks are
    interpolated quantiles and a case equal to a break falls into the lower group, so the cases are divided
    differently (at n = 12, g = 5: sizes 3, 2, 2, 2, 3 instead of 3, 2, 3, 2, 2), which can move the p-value
    noticeably.
    ``grouping="equal_count"`` splits the sorted predictions into ``n_groups`` groups of sizes differing by at
    most one (ties broken by position), the previous behaviour. Empty groups (with ties, an interval between
    two interpolated breaks can hold no case) are dropped; R keeps them and its statistic becomes NaN.

    Caveat (Van Calster et al. 2019; Hosmer et al. 1997): the test depends on the arbitrary grouping, has low
    power in small samples and flags trivial miscalibration in large ones, and a non-significant result does
    not show good calibration. Prefer the calibration slope, CITL and a smoothed curve; report HL only when a
    journal asks for it.
    """
    where = "hosmer_lemeshow"
    check_param("grouping", grouping, ("quantile", "equal_count"), where)
    y, prob = _prepare(y_true, p, where)
    g = check_count(n_groups, "n_groups", where, minimum=3)
    if g > y.size:
        msg = f"The 'n_groups' parameter of {where} must be between 3 and n ({y.size}). Got {n_groups!r} instead."
        raise StatsInputError(msg)
    if grouping == "quantile":
        breaks = np.unique(_r_quantile7(prob, np.minimum(np.arange(g + 1) * (1.0 / g), 1.0)))
        if breaks.size < 2:
            msg = (f"{where}: all predictions in 'p' are equal ({prob[0]:g}); no risk groups can be formed "
                   "(hoslem.test fails too). Use grouping='equal_count' or check the model.")
            raise StatsInputError(msg)
        # cut(..., include.lowest = TRUE): (b_k, b_k+1], the first interval [b_0, b_1]
        groups = np.clip(np.searchsorted(breaks, prob, side="left") - 1, 0, max(breaks.size - 2, 0))
    else:
        order = np.argsort(prob, kind="mergesort")
        groups = np.empty(prob.size, dtype=int)
        groups[order] = np.arange(prob.size) * g // prob.size
    counts = np.bincount(groups).astype(float)
    observed = np.bincount(groups, weights=y, minlength=counts.size)
    expected = np.bincount(groups, weights=prob, minlength=counts.size)
    present = counts > 0
    counts, observed, expected = counts[present], observed[present], expected[present]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (observed - expected) ** 2 / (expected * (1 - expected / counts))
    stat = float(np.nansum(terms))
    df = g - 2
    if np.any(expected < 5) or np.any(counts - expected < 5):
        msg = f"{where}: some groups have expected counts < 5; the chi-square approximation is unreliable."
        warnings.warn(msg, StatisticalWarning, stacklevel=2)
    label = "hoslem.test quantile groups" if grouping == "quantile" else "equal-count groups"
    return HosmerLemeshowResult(statistic=stat, df=float(df), pvalue=float(sps.chi2.sf(stat, df)), n_groups=g,
                                observed=observed, expected=expected, counts=counts,
                                method=f"Hosmer-Lemeshow ({label})", n=int(y.size))


def _metrics(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(AUC, calibration slope, Brier) of probabilities p."""
    if y.min() == y.max():
        return np.full(3, np.nan)
    lp = _logit(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, slope = _irls(y.astype(float), np.column_stack([np.ones(y.size), lp]), np.zeros(y.size))
    return np.array([_auc(y, p), slope, np.mean((p - y) ** 2)])


def _take(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if hasattr(X, "iloc") else np.asarray(X)[idx]


def optimism_corrected(estimator: Any, X: Any, y: Any, *, n_resamples: int = 200, groups: Any = None,
                       random_state: SeedLike = None, progress: bool = False,
                       stratify: bool = True) -> OptimismResult:
    """Harrell's bootstrap optimism-corrected AUC, calibration slope and Brier score of a development fit.

    1. Fit a clone of ``estimator`` on all of ``(X, y)``: *apparent* performance on ``X``.
    2. For each of ``n_resamples`` bootstrap samples (patients when ``groups`` is given), fit a fresh clone on
       the sample, evaluate on the sample (bootstrap performance) and on the original data (test
       performance); optimism = bootstrap − test.
    3. Corrected = apparent − mean optimism (Harrell, *Regression Modeling Strategies*, §5.3.5; R
       ``rms::validate(fit, B = 200)``, whose ``index.corrected`` column is the same quantity).

    Resampling scheme: ``stratify=True`` (default) draws positives and negatives separately, keeping the
    class counts of every resample equal to the data's, so that no resample lacks a class in small samples.
    ``rms::validate`` draws plain (unstratified) bootstrap samples; ``stratify=False`` does the same and is the
    setting to use when comparing with R. The two schemes estimate the same optimism but give different
    numbers for a given seed, the Brier score's most visibly (its optimism depends on each resample's
    prevalence, which stratification fixes).
    Unstratified resamples with a single class are skipped (their metrics are undefined).

    The estimator must implement ``fit`` and ``predict_proba``; every modelling step that learns from data
    (scaling, feature selection, tuning) must live inside it, otherwise the optimism is underestimated.
    """
    from sklearn.base import clone

    where = "optimism_corrected"
    yy = as_binary(y, where, name="y")
    check_both_classes(yy, where)
    if not hasattr(X, "__len__") or len(X) != yy.size:
        rows = len(X) if hasattr(X, "__len__") else "no"
        msg = f"{where}: 'X' has {rows} rows but 'y' has {yy.size} entries; pass aligned data."
        raise StatsInputError(msg)
    n_resamples = check_count(n_resamples, "n_resamples", where)
    if not isinstance(stratify, bool | np.bool_):
        msg = f"The 'stratify' parameter of {where} must be True or False. Got {stratify!r} instead."
        raise StatsInputError(msg)
    try:
        full = clone(estimator).fit(X, yy)
        apparent = _metrics(yy, full.predict_proba(X)[:, 1])
    except (TypeError, ValueError, AttributeError) as exc:
        msg = (f"{where}: the estimator could not be fitted on 'X' and 'y' ({type(exc).__name__}: {exc}). "
               "Pass numeric features without missing or infinite values, or an estimator (pipeline) that "
               "handles them and implements fit and predict_proba.")
        raise FitError(msg) from exc
    w = resample_counts(yy, n_resamples=n_resamples, groups=groups, stratify=bool(stratify),
                        random_state=random_state)
    base = np.arange(yy.size)
    optimism = np.full((w.shape[0], 3), np.nan)
    iterator: Any = range(w.shape[0])
    if progress:
        from rich.progress import track

        iterator = track(iterator, description="optimism bootstrap")
    for b in iterator:
        idx = np.repeat(base, w[b])
        Xb, yb = _take(X, idx), yy[idx]
        if yb.min() == yb.max():  # an unstratified resample with one class: nothing can be fitted
            continue
        try:
            model = clone(estimator).fit(Xb, yb)
        except ValueError:
            continue
        optimism[b] = _metrics(yb, model.predict_proba(Xb)[:, 1]) - _metrics(yy, model.predict_proba(X)[:, 1])
    mean_opt = np.nanmean(optimism, axis=0)
    return OptimismResult(metrics=("auc", "slope", "brier"), apparent=apparent, optimism=mean_opt,
                          corrected=apparent - mean_opt, n_resamples=int(n_resamples), n=int(yy.size))
