"""Model-based selectors: random-forest and GBDT importance, L1-logistic (LASSO) with inner CV, SHAP ranking.

* :class:`RandomForestSelector` – impurity importance of a random forest, top ``k`` or above a threshold
  [Zhou et al., paper 000: random-forest selection of BI-RADS features].
* :class:`GbdtSelector` – gradient-boosted-tree importance [Li et al., paper 001: GBDT selection].
* :class:`LassoSelector` – non-zero coefficients of an L1-penalised logistic regression whose C is chosen by
  inner CV AUC (patient-grouped when ``groups`` are passed to ``fit``) [paper 004: LASSO].
* :class:`ShapSelector` – mean |SHAP| of a tree model (TreeExplainer), top ``k`` [Chen et al., paper 003].
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier

from her2mri.exceptions import FitError
from her2mri.features._base import BaseSelector, top_k_mask

__all__ = ["GbdtSelector", "LassoSelector", "RandomForestSelector", "ShapSelector"]


def _threshold_value(threshold: float | str | None, scores: np.ndarray) -> float | None:
    if threshold is None:
        return None
    if threshold == "mean":
        return float(np.mean(scores))
    if threshold == "median":
        return float(np.median(scores))
    return float(threshold)


class RandomForestSelector(BaseSelector):
    """Keep the ``k`` features of highest random-forest (Gini) importance, or those ≥ ``threshold``.

    ``threshold`` may be a number, ``"mean"`` or ``"median"``; with both ``k`` and ``threshold`` a feature must
    satisfy both. ``scores_`` = importances.
    """

    def __init__(
        self,
        k: int | None = 10,
        threshold: float | str | None = None,
        n_estimators: int = 200,
        max_depth: int | None = None,
        min_samples_leaf: int = 1,
        random_state: int | None = None,
    ) -> None:
        self.k = k
        self.threshold = threshold
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state

    def _select(self, X: np.ndarray, y: np.ndarray | None, **fit_params: Any) -> tuple[np.ndarray, np.ndarray]:
        model = RandomForestClassifier(
            n_estimators=self.n_estimators, max_depth=self.max_depth, min_samples_leaf=self.min_samples_leaf,
            n_jobs=1, random_state=self.random_state,
        ).fit(X, y)
        self.estimator_ = model
        scores = model.feature_importances_
        return scores, top_k_mask(scores, self.k, _threshold_value(self.threshold, scores))


class GbdtSelector(BaseSelector):
    """Keep the ``k`` features of highest gradient-boosting importance (or ≥ ``threshold``; "mean"/"median")."""

    def __init__(
        self,
        k: int | None = 10,
        threshold: float | str | None = None,
        n_estimators: int = 100,
        learning_rate: float = 0.1,
        max_depth: int = 3,
        subsample: float = 1.0,
        random_state: int | None = None,
    ) -> None:
        self.k = k
        self.threshold = threshold
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.subsample = subsample
        self.random_state = random_state

    def _select(self, X: np.ndarray, y: np.ndarray | None, **fit_params: Any) -> tuple[np.ndarray, np.ndarray]:
        model = GradientBoostingClassifier(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate, max_depth=self.max_depth,
            subsample=self.subsample, random_state=self.random_state,
        ).fit(X, y)
        self.estimator_ = model
        scores = model.feature_importances_
        return scores, top_k_mask(scores, self.k, _threshold_value(self.threshold, scores))


class LassoSelector(BaseSelector):
    """L1-penalised logistic regression with C chosen by inner cross-validated AUC; keeps non-zero coefficients.

    Inner CV: ``StratifiedGroupKFold`` when ``groups`` (patient ids) are passed to ``fit`` (the pipeline's
    ``tune_pipeline`` and ``cross_val_predict_grouped`` route them), else ``StratifiedKFold``. ``Cs`` is an int
    (a log-grid from 1e-3 to 10) or explicit values. ``rule="1se"`` takes the smallest C within one standard
    error of the best mean AUC (glmnet's ``lambda.1se``); ``"best"`` the best. ``max_features`` caps the number
    kept by |coefficient|. Learned: ``C_``, ``n_unconverged_fits_`` (liblinear fits that hit max_iter), ``cv_scores_`` (C × fold), ``coef_`` and ``scores_`` = |coef|.
    Expects standardised features (the preprocessor scales them).

    Speed on wide tables (the inner CV is the cost: folds × grid L1 fits for every selector fit), without
    changing what is chosen on a unimodal CV curve:

    * a C at or below :func:`sklearn.svm.l1_min_c` of a fold gives the empty model (every coefficient, the
      intercept included, is zero: liblinear penalises the intercept column too), whose constant score has AUC
      0.5 — that value is recorded without a fit;
    * the grid is walked from the strongest penalty upwards and stops once the mean CV AUC has been below its
      best so far for ``patience`` consecutive values (glmnet likewise stops its path once the fit saturates);
      the weaker penalties are recorded as NaN in ``cv_scores_``. ``patience=None`` walks the whole grid.
    """

    _accepts_groups = True

    def __init__(
        self,
        Cs: int | Sequence[float] = 10,
        cv: int = 5,
        rule: Literal["best", "1se"] = "best",
        max_features: int | None = None,
        random_state: int | None = None,
        patience: int | None = 2,
    ) -> None:
        self.Cs = Cs
        self.cv = cv
        self.rule = rule
        self.max_features = max_features
        self.random_state = random_state
        self.patience = patience

    def _grid(self) -> np.ndarray:
        if isinstance(self.Cs, (int, np.integer)):
            return np.logspace(-3, 1, int(self.Cs))
        return np.asarray(self.Cs, dtype=float)

    def _fit_one(self, C: float, X: np.ndarray, y: np.ndarray) -> Any:
        model: Any = LogisticRegression(
            C=C, l1_ratio=1.0, solver="liblinear", max_iter=5000, random_state=self.random_state
        )
        if np.unique(y).size > 2:  # liblinear is binary only: one L1 model per class
            model = OneVsRestClassifier(model)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SklearnConvergenceWarning)
            model.fit(X, y)
        if any(issubclass(w.category, SklearnConvergenceWarning) for w in caught):
            self.n_unconverged_fits_ = getattr(self, "n_unconverged_fits_", 0) + 1
        return model

    def _path_scores(self, grid: np.ndarray, X: np.ndarray, yb: np.ndarray,
                     folds: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """CV AUC (C × fold) from the strongest penalty upwards, with the empty-model shortcut and early stop."""
        from sklearn.svm import l1_min_c

        order = np.argsort(grid, kind="stable")
        scores = np.full((grid.size, len(folds)), np.nan)
        usable = [np.unique(yb[tr]).size == 2 and np.unique(yb[te]).size == 2 for tr, te in folds]
        # strictly below the bound (relative margin): the fit is empty up to the solver's tolerance
        floors = [l1_min_c(X[tr], yb[tr], loss="log") * (1 - 1e-6) if ok else np.inf
                  for (tr, _), ok in zip(folds, usable, strict=True)]
        best, worse = -np.inf, 0
        for i in order:
            fitted = False
            for f, (tr, te) in enumerate(folds):
                if not usable[f]:
                    continue
                if grid[i] < floors[f]:
                    scores[i, f] = 0.5
                    continue
                p = self._fit_one(grid[i], X[tr], yb[tr]).decision_function(X[te])
                scores[i, f] = roc_auc_score(yb[te], p)
                fitted = True
            row = scores[i][np.isfinite(scores[i])]
            if row.size == 0 or not fitted:  # the empty model everywhere: the path has not started yet
                continue
            mean = float(row.mean())
            if mean > best + 1e-12:
                best, worse = mean, 0
            else:
                worse += 1
                if self.patience is not None and worse >= self.patience:
                    break
        return scores

    def _select(
        self, X: np.ndarray, y: np.ndarray | None, groups: Any = None, **fit_params: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.patience is not None and (isinstance(self.patience, bool) or int(self.patience) != self.patience
                                          or self.patience < 1):
            msg = f"The 'patience' parameter of LassoSelector must be a whole number ≥ 1 or None. Got {self.patience!r}."
            raise FitError(msg)
        if self.rule not in ("best", "1se"):
            msg = f"The 'rule' parameter of LassoSelector must be 'best' or '1se'. Got {self.rule!r} instead."
            raise FitError(msg)
        classes = np.unique(y)
        if classes.size < 2:
            msg = "LassoSelector needs two classes in y; got one class. Check the task labels of the training fold."
            raise FitError(msg)
        self.n_unconverged_fits_ = 0
        grid = self._grid()
        if classes.size == 2:
            yb = (y == classes[1]).astype(int)
            counts = np.bincount(yb)
            if groups is not None:
                groups = np.asarray(groups)
                k = int(min(self.cv, np.unique(groups).size, counts.min()))
                splitter: Any = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=self.random_state)
            else:
                k = int(min(self.cv, counts.min()))
                splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=self.random_state)
            if k >= 2:
                folds = list(splitter.split(X, yb, groups))
                scores = self._path_scores(grid, X, yb, folds)
                self.cv_scores_ = scores
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # grid values past the early stop: all NaN
                    mean = np.nanmean(scores, axis=1) if np.isfinite(scores).any() else np.zeros(grid.size)
                mean = np.where(np.isfinite(mean), mean, -np.inf)
                best = int(np.argmax(mean))
                if self.rule == "1se":
                    se = np.nanstd(scores[best]) / np.sqrt(max(np.isfinite(scores[best]).sum(), 1))
                    best = int(np.flatnonzero(mean >= mean[best] - se)[0])
                self.C_ = float(grid[best])
            else:
                self.cv_scores_ = np.empty((grid.size, 0))
                self.C_ = float(grid[-1])
        else:
            self.cv_scores_ = np.empty((grid.size, 0))
            self.C_ = float(grid[-1])
        model = self._fit_one(self.C_, X, y)
        self.estimator_ = model
        raw = (
            np.vstack([np.atleast_2d(m.coef_) for m in model.estimators_])
            if isinstance(model, OneVsRestClassifier) else np.atleast_2d(model.coef_)
        )
        coef = np.abs(raw).max(axis=0)
        self.coef_ = raw
        mask = coef > 0
        if self.max_features is not None:
            mask &= top_k_mask(coef, self.max_features)
        return coef, mask


class ShapSelector(BaseSelector):
    """Rank features by mean |SHAP| of a tree model (random forest or GBDT) and keep the top ``k``.

    SHAP values come from ``shap.TreeExplainer`` on (at most ``max_samples`` randomly chosen) training rows;
    for a random forest the positive-class values are used. ``scores_`` = mean |SHAP|.
    """

    def __init__(
        self,
        k: int = 10,
        estimator: Literal["random_forest", "gbdt"] = "random_forest",
        n_estimators: int = 100,
        max_depth: int | None = None,
        max_samples: int = 500,
        random_state: int | None = None,
    ) -> None:
        self.k = k
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.max_samples = max_samples
        self.random_state = random_state

    def _select(self, X: np.ndarray, y: np.ndarray | None, **fit_params: Any) -> tuple[np.ndarray, np.ndarray]:
        import shap

        if self.estimator == "random_forest":
            model: Any = RandomForestClassifier(
                n_estimators=self.n_estimators, max_depth=self.max_depth, n_jobs=1, random_state=self.random_state
            )
        elif self.estimator == "gbdt":
            model = GradientBoostingClassifier(
                n_estimators=self.n_estimators, max_depth=self.max_depth or 3, random_state=self.random_state
            )
        else:
            msg = f"The 'estimator' parameter of ShapSelector must be 'random_forest' or 'gbdt'. Got {self.estimator!r} instead."
            raise FitError(msg)
        model.fit(X, y)
        self.estimator_ = model
        rng = np.random.default_rng(self.random_state)
        rows = X if X.shape[0] <= self.max_samples else X[rng.choice(X.shape[0], self.max_samples, replace=False)]
        values = np.asarray(shap.TreeExplainer(model).shap_values(rows, check_additivity=False))
        if values.ndim == 3:  # (n, p, classes): positive class, or mean |.| over classes
            values = values[:, :, -1] if values.shape[2] == 2 else np.abs(values).mean(axis=2)
        scores = np.abs(values).mean(axis=0)
        return scores, top_k_mask(scores, self.k) & (scores > 0)
