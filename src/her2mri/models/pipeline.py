"""Model pipelines over canonical cohort columns: (ComBat) → preprocess → selectors → classifier.

Everything that learns from data (harmonisation, imputation values, scaling, feature selection, the classifier
and its hyper-parameters) is a step of one sklearn :class:`~sklearn.pipeline.Pipeline`, so cross-validation fits
all of it inside each training fold and nothing is learned from test lesions.

Step names: ``harmonize`` (optional :class:`~her2mri.models.combat.ComBatHarmonizer`; it comes first because it
needs the centre column, which preprocessing drops, and it copes with missing values), ``preprocess``
(:class:`~her2mri.models.preprocess.CohortPreprocessor`), ``select_<name>`` for each selector in order, and
``model``. Data between steps are pandas DataFrames, so feature names survive to the classifier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold
from sklearn.pipeline import Pipeline

from her2mri.exceptions import ConfigError
from her2mri.features import SELECTORS
from her2mri.models.combat import ComBatHarmonizer
from her2mri.models.preprocess import CohortPreprocessor
from her2mri.models.registry import MODELS, make_model

__all__ = [
    "WIDE_COLUMNS",
    "WIDE_GRIDS",
    "build_pipeline",
    "describe_selected_features",
    "grouped_inner_splits",
    "model_grid",
    "tune_pipeline",
]


def _make_selector(name: str, params: Mapping[str, Any], random_state: int | None) -> Any:
    if name not in SELECTORS:
        msg = f"Unknown selector {name!r}; accepted: {', '.join(SELECTORS)}."
        raise ConfigError(msg)
    cls = SELECTORS[name]
    kwargs = dict(params)
    if "random_state" in cls().get_params() and "random_state" not in kwargs:
        kwargs["random_state"] = random_state
    try:
        return cls(**kwargs)
    except TypeError as exc:
        msg = f"Selector {name!r}: invalid parameters {sorted(params)}; accepted: {sorted(cls().get_params())}."
        raise ConfigError(msg) from exc


def build_pipeline(
    *,
    numeric: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    binary: Sequence[str] | None = None,
    selectors: Sequence[tuple[str, Mapping[str, Any]]] = (),
    model: str = "lr",
    harmonize: Mapping[str, Any] | None = None,
    random_state: int | None = 0,
    scale: bool = True,
) -> Pipeline:
    """Build an unfitted pipeline taking a DataFrame of canonical cohort columns.

    ``selectors`` is an ordered list of ``(registry name, parameters)``, e.g.
    ``[("correlation", {"threshold": 0.8}), ("univariate", {"alpha": 0.05}), ("gbdt", {"k": 10})]``.
    ``model`` is a :data:`~her2mri.models.registry.MODELS` name or ``"auto"`` (the pipeline then holds
    ``lr`` as its initial estimator and :func:`model_grid` ``("auto")`` searches every family).
    ``harmonize`` is ``None`` (no ComBat) or keyword arguments of
    :class:`~her2mri.models.combat.ComBatHarmonizer`; its ``features`` default to ``numeric``.
    """
    if model != "auto" and model not in MODELS:
        msg = f"Unknown model {model!r}; accepted: {', '.join(MODELS)}, auto."
        raise ConfigError(msg)
    steps: list[tuple[str, Any]] = []
    if harmonize is not None:
        options = dict(harmonize)
        options.setdefault("features", list(numeric) if numeric is not None else None)
        try:
            steps.append(("harmonize", ComBatHarmonizer(**options)))
        except TypeError as exc:
            accepted = sorted(ComBatHarmonizer().get_params())
            msg = f"harmonize: invalid options {sorted(options)}; accepted: {accepted}."
            raise ConfigError(msg) from exc
    steps.append(("preprocess", CohortPreprocessor(numeric=numeric, categorical=categorical, binary=binary, scale=scale)))
    used: set[str] = set()
    for name, params in selectors:
        step = f"select_{name}"
        i = 2
        while step in used:
            step, i = f"select_{name}_{i}", i + 1
        used.add(step)
        steps.append((step, _make_selector(name, params or {}, random_state)))
    steps.append(("model", make_model("lr" if model == "auto" else model, random_state)))
    pipe = Pipeline(steps)
    pipe.set_output(transform="pandas")
    return pipe


#: Input columns from which a model's blocks count as wide (radiomics-sized): the penalised models then search
#: stronger penalties, since with hundreds of candidate features the registry's grids overfit (calibration
#: slopes far below 1 even when selection has cut the columns down).
WIDE_COLUMNS = 100

FULL_BATCH = 1_000_000
"""A batch size above any cohort's row count: full-batch training (see :data:`WIDE_GRIDS`)."""

#: Grids (un-prefixed) that replace the registry's on wide blocks. On the 1,000 × 2,000 benchmark table of
#: ``benchmarks/bench_wide.py`` the registry's smallest C (0.01) gave LR a calibration slope of 0.70 after
#: correlation + univariate selection; C around 0.003 gave 1.17 at the same AUC, so the grid reaches below it
#: and the log-loss tuning (``selection.tuning_metric``) picks the penalty that calibrates.
#:
#: The MLP trains full-batch there (``batch_size`` :data:`FULL_BATCH`, clipped by scikit-learn to the rows). With
#: mini-batches of 200 its weight penalty acts per batch and Adam stops after a number of epochs, so a model fitted
#: on all training rows takes more steps than the inner-fold models and comes out more extreme than their
#: out-of-fold predictions (logit SD 1.0 against 0.55 on the benchmark table): tuning and recalibration then
#: describe a different model (cross-validated calibration slope 0.5–0.6 after recalibration). Full-batch, the
#: final and the inner-fold models agree (logit SD 2.0 against 2.0) and the recalibrated slope is about 1.
WIDE_GRIDS: dict[str, dict[str, list[Any]]] = {
    "lr": {"C": [0.0005, 0.001, 0.002, 0.005, 0.01, 0.03, 0.1]},
    "mlp": {"alpha": [10.0, 30.0, 100.0], "batch_size": [FULL_BATCH]},
}


def model_grid(
    model: str, *, random_state: int | None = 0, overrides: Mapping[str, Sequence[Any]] | None = None,
    wide: bool = False,
) -> dict[str, list[Any]] | list[dict[str, list[Any]]]:
    """Tuning grid for the ``model`` step, keys prefixed ``model__``; ``auto`` gives a list over every family.

    ``overrides`` replaces grid entries (un-prefixed names, e.g. ``{"C": [1.0]}``) of the named model.
    ``wide=True`` (a model with at least :data:`WIDE_COLUMNS` input columns) uses :data:`WIDE_GRIDS` where given.
    """
    if model == "auto":
        grids = []
        for spec in MODELS.values():
            entry: dict[str, list[Any]] = {"model": [spec.make(random_state)]}
            entry.update({f"model__{k}": list(v) for k, v in spec.grid.items()})
            grids.append(entry)
        return grids
    if model not in MODELS:
        msg = f"Unknown model {model!r}; accepted: {', '.join(MODELS)}, auto."
        raise ConfigError(msg)
    grid = dict(MODELS[model].grid) | (WIDE_GRIDS.get(model, {}) if wide else {}) | dict(overrides or {})
    return {f"model__{k}": list(v) for k, v in grid.items()}


def grouped_inner_splits(
    y: Any, groups: Any, n_splits: int = 5, random_state: int | None = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Patient-grouped stratified k-fold splits (precomputed, so any estimator can use them as ``cv=``)."""
    y_arr = np.asarray(y)
    g_arr = np.asarray(groups)
    n_groups = np.unique(g_arr).size
    k = int(min(n_splits, n_groups))
    if k < 2:
        msg = f"Grouped cross-validation needs at least 2 patients; got {n_groups}."
        raise ConfigError(msg)
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
    return [(tr, te) for tr, te in cv.split(np.zeros((y_arr.size, 1)), y_arr, g_arr)]


def _groups_fit_params(pipeline: Pipeline, groups: np.ndarray) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, step in pipeline.steps:
        if getattr(step, "_accepts_groups", False):
            params[f"{name}__groups"] = groups
    return params


def tune_pipeline(
    pipeline: Pipeline,
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Sequence[Any]]] | None,
    X: pd.DataFrame,
    y: Any,
    groups: Any,
    inner_cv: int | Sequence[tuple[np.ndarray, np.ndarray]] = 5,
    scoring: str = "roc_auc",
    random_state: int | None = 0,
    n_jobs: int | None = None,
) -> GridSearchCV:
    """Grid-search ``pipeline`` with patient-grouped stratified inner CV and refit on all of ``X``.

    ``groups`` (patient ids) define the inner folds (precomputed :func:`grouped_inner_splits`, or pass
    ``inner_cv`` as your own list of ``(train, test)`` index pairs) and are also routed to steps that use them
    (the LASSO selector's own inner CV). Returns the fitted :class:`~sklearn.model_selection.GridSearchCV`;
    ``best_estimator_`` is the tuned pipeline and ``best_score_`` its inner-CV score.
    """
    y_arr = np.asarray(y)
    g_arr = np.asarray(groups)
    if len(X) != y_arr.size or g_arr.size != y_arr.size:
        msg = f"tune_pipeline: X has {len(X)} rows, y {y_arr.size}, groups {g_arr.size}; they must match."
        raise ConfigError(msg)
    if isinstance(inner_cv, int):
        splits = grouped_inner_splits(y_arr, g_arr, inner_cv, random_state)
    else:
        splits = [(np.asarray(tr), np.asarray(te)) for tr, te in inner_cv]
    param_grid: Any = grid if grid else {}
    search = GridSearchCV(
        clone(pipeline), param_grid, scoring=scoring, cv=splits, refit=True, n_jobs=n_jobs, error_score="raise"
    )
    search.fit(X, y_arr, **_groups_fit_params(pipeline, g_arr))
    return search


def describe_selected_features(pipeline: Pipeline) -> list[dict[str, Any]]:
    """Features reaching the classifier of a fitted pipeline, with coefficient (linear) or importance (trees)."""
    from her2mri.models.recalibration import LogisticRecalibration

    model = pipeline.named_steps["model"]
    if isinstance(model, LogisticRecalibration):  # importances of the classifier inside the recalibration map
        model = model.estimator_
    names = pipeline[:-1].get_feature_names_out()
    coefs = getattr(model, "coef_", None)
    importances = getattr(model, "feature_importances_", None)
    rows = []
    for i, name in enumerate(names):
        rows.append(
            {
                "name": str(name),
                "coefficient": float(np.ravel(coefs)[i]) if coefs is not None and np.ndim(coefs) else None,
                "importance": float(importances[i]) if importances is not None else None,
            }
        )
    return rows
