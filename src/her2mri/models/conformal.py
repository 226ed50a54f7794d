"""Class-conditional (Mondrian) split conformal prediction sets for the three-class HER2 output.

Given calibration probabilities ``P_cal`` (n × 3, columns ``zero, low, positive``) and true classes ``y_cal``,
the nonconformity of a case is ``s = 1 − p̂_y``. For each class k with ``n_k`` calibration cases the threshold
``q̂_k`` is the ``⌈(n_k + 1)(1 − α)⌉``-th smallest score of that class (the finite-sample corrected empirical
quantile, level ``⌈(n_k + 1)(1 − α)⌉ / n_k``). A new case's prediction set is ``{k : 1 − p̂_k ≤ q̂_k}``.

Guarantee (Vovk 2003; Angelopoulos & Bates 2023, §4.5): if calibration and test cases are exchangeable within
each class, ``P(Y ∈ C(X) | Y = k) ≥ 1 − α`` for every class k, whatever the model. When
``⌈(n_k + 1)(1 − α)⌉ > n_k`` the class has too few calibration cases; its threshold is +inf (class always
included) and a :class:`~her2mri.exceptions.StatisticalWarning` says so.

References: Vovk V. Mondrian confidence machine (2003); Vovk, Gammerman & Shafer, Algorithmic Learning in a
Random World (2005); Angelopoulos AN, Bates S. Conformal prediction: a gentle introduction. Found Trends Mach
Learn 2023;16:494–591.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from her2mri.exceptions import FitError, StatisticalWarning

__all__ = ["ClassConditionalConformal", "CoverageReport", "coverage_report"]

DEFAULT_CLASSES: tuple[str, ...] = ("zero", "low", "positive")
ABSTAIN = "abstain"


def _as_index(y: Any, classes: Sequence[str], where: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.dtype.kind in "iu":
        idx = arr.astype(int)
    else:
        lookup = {str(c): i for i, c in enumerate(classes)}
        bad = [v for v in arr if str(v) not in lookup]
        if bad:
            msg = (f"{where}: got class label {bad[0]!r}; accepted: {', '.join(classes)} "
                   f"or integer indices 0..{len(classes) - 1}.")
            raise FitError(msg)
        idx = np.array([lookup[str(v)] for v in arr], dtype=int)
    if idx.size and (idx.min() < 0 or idx.max() >= len(classes)):
        msg = f"{where}: class index out of range; got {idx.min()}..{idx.max()}, accepted 0..{len(classes) - 1}."
        raise FitError(msg)
    return idx


def _check_proba(P: Any, n_classes: int, where: str) -> np.ndarray:
    arr = np.asarray(P, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != n_classes:
        msg = f"{where}: probabilities must be an (n, {n_classes}) array; got shape {arr.shape}."
        raise FitError(msg)
    if not np.all(np.isfinite(arr)) or arr.min() < -1e-9 or arr.max() > 1 + 1e-9:
        msg = f"{where}: probabilities must be finite and within [0, 1]."
        raise FitError(msg)
    return arr


@dataclass(frozen=True)
class CoverageReport:
    """Empirical coverage and mean prediction-set size, per class and overall."""

    classes: tuple[str, ...]
    coverage: tuple[float, ...]
    mean_set_size: tuple[float, ...]
    n: tuple[int, ...]
    overall_coverage: float
    overall_mean_set_size: float
    empty_rate: float

    def to_frame(self) -> pd.DataFrame:
        rows = [{"class": c, "n": n, "coverage": cov, "mean_set_size": size}
                for c, n, cov, size in zip(self.classes, self.n, self.coverage, self.mean_set_size, strict=True)]
        rows.append({"class": "overall", "n": int(sum(self.n)), "coverage": self.overall_coverage,
                     "mean_set_size": self.overall_mean_set_size})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        def _f(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        return {
            "classes": list(self.classes),
            "per_class": {c: {"n": int(n), "coverage": _f(cov), "mean_set_size": _f(size)}
                          for c, n, cov, size in zip(self.classes, self.n, self.coverage, self.mean_set_size,
                                                     strict=True)},
            "overall_coverage": _f(self.overall_coverage),
            "overall_mean_set_size": _f(self.overall_mean_set_size),
            "empty_rate": _f(self.empty_rate),
        }


def coverage_report(sets: Any, y: Any, *, classes: Sequence[str] = DEFAULT_CLASSES) -> CoverageReport:
    """Per-class empirical coverage ``mean(y ∈ set | y = k)`` and mean set size of boolean prediction sets."""
    s = np.asarray(sets, dtype=bool)
    if s.ndim != 2 or s.shape[1] != len(classes):
        msg = f"coverage_report: sets must be a boolean (n, {len(classes)}) array; got shape {s.shape}."
        raise FitError(msg)
    idx = _as_index(y, classes, "coverage_report y")
    if idx.shape[0] != s.shape[0]:
        msg = f"coverage_report: {s.shape[0]} prediction sets but {idx.shape[0]} labels."
        raise FitError(msg)
    covered = s[np.arange(len(idx)), idx]
    size = s.sum(axis=1)
    cov, msize, ns = [], [], []
    for k in range(len(classes)):
        mask = idx == k
        ns.append(int(mask.sum()))
        cov.append(float(covered[mask].mean()) if mask.any() else float("nan"))
        msize.append(float(size[mask].mean()) if mask.any() else float("nan"))
    return CoverageReport(tuple(map(str, classes)), tuple(cov), tuple(msize), tuple(ns),
                          float(covered.mean()) if len(idx) else float("nan"),
                          float(size.mean()) if len(idx) else float("nan"),
                          float((size == 0).mean()) if len(idx) else float("nan"))


class ClassConditionalConformal:
    """Mondrian split-conformal prediction sets with per-class coverage ``≥ 1 − alpha``.

    Parameters
    ----------
    alpha:
        Miscoverage risk per class (0 < alpha < 1); ``alpha=0.1`` gives 90 % sets.
    classes:
        Class names in the column order of the probability matrix (default ``zero, low, positive``).

    Attributes
    ----------
    thresholds_ : ndarray of the per-class score thresholds ``q̂_k`` (``inf`` when a class has too few cases).
    quantile_levels_ : ndarray of the corrected levels ``⌈(n_k + 1)(1 − α)⌉ / n_k``.
    n_calibration_ : ndarray of calibration counts per class.
    """

    def __init__(self, alpha: float = 0.1, classes: Sequence[str] = DEFAULT_CLASSES) -> None:
        self.alpha = alpha
        self.classes = classes

    # -- fitting ---------------------------------------------------------------------------------------
    def fit(self, P_cal: Any, y_cal: Any) -> ClassConditionalConformal:  # noqa: N803 - matrix name
        """Compute per-class thresholds from calibration probabilities and true classes."""
        if not (isinstance(self.alpha, (int, float)) and 0.0 < float(self.alpha) < 1.0):
            msg = f"The 'alpha' parameter of ClassConditionalConformal must be in (0, 1). Got {self.alpha!r} instead."
            raise FitError(msg)
        classes = tuple(map(str, self.classes))
        P = _check_proba(P_cal, len(classes), "ClassConditionalConformal.fit P_cal")
        idx = _as_index(y_cal, classes, "ClassConditionalConformal.fit y_cal")
        if idx.shape[0] != P.shape[0]:
            msg = f"ClassConditionalConformal.fit: {P.shape[0]} probability rows but {idx.shape[0]} labels."
            raise FitError(msg)
        scores = 1.0 - P[np.arange(len(idx)), idx]
        thresholds, levels, counts = [], [], []
        for k, name in enumerate(classes):
            s_k = np.sort(scores[idx == k])
            n_k = s_k.size
            counts.append(n_k)
            rank = math.ceil((n_k + 1) * (1.0 - float(self.alpha)))
            levels.append(rank / n_k if n_k else float("inf"))
            if n_k == 0 or rank > n_k:
                thresholds.append(float("inf"))
                need = math.ceil(1.0 / float(self.alpha)) - 1
                msg = (f"Class '{name}' has {n_k} calibration cases; at alpha={self.alpha} at least {need} are "
                       "needed for a finite threshold, so this class is always included in prediction sets.")
                warnings.warn(msg, StatisticalWarning, stacklevel=2)
            else:
                thresholds.append(float(s_k[rank - 1]))
        self.classes_ = classes
        self.thresholds_ = np.asarray(thresholds, dtype=float)
        self.quantile_levels_ = np.asarray(levels, dtype=float)
        self.n_calibration_ = np.asarray(counts, dtype=int)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "thresholds_"):
            msg = "This ClassConditionalConformal instance is not fitted yet; call fit(P_cal, y_cal) first."
            raise FitError(msg)

    # -- prediction ------------------------------------------------------------------------------------
    def predict_sets(self, P: Any) -> np.ndarray:  # noqa: N803
        """Boolean ``(n, n_classes)`` array: class k is in the set when ``1 − p̂_k ≤ q̂_k``."""
        self._check_fitted()
        arr = _check_proba(P, len(self.classes_), "ClassConditionalConformal.predict_sets P")
        return (1.0 - arr) <= self.thresholds_[None, :] + 1e-12

    def predict_with_abstention(self, P: Any, max_set_size: int = 1) -> np.ndarray:  # noqa: N803
        """Calls: the most probable class inside the set when the set has 1..``max_set_size`` members, else
        ``"abstain"`` (ambiguous: more classes than allowed; or empty: the case looks unlike any class)."""
        if max_set_size < 1:
            msg = f"The 'max_set_size' parameter must be >= 1. Got {max_set_size!r} instead."
            raise FitError(msg)
        sets = self.predict_sets(P)
        arr = np.asarray(P, dtype=float)
        masked = np.where(sets, arr, -np.inf)
        best = np.asarray(self.classes_, dtype=object)[masked.argmax(axis=1)]
        size = sets.sum(axis=1)
        return np.where((size >= 1) & (size <= max_set_size), best, ABSTAIN).astype(object)

    def set_labels(self, P: Any) -> list[str]:  # noqa: N803
        """Prediction sets as strings, e.g. ``"{low, positive}"``, for tables and the web page."""
        sets = self.predict_sets(P)
        return ["{" + ", ".join(c for c, inside in zip(self.classes_, row, strict=True) if inside) + "}"
                for row in sets]

    # -- serialisation ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state (thresholds ``inf`` are stored as ``None``)."""
        self._check_fitted()
        return {
            "kind": "class_conditional_split_conformal",
            "alpha": float(self.alpha),
            "classes": list(self.classes_),
            "thresholds": [None if not np.isfinite(t) else float(t) for t in self.thresholds_],
            "quantile_levels": [None if not np.isfinite(q) else float(q) for q in self.quantile_levels_],
            "n_calibration": [int(n) for n in self.n_calibration_],
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ClassConditionalConformal:
        """Rebuild a fitted instance from :meth:`to_dict` output."""
        try:
            obj = cls(alpha=float(state["alpha"]), classes=tuple(state["classes"]))
            obj.classes_ = tuple(map(str, state["classes"]))
            obj.thresholds_ = np.array([np.inf if t is None else float(t) for t in state["thresholds"]])
            obj.quantile_levels_ = np.array([np.inf if q is None else float(q) for q in state["quantile_levels"]])
            obj.n_calibration_ = np.asarray(state["n_calibration"], dtype=int)
        except (KeyError, TypeError, ValueError) as exc:
            msg = ("Conformal state is incomplete or malformed; expected keys alpha, classes, thresholds, "
                   f"quantile_levels, n_calibration as written by to_dict(). Got keys {sorted(state)}.")
            raise FitError(msg) from exc
        if len(obj.thresholds_) != len(obj.classes_):
            msg = f"Conformal state has {len(obj.thresholds_)} thresholds for {len(obj.classes_)} classes."
            raise FitError(msg)
        return obj

    def __repr__(self) -> str:
        return f"ClassConditionalConformal(alpha={self.alpha!r}, classes={tuple(self.classes)!r})"
