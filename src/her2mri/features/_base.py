"""Shared machinery of the selectors: validation, the never-empty rule, univariate scores."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin, f_classif
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from her2mri.exceptions import FitError

__all__ = [
    "BaseSelector",
    "binary_columns_mask",
    "univariate_auc",
    "univariate_pvalues",
]


def binary_columns_mask(X: np.ndarray) -> np.ndarray:
    """Columns whose values are all 0 or 1 (one-hot and yes/no features)."""
    return np.all((X == 0) | (X == 1), axis=0)


def _as_binary(y: np.ndarray) -> np.ndarray | None:
    classes = np.unique(y)
    if classes.size != 2:
        return None
    return (y == classes[1]).astype(np.int64)


def univariate_auc(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-column AUC of each feature for the positive (larger) class; 0.5 for constant columns.

    For more than two classes, a monotone stand-in (0.5 + F / (2 (1 + F))) is returned so that rankings work.
    """
    yb = _as_binary(np.asarray(y))
    if yb is None:
        f, _ = _safe_f(X, y)
        return 0.5 + f / (2 * (1 + f))
    ranks = stats.rankdata(X, axis=0)
    n1 = yb.sum()
    n0 = yb.size - n1
    auc = (ranks[yb == 1].sum(axis=0) - n1 * (n1 + 1) / 2) / (n1 * n0)
    return np.where(np.ptp(X, axis=0) > 0, auc, 0.5)


def _safe_f(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"), _quiet():
        f, p = f_classif(X, y)
    return np.nan_to_num(f, nan=0.0, posinf=1e12), np.nan_to_num(p, nan=1.0)


class _quiet:
    """Silence RuntimeWarnings of degenerate (constant) columns inside a block."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)


def univariate_pvalues(X: np.ndarray, y: np.ndarray, test: str = "auto") -> np.ndarray:
    """Per-column two-group test p-values (1.0 for constant columns).

    ``test``: ``"t"`` (Welch t), ``"mannwhitney"``, ``"chi2"`` (2×2 Pearson χ² without continuity correction,
    for 0/1 columns), or ``"auto"``: χ² for 0/1 columns, Mann–Whitney otherwise. With more than two classes an
    ANOVA F-test is used for every column.
    """
    X = np.asarray(X, dtype=float)
    yb = _as_binary(np.asarray(y))
    if yb is None:
        return _safe_f(X, y)[1]
    p = np.ones(X.shape[1])
    binary = binary_columns_mask(X)
    varying = np.ptp(X, axis=0) > 0
    a, b = X[yb == 1], X[yb == 0]
    if test == "auto":
        chi_cols = binary & varying
        cont_cols = ~binary & varying
        cont_test = "mannwhitney"
    elif test == "chi2":
        chi_cols, cont_cols, cont_test = varying, np.zeros_like(varying), "mannwhitney"
    else:
        chi_cols, cont_cols, cont_test = np.zeros_like(varying), varying, test
    with _quiet(), np.errstate(divide="ignore", invalid="ignore"):
        if cont_cols.any():
            if cont_test == "t":
                res = stats.ttest_ind(a[:, cont_cols], b[:, cont_cols], axis=0, equal_var=False)
            elif cont_test == "mannwhitney":
                res = stats.mannwhitneyu(a[:, cont_cols], b[:, cont_cols], axis=0, alternative="two-sided")
            else:
                msg = f"Unknown univariate test {test!r}; accepted: auto, t, mannwhitney, chi2."
                raise FitError(msg)
            p[cont_cols] = np.nan_to_num(res.pvalue, nan=1.0)
        if chi_cols.any():
            xc = (X[:, chi_cols] > 0.5).astype(float)
            n = yb.size
            n1 = yb.sum()
            col1 = xc.sum(axis=0)
            obs = np.stack([xc[yb == 1].sum(axis=0), n1 - xc[yb == 1].sum(axis=0),
                            xc[yb == 0].sum(axis=0), (n - n1) - xc[yb == 0].sum(axis=0)])
            exp = np.stack([n1 * col1 / n, n1 * (n - col1) / n, (n - n1) * col1 / n, (n - n1) * (n - col1) / n])
            chi = np.nansum((obs - exp) ** 2 / exp, axis=0)
            p[chi_cols] = np.nan_to_num(stats.chi2.sf(chi, 1), nan=1.0)
    return p


class BaseSelector(SelectorMixin, BaseEstimator):
    """A supervised selector: subclasses implement ``_select(X, y, **fit_params) -> (scores, mask)``.

    Learned attributes: ``scores_`` (higher = more useful), ``support_mask_``, ``selected_features_`` (names),
    ``n_features_in_``, ``feature_names_in_`` (for DataFrame input) and ``fallback_used_`` — ``True`` when the
    method selected nothing and the single best-scoring feature was kept instead (the pipeline never breaks
    on an empty selection).
    """

    _requires_y = True

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> BaseSelector:
        if self._requires_y:
            X, y = validate_data(self, X, y, dtype=np.float64)
            check_classification_targets(y)
        else:
            X = validate_data(self, X, dtype=np.float64)
        scores, mask = self._select(np.asarray(X), None if y is None else np.asarray(y), **fit_params)
        scores = np.nan_to_num(np.asarray(scores, dtype=float), nan=-np.inf)
        mask = np.asarray(mask, dtype=bool)
        self.fallback_used_ = not mask.any()
        if self.fallback_used_:
            mask = np.zeros(X.shape[1], dtype=bool)
            mask[int(np.argmax(scores))] = True
        self.scores_ = scores
        self.support_mask_ = mask
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = np.array([f"x{i}" for i in range(X.shape[1])], dtype=object)
        self.selected_features_ = np.asarray(names, dtype=object)[mask]
        return self

    def _select(self, X: np.ndarray, y: np.ndarray | None, **fit_params: Any) -> tuple[np.ndarray, np.ndarray]:
        msg = f"{type(self).__name__} must define _select."
        raise TypeError(msg)

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_mask_")
        return self.support_mask_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self._requires_y
        return tags


def top_k_mask(scores: np.ndarray, k: int | None, threshold: float | None = None) -> np.ndarray:
    """Mask of the ``k`` highest scores (ties by column order), optionally also requiring ``score >= threshold``."""
    scores = np.nan_to_num(np.asarray(scores, dtype=float), nan=-np.inf)
    mask = np.ones(scores.size, dtype=bool)
    if threshold is not None:
        mask &= scores >= threshold
    if k is not None:
        order = np.argsort(-scores, kind="stable")[: max(int(k), 0)]
        top = np.zeros(scores.size, dtype=bool)
        top[order] = True
        mask &= top
    return mask
