"""The models step's units of work, run here, in worker processes (``n_jobs``) or on a Dask cluster.

A :class:`ModelJob` carries everything one task × model fit needs (no study context). The step is cut into
units: for each group of jobs (one task, one cohort frame) a *main* unit fits every model of the group on the
training set (inner-CV tuning, out-of-fold scores, final refit) and, for the cross-validation designs, one
*fold* unit per outer fold fits every model of the group on that fold's training rows and scores its test rows.
Inside a unit the models share their fitted preprocessing and selection (:func:`~.fitting.shared_selection`).

Every fit has its own seed, derived from the study seed, the task, the model and the fold, never from the order
in which units run, so the results are the same at any number of workers, locally or on a cluster. The ``cv``
design evaluates, in every outer fold, the model it saves: the family and hyper-parameters chosen by the main
unit's tuning, refitted on the fold (``nested_cv`` re-tunes inside every outer fold instead). Warnings raised
inside a unit travel back with its result and are re-issued in the calling process, where the study records
them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from her2mri.study.config import ModelSpecConfig, StudyConfig
from her2mri.study.designs import DesignPlan
from her2mri.study.fitting import FittedModel, fit_fixed, fit_model, shared_selection

__all__ = ["ModelJob", "ModelOutcome", "fit_rows", "run_model_job", "run_model_jobs"]


@dataclass(frozen=True)
class ModelJob:
    """One task × model fit: the cohort columns it reads, the task labels and the design."""

    task: str
    spec: ModelSpecConfig
    config: StudyConfig
    frame: pd.DataFrame  # the cohort frame (at least the model's columns, centre and patient ids)
    mask: np.ndarray  # task-eligible rows of the frame
    labels: np.ndarray  # 0/1 for eligible rows, -1 elsewhere
    columns: list[str]
    kinds: dict[str, list[str]]
    harmonize: dict[str, Any] | None
    plan: DesignPlan
    seed: int
    selection_seed: int | None = None  # seeds inner folds and selectors; shared by the task's models


@dataclass(frozen=True)
class ModelOutcome:
    """What a job returns: the final model, its scores per set, CV fold labels and the warnings it raised."""

    model: FittedModel
    scores: dict[str, np.ndarray]
    folds: dict[str, Any] | None
    warnings: tuple[tuple[type[Warning], str], ...] = ()


def _selection_seed(job: ModelJob, offset: int = 0) -> int:
    base = job.seed if job.selection_seed is None else job.selection_seed
    return int((base + offset) % (2**31 - 1))


def _rows(job: ModelJob, rows: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    eligible = rows[job.mask[rows]]
    extra = ["center"] if job.harmonize and "center" not in job.columns else []
    X = job.frame.iloc[eligible][job.columns + extra]
    groups = job.frame["patient_id"].astype(str).to_numpy()[eligible]
    return X, job.labels[eligible], groups, eligible


def fit_rows(job: ModelJob, rows: np.ndarray, *, tuning: bool, seed: int, n_jobs: int | None = None,
             out_of_fold: bool = True, selection_seed: int | None = None) -> FittedModel:
    """Fit the job's model on the task-eligible lesions among ``rows`` (positions into the frame)."""
    X, y, groups, eligible = _rows(job, rows)
    return fit_model(job.spec, X, y, groups, kinds=job.kinds, config=job.config, seed=seed, tuning=tuning,
                     harmonize=job.harmonize, n_jobs=n_jobs, out_of_fold=out_of_fold,
                     selection_seed=_selection_seed(job) if selection_seed is None else selection_seed,
                     row_keys=eligible)


def _fold_seed(job: ModelJob, repeat: int, fold: int) -> int:
    return job.seed + 1000 * repeat + fold


def _fold_predict(job: ModelJob, index: int, fixed: tuple[str, dict[str, Any]] | None, n_jobs: int | None) -> np.ndarray:
    """Scores of outer fold ``index``'s test rows from the job's model fitted on the fold's training rows."""
    fold = job.plan.folds[index]
    seed = _fold_seed(job, fold.repeat, fold.fold)
    selection_seed = _selection_seed(job, 1000 * fold.repeat + fold.fold)
    if fixed is not None:
        X, y, groups, eligible = _rows(job, fold.train)
        family, params = fixed
        pipeline = fit_fixed(job.spec, X, y, groups, family=family, params=params, kinds=job.kinds,
                             config=job.config, seed=seed, harmonize=job.harmonize, selection_seed=selection_seed,
                             row_keys=eligible)
        test = job.frame.iloc[fold.test][list(X.columns)]
        return np.asarray(pipeline.predict_proba(test)[:, 1], dtype=float)
    model = fit_rows(job, fold.train, tuning=job.spec.tuning, seed=seed, n_jobs=n_jobs, out_of_fold=False,
                     selection_seed=selection_seed)
    return model.predict(job.frame.iloc[fold.test])


def _outer_is_oof(job: ModelJob) -> bool:
    """An untuned model (one classifier, its configured parameters) under the ``cv`` design: its outer folds
    already give training out-of-fold scores of the same fixed model on every lesion, so the main fit skips the
    inner folds (a second cross-validation of an identical model) and takes them from the first repeat. Models
    whose calibration is fitted on inner out-of-fold scores (the SVM's sigmoid, ``recalibrate: logistic``) keep
    their inner folds."""
    return (job.plan.kind == "cv" and not job.spec.tuning and job.spec.classifier not in ("auto", "svm")
            and job.spec.recalibrate != "logistic")


def _with_outer_oof(job: ModelJob, model: FittedModel, scores: dict[str, np.ndarray],
                    folds: dict[str, Any]) -> FittedModel:
    """``model`` and ``scores["train"]`` with the first repeat's outer-fold scores as training out-of-fold scores."""
    import dataclasses

    plan = job.plan
    first = np.asarray(folds["per_repeat"])[0]
    position = {row: i for i, row in enumerate(plan.train)}
    eligible = plan.train[job.mask[plan.train]]
    oof = np.array([first[position[row]] for row in eligible], dtype=float)
    y = job.labels[eligible]
    ok = np.isfinite(oof)
    auc = float(roc_auc_score(y[ok], oof[ok])) if len(np.unique(y[ok])) == 2 else float("nan")
    train = scores["train"].copy()
    for row in eligible:
        train[position[row]] = first[position[row]]
    scores["train"] = train
    return dataclasses.replace(model, oof_scores=oof, cv_auc=auc)


def _main_outcome(job: ModelJob, n_jobs: int | None) -> tuple[FittedModel, dict[str, np.ndarray]]:
    plan = job.plan
    model = fit_rows(job, plan.train, tuning=job.spec.tuning, seed=job.seed, n_jobs=n_jobs,
                     out_of_fold=not _outer_is_oof(job))
    frame = job.frame
    train_eligible = plan.train[job.mask[plan.train]]
    oof = np.full(len(frame), np.nan)
    oof[train_eligible] = model.oof_scores
    train_scores = model.predict(frame.iloc[plan.train])
    scores: dict[str, np.ndarray] = {"train": np.where(np.isnan(oof[plan.train]), train_scores, oof[plan.train])}
    if plan.kind not in ("cv", "nested_cv"):
        for set_name in plan.test_sets:
            scores[set_name] = model.predict(frame.iloc[plan.sets[set_name]])
    return model, scores


def _fixed(job: ModelJob, model: FittedModel) -> tuple[str, dict[str, Any]] | None:
    """The ``cv`` design refits the saved model's family and tuned hyper-parameters; ``nested_cv`` re-tunes."""
    if job.plan.kind != "cv":
        return None
    return model.family, dict(model.hyperparameters.get("tuned") or {})


def _pool_folds(job: ModelJob, parts: list[np.ndarray]) -> tuple[np.ndarray, dict[str, Any]]:
    """Outer-fold scores averaged over repeats, the fold labels of the first repeat and the per-repeat scores."""
    plan = job.plan
    n = len(plan.train)
    repeats = sorted({f.repeat for f in plan.folds})
    per_repeat = np.full((len(repeats), n), np.nan)
    fold_of = np.full(n, -1)
    for fold, part in zip(plan.folds, parts, strict=True):
        per_repeat[repeats.index(fold.repeat), fold.test] = part
        if fold.repeat == repeats[0]:
            fold_of[fold.test] = fold.fold
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pooled = np.nanmean(per_repeat, axis=0)
    return np.nan_to_num(pooled, nan=0.0), {"fold": fold_of, "n_repeats": len(repeats), "per_repeat": per_repeat}


def run_model_job(job: ModelJob, n_jobs: int | None = None) -> ModelOutcome:
    """Fit (with inner-CV tuning) on the training set and score every set of the design.

    The ``train`` scores are the training out-of-fold scores at the chosen hyper-parameters (fitted values for
    training lesions outside the task); CV designs add the pooled outer-fold scores as set ``cv``.
    """
    with shared_selection():
        model, scores = _main_outcome(job, n_jobs)
        folds = None
        if job.plan.kind in ("cv", "nested_cv"):
            fixed = _fixed(job, model)
            parts = [_fold_predict(job, index, fixed, n_jobs) for index in range(len(job.plan.folds))]
            scores["cv"], folds = _pool_folds(job, parts)
            if _outer_is_oof(job):
                model = _with_outer_oof(job, model, scores, folds)
    return ModelOutcome(model=model, scores=scores, folds=folds)


# --- units -------------------------------------------------------------------------------------------------------


def _recording(function: Callable[..., Any], *args: Any) -> tuple[Any, tuple[tuple[type[Warning], str], ...]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=pd.errors.PerformanceWarning)
        with shared_selection():
            value = function(*args)
    return value, tuple(dict.fromkeys((item.category, str(item.message)) for item in caught))


def _main_unit(jobs: tuple[ModelJob, ...]) -> Any:
    return _recording(lambda: [_main_outcome(job, 1) for job in jobs])


def _fold_unit(jobs: tuple[ModelJob, ...], index: int, fixed: tuple[tuple[str, dict[str, Any]] | None, ...]) -> Any:
    return _recording(lambda: [_fold_predict(job, index, fix, 1) for job, fix in zip(jobs, fixed, strict=True)])


def _any_unit(kind: str, jobs: tuple[ModelJob, ...], *rest: Any) -> Any:
    return _main_unit(jobs) if kind == "main" else _fold_unit(jobs, *rest)


def _groups(jobs: list[ModelJob]) -> list[list[int]]:
    """Jobs that can share selection: same task (hence the same frame, labels and design)."""
    order: dict[str, list[int]] = {}
    for index, job in enumerate(jobs):
        order.setdefault(job.task, []).append(index)
    return list(order.values())


class _Local:
    """Runs units here (``n_jobs == 1``) or in joblib worker processes, results in submission order."""

    def __init__(self, n_jobs: int) -> None:
        self.n_jobs = n_jobs

    def map(self, function: Callable[..., Any], calls: list[tuple[Any, ...]], done: Callable[[int], None]) -> list[Any]:
        if self.n_jobs == 1 or len(calls) == 1:
            out = []
            for index, args in enumerate(calls):
                out.append(function(*args))
                done(index)
            return out
        from joblib import Parallel, delayed

        runner = Parallel(n_jobs=min(self.n_jobs, len(calls)), batch_size=1, return_as="generator")
        out = []
        for index, value in enumerate(runner(delayed(function)(*args) for args in calls)):
            out.append(value)
            done(index)
        return out


class _Dask:
    """Runs units on a Dask cluster (``dask.distributed.Client``); results in submission order."""

    def __init__(self, address: Any) -> None:
        try:
            from dask.distributed import Client
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            from her2mri.exceptions import ConfigError

            message = ("Running a study on a Dask cluster needs dask.distributed; install her2mri[imaging] or "
                       "`pip install 'dask[distributed]'`.")
            raise ConfigError(message) from exc
        self.client = address if isinstance(address, Client) else Client(address)
        self.owned = not isinstance(address, Client)
        self._scattered: dict[int, Any] = {}

    def scatter(self, value: Any) -> Any:
        key = id(value)
        if key not in self._scattered:
            [self._scattered[key]] = self.client.scatter([value], hash=False)
        return self._scattered[key]

    def map(self, function: Callable[..., Any], calls: list[tuple[Any, ...]], done: Callable[[int], None]) -> list[Any]:
        from dask.distributed import as_completed

        futures = [self.client.submit(function, *[self.scatter(a) if isinstance(a, tuple) and a and isinstance(
            a[0], ModelJob) else a for a in args], pure=False) for args in calls]
        index_of = {future.key: index for index, future in enumerate(futures)}
        for future in as_completed(futures):
            done(index_of[future.key])
        return [future.result() for future in futures]

    def close(self) -> None:
        if self.owned:
            self.client.close()


def run_model_jobs(jobs: list[ModelJob], *, n_jobs: int = 1, on_done: Any = None, scheduler: Any = None,
                   on_unit: Any = None) -> list[ModelOutcome]:
    """Run ``jobs`` as units (see the module docstring) and return their outcomes in job order.

    ``n_jobs`` spreads the units over local processes; ``scheduler`` (a Dask scheduler address or a
    ``dask.distributed.Client``) runs them on that cluster instead. The outcomes do not depend on either.
    ``on_unit(kind, done, total)`` reports each finished unit and ``on_done(job)`` each job whose main fit
    is finished (progress bars).
    """
    executor: Any = _Dask(scheduler) if scheduler is not None else _Local(n_jobs)
    groups = [tuple(jobs[i] for i in members) for members in _groups(jobs)]
    members_of = _groups(jobs)
    cross_validated = bool(jobs) and jobs[0].plan.kind in ("cv", "nested_cv")
    n_folds = len(jobs[0].plan.folds) if cross_validated else 0
    total = len(groups) * (1 + n_folds)
    finished = [0]

    def unit_done(kind: str) -> Callable[[int], None]:
        def done(index: int) -> None:
            finished[0] += 1
            if kind == "main" and on_done is not None:
                for job in groups[index]:
                    on_done(job)
            if on_unit is not None:
                on_unit(kind, finished[0], total)
        return done

    collected: list[tuple[type[Warning], str]] = []
    try:
        main_calls = [(group,) for group in groups]
        fold_calls: list[tuple[Any, ...]] = []
        if cross_validated and jobs[0].plan.kind == "nested_cv":
            # nested folds re-tune on their own: they do not wait for the main fits, all units run at once
            for group in groups:
                fold_calls += [(group, fold, (None,) * len(group)) for fold in range(n_folds)]
            both = executor.map(_any_unit, [("main", *c) for c in main_calls] + [("fold", *c) for c in fold_calls],
                                lambda index: unit_done("main" if index < len(main_calls) else "fold")(
                                    index if index < len(main_calls) else 0))
            mains, parts = both[:len(main_calls)], both[len(main_calls):]
        else:
            mains = executor.map(_main_unit, main_calls, unit_done("main"))
            parts = []
        results: dict[int, tuple[FittedModel, dict[str, np.ndarray]]] = {}
        for members, (values, seen) in zip(members_of, mains, strict=True):
            collected.extend(seen)
            for index, value in zip(members, values, strict=True):
                results[index] = value
        fold_parts: dict[int, list[np.ndarray]] = {index: [] for index in range(len(jobs))}
        if cross_validated:
            if not fold_calls:
                for members, group in zip(members_of, groups, strict=True):
                    fixed = tuple(_fixed(jobs[i], results[i][0]) for i in members)
                    fold_calls += [(group, fold, fixed) for fold in range(n_folds)]
                parts = executor.map(_fold_unit, fold_calls, unit_done("fold"))
            position = 0
            for members in members_of:
                for _ in range(n_folds):
                    values, seen = parts[position]
                    position += 1
                    collected.extend(seen)
                    for index, value in zip(members, values, strict=True):
                        fold_parts[index].append(value)
    finally:
        if isinstance(executor, _Dask):
            executor.close()
    for category, message in dict.fromkeys(collected):
        warnings.warn(message, category, stacklevel=2)
    outcomes = []
    for index, job in enumerate(jobs):
        model, scores = results[index]
        folds = None
        if cross_validated:
            scores["cv"], folds = _pool_folds(job, fold_parts[index])
            if _outer_is_oof(job):
                model = _with_outer_oof(job, model, scores, folds)
        outcomes.append(ModelOutcome(model=model, scores=scores, folds=folds))
    return outcomes
