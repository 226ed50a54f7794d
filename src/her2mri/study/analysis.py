"""Per-task analyses on top of the fitted models: recovery of the simulation's true posterior, the
multivariable logistic regression (odds-ratio table) with its nomogram data, and SHAP explanations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from her2mri.exceptions import FitError
from her2mri.study.results import json_safe

if TYPE_CHECKING:
    from her2mri.study.runner import StudyContext, TaskState

__all__ = ["logistic_and_nomogram", "step_interpretability", "true_posterior", "true_task_score"]

_TRUTH = {"zero": "true_p_zero", "low": "true_p_low", "positive": "true_p_positive"}


def true_task_score(frame: pd.DataFrame, positive: str, negative: tuple[str, ...]) -> np.ndarray | None:
    """P(positive class | lesion in the task's classes) from the recorded true posteriors (``None`` if absent)."""
    if not set(_TRUTH.values()) <= set(frame.columns) or positive not in _TRUTH:
        return None
    negatives = [label for label in negative if label in _TRUTH]
    p_pos = frame[_TRUTH[positive]].to_numpy(dtype=float)
    p_neg = sum((frame[_TRUTH[label]].to_numpy(dtype=float) for label in negatives), np.zeros(len(frame)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(p_pos + p_neg > 0, p_pos / (p_pos + p_neg), 0.5)


def true_posterior(context: StudyContext, state: TaskState) -> tuple[dict[str, float] | None, dict[str, Any] | None]:
    """AUC of the true posterior per set, and the ratio (model AUC / true AUC) on the same lesions."""
    from sklearn.metrics import roc_auc_score

    frame = context.frame
    truth = true_task_score(frame, state.task.positive, tuple(state.task.negative))
    if truth is None or state.best is None:
        return None, None
    aucs: dict[str, float] = {}
    ratios: dict[str, Any] = {}
    for set_name, rows in context.design.sets.items():
        eligible = state.mask[rows]
        y = state.labels[rows][eligible]
        if len(np.unique(y)) < 2:
            continue
        true_auc = float(roc_auc_score(y, truth[rows][eligible]))
        by_model = {
            name: float(roc_auc_score(y, scores[set_name][eligible])) / true_auc
            for name, scores in state.scores.items()
        }
        model_auc = float(roc_auc_score(y, state.scores[state.best][set_name][eligible]))
        aucs[set_name] = true_auc
        ratios[set_name] = {"model": state.best, "model_auc": model_auc, "true_auc": true_auc,
                            "ratio": model_auc / true_auc, "by_model": by_model}
    return json_safe(aucs), json_safe(ratios)


def _owner(name: str, columns: list[str]) -> str | None:
    for column in sorted(columns, key=len, reverse=True):
        if name == column or name.endswith(f"__{column}") or column in name:
            return column
    return None


def _lr_model(context: StudyContext, state: TaskState) -> str | None:
    families = {name: model.family for name, model in state.models.items()}
    if state.best is not None and families.get(state.best) == "lr":
        return state.best
    return next((name for name, family in families.items() if family == "lr"), None)


def _design_matrix(frame: pd.DataFrame, columns: list[str], kinds: dict[str, list[str]]) -> tuple[pd.DataFrame, list]:
    parts: list[pd.Series] = []
    terms: list[dict[str, Any]] = []
    for column in columns:
        values = frame[column]
        if column in kinds["numeric"]:
            filled = values.astype(float).fillna(values.astype(float).median())
            parts.append(filled.rename(column))
            terms.append({"feature": column, "kind": "numeric", "columns": [column],
                          "range": [float(filled.min()), float(filled.max())]})
            continue
        if column in kinds["binary"]:
            text = values.map({1.0: "yes", 0.0: "no"})
        else:
            text = values.astype(object)
        text = text.where(text.notna(), text.mode().iloc[0] if text.notna().any() else "missing").astype(str)
        counts = text.value_counts()
        reference = str(counts.index[0])
        levels = [str(level) for level, count in counts.items() if level != reference and count >= 5]
        names = []
        for level in levels:
            name = f"{column}={level}"
            parts.append((text == level).astype(float).rename(name))
            names.append(name)
        if names:
            terms.append({"feature": column, "kind": "categorical", "reference": reference, "columns": names,
                          "levels": [reference, *levels]})
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index), terms


def _full_rank(design: pd.DataFrame) -> pd.DataFrame:
    """Keep columns in order while each adds rank (with an intercept); collinear dummies are dropped."""
    kept: list[str] = []
    current = np.ones((len(design), 1))
    for column in design.columns:
        candidate = np.column_stack([current, design[column].to_numpy(dtype=float)])
        if np.linalg.matrix_rank(candidate) > current.shape[1]:
            kept.append(column)
            current = candidate
    return design[kept]


def logistic_and_nomogram(context: StudyContext, state: TaskState) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Multivariable LR (her2mri.stats.logistic_regression) on the LR model's strongest inputs + nomogram data.

    The inputs are the cohort columns behind the LR model's non-zero coefficients (at most 8, largest
    absolute standardised coefficient first), refitted unpenalised on the raw training values so that odds
    ratios are per unit / versus the most frequent level.
    """
    from her2mri import stats
    from her2mri.study.blocks import column_kinds

    name = _lr_model(context, state)
    if name is None:
        return None, None
    model = state.models[name]
    columns = [c for c in model.columns if c != "center" or "center" in state.columns[name]]
    weights: dict[str, float] = {}
    for feature in model.selected_features:
        owner = _owner(str(feature["name"]), columns)
        if owner is not None and feature.get("coefficient") is not None:
            weights[owner] = max(weights.get(owner, 0.0), abs(float(feature["coefficient"])))
    chosen = [c for c, _ in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))][:8]
    if not chosen:
        return None, None
    frame = context.frame
    rows = context.design.train[state.mask[context.design.train]]
    train = frame.iloc[rows]
    design, terms = _design_matrix(train, chosen, column_kinds(frame, chosen))
    design = _full_rank(design)
    terms = [dict(t, columns=[c for c in t["columns"] if c in design.columns]) for t in terms]
    terms = [t for t in terms if t["columns"]]
    try:
        result = stats.logistic_regression(design.reset_index(drop=True), state.labels[rows])
    except FitError as exc:
        context.warn(f"Multivariable logistic regression for task {state.name} not reported: {exc}")
        return None, None
    table = result.to_frame()
    records = json_safe(table.to_dict(orient="records"))
    coef = dict(zip(table["term"].astype(str), table["coef"].astype(float), strict=False))
    intercept = next((coef[k] for k in coef if k.lower() in ("intercept", "const", "(intercept)")), 0.0)
    nomogram_terms = []
    for term in terms:
        if term["kind"] == "numeric":
            nomogram_terms.append({"feature": term["feature"], "kind": "numeric",
                                   "coef": coef.get(term["feature"]), "range": term["range"]})
        else:
            levels = {term["reference"]: 0.0}
            levels.update({col.split("=", 1)[1]: coef.get(col) for col in term["columns"]})
            nomogram_terms.append({"feature": term["feature"], "kind": "categorical",
                                   "reference": term["reference"], "levels": levels})
    logistic = {"model": name, "terms": records, "n": int(len(rows)),
                "note": "unpenalised refit on the LR model's strongest inputs, raw training values"}
    nomogram = {"model": name, "intercept": intercept, "terms": nomogram_terms, "link": "logit"}
    return logistic, json_safe(nomogram)


def _shap_for_model(context: StudyContext, task: str, state: TaskState, model_name: str, file_name: str) -> dict[str, Any]:
    """Explain every evaluation lesion of ``task`` with one fitted model; write ``file_name``; return its summary."""
    from her2mri.models.explain import explain

    settings = context.config.interpretability
    frame = context.frame
    plan = context.design
    model = state.models[model_name]
    columns = list(model.columns)
    background = frame.iloc[plan.train[state.mask[plan.train]]][columns]
    test_sets = plan.test_sets or ["train"]
    rows = np.concatenate([plan.sets[s][state.mask[plan.sets[s]]] for s in test_sets])
    set_of = np.concatenate([[s] * int(state.mask[plan.sets[s]].sum()) for s in test_sets])
    rows, first = np.unique(rows, return_index=True)
    set_of = set_of[first]
    X = frame.iloc[rows][columns]
    explanation = explain(model.pipeline, background, X, time_budget_s=settings.time_budget_s,
                          random_state=context.seed_for(task, "shap"), max_background=settings.max_background)
    n = explanation.n_explained
    wide = pd.DataFrame({
        "lesion_id": frame.iloc[rows[:n]]["lesion_id"].astype(str).to_numpy(), "set": set_of[:n],
        "base_value": explanation.base_value,
    })
    for index, feature in enumerate(explanation.feature_names):
        wide[f"shap__{feature}"] = explanation.values[:, index]
        wide[f"value__{feature}"] = explanation.data[feature].to_numpy(dtype=object)
    if context.out_dir is not None:
        wide.to_csv(context.out_dir / file_name, index=False, float_format="%.8g")
        context.files[file_name] = context.out_dir / file_name
    if not explanation.is_complete:
        context.warn(f"SHAP for task {task}, model {model_name}: time budget reached after {explanation.n_explained} "
                     f"of {explanation.n_requested} lesions (interpretability.time_budget_s).")
    mean_abs = explanation.mean_abs()
    return json_safe({
        "model": model_name, "method": explanation.method, "output": explanation.output, "file": file_name,
        "base_value": explanation.base_value, "n_background": explanation.n_background,
        "n_explained": explanation.n_explained, "n_requested": explanation.n_requested,
        "is_complete": explanation.is_complete, "sets": sorted({str(s) for s in set_of}),
        "mean_abs": {str(k): float(v) for k, v in mean_abs.items()},
    })


def step_interpretability(context: StudyContext) -> str:
    """SHAP contributions on every lesion of every evaluation set, per task: the chosen model →
    ``shap_<task>.csv`` (the report's figures), and with ``interpretability.models: all`` every other fitted
    model → ``shap_<task>__<model>.csv`` (summaries under ``tasks.<task>.shap.models``)."""
    settings = context.config.interpretability
    if not settings.shap:
        return "skipped (interpretability.shap is off)"
    done = []
    for name, state in context.tasks.items():
        if state.best is None:
            continue
        summary = _shap_for_model(context, name, state, state.best, f"shap_{name}.csv")
        if settings.models == "all":
            others = {}
            for model_name in state.models:
                if model_name == state.best:
                    continue
                others[model_name] = _shap_for_model(context, name, state, model_name,
                                                     f"shap_{name}__{model_name}.csv")
            summary["models"] = {state.best: {k: v for k, v in summary.items() if k != "models"}, **others}
        context.document["tasks"][name]["shap"] = summary
        n_lesions = summary["n_explained"]
        done.append(f"{name} ({n_lesions}/{summary['n_requested']} lesions"
                    + (f", {len(state.models)} models" if settings.models == "all" else "") + ")")
    return f"SHAP for {', '.join(done)}"
