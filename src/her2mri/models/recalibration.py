"""Logistic recalibration of a fitted classifier from out-of-fold predictions (Cox 1958; Steyerberg ch. 15).

A model tuned on a wide table (hundreds of radiomics columns) ranks well but its probabilities are often too
extreme (calibration slope below 1: overfitting) or too timid (above 1: a random forest averaging many noisy
trees, a heavily penalised LR). Logistic recalibration maps each probability through

    logit p' = a + b · logit p

with ``a`` and ``b`` the logistic regression of the outcome on ``logit p`` — exactly the calibration intercept
and slope a validation would estimate (:func:`her2mri.stats.calibration`, checked against rms::val.prob) — fitted on **out-of-fold** predictions of the training rows, so the map
corrects the optimism the refit on all rows will have. The ranking (AUC) is unchanged.

* :class:`LogisticRecalibration` is a scikit-learn classifier: ``fit(X, y)`` fits ``estimator`` on all rows and
  the map on its ``cv``-fold out-of-fold predictions (``groups`` keep a patient's lesions in one fold);
  :meth:`LogisticRecalibration.from_out_of_fold` wraps an already fitted estimator given out-of-fold
  probabilities the caller has (the study's inner tuning folds), so nothing is refitted.
* :func:`recalibrate_logistic` folds the map into a fitted binary logistic regression (``w' = b·w``,
  ``w0' = a + b·w0``): the result is still a logistic regression whose odds ratios and nomogram are those of
  the recalibrated model.

Why written here: scikit-learn's ``CalibratedClassifierCV(method="sigmoid")`` fits Platt's sigmoid on the raw
probability (not its logit) and cannot take out-of-fold predictions already computed; the map is one
unpenalised two-parameter logistic fit.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression

from her2mri.exceptions import FitError

__all__ = ["LogisticRecalibration", "apply_logit_map", "fit_logit_map", "recalibrate_logistic"]

_EPS = 1e-12


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def apply_logit_map(probabilities: Any, intercept: float, slope: float) -> np.ndarray:
    """``expit(intercept + slope · logit p)``; missing probabilities stay missing."""
    p = np.asarray(probabilities, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    out[ok] = 1.0 / (1.0 + np.exp(-(intercept + slope * _logit(p[ok]))))
    return out


def fit_logit_map(y: Any, probabilities: Any) -> tuple[float, float]:
    """``(a, b)`` of ``logit P(y = 1) = a + b · logit p`` by unpenalised maximum likelihood (rows with a
    missing probability are skipped). Raises :class:`FitError` when fewer than two classes remain."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(probabilities, dtype=float)
    ok = np.isfinite(p)
    if ok.sum() < 2 or np.unique(y[ok]).size < 2:
        message = ("recalibration: the out-of-fold predictions hold fewer than two classes with a score; "
                   f"got {int(ok.sum())} scored rows; accepted: both classes scored.")
        raise FitError(message)
    from her2mri.stats import calibration  # the R-checked (rms::val.prob) intercept and slope

    result = calibration(y[ok], np.clip(p[ok], _EPS, 1 - _EPS))
    return float(result.intercept), float(result.slope)


def recalibrate_logistic(model: LogisticRegression, intercept: float, slope: float) -> LogisticRegression:
    """A copy of a fitted binary logistic regression with the map folded into its coefficients."""
    coef = np.asarray(getattr(model, "coef_", None))
    if coef.ndim != 2 or coef.shape[0] != 1:
        message = "recalibrate_logistic: needs a fitted binary LogisticRegression (coef_ of one row)."
        raise FitError(message)
    out = copy.deepcopy(model)
    out.coef_ = coef * slope
    out.intercept_ = np.asarray(model.intercept_, dtype=float) * slope + intercept
    return out


class LogisticRecalibration(ClassifierMixin, BaseEstimator):
    """``estimator`` whose positive-class probability is mapped by ``logit p' = intercept_ + slope_ · logit p``.

    Parameters: ``estimator`` (an unfitted binary classifier with ``predict_proba``), ``cv`` (folds for the
    out-of-fold predictions in :meth:`fit`), ``random_state`` (the fold shuffle). Learned: ``estimator_``,
    ``intercept_``, ``slope_``, ``classes_``.
    """

    def __init__(self, estimator: Any = None, cv: int = 5, random_state: int | None = None) -> None:
        self.estimator = estimator
        self.cv = cv
        self.random_state = random_state

    def fit(self, X: Any, y: Any, groups: Any = None) -> LogisticRecalibration:
        from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, cross_val_predict

        if self.estimator is None:
            message = "LogisticRecalibration: estimator is None; accepted: an unfitted binary classifier."
            raise FitError(message)
        y_arr = np.asarray(y)
        if groups is None:
            splitter: Any = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
        else:
            splitter = StratifiedGroupKFold(self.cv, shuffle=True, random_state=self.random_state)
        oof = cross_val_predict(clone(self.estimator), X, y_arr, groups=groups, cv=splitter,
                                method="predict_proba")[:, 1]
        fitted = clone(self.estimator).fit(X, y_arr)
        return self._set(fitted, (y_arr == fitted.classes_[-1]).astype(int), oof)

    @classmethod
    def from_out_of_fold(cls, fitted: Any, y: Any, oof_probabilities: Any) -> LogisticRecalibration:
        """Wrap an estimator already fitted on all rows, given its out-of-fold probabilities of those rows."""
        out = cls(estimator=clone(fitted))
        y_arr = np.asarray(y)
        positive = fitted.classes_[-1]
        return out._set(fitted, (y_arr == positive).astype(int), oof_probabilities)

    def _set(self, fitted: Any, y01: np.ndarray, oof: Any) -> LogisticRecalibration:
        classes = np.asarray(fitted.classes_)
        if classes.size != 2:
            message = f"LogisticRecalibration: binary classifiers only; the estimator has {classes.size} classes."
            raise FitError(message)
        self.intercept_, self.slope_ = fit_logit_map(y01, oof)
        self.estimator_ = fitted
        self.classes_ = classes
        for name in ("n_features_in_", "feature_names_in_"):
            if hasattr(fitted, name):
                setattr(self, name, getattr(fitted, name))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        p = apply_logit_map(self.estimator_.predict_proba(X)[:, 1], self.intercept_, self.slope_)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]
