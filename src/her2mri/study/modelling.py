"""The models step's unit of work: one configured model for one task, fitted and scored on every set.

A :class:`ModelJob` carries everything the fit needs (no study context), so the jobs of all task × model pairs
can run in worker processes (``n_jobs``); each job fits, tunes and scores with its own seed, so the results do
not depend on how the jobs are spread. Warnings raised inside a job travel back with its result and are
re-issued in the calling process, where the study records them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from her2mri.study.config import ModelSpecConfig, StudyConfig
from her2mri.study.designs import DesignPlan
from her2mri.study.fitting import FittedModel, fit_model

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


@dataclass(frozen=True)
class ModelOutcome:
    """What a job returns: the final model, its scores per set, CV fold labels and the warnings it raised."""

    model: FittedModel
    scores: dict[str, np.ndarray]
    folds: dict[str, Any] | None
    warnings: tuple[tuple[type[Warning], str], ...] = ()


def fit_rows(job: ModelJob, rows: np.ndarray, *, tuning: bool, seed: int, n_jobs: int | None = None,
             out_of_fold: bool = True) -> FittedModel:
    """Fit the job's model on the task-eligible lesions among ``rows`` (positions into the frame)."""
    frame = job.frame
    eligible = rows[job.mask[rows]]
    extra = ["center"] if job.harmonize and "center" not in job.columns else []
    X = frame.iloc[eligible][job.columns + extra]
    groups = frame["patient_id"].astype(str).to_numpy()[eligible]
    return fit_model(job.spec, X, job.labels[eligible], groups, kinds=job.kinds, config=job.config, seed=seed,
                     tuning=tuning, harmonize=job.harmonize, n_jobs=n_jobs, out_of_fold=out_of_fold)


def _cross_validate(job: ModelJob, n_jobs: int | None) -> tuple[np.ndarray, dict[str, Any]]:
    """Outer-fold predictions (averaged over repeats); tuning inside each outer fold for ``nested_cv`` only."""
    plan = job.plan
    n = len(plan.train)
    total = np.zeros(n)
    count = np.zeros(n)
    fold_of = np.full(n, -1)
    nested = plan.kind == "nested_cv"
    for fold in plan.folds:
        model = fit_rows(job, fold.train, tuning=nested and job.spec.tuning,
                         seed=job.seed + 1000 * fold.repeat + fold.fold, n_jobs=n_jobs, out_of_fold=False)
        total[fold.test] += model.predict(job.frame.iloc[fold.test])
        count[fold.test] += 1
        if fold.repeat == 0:
            fold_of[fold.test] = fold.fold
    per_repeat = len({f.repeat for f in plan.folds})
    return total / np.maximum(count, 1), {"fold": fold_of, "n_repeats": per_repeat}


def run_model_job(job: ModelJob, n_jobs: int | None = None) -> ModelOutcome:
    """Fit (with inner-CV tuning) on the training set and score every set of the design.

    The ``train`` scores are the training out-of-fold scores at the chosen hyper-parameters (fitted values for
    training lesions outside the task); CV designs add the pooled outer-fold scores as set ``cv``.
    """
    plan = job.plan
    model = fit_rows(job, plan.train, tuning=job.spec.tuning, seed=job.seed, n_jobs=n_jobs)
    frame = job.frame
    train_eligible = plan.train[job.mask[plan.train]]
    oof = np.full(len(frame), np.nan)
    oof[train_eligible] = model.oof_scores
    train_scores = model.predict(frame.iloc[plan.train])
    scores: dict[str, np.ndarray] = {"train": np.where(np.isnan(oof[plan.train]), train_scores, oof[plan.train])}
    folds = None
    if plan.kind in ("cv", "nested_cv"):
        scores["cv"], folds = _cross_validate(job, n_jobs)
    else:
        for set_name in plan.test_sets:
            scores[set_name] = model.predict(frame.iloc[plan.sets[set_name]])
    return ModelOutcome(model=model, scores=scores, folds=folds)


def _run_recording(job: ModelJob) -> ModelOutcome:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = run_model_job(job, n_jobs=1)
    seen = tuple(dict.fromkeys((item.category, str(item.message)) for item in caught))
    return ModelOutcome(model=outcome.model, scores=outcome.scores, folds=outcome.folds, warnings=seen)


def run_model_jobs(jobs: list[ModelJob], *, n_jobs: int = 1, on_done: Any = None) -> list[ModelOutcome]:
    """Run ``jobs`` (in order, or spread over ``n_jobs`` processes) and return their outcomes in job order.

    With one job, or ``n_jobs == 1``, the jobs run here and ``n_jobs`` goes to each job's inner folds instead.
    ``on_done(job)`` is called as each job finishes (progress bars).
    """
    outcomes: list[ModelOutcome] = []
    if n_jobs == 1 or len(jobs) == 1:
        for job in jobs:
            outcomes.append(run_model_job(job, n_jobs=n_jobs))
            if on_done is not None:
                on_done(job)
        return outcomes
    from joblib import Parallel, delayed

    runner = Parallel(n_jobs=min(n_jobs, len(jobs)), batch_size=1, return_as="generator")
    for job, outcome in zip(jobs, runner(delayed(_run_recording)(job) for job in jobs), strict=True):
        for category, message in outcome.warnings:
            warnings.warn(message, category, stacklevel=2)
        outcomes.append(outcome)
        if on_done is not None:
            on_done(job)
    return outcomes
