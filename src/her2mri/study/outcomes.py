"""Study steps beyond the binary models: three-class composition, conformal prediction sets, survival by model
score, subgroup performance, ComBat harmonisation side by side, feature drift and the reader study.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from her2mri.study.evaluation import ovr_three_class
from her2mri.study.results import json_safe

if TYPE_CHECKING:
    from her2mri.study.runner import StudyContext

__all__ = [
    "harmonize_arguments", "reader_agreement", "step_conformal", "step_drift", "step_harmonisation", "step_reader_study",
    "step_subgroups", "step_survival", "step_three_class",
]

_LEVELS = ("zero", "low", "positive")


def label_set_plain(name: str) -> str:
    """'external:center2' → 'External set center2', 'internal' → 'Internal set' (for notes)."""
    if name.startswith("external:"):
        return f"External set {name.split(':', 1)[1]}"
    return {"train": "Training set", "internal": "Internal set", "cv": "Cross-validation"}.get(name, name)


def _three_level_rows(frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    category = frame["her2_category"].to_numpy(dtype=object)[rows]
    return np.isin(category, _LEVELS)


def step_three_class(context: StudyContext) -> str:
    three = context.config.tasks.three_class
    if three is None:
        return "skipped (tasks.three_class not configured)"
    from her2mri.models.tasks import HIERARCHIES, compose_three_class
    from her2mri.models.three_class import three_class_call

    first, second = (context.tasks[name] for name in HIERARCHIES[three.hierarchy])
    frame = context.frame
    thresholds = (first.thresholds[first.best], second.thresholds[second.best])
    out: dict[str, Any] = {"hierarchy": three.hierarchy, "tasks": list(HIERARCHIES[three.hierarchy]),
                           "models": {first.name: first.best, second.name: second.best}, "sets": {},
                           "call_rule": three.call, "thresholds": {first.name: thresholds[0], second.name: thresholds[1]}}
    for set_name, rows in context.design.sets.items():
        p_first = first.scores[first.best][set_name]
        p_second = second.scores[second.best][set_name]
        probabilities = compose_three_class(p_first, p_second, three.hierarchy)
        context.three_class[set_name] = probabilities
        calls = three_class_call(p_first, p_second, three.hierarchy, rule=three.call, thresholds=thresholds)
        context.three_class_calls = {**getattr(context, "three_class_calls", {}), set_name: calls}
        keep = _three_level_rows(frame, rows)
        labels = frame["her2_category"].to_numpy(dtype=object)[rows][keep]
        if keep.sum() == 0:
            continue
        metrics = ovr_three_class(labels, probabilities[keep], context.config.statistics.conf_level, predicted=calls[keep])
        metrics["n_excluded"] = int((~keep).sum())
        out["sets"][set_name] = metrics
    context.document["three_class"] = json_safe(out)
    return f"three-class ({three.hierarchy})"


def step_conformal(context: StudyContext) -> str:
    settings = context.config.conformal
    if settings is None or not context.three_class:
        return "skipped (needs tasks.three_class and conformal)"
    from her2mri.models.conformal import ClassConditionalConformal, coverage_report

    frame = context.frame
    train_rows = context.design.sets["train"]
    keep = _three_level_rows(frame, train_rows)
    calibration = context.three_class["train"][keep]
    labels = frame["her2_category"].to_numpy(dtype=object)[train_rows][keep]
    conformal = ClassConditionalConformal(alpha=settings.alpha).fit(calibration, labels)
    context.document["conformal"] = {
        "alpha": settings.alpha, "method": "Mondrian split conformal (class-conditional)",
        "calibration": "training out-of-fold three-class probabilities", "n_calibration": int(keep.sum()),
        "state": json_safe(conformal.to_dict()), "sets": {},
    }
    context.conformal = conformal
    for set_name, rows in context.design.sets.items():
        if set_name == "train":
            continue
        keep = _three_level_rows(frame, rows)
        if not keep.any():
            continue
        sets = conformal.predict_sets(context.three_class[set_name][keep])
        y = frame["her2_category"].to_numpy(dtype=object)[rows][keep]
        report = json_safe(coverage_report(sets, y).to_dict())
        sizes = np.asarray(sets, dtype=bool).sum(axis=1)
        report.update({
            "n": int(len(y)), "coverage": report.get("overall_coverage"),
            "coverage_by_class": {k: v.get("coverage") for k, v in report.get("per_class", {}).items()},
            "mean_set_size": report.get("overall_mean_set_size"),
            "singleton_fraction": float(np.mean(sizes == 1)),
        })
        context.document["conformal"]["sets"][set_name] = report
    return f"alpha {settings.alpha}"


def _score_frame(context: StudyContext, state: Any, set_name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = context.design.sets[set_name]
    eligible = state.mask[rows]
    return rows[eligible], state.labels[rows][eligible], state.scores[state.best][set_name][eligible]


def step_survival(context: StudyContext) -> str:
    """DFS by each task's chosen-model score: cut-off fixed on training scores, KM + log-rank, Cox HR."""
    settings = context.config.survival
    frame = context.frame
    if not settings.enabled:
        return "skipped (survival.enabled is false)"
    if settings.time not in frame.columns or settings.event not in frame.columns or frame[settings.time].isna().all():
        return f"skipped (no '{settings.time}' / '{settings.event}' columns)"
    from her2mri import stats

    done = []
    for name, state in context.tasks.items():
        train_rows, y_train, train_scores = _score_frame(context, state, "train")
        cutoff = float(np.median(train_scores)) if settings.cutoff == "median" else state.thresholds[state.best]
        block: dict[str, Any] = {"model": state.best, "cutoff": cutoff, "cutoff_rule": f"{settings.cutoff} of training "
                                 "out-of-fold scores" if settings.cutoff == "median" else "training Youden threshold",
                                 "time": settings.time, "event": settings.event, "sets": {}}
        for set_name in context.design.sets:
            rows, _, score = _score_frame(context, state, set_name)
            sub = frame.iloc[rows].assign(_score=score)
            sub = sub.dropna(subset=[settings.time, settings.event]).drop_duplicates("patient_id")
            if len(sub) < 10 or sub[settings.event].sum() < 2:
                block["sets"][set_name] = {"n": int(len(sub)), "note": "too few patients or events"}
                continue
            time = sub[settings.time].to_numpy(dtype=float)
            event = sub[settings.event].to_numpy(dtype=float).astype(int)
            group = stats.stratify_by_score(sub["_score"].to_numpy(dtype=float), cutoff)
            entry: dict[str, Any] = {"n": int(len(sub)), "events": int(event.sum()), "km": {}}
            for level in ("high", "low"):
                chosen = group == level
                if chosen.sum() >= 2:
                    entry["km"][level] = json_safe(stats.kaplan_meier(time[chosen], event[chosen]).to_dict())
            if len(np.unique(group)) == 2:
                entry["logrank"] = json_safe(stats.logrank_test(time, event, group).to_dict())
                # HR of the high-score group vs the low one: the same two groups as the KM curves and log-rank
                high = (np.asarray(group) == "high").astype(float)
                entry["cox"] = {**json_safe(stats.cox_ph(time, event, high).to_dict()),
                                "covariate": "high vs low score group (indicator)"}
            else:
                entry["cox_note"] = "one score group only in this set: no log-rank test or hazard ratio"
            entry["cox_per_unit_score"] = {
                **json_safe(stats.cox_ph(time, event, sub["_score"].to_numpy(dtype=float)).to_dict()),
                "covariate": "continuous model score (per unit, i.e. from 0 to 1)"}
            block["sets"][set_name] = entry
        pooled = [s for s in context.design.sets if s != "train"] or ["train"]
        rows = np.concatenate([_score_frame(context, state, s)[0] for s in pooled])
        score = np.concatenate([_score_frame(context, state, s)[2] for s in pooled])
        sub = frame.iloc[rows].assign(_score=score).dropna(subset=[settings.time, settings.event])
        sub = sub.drop_duplicates("patient_id")
        block.update({
            "endpoint": "disease-free survival" if settings.time.startswith("dfs") else settings.time,
            "time_unit": "months" if settings.time.endswith("months") else "",
            "set": "+".join(pooled),
            "data": {"time": sub[settings.time].astype(float).tolist(), "event": sub[settings.event].astype(int).tolist(),
                     "group": stats.stratify_by_score(sub["_score"].to_numpy(dtype=float), cutoff).tolist()},
        })
        block["note"] = "one lesion per patient (first listed); survival is exploratory, as in the seed study"
        context.document["tasks"][name]["survival"] = json_safe(block)
        done.append(name)
    return f"survival for {', '.join(done)}"


def step_subgroups(context: StudyContext) -> str:
    from her2mri.stats.subgroup import subgroup_metrics

    settings = context.config.subgroups
    frame = context.frame
    done = 0
    for name, state in context.tasks.items():
        block: dict[str, Any] = {"model": state.best, "sets": {}, "rows": [], "notes": [],
                                 "min_per_class": settings.min_per_class}
        for set_name in context.design.test_sets or ["train"]:
            rows, y, score = _score_frame(context, state, set_name)
            sub = frame.iloc[rows].reset_index(drop=True)
            absent = [c for c in settings.columns if c not in sub.columns]
            single = [c for c in settings.columns if c in sub.columns and sub[c].nunique(dropna=True) <= 1]
            for column in absent:
                block["notes"].append(f"subgroups.columns '{column}' is not a cohort column; no subgroups by it.")
            for column in single:
                value = sub[column].dropna().astype(str).unique().tolist()
                block["notes"].append(
                    f"{label_set_plain(set_name)}: every lesion has the same {column} ({', '.join(value) or 'missing'}); "
                    f"no subgroups by {column} in this set.")
            by = [c for c in settings.columns if c in sub.columns and sub[c].nunique(dropna=True) > 1]
            if not by or len(np.unique(y)) < 2:
                continue
            result = subgroup_metrics(sub, y, score, state.thresholds[state.best], by=by,
                                      conf_level=context.config.statistics.conf_level,
                                      min_per_class=settings.min_per_class)
            block["sets"][set_name] = json_safe(result.to_dict())
            for row in block["sets"][set_name]["rows"]:
                if row.get("by") == "overall":
                    continue
                enough = min(int(row.get("n_pos") or 0), int(row.get("n_neg") or 0)) >= settings.min_per_class
                auc = ({"estimate": row.get("auc"), "ci_low": row.get("auc_ci_low"), "ci_high": row.get("auc_ci_high")}
                       if enough else {"estimate": None, "ci_low": None, "ci_high": None})
                entry = {
                    "set": set_name, "model": state.best, "variable": row.get("by"), "level": row.get("level"),
                    "n": row.get("n"), "n_positive": row.get("n_pos"), "n_negative": row.get("n_neg"), "auc": auc,
                    "estimable": enough,
                }
                if enough:
                    entry["sensitivity"] = {"estimate": row.get("sensitivity"), "ci_low": row.get("sensitivity_ci_low"),
                                            "ci_high": row.get("sensitivity_ci_high")}
                    entry["specificity"] = {"estimate": row.get("specificity"), "ci_low": row.get("specificity_ci_low"),
                                            "ci_high": row.get("specificity_ci_high")}
                else:
                    entry["note"] = (f"{row.get('n_pos')} positive / {row.get('n_neg')} negative lesions: fewer than "
                                     f"subgroups.min_per_class = {settings.min_per_class} of a class; not estimated")
                block["rows"].append(entry)
            done += 1
        context.document["tasks"][name]["subgroups"] = block
    return f"{done} subgroup tables"


def harmonize_arguments(context: StudyContext, frame: pd.DataFrame, columns: list[str]) -> dict[str, Any] | None:
    """ComBat options for build_pipeline: numeric model inputs, batch = centre, optional unlabelled externals."""
    settings = context.config.preprocessing.harmonize
    if settings is None or getattr(context, "harmonize_off", False):
        return None
    from her2mri.study.blocks import column_kinds, resolve_blocks

    numeric = column_kinds(frame, columns)["numeric"]
    if settings.blocks is not None:
        allowed = set(resolve_blocks(frame, settings.blocks, context.config.block_specs()))
        numeric = [c for c in numeric if c in allowed]
    numeric = [c for c in numeric if frame[c].dropna().nunique() > 2]
    options: dict[str, Any] = {"batch_column": settings.by, "features": numeric, "eb": settings.eb}
    externals = [name for name in context.design.sets if name.startswith("external:")]
    if settings.use_unlabelled_external and externals:
        rows = np.concatenate([context.design.sets[name] for name in externals])
        options["unlabelled_data"] = frame.iloc[rows][[settings.by, *numeric]].reset_index(drop=True)
    else:
        options["on_unseen"] = "pass_through"
    return options


def step_harmonisation(context: StudyContext) -> str:
    """With ComBat configured: refit each chosen model without it and compare test AUCs side by side."""
    settings = context.config.preprocessing.harmonize
    if settings is None:
        context.document["harmonisation"] = {"enabled": False}
        return "skipped (preprocessing.harmonize not configured)"
    from her2mri import stats
    from her2mri.study.stages import _fit

    out: dict[str, Any] = {"enabled": True, "by": settings.by, "eb": settings.eb,
                           "use_unlabelled_external": settings.use_unlabelled_external, "tasks": {}}
    if not settings.use_unlabelled_external:
        out["note"] = ("ComBat was fitted on training centres only; lesions of an unseen external centre pass "
                       "through unharmonised (a truly external centre cannot be harmonised without its own data).")
    spec_by_name = {spec.name: spec for spec in context.config.models}
    for name, state in context.tasks.items():
        spec = spec_by_name[state.best]
        context.harmonize_off = True
        try:
            plain = _fit(context, state, spec, context.design.train, tuning=spec.tuning,
                         seed=context.seed_for(name, spec.name))
        finally:
            context.harmonize_off = False
        block: dict[str, Any] = {"model": state.best, "sets": {}}
        for set_name in context.design.test_sets:
            rows, y, with_combat = _score_frame(context, state, set_name)
            if len(np.unique(y)) < 2:
                continue
            without = plain.predict(context.frame.iloc[rows])
            a = stats.auc_ci(y, with_combat)
            b = stats.auc_ci(y, without)
            test = stats.delong_test(y, with_combat, without)
            block["sets"][set_name] = {
                "with_combat": {"estimate": a.estimate, "ci_low": a.ci_low, "ci_high": a.ci_high},
                "without_combat": {"estimate": b.estimate, "ci_low": b.ci_low, "ci_high": b.ci_high},
                "delong_pvalue": test.pvalue,
            }
        out["tasks"][name] = block
    context.document["harmonisation"] = json_safe(out)
    return "ComBat vs none"


def step_drift(context: StudyContext) -> str:
    """Feature distribution shift between the training set and each test set of another centre."""
    from her2mri.stats.drift import feature_drift

    frame = context.frame
    columns: list[str] = []
    for model_columns in context.document.get("feature_columns", {}).values():
        columns += [c for c in model_columns if c not in columns]
    test_sets = [s for s in context.design.test_sets if s.startswith("external:")]
    if not test_sets:
        context.document["drift"] = None
        return "skipped (no external set)"
    train = frame.iloc[context.design.train]
    out: dict[str, Any] = {"reference": "train", "features": [], "sets": {}}
    for set_name in test_sets:
        other = frame.iloc[context.design.sets[set_name]]
        result = json_safe(feature_drift(train, other, columns, label_a="train", label_b=set_name).to_dict())
        out["sets"][set_name] = result
        out["features"] += [{"set": set_name, **row} for row in result["features"]]
    context.document["drift"] = out
    return f"{len(out['sets'])} comparisons"


def step_reader_study(context: StudyContext) -> str:
    settings = context.config.reader_study
    if settings is None:
        return "skipped (reader_study not configured)"
    from her2mri.readers import run_reader_study
    from her2mri.study.data import read_table

    task_name = settings.task or next(iter(context.tasks))
    state = context.tasks[task_name]
    reads = read_table(settings.reads)
    frame = context.frame
    eligible = state.mask
    truth = pd.Series(state.labels[eligible], index=frame["lesion_id"].astype(str).to_numpy()[eligible])
    truth = truth[~truth.index.duplicated()]
    result = run_reader_study(reads, truth, task=task_name, threshold=None,
                              conf_level=context.config.statistics.conf_level)
    agreement = reader_agreement(reads, context.config.statistics.conf_level)
    context.document["reader_study"] = json_safe({"task": task_name, "model": state.best, **result.to_dict(),
                                                  "agreement": agreement})
    return f"reader study on {task_name}"


_READ_COLUMNS = {"reader_id", "lesion_id", "condition", "score", "patient_id"}


def _landis_koch(kappa: float) -> str:
    if not np.isfinite(kappa):
        return ""
    for bound, label in ((0.0, "poor"), (0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial")):
        if kappa <= bound:
            return label
    return "almost perfect"


def reader_agreement(reads: pd.DataFrame, conf_level: float = 0.95) -> list[dict[str, Any]]:
    """Cohen's kappa between every pair of readers on each categorical read (``her2_call`` and any descriptor
    column of the reads table, e.g. ``mass_shape``), per reading condition, on the lesions both readers read."""
    from itertools import combinations

    from her2mri import stats
    from her2mri.exceptions import Her2MriError

    frame = reads.copy()
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if not {"reader_id", "lesion_id"} <= set(frame.columns):
        return []
    condition = frame["condition"].astype(str).str.strip().str.lower() if "condition" in frame.columns else "all"
    frame = frame.assign(condition=condition, reader_id=frame["reader_id"].astype(str),
                         lesion_id=frame["lesion_id"].astype(str))
    descriptors = [c for c in frame.columns if c not in _READ_COLUMNS
                   and not pd.api.types.is_float_dtype(frame[c]) and frame[c].notna().any()
                   and (frame.groupby("reader_id")[c].nunique() > 1).any()]  # not a per-reader attribute
    out: list[dict[str, Any]] = []
    for column in descriptors:
        for cond, part in frame.groupby("condition", sort=True):
            wide = part.dropna(subset=[column]).drop_duplicates(["lesion_id", "reader_id"]).pivot(
                index="lesion_id", columns="reader_id", values=column)
            for first, second in combinations(sorted(wide.columns), 2):
                pair = wide[[first, second]].dropna()
                if len(pair) < 2:
                    continue
                try:
                    k = stats.cohen_kappa(pair[first].astype(str).str.lower().to_numpy(),
                                          pair[second].astype(str).str.lower().to_numpy(), conf_level=conf_level)
                except Her2MriError:
                    continue
                out.append({"descriptor": column, "condition": str(cond), "readers": f"{first} vs {second}",
                            "n": int(len(pair)), "estimate": k.estimate, "ci_low": k.ci_low, "ci_high": k.ci_high,
                            "interpretation": _landis_koch(float(k.estimate)), "method": k.method})
    return out
