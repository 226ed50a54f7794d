"""Study outputs besides results.json: predictions.csv, the model bundle (DIR/model/) and the HTML report."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from her2mri.study.runner import StudyContext

__all__ = ["PREDICTION_COLUMNS", "build_predictions", "step_bundle", "step_predictions", "step_report"]

PREDICTION_COLUMNS = (
    "lesion_id", "patient_id", "center", "set", "task", "model", "is_chosen", "eligible", "y_true", "score",
    "call", "threshold", "fold", "repeat", "p_zero", "p_low", "p_positive", "true_label",
)


def build_predictions(context: StudyContext) -> pd.DataFrame:
    """One row per lesion × task × model × set (every lesion of each set; ``eligible`` marks the task's lesions,
    ``y_true`` is empty elsewhere), plus ``task = three_class`` rows with the composed probabilities."""
    frame = context.frame
    plan = context.design
    ids = frame["lesion_id"].astype(str).to_numpy()
    patients = frame["patient_id"].astype(str).to_numpy()
    centers = frame["center"].astype(str).to_numpy() if "center" in frame.columns else np.full(len(frame), "")
    category = frame["her2_category"].astype(object).to_numpy() if "her2_category" in frame.columns else None
    parts: list[pd.DataFrame] = []
    for name, state in context.tasks.items():
        for model, by_set in state.scores.items():
            threshold = state.thresholds.get(model, np.nan)
            for set_name, rows in plan.sets.items():
                score = by_set[set_name]
                eligible = state.mask[rows]
                y = np.where(eligible, state.labels[rows], -1).astype(float)
                y[y < 0] = np.nan
                fold = np.full(len(rows), np.nan)
                if set_name == "cv" and model in state.folds:
                    fold = state.folds[model]["fold"].astype(float)
                parts.append(pd.DataFrame({
                    "lesion_id": ids[rows], "patient_id": patients[rows], "center": centers[rows], "set": set_name,
                    "task": name, "model": model, "is_chosen": model == state.best, "eligible": eligible,
                    "y_true": y, "score": score,
                    "call": np.where(score >= threshold, state.task.positive, "not_" + state.task.positive),
                    "threshold": threshold, "fold": fold,
                    "repeat": (state.folds[model]["n_repeats"] if set_name == "cv" and model in state.folds
                               else np.nan),
                    "true_label": category[rows] if category is not None else None,
                }))
    labels = np.array(["zero", "low", "positive"], dtype=object)
    for set_name, probabilities in context.three_class.items():
        rows = plan.sets[set_name]
        parts.append(pd.DataFrame({
            "lesion_id": ids[rows], "patient_id": patients[rows], "center": centers[rows], "set": set_name,
            "task": "three_class", "model": "hierarchy", "is_chosen": True,
            "eligible": np.isin(category[rows], labels) if category is not None else False,
            "p_zero": probabilities[:, 0], "p_low": probabilities[:, 1], "p_positive": probabilities[:, 2],
            "call": getattr(context, "three_class_calls", {}).get(set_name, labels[np.argmax(probabilities, axis=1)]),
            "true_label": category[rows] if category is not None else None,
        }))
    if not parts:
        return pd.DataFrame(columns=list(PREDICTION_COLUMNS))
    table = pd.concat(parts, ignore_index=True)
    return table.reindex(columns=list(PREDICTION_COLUMNS))


def step_predictions(context: StudyContext) -> str:
    table = build_predictions(context)
    context.predictions = table
    if context.out_dir is not None:
        path = context.out_dir / "predictions.csv"
        table.to_csv(path, index=False, float_format="%.10g")
        context.files["predictions.csv"] = path
    return f"{len(table)} rows"


def _task_model(context: StudyContext, name: str, model: str) -> Any:
    from her2mri.bundle import TaskModel

    state = context.tasks[name]
    fitted = state.models[model]
    pipeline = fitted.pipeline
    steps = dict(getattr(pipeline, "named_steps", {}))
    if "harmonize" in steps and getattr(steps["harmonize"], "unlabelled_data", None) is not None:
        # the fitted ComBat estimates already include the pooled unlabelled lesions; the bundle does not need
        # (and must not store) those raw rows
        pipeline = copy.deepcopy(pipeline)
        pipeline.set_params(harmonize__unlabelled_data=None)
    negative = "nonzero" if name == "zero_vs_nonzero" else (
        "negative" if name == "positive_vs_negative" else "_".join(state.task.negative))
    metrics = {
        set_name: (context.document["tasks"][name]["models"][model]["sets"][set_name].get("auc") or {})
        for set_name in context.design.sets
    }
    return TaskModel(
        task=name, model_name=model, pipeline=pipeline, threshold=float(state.thresholds[model]),
        input_columns=tuple(fitted.columns), positive_label=state.task.positive, negative_label=negative,
        metrics={"auc": metrics, "cv_auc": fitted.cv_auc},
    )


def step_bundle(context: StudyContext) -> str:
    """The chosen model per task (the hierarchy's two tasks when three-class is configured) → DIR/model/."""
    if context.out_dir is None:
        return "skipped (no output folder)"
    from her2mri.bundle import build_bundle, save_bundle
    from her2mri.models.tasks import HIERARCHIES

    three = context.config.tasks.three_class
    if three is not None:
        hierarchy: str | None = three.hierarchy
        names = list(HIERARCHIES[three.hierarchy])
    else:
        pairs = [h for h, pair in HIERARCHIES.items() if all(t in context.tasks for t in pair)]
        hierarchy = pairs[0] if pairs else None
        names = list(HIERARCHIES[hierarchy]) if hierarchy else [next(iter(context.tasks))]
    task_models = {name: _task_model(context, name, context.tasks[name].best) for name in names}
    nomogram_models = {}
    for name in names:
        block = context.document["tasks"][name]
        lr = (block.get("logistic") or {}).get("model")
        if lr and lr != context.tasks[name].best:
            nomogram_models[name] = _task_model(context, name, lr)
    frame = context.frame
    training = frame.iloc[context.design.train].reset_index(drop=True)
    summary = {name: {"best_model": context.tasks[name].best,
                      "auc": task_models[name].metrics["auc"]} for name in names}
    conformal = context.conformal.to_dict() if context.conformal is not None and hierarchy == (
        three.hierarchy if three else None) else None
    bundle = build_bundle(
        task_models=task_models, hierarchy=hierarchy, training_frame=training,
        config=context.document["config"], metrics=summary, conformal=conformal,
        nomogram_models=nomogram_models or None, random_state=context.config.effective_seed,
    )
    path = save_bundle(bundle, context.out_dir / "model")
    context.files["model"] = path
    context.document["bundle"] = {"path": "model", "tasks": names, "hierarchy": hierarchy,
                                  "models": {n: context.tasks[n].best for n in names}}
    return f"bundle of {', '.join(names)}"


def step_report(context: StudyContext) -> str:
    if not context.config.report.enabled:
        return "skipped (report.enabled is false)"
    if context.out_dir is None:
        return "skipped (no output folder)"
    try:
        from her2mri.report import render_report
    except ImportError:
        return "skipped (her2mri.report.render_report is not available)"
    from her2mri.study.results import write_json_atomic

    context.document["status"] = "complete"
    write_json_atomic(context.document, context.out_dir / "results.json")
    path = render_report(context.out_dir)
    context.files["report.html"] = path
    return f"report {path.name}"
