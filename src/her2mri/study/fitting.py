"""Fit one configured model for one task: inner-CV tuning on the training set only (patient-grouped folds), the
training out-of-fold scores (for the Youden threshold, model choice and conformal calibration), and a final
refit on the whole training set.

Speed on wide tables (thousands of feature columns) comes from not repeating work whose result is already known:

* **shared selection** – the steps before the classifier (harmonisation, preprocessing, selectors) do not depend
  on the classifier or its grid point. Inside :func:`shared_selection` their fitted output on a fold is cached,
  keyed by what determines it (column kinds, selectors, harmonisation, selection seed, the cohort rows of the
  fold and their labels), and reused by every grid point, every classifier of ``auto`` and every model of the
  study with the same blocks and selectors. The calls are those ``Pipeline.fit`` / ``predict_proba`` make, so
  the scores are those of refitting the whole pipeline each time.
* **one calibration per SVM** – the registry's SVM is Platt-scaled by ``CalibratedClassifierCV``. Inner folds
  score the bare SVC's ``decision_function``; grid points are compared by AUC (which the monotone Platt map does
  not change) or by the log loss of their out-of-fold margins after a Platt sigmoid fitted on them
  (``tuning_metric: log_loss``); the chosen point's sigmoid is that fit on its out-of-fold margins (selection
  refitted in every fold, so honest), set on the final model, and its out-of-fold decision values are mapped
  through it.

**Recalibration** (``models[].recalibrate``): ``auto`` (default) recalibrates a tuned model whose blocks are wide
(at least :data:`~her2mri.models.pipeline.WIDE_COLUMNS` input columns; ``tuning: false`` fits a model as
configured, nothing data-driven), ``logistic`` every model, ``none`` none.
The chosen grid point's out-of-fold probabilities (already computed for tuning) fit ``logit p' = a + b·logit p``
(:mod:`her2mri.models.recalibration`); a logistic regression takes the map into its coefficients, any other
classifier is wrapped. The SVM is already Platt-scaled on its out-of-fold margins and is left as it is. On the
1,000 × 2,000 table of ``benchmarks/bench_wide.py`` the un-recalibrated calibration slopes ranged from 0.5
(SVM, LASSO selection) to 3.2 (random forest: averaged noisy trees give timid probabilities).
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import ParameterGrid

from her2mri.exceptions import FitError
from her2mri.study.config import ModelSpecConfig, StudyConfig
from her2mri.study.designs import inner_folds
from her2mri.study.results import json_safe

__all__ = ["FittedModel", "fit_fixed", "fit_model", "model_description", "shared_selection"]

_CANDIDATES = ("lr", "dt", "svm", "knn", "mlp", "rf", "gbdt")

_LOCAL = threading.local()  # per thread: Dask workers may run several units in threads of one process


def _cache() -> dict[str, tuple[Any, Any, Any]] | None:
    return getattr(_LOCAL, "cache", None)


@contextmanager
def shared_selection() -> Iterator[None]:
    """Within the block, fitted preprocessing + selection outputs are shared between fits (see the module
    docstring); the cache is dropped on exit, so its memory lasts one unit of work."""
    previous = _cache()
    _LOCAL.cache = {} if previous is None else previous
    try:
        yield
    finally:
        _LOCAL.cache = previous


def _signature(spec: ModelSpecConfig, kinds: dict[str, list[str]], harmonize: dict[str, Any] | None,
               selection_seed: int) -> str:
    text = json.dumps([[s.model_dump(mode="json") for s in spec.selectors], kinds, harmonize, selection_seed],
                      sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _fold_key(signature: str, row_keys: np.ndarray, y: np.ndarray, groups: np.ndarray, train: np.ndarray,
              test: np.ndarray | None) -> str:
    digest = hashlib.sha1(signature.encode("ascii"))
    digest.update(np.ascontiguousarray(row_keys[train], dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(y[train], dtype=np.int64).tobytes())
    digest.update("\x00".join(map(str, groups[train])).encode("utf-8"))
    digest.update(b"|")
    if test is not None:
        digest.update(np.ascontiguousarray(row_keys[test], dtype=np.int64).tobytes())
    return digest.hexdigest()


def _prefix(pipeline: Any, X: pd.DataFrame, y: np.ndarray, groups: np.ndarray, train: np.ndarray,
            test: np.ndarray | None, key: str | None) -> tuple[Any, Any, Any]:
    """The fitted steps before the classifier on ``train`` and their output on ``train`` and ``test``."""
    cache = _cache()
    if key is not None and cache is not None and key in cache:
        return cache[key]
    prefix = clone(pipeline)[:-1]
    Xt_train = prefix.fit_transform(X.iloc[train], y[train], **_fit_params(prefix, groups[train]))
    Xt_test = prefix.transform(X.iloc[test]) if test is not None else None
    if key is not None and cache is not None:
        cache[key] = (prefix, Xt_train, Xt_test)
    return prefix, Xt_train, Xt_test


def _is_calibrated_margin(model: Any) -> bool:
    return isinstance(model, CalibratedClassifierCV) and hasattr(model.estimator, "decision_function")


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
           config: StudyConfig, seed: int, selection_seed: int | None = None) -> Any:
    """The model's pipeline; its steps before the classifier take ``selection_seed`` (shared by the models
    with the same selectors, so that their selection can be shared), the classifier takes ``seed``."""
    from her2mri.models.pipeline import build_pipeline
    from her2mri.models.registry import apply_class_weight

    pipeline = build_pipeline(
        numeric=kinds["numeric"], categorical=kinds["categorical"], binary=kinds["binary"],
        selectors=[(step.method, dict(step.params)) for step in spec.selectors], model=classifier,
        harmonize=harmonize, random_state=seed,
    )
    if selection_seed is not None:
        for name, step in pipeline.steps[:-1]:
            if "random_state" in step.get_params(deep=False):
                pipeline.set_params(**{f"{name}__random_state": selection_seed})
    return apply_class_weight(pipeline, classifier, spec.class_weight)


def _grid(pipeline: Any, classifier: str, spec: ModelSpecConfig, wide: bool = False) -> list[dict[str, Any]]:
    """Grid points of the pipeline: the classifier's grid crossed with the selectors' ``grid`` entries."""
    from her2mri.models.pipeline import model_grid

    if not spec.tuning:
        return [{}]
    grid = model_grid(classifier, overrides=spec.grid, wide=wide)
    valid = pipeline.get_params(deep=True)
    unknown = [key for key in grid if key not in valid]
    if unknown:
        message = (
            f"model '{spec.name}': grid parameter(s) {[k.removeprefix('model__') for k in unknown]} are not "
            f"parameters of the {classifier} classifier; accepted: "
            f"{sorted(k.removeprefix('model__') for k in valid if k.startswith('model__'))}."
        )
        raise FitError(message)
    steps = [name for name, _ in getattr(pipeline, "steps", []) if name.startswith("select_")]
    for step_name, step in zip(steps, spec.selectors, strict=True):
        grid.update({f"{step_name}__{key}": list(values) for key, values in step.grid.items()})
    return list(ParameterGrid(grid)) if grid else [{}]


def _fit_params(pipeline: Any, groups: np.ndarray) -> dict[str, Any]:
    """Route patient ids to pipeline steps that use them (e.g. the LASSO selector's own inner CV)."""
    return {f"{name}__groups": groups for name, step in getattr(pipeline, "steps", [])
            if getattr(step, "_accepts_groups", False)}


def _split_points(points: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]] | None:
    """Each grid point as (parameters of the steps before the classifier, parameters of the ``model`` step with
    the prefix removed), or ``None`` if a point replaces a whole step (then every point is fitted whole)."""
    out = []
    for params in points:
        if any("__" not in key for key in params):
            return None
        prefix = {key: value for key, value in params.items() if not key.startswith("model__")}
        model = {key.removeprefix("model__"): value for key, value in params.items() if key.startswith("model__")}
        out.append((prefix, model))
    return out


def _params_text(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _prefix_settings(split: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, list[int]]:
    """Grid-point indices per setting of the steps before the classifier, in order of first appearance (the
    order the selector grid lists its values in)."""
    settings: dict[str, list[int]] = {}
    for index, (prefix_params, _) in enumerate(split):
        settings.setdefault(_params_text(prefix_params), []).append(index)
    return settings


def _prefix_key(key: str | None, prefix_params: dict[str, Any]) -> str | None:
    """Cache key of the fitted prefix at these selector parameters (the plain key when there are none)."""
    if key is None or not prefix_params:
        return key
    return f"{key}|{_params_text(prefix_params)}"


def _fold_scores(pipeline: Any, points: list[dict[str, Any]], X: pd.DataFrame, y: np.ndarray, groups: np.ndarray,
                 train: np.ndarray, test: np.ndarray, key: str | None = None) -> list[np.ndarray]:
    """Test-fold scores of every grid point on one inner fold (ranking scores: AUC is all they are used for
    until the chosen point's are calibrated).

    The steps before the classifier are fitted once on the fold for each setting of their own grid parameters
    (or taken from the :func:`shared_selection` cache under ``key``) and their output is shared by all the
    classifier's points at that setting.
    """
    split = _split_points(points)
    if split is None or not hasattr(pipeline, "steps") or len(pipeline.steps) < 2:
        out = []
        for params in points:
            model = clone(pipeline).set_params(**params)
            model.fit(X.iloc[train], y[train], **_fit_params(model, groups[train]))
            out.append(np.asarray(model.predict_proba(X.iloc[test])[:, 1], dtype=float))
        return out
    classifier = pipeline.steps[-1][1]
    out: list[np.ndarray] = [np.empty(0)] * len(points)
    for indices in _prefix_settings(split).values():
        prefix_params = split[indices[0]][0]
        at_setting = clone(pipeline).set_params(**prefix_params) if prefix_params else pipeline
        _, Xt_train, Xt_test = _prefix(at_setting, X, y, groups, train, test, _prefix_key(key, prefix_params))
        for index in indices:
            model = clone(classifier).set_params(**split[index][1])
            if _is_calibrated_margin(model):
                margin = clone(model.estimator).fit(Xt_train, y[train])
                out[index] = np.asarray(margin.decision_function(Xt_test), dtype=float).reshape(-1)
                continue
            model.fit(Xt_train, y[train])
            out[index] = np.asarray(model.predict_proba(Xt_test)[:, 1], dtype=float)
    return out


def _oof(pipeline: Any, points: list[dict[str, Any]], X: pd.DataFrame, y: np.ndarray, groups: np.ndarray,
         folds: list[tuple[np.ndarray, np.ndarray]], n_jobs: int = 1,
         keys: list[str | None] | None = None) -> list[np.ndarray]:
    """Out-of-fold scores of every grid point (one array per point, in grid order)."""
    keys = keys if keys is not None else [None] * len(folds)
    if n_jobs == 1 or len(folds) == 1 or _cache() is not None:
        parts = [_fold_scores(pipeline, points, X, y, groups, train, test, key)
                 for (train, test), key in zip(folds, keys, strict=True)]
    else:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=n_jobs)(
            delayed(_fold_scores)(pipeline, points, X, y, groups, train, test) for train, test in folds)
    scores = [np.full(len(y), np.nan) for _ in points]
    for (_, test), fold_parts in zip(folds, parts, strict=True):
        for target, part in zip(scores, fold_parts, strict=True):
            target[test] = part
    return scores


def _final_fit(pipeline: Any, params: dict[str, Any], X: pd.DataFrame, y: np.ndarray, groups: np.ndarray,
               folds: Any, key: str | None) -> Any:
    """``pipeline`` at ``params`` fitted on all of ``X`` (prefix from the cache when it can be shared); a
    Platt-scaled SVM is calibrated over ``folds``, the grouped inner folds of these rows."""
    final = clone(pipeline).set_params(**params)
    split = _split_points([params])
    classifier_only = split is not None and hasattr(final, "steps") and len(final.steps) > 1
    model = final.steps[-1][1] if hasattr(final, "steps") else final
    calibrated = _is_calibrated_margin(model)
    if calibrated:
        folds = folds() if callable(folds) else folds
        model.set_params(cv=[(np.asarray(a), np.asarray(b)) for a, b in folds])
    if not classifier_only:
        final.fit(X, y, **_fit_params(final, groups))
    else:
        everything = np.arange(len(y))
        prefix, Xt, _ = _prefix(final, X, y, groups, everything, None, _prefix_key(key, split[0][0]))
        model.fit(Xt, y)
        from sklearn.pipeline import Pipeline

        final = Pipeline([*copy.deepcopy(prefix).steps, (final.steps[-1][0], model)])
        final.set_output(transform="pandas")
    if calibrated:
        model.set_params(cv=len(folds))
    return final


def _calibrate_margins(final: Any, y: np.ndarray, margins: np.ndarray) -> np.ndarray:
    """Set the final SVM's Platt sigmoid from the out-of-fold ``margins`` of the tuning folds and return them
    mapped through it.

    ``CalibratedClassifierCV`` fits its sigmoid on margins of its own internal folds, but inside the final
    pipeline the selectors before it were fitted on all rows, its internal validation rows included: with
    selection those margins are optimistic and the sigmoid too steep (cross-validated calibration slope 0.48 on
    the LASSO-selected wide benchmark). The tuning folds refit the selection in every fold, so their margins are
    honest; the sigmoid is the same unpenalised two-parameter fit that scored the grid points (:func:`_platt`).
    """
    model = final.steps[-1][1] if hasattr(final, "steps") else final
    calibrator = model.calibrated_classifiers_[0].calibrators[0]
    ok = np.isfinite(margins)
    fit = _platt_fit((np.asarray(y) == model.classes_[-1]).astype(int), margins)
    if fit is not None:  # sklearn's sigmoid: P = 1 / (1 + exp(a·f + b))
        calibrator.a_, calibrator.b_ = -float(fit.coef_[0, 0]), -float(fit.intercept_[0])
    out = np.full(margins.shape, np.nan)
    out[ok] = np.asarray(calibrator.predict(margins[ok]), dtype=float)
    return out


def _recalibrates(spec: ModelSpecConfig, classifier: str, wide: bool) -> bool:
    """Whether the model's probabilities get the logistic recalibration map (see the module docstring)."""
    mode = getattr(spec, "recalibrate", "auto")
    return classifier != "svm" and (mode == "logistic" or (mode == "auto" and wide and spec.tuning))


def _recalibrate(final: Any, y: np.ndarray, oof: np.ndarray) -> tuple[Any, np.ndarray]:
    """``final`` with its probabilities recalibrated on the out-of-fold ``oof`` (mapped the same way)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from her2mri.models.recalibration import (
        LogisticRecalibration,
        apply_logit_map,
        fit_logit_map,
        recalibrate_logistic,
    )

    steps = final.steps if hasattr(final, "steps") else [("model", final)]
    name, model = steps[-1]
    if isinstance(model, LogisticRegression) and np.asarray(model.coef_).shape[0] == 1:
        intercept, slope = fit_logit_map((np.asarray(y) == model.classes_[-1]).astype(int), oof)
        new_model: Any = recalibrate_logistic(model, intercept, slope)
    else:
        new_model = LogisticRecalibration.from_out_of_fold(model, y, oof)
        intercept, slope = new_model.intercept_, new_model.slope_
    if hasattr(final, "steps"):
        out: Any = Pipeline([*steps[:-1], (name, new_model)])
        out.set_output(transform="pandas")
    else:
        out = new_model
    return out, apply_logit_map(oof, intercept, slope)


def _log_loss(y: np.ndarray, scores: np.ndarray) -> float:
    ok = np.isfinite(scores)
    if not ok.any():
        return float("inf")
    p = np.clip(scores[ok], 1e-6, 1 - 1e-6)
    return float(-np.mean(y[ok] * np.log(p) + (1 - y[ok]) * np.log(1 - p)))


def _platt_fit(y: np.ndarray, margins: np.ndarray) -> Any:
    """Platt's sigmoid on the finite ``margins`` (unpenalised 1-D logistic fit), or None with one class there."""
    from sklearn.linear_model import LogisticRegression

    ok = np.isfinite(margins)
    if ok.sum() < 2 or len(np.unique(y[ok])) < 2:
        return None
    return LogisticRegression(C=np.inf).fit(margins[ok].reshape(-1, 1), y[ok])


def _platt(y: np.ndarray, margins: np.ndarray) -> np.ndarray:
    """Margins mapped to probabilities by a Platt sigmoid fitted on them (:func:`_platt_fit`)."""
    out = np.full(margins.shape, np.nan)
    fit = _platt_fit(y, margins)
    if fit is None:
        return out
    ok = np.isfinite(margins)
    out[ok] = fit.predict_proba(margins[ok].reshape(-1, 1))[:, 1]
    return out


def _point_losses(y: np.ndarray, all_scores: list[np.ndarray], metric: str,
                  folds: list[tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
    """Out-of-fold loss of each grid point's scores (log loss of probabilities, or −AUC), over all rows or
    (``folds``) per fold: shape ``(points,)`` or ``(points, folds)``."""
    loss = _log_loss if metric == "log_loss" else (lambda y_, s_: -_safe_auc(y_, s_))
    if folds is None:
        return np.array([loss(y, scores) for scores in all_scores])
    return np.array([[loss(y[test], scores[test]) for _, test in folds] for scores in all_scores])


def _choose_point(y: np.ndarray, points: list[dict[str, Any]], all_scores: list[np.ndarray], metric: str,
                  margins: bool, folds: list[tuple[np.ndarray, np.ndarray]] | None = None,
                  tolerance_se: float = 0.0) -> int:
    """Index of the grid point kept: lowest out-of-fold log loss (a proper score: it rewards calibrated
    probabilities, where AUC is often flat over a penalty grid) or highest AUC. SVM margins are not
    probabilities: for log loss each point's out-of-fold margins are first mapped through a Platt sigmoid fitted
    on those margins (two parameters, as the final model's calibration), so that an SVM whose margins overfit is
    penalised as a logistic model would be. Ties keep the first point.

    When the grid also tunes selectors (their settings listed from the strongest selection) and
    ``tolerance_se`` > 0, the first selector setting whose best point is within ``tolerance_se`` standard errors
    of the best point's per-fold losses (SD / √folds) is kept, with its best point: a weaker selection must beat
    a stronger one beyond fold-to-fold noise, as the model-choice rules ask of a more complex model."""
    if metric == "log_loss" and margins:
        all_scores = [_platt(y, scores) for scores in all_scores]
    losses = _point_losses(y, all_scores, metric)
    losses = np.where(np.isfinite(losses), losses, np.inf)
    best = int(np.argmin(losses))
    split = _split_points(points)
    if tolerance_se <= 0 or folds is None or len(folds) < 2 or split is None or not np.isfinite(losses[best]):
        return best
    settings = _prefix_settings(split)
    if len(settings) < 2:
        return best
    per_fold = _point_losses(y, [all_scores[best]], metric, folds)[0]
    per_fold = per_fold[np.isfinite(per_fold)]
    if per_fold.size < 2:
        return best
    bound = losses[best] + tolerance_se * float(np.std(per_fold, ddof=1)) / np.sqrt(per_fold.size)
    for indices in settings.values():
        leader = min(indices, key=lambda i: (losses[i], i))
        if losses[leader] <= bound:
            return leader
    return best


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
    selection_seed: int | None = None,
    row_keys: np.ndarray | None = None,
) -> FittedModel:
    """Tune (inner patient-grouped CV on the training set), record out-of-fold scores, refit on all of it.

    ``classifier: auto`` tries every registered classifier the same way and keeps the best out-of-fold AUC.
    ``n_jobs`` (default ``config.n_jobs``) spreads the inner folds over processes. ``out_of_fold=False`` (a model
    only used for its predictions, e.g. in an outer CV fold) skips the inner folds when there is nothing to
    choose (one classifier, one grid point); ``oof_scores`` and ``cv_auc`` are then NaN. ``selection_seed``
    (default ``seed``) seeds the inner folds and the selectors; ``row_keys`` (the rows' positions in the cohort)
    let :func:`shared_selection` reuse fitted selection between models.
    """
    start = time.perf_counter()
    y = np.asarray(y, dtype=int)
    groups = np.asarray(groups)
    selection_seed = seed if selection_seed is None else selection_seed
    folds = inner_folds(y, groups, config.design.inner_splits, selection_seed)
    signature = _signature(spec, kinds, harmonize, selection_seed) if row_keys is not None else None
    keys: list[str | None] = [
        _fold_key(signature, row_keys, y, groups, train, test) if signature is not None and row_keys is not None
        else None for train, test in folds
    ]
    final_key = (_fold_key(signature, row_keys, y, groups, np.arange(len(y)), None)
                 if signature is not None and row_keys is not None else None)
    candidates = _CANDIDATES if spec.classifier == "auto" else (spec.classifier,)
    best: tuple[float, str, Any, dict[str, Any], np.ndarray] | None = None
    effective = spec if tuning else spec.model_copy(update={"tuning": False})
    from her2mri.models.pipeline import WIDE_COLUMNS

    wide = sum(len(v) for v in kinds.values()) >= WIDE_COLUMNS
    metric = getattr(config.selection, "tuning_metric", "log_loss")
    for classifier in candidates:
        pipeline = _build(classifier, spec, kinds, harmonize, config, seed, selection_seed)
        points = _grid(pipeline, classifier, effective, wide)
        if not out_of_fold and len(candidates) == 1 and len(points) == 1:
            best = (float("nan"), classifier, pipeline, points[0], np.full(len(y), np.nan))
            break
        all_scores = _oof(pipeline, points, X, y, groups, folds, config.n_jobs if n_jobs is None else n_jobs, keys)
        margins = _is_calibrated_margin(pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline) \
            and _split_points(points) is not None
        index = _choose_point(y, points, all_scores, metric, margins, folds,
                              getattr(config.selection, "selector_tolerance_se", 0.0))
        auc = _safe_auc(y, all_scores[index])
        if best is None or (np.isfinite(auc) and (not np.isfinite(best[0]) or auc > best[0] + 1e-12)):
            best = (auc, classifier, pipeline, points[index], all_scores[index])
    if best is None:
        message = f"model '{spec.name}': no candidate pipeline could be evaluated."
        raise FitError(message)
    auc, classifier, pipeline, params, scores = best
    final = _final_fit(pipeline, params, X, y, groups, folds, final_key)
    model = final.steps[-1][1] if hasattr(final, "steps") else final
    if _is_calibrated_margin(model) and _split_points([params]) is not None and np.isfinite(scores).any():
        scores = _calibrate_margins(final, y, scores)
    elif _recalibrates(spec, classifier, wide) and np.isfinite(scores).any():
        final, scores = _recalibrate(final, y, scores)
    from her2mri.models.pipeline import describe_selected_features

    hyper, _ = model_description(final)
    features = [f for f in describe_selected_features(final)
                if f["coefficient"] is None or f["coefficient"] != 0.0]
    return FittedModel(
        name=spec.name, family=classifier, pipeline=final, columns=tuple(X.columns),
        hyperparameters={"tuned": json_safe(params), "estimator": hyper}, oof_scores=scores, cv_auc=auc,
        tuned=bool(params), selected_features=features, fit_seconds=time.perf_counter() - start,
    )


def fit_fixed(
    spec: ModelSpecConfig,
    X: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    family: str,
    params: dict[str, Any],
    kinds: dict[str, list[str]],
    config: StudyConfig,
    seed: int,
    harmonize: dict[str, Any] | None = None,
    selection_seed: int | None = None,
    row_keys: np.ndarray | None = None,
) -> Any:
    """The pipeline of ``family`` at the hyper-parameters ``params`` (already chosen) fitted on ``X``: how the
    ``cv`` design evaluates, in every outer fold, the same tuned model that it saves."""
    y = np.asarray(y, dtype=int)
    groups = np.asarray(groups)
    selection_seed = seed if selection_seed is None else selection_seed
    pipeline = _build(family, spec, kinds, harmonize, config, seed, selection_seed)

    def folds() -> list[tuple[np.ndarray, np.ndarray]]:
        return inner_folds(y, groups, config.design.inner_splits, selection_seed)

    key = None
    signature = _signature(spec, kinds, harmonize, selection_seed) if row_keys is not None else None
    if signature is not None and row_keys is not None:
        key = _fold_key(signature, row_keys, y, groups, np.arange(len(y)), None)
    final = _final_fit(pipeline, params, X, y, groups, folds, key)
    model = final.steps[-1][1] if hasattr(final, "steps") else final
    from her2mri.models.pipeline import WIDE_COLUMNS

    wide = sum(len(v) for v in kinds.values()) >= WIDE_COLUMNS
    margins = _is_calibrated_margin(model) and _split_points([params]) is not None
    if not margins and (_is_calibrated_margin(model) or not _recalibrates(spec, family, wide)):
        return final
    # the calibration map needs out-of-fold scores of these rows at these parameters: one pass over the inner folds
    inner = folds()
    keys = [_fold_key(signature, row_keys, y, groups, train, test) if signature is not None and row_keys is not None
            else None for train, test in inner]
    oof = _oof(pipeline, [params], X, y, groups, inner, 1, keys)[0]
    if not np.isfinite(oof).any():
        return final
    if margins:
        _calibrate_margins(final, y, oof)
        return final
    return _recalibrate(final, y, oof)[0]
