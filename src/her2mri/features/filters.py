"""Filter selectors: Pearson collinearity filter, univariate test filter, reliability (ICC) filter.

* :class:`CorrelationFilter` – among features with Pearson |r| > ``threshold`` keep the more discriminative one
  (higher |AUC − 0.5|, or lower univariate p) [Li et al., paper 001: Pearson > 0.80, "only the feature with
  higher univariate discriminative power was retained"].
* :class:`UnivariateFilter` – keep features whose two-group test p < ``alpha`` (optionally BH-FDR adjusted)
  [paper 001: p < 0.05; paper 002: p < 0.1; paper 004: FDR-adjusted univariate tests].
* :class:`ReliabilityFilter` – keep features whose inter-/intra-reader ICC exceeds ``threshold`` from a
  supplied ICC table; it does not look at the data [paper 001: ICC > 0.75].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from her2mri.exceptions import FitError
from her2mri.features._base import BaseSelector, univariate_auc, univariate_pvalues

__all__ = ["CorrelationFilter", "ReliabilityFilter", "UnivariateFilter", "bh_adjust"]


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (R ``p.adjust(method = "BH")``)."""
    p = np.asarray(p, dtype=float)
    n = p.size
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(adjusted, 1.0)
    return out


class CorrelationFilter(BaseSelector):
    """Drop the less discriminative feature of every pair with Pearson |r| > ``threshold``.

    Features are visited from most to least discriminative (``rank_by="auc"``: |AUC − 0.5|; ``"pvalue"``:
    univariate p ascending); a feature is kept unless it correlates above the threshold with one already kept.
    ``scores_`` hold the discrimination measure.
    """

    def __init__(self, threshold: float = 0.8, rank_by: Literal["auc", "pvalue"] = "auc") -> None:
        self.threshold = threshold
        self.rank_by = rank_by

    def _select(self, X: np.ndarray, y: np.ndarray | None, **fit_params: Any) -> tuple[np.ndarray, np.ndarray]:
        if not 0 < self.threshold <= 1:
            msg = f"The 'threshold' parameter of CorrelationFilter must be in (0, 1]. Got {self.threshold!r} instead."
            raise FitError(msg)
        if self.rank_by == "auc":
            scores = np.abs(univariate_auc(X, y) - 0.5)
        elif self.rank_by == "pvalue":
            scores = -np.log10(np.maximum(univariate_pvalues(X, y), 1e-300))
        else:
            msg = f"The 'rank_by' parameter of CorrelationFilter must be 'auc' or 'pvalue'. Got {self.rank_by!r} instead."
            raise FitError(msg)
        sd = X.std(axis=0)
        z = np.where(sd > 0, (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1), 0.0)
        order = np.argsort(-scores, kind="stable")
        corr = np.abs(z.T @ z) / X.shape[0]
        mask = np.zeros(X.shape[1], dtype=bool)
        for j in order:
            if sd[j] == 0:
                continue
            if not np.any(corr[j, mask] > self.threshold):
                mask[j] = True
        return scores, mask


class UnivariateFilter(BaseSelector):
    """Keep features with univariate p < ``alpha`` (two groups); at least ``min_features`` are kept.

    ``test``: ``"auto"`` (χ² for 0/1 columns, Mann–Whitney otherwise), ``"t"`` (Welch), ``"mannwhitney"``,
    ``"chi2"``. ``correction``: ``"none"`` or ``"bh"`` (Benjamini–Hochberg FDR). ``pvalues_`` holds the p-values
    used (adjusted when corrected); ``scores_`` = −log10 p.
    """

    def __init__(
        self,
        alpha: float = 0.05,
        test: Literal["auto", "t", "mannwhitney", "chi2"] = "auto",
        correction: Literal["none", "bh"] = "none",
        min_features: int = 1,
    ) -> None:
        self.alpha = alpha
        self.test = test
        self.correction = correction
        self.min_features = min_features

    def _select(self, X: np.ndarray, y: np.ndarray | None, **fit_params: Any) -> tuple[np.ndarray, np.ndarray]:
        if not 0 < self.alpha <= 1:
            msg = f"The 'alpha' parameter of UnivariateFilter must be in (0, 1]. Got {self.alpha!r} instead."
            raise FitError(msg)
        p = univariate_pvalues(X, y, self.test)
        if self.correction == "bh":
            p = bh_adjust(p)
        elif self.correction != "none":
            msg = f"The 'correction' parameter of UnivariateFilter must be 'none' or 'bh'. Got {self.correction!r} instead."
            raise FitError(msg)
        self.pvalues_ = p
        scores = -np.log10(np.maximum(p, 1e-300))
        mask = p < self.alpha
        k = min(int(self.min_features), X.shape[1])
        self.topped_up_ = bool(0 < mask.sum() < k)
        if self.topped_up_:  # an empty selection is left to the shared fallback (recorded as fallback_used_)
            mask[np.argsort(p, kind="stable")[:k]] = True
        return scores, mask


class ReliabilityFilter(BaseSelector):
    """Keep features whose ICC is above ``threshold``, from a table computed elsewhere (e.g. two readers).

    ``icc`` maps feature name → ICC (dict, Series, or a DataFrame with columns ``feature`` and ``icc``).
    Features absent from the table (clinical or BI-RADS columns, one-hot levels) are kept when
    ``missing="keep"`` and dropped with ``"drop"``. The data are not used, only the feature names; ``y`` is
    accepted and ignored. ``scores_`` holds the ICC (NaN → −inf when missing).
    """

    _requires_y = False

    def __init__(
        self,
        icc: Mapping[str, float] | pd.Series | pd.DataFrame | None = None,
        threshold: float = 0.75,
        missing: Literal["keep", "drop"] = "keep",
    ) -> None:
        self.icc = icc
        self.threshold = threshold
        self.missing = missing

    def _table(self) -> dict[str, float]:
        icc = self.icc
        if icc is None:
            return {}
        if isinstance(icc, pd.DataFrame):
            if not {"feature", "icc"} <= set(icc.columns):
                msg = f"ReliabilityFilter: an ICC DataFrame needs columns 'feature' and 'icc'; got {list(icc.columns)}."
                raise FitError(msg)
            return dict(zip(icc["feature"].astype(str), icc["icc"].astype(float), strict=True))
        return {str(k): float(v) for k, v in dict(icc).items()}

    def _select(self, X: np.ndarray, y: np.ndarray | None, **fit_params: Any) -> tuple[np.ndarray, np.ndarray]:
        if self.missing not in ("keep", "drop"):
            msg = f"The 'missing' parameter of ReliabilityFilter must be 'keep' or 'drop'. Got {self.missing!r} instead."
            raise FitError(msg)
        table = self._table()
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = np.array([f"x{i}" for i in range(X.shape[1])], dtype=object)
        values = np.array([table.get(str(n), np.nan) for n in names], dtype=float)
        known = np.isfinite(values)
        mask = np.where(known, values > self.threshold, self.missing == "keep")
        self.icc_ = values
        scores = np.where(known, values, -np.inf)
        if not mask.any() and not np.isfinite(scores).any():
            scores = np.zeros(X.shape[1])
        return scores, mask

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> ReliabilityFilter:
        super().fit(X, None, **fit_params)
        return self
