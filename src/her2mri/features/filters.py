"""Filter selectors: Pearson collinearity filter, univariate test filter, reliability (ICC) filter.

* :class:`CorrelationFilter` – among features with Pearson |r| > ``threshold`` keep the more discriminative one
  (higher |AUC − 0.5|, or lower univariate p) [Li et al., paper 001: Pearson > 0.80, "only the feature with
  higher univariate discriminative power was retained"].
* :class:`UnivariateFilter` – keep features whose two-group test p < ``alpha`` (optionally BH-FDR adjusted)
  [paper 001: p < 0.05; paper 002: p < 0.1; paper 004: FDR-adjusted univariate tests]. ``level="variable"``
  tests each cohort variable as a whole, as a clinical Table 1 does (a categorical variable's one-hot columns by
  one χ² test of its r × 2 table, a numeric one by its rank or t test) and keeps or drops it as a whole.
* :class:`ReliabilityFilter` – keep features whose inter-/intra-reader ICC exceeds ``threshold`` from a
  supplied ICC table; it does not look at the data [paper 001: ICC > 0.75].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from her2mri.exceptions import FitError
from her2mri.features._base import BaseSelector, binary_columns_mask, univariate_auc, univariate_pvalues
from her2mri.features.group_lasso import one_hot_groups

__all__ = ["CorrelationFilter", "ReliabilityFilter", "UnivariateFilter", "bh_adjust", "screen_records"]


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


def _variable_pvalues(X: np.ndarray, y: np.ndarray, labels: list[str], test: str) -> dict[str, float]:
    """Two-or-more-group test p-value per variable (``labels``: the variable of each column).

    A variable of several 0/1 columns (one-hot levels) or one 0/1 column: Pearson χ² of its levels × classes table
    without continuity correction (levels never seen dropped); a numeric column: Mann–Whitney (Kruskal–Wallis
    for more than two classes) for ``test`` ``"auto"``/``"mannwhitney"``, Welch t (one-way ANOVA) for ``"t"``;
    two-class numeric tests run on all numeric columns at once. A variable with fewer than two observed levels, or
    constant, gets p = 1.
    """
    from scipy import stats

    classes = np.unique(y)
    binary = binary_columns_mask(X)
    members: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        members.setdefault(label, []).append(index)
    out: dict[str, float] = {}
    numeric: dict[str, int] = {}
    for label, idx in members.items():
        if not np.all(binary[idx]):
            if len(idx) > 1:
                msg = (f"Variable {label!r} groups several columns that are not all 0/1; a variable is one numeric "
                       "column or the one-hot columns of its levels.")
                raise FitError(msg)
            numeric[label] = idx[0]
            continue
        block = X[:, idx]
        codes = np.argmax(block, axis=1) if len(idx) > 1 else block[:, 0].astype(int)
        table = np.array([[np.sum((codes == c) & (y == k)) for k in classes] for c in np.unique(codes)])
        out[label] = (float(stats.chi2_contingency(table, correction=False)[1]) if table.shape[0] >= 2 else 1.0)
    if numeric:
        values = X[:, list(numeric.values())]
        varying = np.ptp(values, axis=0) > 0
        p = np.ones(values.shape[1])
        if varying.any():
            samples = [values[y == k][:, varying] for k in classes]
            with np.errstate(divide="ignore", invalid="ignore"):
                if len(samples) == 2:
                    result = (stats.ttest_ind(*samples, equal_var=False, axis=0) if test == "t"
                              else stats.mannwhitneyu(*samples, alternative="two-sided", axis=0))
                    p[varying] = np.atleast_1d(result.pvalue)
                else:
                    test_of = stats.f_oneway if test == "t" else stats.kruskal
                    p[varying] = [test_of(*(part[:, j] for part in samples)).pvalue for j in range(int(varying.sum()))]
        out.update(zip(numeric, np.nan_to_num(p, nan=1.0).astype(float).tolist(), strict=True))
    return out


class UnivariateFilter(BaseSelector):
    """Keep features with univariate p < ``alpha``; at least ``min_features`` are kept.

    ``test``: ``"auto"`` (χ² for 0/1 columns, Mann–Whitney otherwise), ``"t"`` (Welch), ``"mannwhitney"``,
    ``"chi2"``. ``correction``: ``"none"`` or ``"bh"`` (Benjamini–Hochberg FDR). ``pvalues_`` holds the p-values
    used per column (adjusted when corrected; at ``level="variable"`` every column carries its variable's);
    ``scores_`` = −log10 p. ``alpha = 1`` keeps every feature: the "no screen" point of a tuning grid
    (e.g. ``alpha: [0.05, 0.2, 1.0]`` in a model's selector ``grid``, chosen by inner cross-validation).

    ``level``: ``"column"`` tests each input column; ``"variable"`` tests each cohort variable once — the one-hot
    columns of a categorical variable (found as :func:`~her2mri.features.group_lasso.one_hot_groups` does, or given
    as ``group_of={"column": "variable"}``) by one χ² test of its levels, a numeric column by ``test`` (``auto``:
    Mann–Whitney) — corrects over variables, and keeps or drops a variable with all its columns (seed 004's
    univariable analysis with FDR-adjusted p). ``variable_pvalues_`` maps each variable to its (adjusted) p,
    ``column_variables_`` names the variable of each input column.
    """

    def __init__(
        self,
        alpha: float = 0.05,
        test: Literal["auto", "t", "mannwhitney", "chi2"] = "auto",
        correction: Literal["none", "bh"] = "none",
        min_features: int = 1,
        level: Literal["column", "variable"] = "column",
        group_of: Mapping[str, str] | None = None,
    ) -> None:
        self.alpha = alpha
        self.test = test
        self.correction = correction
        self.min_features = min_features
        self.level = level
        self.group_of = group_of

    def _select(self, X: np.ndarray, y: np.ndarray | None, **fit_params: Any) -> tuple[np.ndarray, np.ndarray]:
        if not 0 < self.alpha <= 1:
            msg = f"The 'alpha' parameter of UnivariateFilter must be in (0, 1]. Got {self.alpha!r} instead."
            raise FitError(msg)
        if self.correction not in ("none", "bh"):
            msg = f"The 'correction' parameter of UnivariateFilter must be 'none' or 'bh'. Got {self.correction!r} instead."
            raise FitError(msg)
        if self.level == "column":
            p = univariate_pvalues(X, y, self.test)
            if self.correction == "bh":
                p = bh_adjust(p)
        elif self.level == "variable":
            p = self._by_variable(X, np.asarray(y))
        else:
            msg = f"The 'level' parameter of UnivariateFilter must be 'column' or 'variable'. Got {self.level!r} instead."
            raise FitError(msg)
        self.pvalues_ = p
        scores = -np.log10(np.maximum(p, 1e-300))
        mask = (p < self.alpha) | (self.alpha >= 1)
        k = min(int(self.min_features), X.shape[1])
        self.topped_up_ = bool(0 < mask.sum() < k)
        if self.topped_up_:  # an empty selection is left to the shared fallback (recorded as fallback_used_)
            mask[np.argsort(p, kind="stable")[:k]] = True
        return scores, mask

    def screen_record(self) -> dict[str, Any] | None:
        """The variable-level screen as results.json keeps it (None at column level): each variable's p-value
        (adjusted when corrected) and whether it was kept, most significant first."""
        if self.level != "variable" or not hasattr(self, "variable_pvalues_"):
            return None
        kept_variables = {v for v, kept in zip(self.column_variables_, self.support_mask_, strict=True) if kept}
        rows = [{"variable": v, "p": p, "kept": v in kept_variables}
                for v, p in sorted(self.variable_pvalues_.items(), key=lambda item: (item[1], item[0]))]
        return {"alpha": float(self.alpha), "correction": self.correction, "test": self.test, "variables": rows}

    def _by_variable(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        if self.test not in ("auto", "t", "mannwhitney"):
            msg = (f"The 'test' parameter of UnivariateFilter at level='variable' applies to numeric variables and "
                   f"must be 'auto', 't' or 'mannwhitney' (categorical ones always take χ²). Got {self.test!r} instead.")
            raise FitError(msg)
        names = [str(n) for n in getattr(self, "feature_names_in_", [f"x{i}" for i in range(X.shape[1])])]
        if self.group_of:
            labels = [str(self.group_of.get(n, n)) for n in names]
        else:
            labels = one_hot_groups(X, names)
        self.column_variables_ = labels
        by_variable = _variable_pvalues(X, y, labels, self.test)
        variables = list(by_variable)
        raw = np.array([by_variable[v] for v in variables])
        adjusted = bh_adjust(raw) if self.correction == "bh" else raw
        self.variable_pvalues_ = {v: float(q) for v, q in zip(variables, adjusted, strict=True)}
        return np.array([self.variable_pvalues_[label] for label in labels])


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


def screen_records(pipeline: Any) -> list[dict[str, Any]]:
    """The variable-level screen records of every fitted :class:`UnivariateFilter` step in ``pipeline``."""
    out = []
    for name, step in getattr(pipeline, "steps", []):
        record = step.screen_record() if isinstance(step, UnivariateFilter) else None
        if record is not None:
            out.append({"step": name, **record})
    return out
