"""The study steps, one function per step (``step_<name>(context)``), run in order by :mod:`.runner`.

Conventions: a set's scores are kept for *every* lesion of the set (ineligible lesions included, the
three-class composition needs them); metrics use the task-eligible lesions only. The ``train`` set is evaluated
on training **out-of-fold** scores (inner patient-grouped CV at the chosen hyper-parameters), never on fitted
values, and every threshold and cut-off is chosen there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from her2mri import stats
from her2mri.exceptions import ConfigError, FitError, TaskError
from her2mri.study import analysis, artifacts, outcomes
from her2mri.study.blocks import column_kinds, resolve_blocks
from her2mri.study.data import load_study_data, task_flow
from her2mri.study.designs import make_design
from her2mri.study.evaluation import choose_threshold, delong_block, evaluate_scores
from her2mri.study.results import json_safe

if TYPE_CHECKING:
    from her2mri.study.runner import StudyContext

__all__ = [
    "step_bundle", "step_cohort", "step_conformal", "step_design", "step_drift", "step_evaluation",
    "step_harmonisation", "step_interpretability", "step_models", "step_predictions", "step_reader_study",
    "step_report", "step_subgroups", "step_survival", "step_table1", "step_tasks", "step_three_class",
]

# steps delegated to other modules
step_three_class = outcomes.step_three_class
step_conformal = outcomes.step_conformal
step_survival = outcomes.step_survival
step_subgroups = outcomes.step_subgroups
step_harmonisation = outcomes.step_harmonisation
step_drift = outcomes.step_drift
step_reader_study = outcomes.step_reader_study
step_interpretability = analysis.step_interpretability
step_predictions = artifacts.step_predictions
step_bundle = artifacts.step_bundle
step_report = artifacts.step_report


def step_cohort(context: StudyContext) -> str:
    data = load_study_data(context.config.cohort)
    context.data = data
    frame = data.frame
    context.document["cohort"] = {
        "source": data.source, "n_lesions": int(len(frame)), "n_patients": int(frame["patient_id"].nunique()),
        "centers": sorted(frame["center"].astype(str).unique().tolist()) if "center" in frame.columns else [],
        "is_binary_only": data.is_binary_only, "flow": data.flow, "flow_by_set": {}, "sets": {},
        "notes": data.notes, "has_true_posterior": bool({"true_p_zero", "true_p_low", "true_p_positive"}
                                                        <= set(frame.columns)),
    }
    context.document["provenance"]["cohort_sha256"] = data.sha256
    return f"{len(frame)} lesions"


def step_tasks(context: StudyContext) -> str:
    from her2mri.models.tasks import TASKS

    frame = context.frame
    config = context.config
    specs = config.block_specs()
    for model in config.models:
        columns = resolve_blocks(frame, model.blocks, specs)
        if not columns:
            message = f"model '{model.name}' has no input column: its blocks {model.blocks} select nothing."
            raise ConfigError(message)
        context.document.setdefault("feature_columns", {})[model.name] = columns
    for name in config.tasks.names:
        task = TASKS[name]
        if task.needs_three_level and context.data is not None and context.data.is_binary_only:
            message = (
                f"Task '{name}' ({task.title}) needs HER2 zero/low/positive labels, but the cohort is binary-only "
                "(HER2 known only as positive/negative). Remove it from tasks.names or provide her2_ihc scores "
                "(and ISH results); accepted on binary-only cohorts: positive_vs_negative."
            )
            raise TaskError(message)
        mask, y = task.labels(frame)
        labels = np.full(len(frame), -1, dtype=int)
        labels[mask] = y
        from her2mri.study.runner import TaskState

        state = TaskState(name=name, task=task, mask=mask, labels=labels)
        state.columns = dict(context.document["feature_columns"])
        context.tasks[name] = state
        context.document["cohort"]["flow"].append(task_flow(frame, name, mask))
        context.document["tasks"][name] = {
            "title": task.title, "positive": task.positive, "negative": list(task.negative),
            "n_eligible": int(mask.sum()), "counts": {}, "table1": {}, "models": {},
        }
    return f"{len(context.tasks)} tasks"


def _set_summary(frame: pd.DataFrame, rows: np.ndarray) -> dict[str, Any]:
    sub = frame.iloc[rows]
    return {
        "n_lesions": int(len(sub)), "n_patients": int(sub["patient_id"].nunique()),
        "centers": sorted(sub["center"].astype(str).unique().tolist()) if "center" in sub.columns else [],
    }


def step_design(context: StudyContext) -> str:
    frame = context.frame
    plan = make_design(frame, context.config.design, context.config.effective_seed)
    context.plan = plan
    patients = frame["patient_id"].astype(str).to_numpy()
    if plan.kind not in ("cv", "nested_cv"):
        train_patients = set(patients[plan.train])
        for name in plan.test_sets:
            shared = train_patients & set(patients[plan.sets[name]])
            if shared:
                message = f"Patients {sorted(shared)[:5]} are in both the training set and set '{name}'."
                raise ConfigError(message)
    context.document["design"] = {**plan.describe(), "seed": context.config.effective_seed,
                                  "grouped_by": "patient_id", "stratified_on": "her2_category"}
    cohort = context.document["cohort"]
    for name, rows in plan.sets.items():
        cohort["sets"][name] = _set_summary(frame, rows)
        entries = []
        for task_name, state in context.tasks.items():
            eligible = state.mask[rows]
            y = state.labels[rows][eligible]
            context.document["tasks"][task_name]["counts"][name] = {
                "positive": int(y.sum()), "negative": int(len(y) - y.sum())}
            flow = task_flow(frame.iloc[rows].reset_index(drop=True), task_name, eligible)
            entries.append(flow)
        cohort["flow_by_set"][name] = entries
    for task_name, state in context.tasks.items():
        y = state.labels[plan.train][state.mask[plan.train]]
        if len(np.unique(y)) < 2 or min(int(y.sum()), int(len(y) - y.sum())) < 5:
            message = (
                f"Task '{task_name}': the training set has {int(y.sum())} positive and {int(len(y) - y.sum())} "
                "negative eligible lesions; at least 5 of each are needed. Use another design or a larger cohort."
            )
            raise TaskError(message)
    return f"{plan.kind}: {', '.join(f'{k} {len(v)}' for k, v in plan.sets.items())}"


def _table1_variables(context: StudyContext) -> list[str]:
    columns: list[str] = []
    for model_columns in context.document.get("feature_columns", {}).values():
        columns += [c for c in model_columns if "__" not in c and c not in columns]
    return columns[:60]


def step_table1(context: StudyContext) -> str:
    from her2mri import stats

    frame = context.frame
    variables = _table1_variables(context)
    correction = context.config.statistics.table1_correction
    done = 0
    for name, state in context.tasks.items():
        positive, negative = state.task.positive, "_".join(state.task.negative) if len(state.task.negative) > 1 \
            else state.task.negative[0]
        if name == "positive_vs_negative":
            negative = "negative"
        if name == "zero_vs_nonzero":
            negative = "nonzero"
        block = context.document["tasks"][name]
        block["table1_groups"] = [positive, negative]
        for set_name, rows in context.design.sets.items():
            if set_name == "cv":
                continue
            eligible = rows[state.mask[rows]]
            sub = frame.iloc[eligible][variables].copy()
            sub["her2_group"] = np.where(state.labels[eligible] == 1, positive, negative)
            result = stats.table1(sub, group="her2_group", variables=variables, correction=correction)
            block["table1"][set_name] = json_safe(result.to_frame().to_dict(orient="records"))
            done += 1
    extras = analysis.table1_extras(context, variables)
    return f"{done} tables" + (f"; {extras}" if extras else "")


def _job(context: StudyContext, state: Any, spec: Any) -> Any:
    """The models step's unit of work for one task × model (see :mod:`her2mri.study.modelling`)."""
    from her2mri.study.modelling import ModelJob

    frame = context.frame
    columns = state.columns[spec.name]
    harmonize = outcomes.harmonize_arguments(context, frame, columns)
    needed = list(dict.fromkeys([*columns, "patient_id", *(["center"] if "center" in frame.columns else [])]))
    return ModelJob(
        task=state.name, spec=spec, config=context.config, frame=frame[needed], mask=state.mask,
        labels=state.labels, columns=list(columns), kinds=column_kinds(frame, columns), harmonize=harmonize,
        plan=context.design, seed=context.seed_for(state.name, spec.features_from or spec.name),
        selection_seed=context.seed_for(state.name, "selection"),
    )


def _fit(context: StudyContext, state: Any, spec: Any, rows: np.ndarray, *, tuning: bool, seed: int) -> Any:
    from her2mri.study.modelling import fit_rows

    return fit_rows(_job(context, state, spec), rows, tuning=tuning, seed=seed)


def step_models(context: StudyContext) -> str:
    """Every configured model for every task: tuned and fitted on the training set, scored on each set.

    The task × model fits are independent (each has its own seed), so with ``n_jobs > 1`` they run in
    parallel processes; the results are the same as a sequential run.
    """
    from her2mri.study.modelling import run_model_jobs

    config = context.config
    bar = context.progress
    pairs = [(state, spec) for state in context.tasks.values() for spec in config.models]
    task_bar = bar.add_task("models", total=len(pairs)) if bar is not None else None
    unit_bar = bar.add_task("fits (models x folds)", total=None) if bar is not None else None

    def advance(job: Any) -> None:
        if bar is not None:
            bar.update(task_bar, description=f"models: {job.task} / {job.spec.name}")
            bar.advance(task_bar)

    def unit(kind: str, done: int, total: int) -> None:
        if bar is not None:
            bar.update(unit_bar, completed=done, total=total, description=f"fits: {kind} units")

    scheduler = context.scheduler or config.scheduler
    jobs = [_job(context, state, spec) for state, spec in pairs]
    outcomes = run_model_jobs(jobs, n_jobs=config.n_jobs, on_done=advance, scheduler=scheduler, on_unit=unit)
    for (state, spec), outcome in zip(pairs, outcomes, strict=True):
        state.models[spec.name] = outcome.model
        state.scores[spec.name] = outcome.scores
        if outcome.folds is not None:
            state.folds[spec.name] = outcome.folds
    where = f" on the Dask cluster at {scheduler}" if scheduler else ""
    return f"{len(pairs)} models fitted{where}"


def _choose_model(config: Any, state: Any, y_train: np.ndarray) -> tuple[str, str]:
    """The task's chosen model and why, from training out-of-fold scores only (see :mod:`.choice`)."""
    from her2mri.study.choice import choose_model

    choice = choose_model(y_train, {s.name: state.models[s.name].oof_scores for s in config.models},
                          {s.name: state.models[s.name].family for s in config.models},
                          rule=config.selection.rule, alpha=config.selection.alpha, configured=config.selection.model)
    state.choice = choice.to_dict()
    return choice.chosen, choice.reason


def _screen_records(pipeline: Any) -> list[dict[str, Any]]:
    from her2mri.features.filters import screen_records

    return screen_records(pipeline)


def _selection_paths(pipeline: Any) -> list[dict[str, Any]]:
    from her2mri.features.group_lasso import selection_paths

    return selection_paths(pipeline)


def _fitted_hyperparameters(model: Any) -> dict[str, Any]:
    """The fitted final estimator's own parameters (an ensemble's ``estimator_`` is its unfitted base template)."""
    hyper = dict(model.hyperparameters)
    final = model.pipeline.steps[-1][1] if hasattr(model.pipeline, "steps") else model.pipeline
    final = getattr(final, "best_estimator_", None) or final
    if hasattr(final, "estimators_") and hasattr(final, "get_params"):
        hyper["estimator"] = json_safe({k: v for k, v in final.get_params(deep=False).items()
                                        if isinstance(v, int | float | str | bool | type(None))})
    return hyper


def _spread(values: list[float]) -> dict[str, Any]:
    array = np.asarray(values, dtype=float)
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return {"values": values, "mean": None, "sd": None, "min": None, "max": None}
    return {"values": values, "mean": float(finite.mean()),
            "sd": float(finite.std(ddof=1)) if finite.size > 1 else None,
            "min": float(finite.min()), "max": float(finite.max())}


def _per_repeat(state: Any, model: str, plan: Any) -> dict[str, dict[str, Any]] | None:
    """AUC and calibration slope of each repeat of a repeated CV design (its own out-of-fold scores).

    The ``cv`` set's figures are those of the repeat-averaged scores. Averaging smooths each lesion's noise, so
    that AUC runs above the typical single-repeat AUC, and it shrinks the spread of the predictions, so that
    calibration slope runs above the slope of any one model (a model whose single-repeat slope is 1.0 can show
    1.5 averaged). The per-repeat values describe a model as it would be refitted and used.
    """
    folds = state.folds.get(model)
    if folds is None or "cv" not in plan.sets or folds.get("per_repeat") is None:
        return None
    from sklearn.metrics import roc_auc_score

    rows = plan.sets["cv"]
    eligible = state.mask[rows]
    y = state.labels[rows][eligible]
    if len(np.unique(y)) < 2:
        return None
    aucs, slopes = [], []
    for scores in np.asarray(folds["per_repeat"]):
        score = scores[rows][eligible]
        ok = np.isfinite(score)
        if len(np.unique(y[ok])) < 2:
            aucs.append(float("nan"))
            slopes.append(float("nan"))
            continue
        aucs.append(float(roc_auc_score(y[ok], score[ok])))
        try:
            slopes.append(float(stats.calibration(y[ok], np.clip(score[ok], 1e-12, 1 - 1e-12)).slope))
        except (stats.StatsInputError, FitError):
            slopes.append(float("nan"))
    return {"per_repeat_auc": _spread(aucs), "per_repeat_calibration_slope": _spread(slopes)}


def step_evaluation(context: StudyContext) -> str:
    config = context.config
    plan = context.design
    frame = context.frame
    groups_all = frame["patient_id"].astype(str).to_numpy()
    for name, state in context.tasks.items():
        block = context.document["tasks"][name]
        train_rows = plan.train[state.mask[plan.train]]
        y_train = state.labels[train_rows]
        for spec in config.models:
            model = state.models[spec.name]
            threshold = choose_threshold(y_train, model.oof_scores)
            state.thresholds[spec.name] = threshold
            entry = {
                "family": model.family, "classifier": spec.classifier, "block": "+".join(spec.blocks),
                "blocks": list(spec.blocks), "selectors": [s.model_dump() for s in spec.selectors],
                "n_input_columns": len(model.columns), "tuned": model.tuned, "cv_auc": model.cv_auc,
                "hyperparameters": _fitted_hyperparameters(model), "selected_features": model.selected_features,
                "selection_path": _selection_paths(model.pipeline),
                "selection_screen": _screen_records(model.pipeline),
                "threshold": threshold, "threshold_rule": "youden_on_training",
                "threshold_source": "training out-of-fold scores", "sets": {},
            }
            for set_name, rows in plan.sets.items():
                eligible = state.mask[rows]
                y = state.labels[rows][eligible]
                score = state.scores[spec.name][set_name][eligible]
                entry["sets"][set_name] = evaluate_scores(
                    y, score, threshold=threshold, statistics=config.statistics, groups=groups_all[rows][eligible],
                    seed=context.seed_for(name, spec.name, set_name), bootstrap=set_name != "train",
                )
            spread = _per_repeat(state, spec.name, plan)
            if spread is not None:
                entry["sets"]["cv"].update(spread)
            block["models"][spec.name] = json_safe(entry)
        state.best, block["best_model_rule"] = _choose_model(config, state, y_train)
        block["best_model"] = state.best
        block["model_choice"] = json_safe(getattr(state, "choice", None))
        block["delong"] = {}
        for set_name, rows in plan.sets.items():
            eligible = state.mask[rows]
            y = state.labels[rows][eligible]
            scores = {m: state.scores[m][set_name][eligible] for m in state.scores}
            result = delong_block(y, scores, correction=config.statistics.delong_correction)
            if result is not None:
                block["delong"][set_name] = result
        block["true_posterior_auc"], block["true_posterior_ratio"] = analysis.true_posterior(context, state)
        block["logistic"], block["nomogram"] = analysis.logistic_and_nomogram(context, state)
        block["chosen_model_statistics"] = analysis.chosen_model_statistics(context, state)
    return f"best: {', '.join(f'{k}={v.best}' for k, v in context.tasks.items())}"
