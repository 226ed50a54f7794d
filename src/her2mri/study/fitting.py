"""Fit one configured model for one task: inner-CV tuning on the training set only (patient-grouped folds), the
training out-of-fold scores (for the Youden threshold, model choice and conformal calibration), and a final
refit on the whole training set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import ParameterGrid

from her2mri.exceptions import FitError
from her2mri.study.config import ModelSpecConfig, StudyConfig
from her2mri.study.designs import inner_folds
from her2mri.study.results import json_safe

__all__ = ["FittedModel", "fit_model", "model_description"]

_CANDIDATES = ("lr", "dt", "svm", "knn", "mlp", "rf", "gbdt")


@dataclass(frozen=True)
class FittedModel:
    """A fitted pipeline with what the study reports about it."""

    name: str
    family: str
    pipeline: Any
    columns: tuple[str, ...]
    hyperparameters: dict[str, Any]
    oof_scores: np.ndarray
    cv_auc: float
    tuned: bool
    selected_features: list[dict[str, Any]] = field(default_factory=list)
    fit_seconds: float = 0.0

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of the task's positive class for each row of ``frame``."""
        return np.asarray(self.pipeline.predict_proba(frame[list(self.columns)])[:, 1], dtype=float)


def _build(classifier: str, spec: ModelSpecConfig, kinds: dict[str, list[str]], harmonize: dict[str, Any] | None,
           config: StudyConfig, seed: int) -> Any:
    from her2mri.models.pipeline import build_pipeline
    from her2mri.models.registry import apply_class_weight

    return apply_class_weight(build_pipeline(
        numeric=kinds["numeric"], categorical=kinds["categorical"], binary=kinds["binary"],
        selectors=[(step.method, dict(step.params)) for step in spec.selectors], model=classifier,
        harmonize=harmonize, random_state=seed,
    ), classifier, spec.class_weight)


def _grid(pipeline: Any, classifier: str, spec: ModelSpecConfig) -> list[dict[str, Any]]:
    from her2mri.models.pipeline import model_grid

    if not spec.tuning:
        return [{}]
    grid = model_grid(classifier, overrides=spec.grid)
    valid = pipeline.get_params(deep=True)
    unknown = [key for key in grid if key not in valid]
    if unknown:
        message = (
            f"model '{spec.name}': grid parameter(s) {[k.removeprefix('model__') for k in unknown]} are not "
            f"parameters of the {classifier} classifier; accepted: "
            f"{sorted(k.removeprefix('model__') for k in valid if k.startswith('model__'))}."
        )
        raise FitError(message)
    return list(ParameterGrid(grid)) if grid else [{}]


def _fit_params(pipeline: Any, groups: np.ndarray) -> dict[str, Any]:
    """Route patient ids to pipeline steps that use them (e.g. the LASSO selector's own inner CV)."""
    return {f"{name}__groups": groups for name, step in getattr(pipeline, "steps", [])
            if getattr(step, "_accepts_groups", False)}


def _classifier_params(points: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The grid points as parameters of the ``model`` step alone, or ``None`` if a point sets another step."""
    if not all(key.startswith("model__") for params in points for key in params):
        return None
    return [{key.removeprefix("model__"): value for key, value in params.items()} for params in points]


def _fold_scores(pipeline: Any, points: list[dict[str, Any]], X: pd.DataFrame, y: np.ndarray, groups: np.ndarray,
                 train: np.ndarray, test: np.ndarray) -> list[np.ndarray]:
    """Test-fold scores of every grid point on one inner fold.

    When the grid only tunes the classifier, the steps before it (harmonisation, preprocessing, selectors) do
    not depend on the grid point: they are fitted once on the fold and their output is shared by all points.
    The calls are those ``Pipeline.fit`` / ``predict_proba`` make, so the scores are the same as refitting the
    whole pipeline per point.
    """
    X_train, y_train, X_test = X.iloc[train], y[train], X.iloc[test]
    classifier_points = _classifier_params(points)
    if classifier_points is None or len(points) == 1 or not hasattr(pipeline, "steps") or len(pipeline.steps) < 2:
        out = []
        for params in points:
            model = clone(pipeline).set_params(**params)
            model.fit(X_train, y_train, **_fit_params(model, groups[train]))
            out.append(np.asarray(model.predict_proba(X_test)[:, 1], dtype=float))
        return out
    fitted = clone(pipeline)
    prefix = fitted[:-1]
    Xt_train = prefix.fit_transform(X_train, y_train, **_fit_params(prefix, groups[train]))
    Xt_test = prefix.transform(X_test)
    classifier = fitted.steps[-1][1]
    out = []
    for params in classifier_points:
        model = clone(classifier).set_params(**params)
        model.fit(Xt_train, y_train)
        out.append(np.asarray(model.predict_proba(Xt_test)[:, 1], dtype=float))
    return out


def _oof(pipeline: Any, points: list[dict[str, Any]], X: pd.DataFrame, y: np.ndarray, groups: np.ndarray,
         folds: list[tuple[np.ndarray, np.ndarray]], n_jobs: int = 1) -> list[np.ndarray]:
    """Out-of-fold scores of every grid point (one array per point, in grid order)."""
    if n_jobs == 1 or len(folds) == 1:
        parts = [_fold_scores(pipeline, points, X, y, groups, train, test) for train, test in folds]
    else:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=n_jobs)(
            delayed(_fold_scores)(pipeline, points, X, y, groups, train, test) for train, test in folds)
    scores = [np.full(len(y), np.nan) for _ in points]
    for (_, test), fold_parts in zip(folds, parts, strict=True):
        for target, part in zip(scores, fold_parts, strict=True):
            target[test] = part
    return scores


def _safe_auc(y: np.ndarray, scores: np.ndarray) -> float:
    ok = np.isfinite(scores)
    if len(np.unique(y[ok])) < 2:
        return float("nan")
    return float(roc_auc_score(y[ok], scores[ok]))


def model_description(pipeline: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Hyperparameters of the final estimator and the features it uses with coefficients / importances."""
    final = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    inner = getattr(final, "best_estimator_", None) or getattr(final, "estimator_", None) or final
    params = {k: v for k, v in inner.get_params(deep=False).items()
              if isinstance(v, int | float | str | bool | type(None) | tuple | list)}
    names: list[str] | None = None
    try:
        names = [str(n) for n in pipeline[:-1].get_feature_names_out()]
    except (AttributeError, ValueError, TypeError, IndexError):
        names = None
    coef = getattr(inner, "coef_", None)
    importances = getattr(inner, "feature_importances_", None)
    features: list[dict[str, Any]] = []
    width = None
    if coef is not None:
        width = np.ravel(coef).size
    elif importances is not None:
        width = np.ravel(importances).size
    else:
        width = getattr(inner, "n_features_in_", None)
    if names is None or (width is not None and len(names) != width):
        names = [f"x{i}" for i in range(int(width or 0))]
    for index, name in enumerate(names):
        features.append({
            "name": name,
            "coefficient": float(np.ravel(coef)[index]) if coef is not None else None,
            "importance": float(np.ravel(importances)[index]) if importances is not None else None,
        })
    if coef is not None:
        features = [f for f in features if f["coefficient"] != 0.0]
    return json_safe(params), features


def fit_model(
    spec: ModelSpecConfig,
    X: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    kinds: dict[str, list[str]],
    config: StudyConfig,
    seed: int,
    tuning: bool = True,
    harmonize: dict[str, Any] | None = None,
    n_jobs: int | None = None,
    out_of_fold: bool = True,
) -> FittedModel:
    """Tune (inner patient-grouped CV on the training set), record out-of-fold scores, refit on all of it.

    ``classifier: auto`` tries every registered classifier the same way and keeps the best out-of-fold AUC.
    ``n_jobs`` (default ``config.n_jobs``) spreads the inner folds over processes. ``out_of_fold=False`` (a model
    only used for its predictions, e.g. in an outer CV fold) skips the inner folds when there is nothing to
    choose (one classifier, one grid point); ``oof_scores`` and ``cv_auc`` are then NaN.
    """
    start = time.perf_counter()
    y = np.asarray(y, dtype=int)
    folds = inner_folds(y, groups, config.design.inner_splits, seed)
    candidates = _CANDIDATES if spec.classifier == "auto" else (spec.classifier,)
    best: tuple[float, str, Any, dict[str, Any], np.ndarray] | None = None
    effective = spec if tuning else spec.model_copy(update={"tuning": False})
    for classifier in candidates:
        pipeline = _build(classifier, spec, kinds, harmonize, config, seed)
        points = _grid(pipeline, classifier, effective)
        if not out_of_fold and len(candidates) == 1 and len(points) == 1:
            best = (float("nan"), classifier, pipeline, points[0], np.full(len(y), np.nan))
            break
        all_scores = _oof(pipeline, points, X, y, groups, folds, config.n_jobs if n_jobs is None else n_jobs)
        for params, scores in zip(points, all_scores, strict=True):
            auc = _safe_auc(y, scores)
            if best is None or (np.isfinite(auc) and (not np.isfinite(best[0]) or auc > best[0] + 1e-12)):
                best = (auc, classifier, pipeline, params, scores)
    if best is None:
        message = f"model '{spec.name}': no candidate pipeline could be evaluated."
        raise FitError(message)
    auc, classifier, pipeline, params, scores = best
    final = clone(pipeline).set_params(**params)
    final.fit(X, y, **_fit_params(final, groups))
    from her2mri.models.pipeline import describe_selected_features

    hyper, _ = model_description(final)
    features = [f for f in describe_selected_features(final)
                if f["coefficient"] is None or f["coefficient"] != 0.0]
    return FittedModel(
        name=spec.name, family=classifier, pipeline=final, columns=tuple(X.columns),
        hyperparameters={"tuned": json_safe(params), "estimator": hyper}, oof_scores=scores, cv_auc=auc,
        tuned=bool(params), selected_features=features, fit_seconds=time.perf_counter() - start,
    )
