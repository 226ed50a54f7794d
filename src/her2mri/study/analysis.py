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


def _apply_design(frame: pd.DataFrame, terms: list[dict[str, Any]], fill: dict[str, Any]) -> pd.DataFrame:
    """The refit's design columns on any set: training medians / modes fill gaps, training levels only."""
    parts: dict[str, np.ndarray] = {}
    for term in terms:
        column = term["feature"]
        values = frame[column]
        if term["kind"] == "numeric":
            parts[column] = values.astype(float).fillna(fill[column]).to_numpy(dtype=float)
            continue
        text = values.map({1.0: "yes", 0.0: "no"}) if term.get("binary") else values.astype(object)
        text = text.where(text.notna(), fill[column]).astype(str)
        for name in term["columns"]:
            parts[name] = (text == name.split("=", 1)[1]).to_numpy(dtype=float)
    return pd.DataFrame(parts, index=frame.index)


def _evaluate_refit(context: StudyContext, state: TaskState, predictor: Any) -> dict[str, Any]:
    """AUC (DeLong CI) of the refit on every set of the design (training: apparent, not out-of-fold)."""
    from her2mri import stats

    out: dict[str, Any] = {}
    for set_name, rows in context.design.sets.items():
        eligible = rows[state.mask[rows]]
        y = state.labels[eligible]
        if len(np.unique(y)) < 2:
            continue
        result = stats.auc_ci(y, predictor(context.frame.iloc[eligible]),
                              conf_level=context.config.statistics.conf_level)
        out[set_name] = {"estimate": result.estimate, "ci_low": result.ci_low, "ci_high": result.ci_high,
                         "apparent": set_name == "train"}
    return out


def _probe_nomogram(context: StudyContext, state: TaskState, name: str) -> dict[str, Any] | None:
    """Nomogram of the evaluated (penalised) logistic pipeline itself, read off by probing it column by column.

    The pipeline is additive on the log-odds scale (imputation, z-scores and one-hot coding are per column), so
    one numeric column changes the linear predictor by a constant per unit and one categorical column by a
    constant per level; both are measured against a reference case (training medians / most frequent levels).
    """
    from her2mri.study.blocks import column_kinds

    model = state.models[name]
    pipeline = model.pipeline
    if not hasattr(pipeline, "decision_function"):
        return None
    frame = context.frame
    rows = context.design.train[state.mask[context.design.train]]
    train = frame.iloc[rows][list(model.columns)]
    kinds = column_kinds(frame, [c for c in model.columns if c in frame.columns])
    reference = {}
    for column in model.columns:
        values = train[column]
        if pd.api.types.is_numeric_dtype(values) and column not in kinds.get("binary", []) + kinds.get("categorical", []):
            reference[column] = float(values.median()) if values.notna().any() else 0.0
        else:
            mode = values.dropna().mode()
            reference[column] = mode.iloc[0] if len(mode) else np.nan
    base = pd.DataFrame([reference], columns=list(model.columns))

    def lp(batch: pd.DataFrame) -> np.ndarray:
        return np.asarray(pipeline.decision_function(batch), dtype=float).reshape(-1)

    # every probe row in one batch (one decision_function call, not one per column: wide models have thousands)
    plan: list[tuple[str, str, list[Any], int]] = []
    n_rows = 1
    for column in model.columns:
        if column == "center" and "center" not in state.columns[name]:
            continue
        if column in kinds.get("numeric", []):
            plan.append((column, "numeric", [reference[column] + 1.0], n_rows))
            n_rows += 1
            continue
        levels = [level for level in train[column].dropna().unique().tolist()]
        if len(levels) < 2:
            continue
        plan.append((column, "categorical", levels, n_rows))
        n_rows += len(levels)
    batch = base.loc[base.index.repeat(n_rows)].reset_index(drop=True)
    for column, _, values, first in plan:
        position = batch.columns.get_loc(column)
        if batch[column].dtype != object and not all(isinstance(v, int | float | np.number) for v in values):
            batch[column] = batch[column].astype(object)
        for offset, value in enumerate(values):
            batch.iat[first + offset, position] = value
    linear = lp(batch)
    lp0 = float(linear[0])
    intercept = lp0
    terms: list[dict[str, Any]] = []
    for column, kind, values, first in plan:
        observed = train[column]
        if kind == "numeric":
            coef = float(linear[first] - lp0)
            if abs(coef) < 1e-12:
                continue
            intercept -= coef * reference[column]
            terms.append({"feature": column, "kind": "numeric", "coef": coef,
                          "range": [float(observed.min()), float(observed.max())]})
            continue
        effect = linear[first:first + len(values)] - lp0
        if np.ptp(effect) < 1e-12:
            continue
        label = (lambda v: "yes" if v == 1 else "no") if column in kinds.get("binary", []) else str
        terms.append({"feature": column, "kind": "categorical", "reference": label(reference[column]),
                      "levels": {label(level): float(e) for level, e in zip(values, effect, strict=True)}})
    if not terms:
        return None
    return {"model": name, "source": "evaluated model", "intercept": intercept, "terms": terms, "link": "logit",
            "note": f"read off the evaluated {name} pipeline (penalised, standardised inputs) by probing each input; "
                    "its performance is that model's"}


def logistic_and_nomogram(context: StudyContext, state: TaskState) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Odds-ratio table and nomogram of a task's logistic model; never silently dropped.

    Nomogram: read off the *evaluated* logistic pipeline (the chosen model when it is logistic, else the first
    logistic model), so its predictions are that model's. Odds ratios with CIs need an unpenalised fit on raw
    values: the cohort columns behind the logistic model's largest coefficients (at most 8) are refitted on the
    training lesions, by maximum likelihood or — when a level is sparse (fewer than 5 lesions of a class) or the
    classes are (quasi-)separated — by Firth's penalised likelihood. The refit is labelled as such, and evaluated
    (AUC with CI on every set) so that what is shown is measured too.
    """
    from her2mri import stats
    from her2mri.stats.firth import firth_logistic_regression, needs_firth
    from her2mri.study.blocks import column_kinds

    name = _lr_model(context, state)
    if name is None:
        return None, None
    model = state.models[name]
    nomogram = None
    try:
        nomogram = _probe_nomogram(context, state, name)
    except (ValueError, TypeError, KeyError) as exc:
        context.warn(f"Nomogram of {name} for task {state.name} not drawn: {exc}")
    columns = [c for c in model.columns if c != "center" or "center" in state.columns[name]]
    weights: dict[str, float] = {}
    for feature in model.selected_features:
        owner = _owner(str(feature["name"]), columns)
        if owner is not None and feature.get("coefficient") is not None:
            weights[owner] = max(weights.get(owner, 0.0), abs(float(feature["coefficient"])))
    chosen = [c for c, _ in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))][:8]
    if not chosen:
        return None, json_safe(nomogram)
    frame = context.frame
    rows = context.design.train[state.mask[context.design.train]]
    train = frame.iloc[rows]
    kinds = column_kinds(frame, chosen)
    design, terms = _design_matrix(train, chosen, kinds)
    design = _full_rank(design)
    terms = [dict(t, columns=[c for c in t["columns"] if c in design.columns],
                  binary=t["feature"] in kinds["binary"]) for t in terms]
    terms = [t for t in terms if t["kind"] == "numeric" or t["columns"]]
    design = design.reset_index(drop=True)
    y = state.labels[rows]
    fill: dict[str, Any] = {}
    for term in terms:
        values = train[term["feature"]]
        if term["kind"] == "numeric":
            fill[term["feature"]] = float(values.astype(float).median())
        else:
            text = values.map({1.0: "yes", 0.0: "no"}) if term["binary"] else values.astype(object)
            fill[term["feature"]] = str(text.mode().iloc[0]) if text.notna().any() else "missing"
    sparse = needs_firth(design, y)
    method, reason = "maximum likelihood", None
    result: Any = None
    if not sparse:
        try:
            result = stats.logistic_regression(design, y)
        except FitError as exc:
            reason = f"maximum likelihood failed: {exc}"
    else:
        reason = f"sparse levels (fewer than 5 lesions of a class): {sparse}"
    if result is None:
        try:
            result = firth_logistic_regression(design, y)
            method = "Firth penalised likelihood"
        except FitError as exc:
            context.warn(f"Multivariable logistic regression for task {state.name}: Firth refit failed too: {exc}")
            return ({"model": name, "terms": [], "method": "none", "error": str(exc)}, json_safe(nomogram))
    table = result.to_frame()
    coef = dict(zip(table["term"].astype(str), table["coef"].astype(float), strict=False))
    intercept = coef.get("(Intercept)", 0.0)
    kept = [c for c in table["term"].astype(str) if c != "(Intercept)"]

    def predictor(sub: pd.DataFrame) -> np.ndarray:
        X = _apply_design(sub, terms, fill)
        return intercept + X[kept].to_numpy(dtype=float) @ np.array([coef[k] for k in kept])

    evaluation = _evaluate_refit(context, state, predictor)
    ci_note = ("profile penalised-likelihood 95% CIs and penalised likelihood-ratio tests" if method.startswith("Firth")
               else "Wald tests and Wald 95% CIs")
    logistic = {"model": name, "source": "refit", "method": method, "firth_reason": reason,
                "terms": json_safe(table.to_dict(orient="records")), "n": int(len(rows)),
                "variables": [t["feature"] for t in terms], "evaluation": json_safe(evaluation),
                "note": (f"refit ({method}) on the {len(terms)} inputs with the largest coefficients in the evaluated "
                         f"{name} model, raw training values; {ci_note}; its own AUC on each set is given")}
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


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json_safe(frame.to_dict(orient="records"))


def table1_extras(context: StudyContext, variables: list[str]) -> str:
    """Table 1 by the three HER2 classes (zero / low / positive) per set, and the sets compared with each other
    (training vs validation, seed 004's Table 1), into ``results["table1_three_group"]`` / ``["table1_by_set"]``."""
    from her2mri import stats

    frame = context.frame
    correction = context.config.statistics.table1_correction
    variables = [v for v in variables if v in frame.columns]
    if not variables:
        return "no Table 1 variables"
    done = []
    if "her2_category" in frame.columns:
        three: dict[str, Any] = {}
        for set_name, rows in context.design.sets.items():
            if set_name == "cv":
                continue
            sub = frame.iloc[rows]
            sub = sub.loc[sub["her2_category"].isin(["zero", "low", "positive"]), [*variables, "her2_category"]]
            present = [g for g in ("zero", "low", "positive") if (sub["her2_category"] == g).sum() >= 2]
            if len(present) < 2:
                continue
            sub = sub.loc[sub["her2_category"].isin(present)]
            result = stats.table1(sub, group="her2_category", variables=variables, correction=correction,
                                  group_order=present)
            three[set_name] = {"groups": present, "counts": {g: int((sub["her2_category"] == g).sum()) for g in present},
                               "rows": _records(result.to_frame())}
        if three:
            context.document["table1_three_group"] = three
            done.append("three-group")
    sets = {name: rows for name, rows in context.design.sets.items() if name != "cv"}
    if len(sets) >= 2:
        frames = {name: frame.iloc[rows][variables] for name, rows in sets.items()}
        result = stats.table1_by_set(frames, variables=variables, correction=correction,
                                     reference="train" if "train" in frames else None)
        context.document["table1_by_set"] = {"sets": list(frames), "reference": "train" if "train" in frames else
                                             next(iter(frames)), "counts": {k: int(len(v)) for k, v in frames.items()},
                                             "rows": _records(result.to_frame())}
        done.append("by set")
    return ", ".join(done)


def chosen_model_statistics(context: StudyContext, state: TaskState) -> dict[str, Any]:
    """For the task's chosen model: Hosmer–Lemeshow per set, decision curves with bootstrap bands and the
    clinical-impact curve per set, and Harrell's optimism-corrected AUC / calibration slope / Brier of the task's
    logistic model on the training set (its fitted pipeline refitted on ``statistics.optimism_resamples`` bootstrap
    samples). Decision-curve bands use ``statistics.n_bootstrap / 20`` resamples (10 to 100)."""
    import warnings

    from her2mri import stats
    from her2mri.study.evaluation import _curve_thresholds

    if state.best is None:
        return {}
    settings = context.config.statistics
    frame = context.frame
    groups_all = frame["patient_id"].astype(str).to_numpy()
    out: dict[str, Any] = {"model": state.best, "sets": {}}
    thresholds = _curve_thresholds()
    n_boot = int(min(100, max(10, settings.n_bootstrap // 20))) if settings.n_bootstrap > 0 else 0
    for set_name, rows in context.design.sets.items():
        eligible = state.mask[rows]
        y = state.labels[rows][eligible]
        if len(np.unique(y)) < 2:
            continue
        p = np.clip(state.scores[state.best][set_name][eligible], 1e-6, 1 - 1e-6)
        entry: dict[str, Any] = {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hl = stats.hosmer_lemeshow(y, p, n_groups=min(settings.calibration_bins, max(3, len(y) // 5)))
        entry["hosmer_lemeshow"] = {"statistic": hl.statistic, "df": hl.df, "pvalue": hl.pvalue,
                                    "n_groups": hl.n_groups, "n": hl.n,
                                    "note": "; ".join(sorted({str(w.message) for w in caught}))}
        dca = stats.decision_curve(y, p, thresholds=thresholds, n_resamples=n_boot,
                                   conf_level=settings.conf_level, groups=groups_all[rows][eligible],
                                   random_state=context.seed_for(state.name, state.best, set_name, "dca"))
        entry["decision_curve"] = {"thresholds": dca.thresholds, "net_benefit": dca.net_benefit,
                                   "net_benefit_all": dca.net_benefit_all, "band_low": dca.band_low,
                                   "band_high": dca.band_high, "n_resamples": n_boot}
        impact = stats.clinical_impact(y, p, thresholds=thresholds)
        entry["clinical_impact"] = {"thresholds": impact.thresholds, "n_high_risk": impact.n_high_risk,
                                    "n_high_risk_with_event": impact.n_high_risk_with_event,
                                    "population": impact.population}
        out["sets"][set_name] = entry
    out["optimism"] = _optimism(context, state, settings.optimism_resamples)
    return json_safe(out)


def _optimism(context: StudyContext, state: TaskState, n_boot: int) -> dict[str, Any]:
    """Optimism correction of the task's logistic model (the chosen one if it is logistic; rms::validate is a
    regression-model method, and refitting a forest or boosted trees a hundred times is not worth its cost)."""
    import warnings

    from her2mri import stats

    name = _lr_model(context, state)
    if name is None:
        return {"note": "no logistic-regression model in this study: optimism correction not computed"}
    if n_boot == 0:
        return {"note": "statistics.optimism_resamples is 0: optimism correction not computed"}
    if context.design.kind in ("cv", "nested_cv"):
        # Harrell's bootstrap is the alternative to cross-validation for internal validation: with a CV design
        # the reported estimates are already out of sample, and the refits (selection included) would cost more
        # than the study's own fits on a wide table
        return {"note": "not computed: the cross-validation design's out-of-fold estimates are already corrected "
                        "for optimism (Harrell's bootstrap is the alternative for split designs)"}
    model = state.models[name]
    train = context.design.train
    rows = train[state.mask[train]]
    frame = context.frame
    X = frame.iloc[rows][list(model.columns)]
    y = state.labels[rows]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = stats.optimism_corrected(model.pipeline, X, y, n_resamples=n_boot,
                                              groups=frame["patient_id"].astype(str).to_numpy()[rows],
                                              random_state=context.seed_for(state.name, name, "optimism"))
    except Exception as exc:  # noqa: BLE001 - the refit can fail on a bootstrap sample; report why
        return {"note": f"optimism correction not computed ({type(exc).__name__}: {exc})"}
    return {"model": name, "metrics": list(result.metrics), "apparent": result.apparent, "optimism": result.optimism,
            "corrected": result.corrected, "n_resamples": result.n_resamples, "n": result.n,
            "method": "Harrell's bootstrap optimism correction (rms::validate), chosen hyper-parameters fixed"}
