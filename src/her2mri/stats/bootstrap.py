"""Stratified and patient-grouped bootstrap confidence intervals, vectorised over resamples.

Resampling scheme
-----------------
A resample is represented by a count matrix ``W`` of shape ``(n_resamples, n)``: ``W[b, i]`` is how many times
case ``i`` appears in resample ``b``. Built-in metrics (``"auc"``) are computed for all resamples at once from
``W`` (no Python loop over resamples); a callable metric is evaluated once per resample on the expanded
index ``np.repeat(arange(n), W[b])``, so the *same* resamples feed both paths for a given ``random_state``.

* ``stratify=True`` (default) resamples positives and negatives separately, keeping the class counts fixed
  (pROC ``ci.auc(method = "bootstrap", boot.stratified = TRUE)``).
* ``groups`` (patient ids) resamples **patients** — clusters — with replacement and keeps every lesion of a
  drawn patient, so lesions of one patient never act as independent evidence. With ``stratify=True`` the
  patients are stratified by whether they have at least one positive lesion.

For the AUC the resampled statistic is the Mann–Whitney estimate with ties counting ½, obtained from
cumulative class counts over the sorted distinct scores: O(B·n) after one sort.
CIs are percentile intervals (``np.quantile`` type 7, as R's ``quantile``) or BCa (bias-corrected and
accelerated, Efron 1987) with a jackknife acceleration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from her2mri._typing import SeedLike
from her2mri.exceptions import StatisticalWarning
from her2mri.stats._checks import (
    StatsInputError,
    as_binary,
    as_float_1d,
    as_groups,
    check_conf_level,
    check_count,
    check_direction,
    check_param,
    check_same_length,
    oriented,
)
from her2mri.stats.results import BootstrapResult
from her2mri.stats.roc import _fast_delong

__all__ = ["bootstrap_ci", "resample_counts"]

Metric = Literal["auc"] | Callable[[np.ndarray, np.ndarray], float]


def _rng(random_state: SeedLike) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError) as exc:
        msg = (f"The 'random_state' parameter must be None, a non-negative integer seed or a numpy Generator. "
               f"Got {random_state!r} instead ({exc}).")
        raise StatsInputError(msg) from None


def _multinomial_counts(size: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(B, size) counts of ``size`` draws with replacement from ``size`` items, per row."""
    draws = rng.integers(0, size, size=(n_resamples, size))
    flat = (draws + (np.arange(n_resamples) * size)[:, None]).ravel()
    return np.bincount(flat, minlength=n_resamples * size).reshape(n_resamples, size).astype(np.int32)


def resample_counts(y_true: Any, *, n_resamples: int, groups: Any = None, stratify: bool = True,
                    random_state: SeedLike = None) -> np.ndarray:
    """Bootstrap count matrix ``W (n_resamples, n)``: how often each case appears in each resample.

    See the module docstring for the stratified and patient-grouped schemes.
    """
    where = "resample_counts"
    y = as_binary(y_true, where)
    n_resamples = check_count(n_resamples, "n_resamples", where)
    n = y.size
    if groups is None:
        unit = np.arange(n)
        unit_class = y
    else:
        g = as_groups(groups, n, where)
        _, unit = np.unique(g, return_inverse=True)
        unit_class = np.zeros(unit.max() + 1, dtype=np.int64)
        np.maximum.at(unit_class, unit, y)
    rng = _rng(random_state)
    n_units = unit_class.size
    counts = np.zeros((n_resamples, n_units), dtype=np.int32)
    strata = (unit_class == 1, unit_class == 0) if stratify else (np.ones(n_units, dtype=bool),)
    for mask in strata:
        members = np.flatnonzero(mask)
        if members.size:
            counts[:, members] = _multinomial_counts(members.size, n_resamples, rng)
    return counts[:, unit] if groups is not None else counts


#: rows × cases processed at once by the vectorised AUC (bounds temporary memory to ~100 MB)
_CHUNK_CELLS = 4_000_000


def _auc_from_counts(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mann–Whitney AUC for every row of the count matrix ``w`` (ties ½); NaN when a class is absent."""
    rows = max(1, _CHUNK_CELLS // max(1, y.size))
    if w.shape[0] > rows:
        return np.concatenate([_auc_from_counts(y, s, w[i:i + rows]) for i in range(0, w.shape[0], rows)])
    order = np.argsort(s, kind="mergesort")
    s_sorted = s[order]
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    ws = w[:, order].astype(np.float64)
    ypos = y[order] == 1
    wp = np.add.reduceat(np.where(ypos, ws, 0.0), starts, axis=1)
    wn = np.add.reduceat(np.where(ypos, 0.0, ws), starts, axis=1)
    below = np.cumsum(wn, axis=1) - wn
    num = np.sum(wp * (below + 0.5 * wn), axis=1)
    den = wp.sum(axis=1) * wn.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _jackknife(y: np.ndarray, s: np.ndarray, metric: Metric, groups: Any, direction: str) -> np.ndarray:
    """Leave-one-out (or leave-one-patient-out) values of the statistic, for the BCa acceleration."""
    if metric == "auc" and groups is None:
        aucs, _, v10, v01 = _fast_delong(y, oriented(s, direction)[None, :])
        m, n = v10.shape[1], v01.shape[1]
        out = np.empty(y.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[y == 1] = (m * aucs[0] - v10[0]) / (m - 1) if m > 1 else np.nan
            out[y == 0] = (n * aucs[0] - v01[0]) / (n - 1) if n > 1 else np.nan
        return out
    units = (np.arange(y.size) if groups is None
             else np.unique(as_groups(groups, y.size, "bootstrap_ci"), return_inverse=True)[1])
    out = []
    for u in np.unique(units):
        keep = units != u
        if metric == "auc":
            out.append(_auc_from_counts(y, oriented(s, direction), keep[None, :].astype(np.int32))[0])
        else:
            try:
                out.append(float(metric(y[keep], s[keep])))  # type: ignore[operator]
            except ValueError:
                out.append(np.nan)
    return np.asarray(out)


def _interval(dist: np.ndarray, estimate: float, conf_level: float, ci_method: str,
              jack: np.ndarray | None) -> tuple[float, float]:
    alpha = 1 - conf_level
    probs = np.array([alpha / 2, 1 - alpha / 2])
    if ci_method == "bca" and jack is not None:
        frac = (np.sum(dist < estimate) + 0.5 * np.sum(dist == estimate)) / dist.size
        frac = float(np.clip(frac, 1.0 / (dist.size + 1), 1 - 1.0 / (dist.size + 1)))
        z0 = sps.norm.ppf(frac)
        jack = jack[np.isfinite(jack)]
        d = jack.mean() - jack
        den = 6.0 * np.sum(d**2) ** 1.5
        a = float(np.sum(d**3) / den) if den > 0 else 0.0
        zq = sps.norm.ppf(probs)
        probs = sps.norm.cdf(z0 + (z0 + zq) / (1 - a * (z0 + zq)))
    lo, hi = np.quantile(dist, probs)
    return float(lo), float(hi)


def bootstrap_ci(y_true: Any, y_score: Any, *, metric: Metric = "auc", n_resamples: int = 2000,
                 conf_level: float = 0.95, groups: Any = None, stratify: bool = True,
                 random_state: SeedLike = None, ci_method: Literal["percentile", "bca"] = "percentile",
                 direction: str = ">") -> BootstrapResult:
    """Bootstrap confidence interval for the AUC (vectorised) or any metric ``metric(y_true, y_score)``.

    Parameters
    ----------
    metric
        ``"auc"`` (vectorised Mann–Whitney AUC honouring ``direction``) or a callable
        ``f(y_true, y_score) -> float`` evaluated once per resample (resamples where it raises
        ``ValueError``, e.g. a single class, are dropped with a warning).
    groups
        Patient ids: resample patients (clusters) instead of lesions.
    stratify
        Keep the number of positive and negative cases (patients) fixed.
    random_state
        Seed or ``np.random.Generator``; the same seed gives identical resamples and results.
    ci_method
        ``"percentile"`` (R ``boot.ci(type = "perc")`` up to quantile type) or ``"bca"``.

    R equivalent for the AUC: ``ci.auc(roc, method = "bootstrap", boot.n = 2000, boot.stratified = TRUE)``
    (pROC draws its own random numbers, so only the distributional behaviour can be compared).
    """
    where = "bootstrap_ci"
    conf_level = check_conf_level(conf_level, where)
    check_param("ci_method", ci_method, ("percentile", "bca"), where)
    check_direction(direction, where)
    is_auc = isinstance(metric, str) and metric == "auc"
    if not (is_auc or callable(metric)):
        msg = f"The 'metric' parameter of {where} must be 'auc' or a callable f(y_true, y_score). Got {metric!r}."
        raise StatsInputError(msg)
    n_resamples = check_count(n_resamples, "n_resamples", where)
    y = as_binary(y_true, where)
    s = as_float_1d(y_score, "y_score", where)
    check_same_length(where, y_true=y, y_score=s)
    if groups is not None:
        groups = as_groups(groups, y.size, where)
    w = resample_counts(y, n_resamples=int(n_resamples), groups=groups, stratify=stratify,
                        random_state=random_state)
    if metric == "auc":
        o = oriented(s, direction)
        estimate = float(_auc_from_counts(y, o, np.ones((1, y.size), dtype=np.int32))[0])
        dist = _auc_from_counts(y, o, w)
        name = "AUC"
    else:
        estimate = float(metric(y, s))  # type: ignore[operator]
        dist = np.empty(w.shape[0])
        base = np.arange(y.size)
        for b in range(w.shape[0]):
            idx = np.repeat(base, w[b])
            try:
                dist[b] = float(metric(y[idx], s[idx]))  # type: ignore[operator]
            except ValueError:
                dist[b] = np.nan
        name = getattr(metric, "__name__", "metric")
    valid = dist[np.isfinite(dist)]
    if valid.size < dist.size:
        import warnings

        msg = (f"{where}: {dist.size - valid.size} of {dist.size} resamples gave no finite {name} "
               "(e.g. a single class) and were dropped; use stratify=True.")
        warnings.warn(msg, StatisticalWarning, stacklevel=2)
    if valid.size == 0:
        msg = f"{where}: no resample produced a finite {name}; check the inputs."
        raise StatsInputError(msg)
    jack = _jackknife(y, s, metric, groups, direction) if ci_method == "bca" else None
    lo, hi = _interval(valid, estimate, conf_level, ci_method, jack)
    scheme = ("patient-grouped " if groups is not None else "") + ("stratified " if stratify else "")
    return BootstrapResult(estimate=estimate, ci_low=lo, ci_high=hi, n_resamples=int(n_resamples),
                           method=f"{scheme}bootstrap ({ci_method}) of {name}", distribution=valid,
                           conf_level=conf_level, ci_method=ci_method)
