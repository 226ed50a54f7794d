"""TRIPOD+AI (Collins et al., BMJ 2024;385:e078378) items that a run can fill from its own results.

Each row is ``TripodItem(item, topic, text, filled)``; items the software cannot know (ethics, funding, blinding,
intended users …) say "To be completed by the authors."  Item labels follow the BMJ checklist structure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from her2mri.report.formatting import fmt_estimate, label_model, label_set, label_task, label_variable
from her2mri.report.methods import _model_entries

__all__ = ["AUTHORS", "TripodItem", "tripod_items"]

AUTHORS = "To be completed by the authors."


@dataclass(frozen=True)
class TripodItem:
    item: str
    topic: str
    text: str
    filled: bool


def _counts_text(tasks: Mapping[str, Any]) -> str:
    parts = []
    for name, task in tasks.items():
        counts = task.get("counts") or {}
        per_set = "; ".join(
            f"{label_set(s)}: {c.get('positive', '?')} HER2-{task.get('positive', 'positive')} / "
            f"{c.get('negative', '?')} other"
            for s, c in counts.items()
        )
        if per_set:
            parts.append(f"{label_task(name, task.get('title'))} — {per_set}")
    return ". ".join(parts) + ("." if parts else "")


def _performance_text(tasks: Mapping[str, Any]) -> str:
    parts = []
    for name, task in tasks.items():
        best = task.get("best_model")
        model = (task.get("models") or {}).get(best or "", {})
        sets = model.get("sets") or {}
        aucs = "; ".join(f"{label_set(s)} {fmt_estimate(v.get('auc'))}" for s, v in sets.items() if v.get("auc"))
        if aucs:
            parts.append(f"{label_task(name, task.get('title'))}, {label_model(best or '')}: AUC {aucs}")
    return ". ".join(parts) + ("." if parts else "")


def tripod_items(results: Mapping[str, Any]) -> list[TripodItem]:
    """Build the TRIPOD+AI table for one study's results.json."""
    cfg = results.get("config") or {}
    cohort = results.get("cohort") or {}
    design = results.get("design") or {}
    tasks = results.get("tasks") or {}
    prov = results.get("provenance") or {}
    sets = cohort.get("sets") or {}
    items: list[TripodItem] = []

    def add(item: str, topic: str, text: str | None) -> None:
        items.append(TripodItem(item, topic, text or AUTHORS, bool(text)))

    task_titles = ", ".join(label_task(n, t.get("title")) for n, t in tasks.items())
    add("1", "Title", None)
    add("2", "Abstract", f"Key numbers in the summary section: {_performance_text(tasks)}" if tasks else None)
    add("3a", "Healthcare context and rationale", None)
    add("3b", "Target population and intended use", None)
    subgroup_vars = sorted({label_variable(str(r.get("variable", ""))).lower() for t in tasks.values()
                            for r in ((t.get("subgroups") or {}).get("rows") or [] if isinstance(t.get("subgroups"), Mapping)
                                      else t.get("subgroups") or []) if isinstance(r, Mapping)})
    add("3c", "Known health inequalities", f"Subgroup performance by {', '.join(subgroup_vars)}: see Subgroup results."
        if subgroup_vars else None)
    add("4", "Objectives", f"Development and validation of models for: {task_titles}." if tasks else None)
    source = str(cohort.get("source") or "").replace("\\", "/").rsplit("/", 1)[-1]
    add("5a", "Data sources", f"Cohort table {source}; representativeness to be described by the authors." if source else None)
    add("5b", "Dates of accrual and follow-up", None)
    centres = sorted({c for s in sets.values() for c in (s.get("centers") or [])})
    add("6a", "Setting and centres", f"Centres: {', '.join(centres)}." if centres else None)
    flow = cohort.get("flow") or []
    excl = "; ".join(f"{f.get('reason')} (n = {f.get('excluded')})" for f in flow
                     if isinstance(f, Mapping) and f.get("excluded") and not str(f.get("step", "")).startswith("task "))
    add("6b", "Eligibility criteria", f"Exclusions applied by the software: {excl}. Clinical criteria: to be completed "
        "by the authors." if excl else None)
    add("6c", "Treatments received", None)
    prep = cfg.get("preprocessing") or {}
    prep_parts = []
    if prep.get("impute"):
        prep_parts.append(f"{prep['impute']} imputation")
    if prep.get("scale"):
        prep_parts.append("standardisation" if prep["scale"] is True else f"{prep['scale']} scaling")
    if isinstance(prep.get("harmonize"), Mapping):
        prep_parts.append(f"ComBat harmonisation by {prep['harmonize'].get('by', 'centre')}")
    elif prep.get("harmonize"):
        prep_parts.append(f"ComBat harmonisation ({prep['harmonize']})")
    add("7", "Data preparation", "Fitted inside training folds: " + ", ".join(prep_parts) + "." if prep_parts else None)
    add("8a", "Outcome definition", "HER2 status by ASCO/CAP 2018 from IHC score and ISH group (derived by the software)."
        if tasks else None)
    add("8b", "Outcome assessors", None)
    add("8c", "Blinding of outcome assessment", None)
    blocks = (cfg.get("features") or {}).get("blocks") if isinstance(cfg.get("features"), Mapping) else None
    models = _model_entries(cfg)
    model_blocks = sorted({b for m in models for b in m["blocks"]})
    inputs = sorted({int(m["n_input_columns"]) for t in tasks.values() for m in (t.get("models") or {}).values()
                     if isinstance(m, Mapping) and isinstance(m.get("n_input_columns"), int)})
    if isinstance(blocks, Mapping) and blocks:
        predictors = "Candidate predictors: " + "; ".join(
            f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in blocks.items()) + "."
    elif model_blocks:
        predictors = f"Candidate predictor blocks: {', '.join(model_blocks)}" + (
            f" ({', '.join(map(str, inputs))} input columns)." if inputs else ".")
    else:
        predictors = None
    add("9a", "Choice of candidate predictors", predictors)
    add("9b", "Predictor definitions", "BI-RADS MRI lexicon (ACR 5th edition) vocabulary of the cohort contract; "
        "imaging protocol to be completed by the authors." if tasks else None)
    add("9c", "Predictor assessors and blinding", "Reader study reported below." if results.get("reader_study") else None)
    ev = []
    for n, t in tasks.items():
        tr = (t.get("counts") or {}).get("train") or {}
        if tr:
            events = min(int(tr.get("positive", 0)), int(tr.get("negative", 0)))
            ev.append(f"{label_task(n, t.get('title'))}: {events} events in the minority class (training)")
    add("10", "Sample size", "; ".join(ev) + ". Justification to be completed by the authors." if ev else None)
    add("11", "Missing data", "Median/mode imputation fitted inside training folds; structurally inapplicable descriptors "
        "coded as a separate level." if prep.get("impute") else None)
    add("12a", "Data use and splitting", f"Design '{design.get('kind')}', patient-grouped; sets: "
        f"{', '.join(label_set(s) for s in design.get('sets') or [])}; seed {design.get('random_state', prov.get('seed'))}."
        if design else None)
    add("12b", "Predictor handling", "See Methods (preprocessing and feature selection).")
    tuning = cfg.get("tuning") if isinstance(cfg.get("tuning"), Mapping) else {}
    inner = tuning.get("inner_cv") or (cfg.get("design") or {}).get("inner_splits")
    add("12c", "Model type, tuning and internal validation",
        f"Models: {', '.join(dict.fromkeys(label_model(m['classifier']) for m in models))}; hyper-parameters tuned by "
        f"grid search{f' with {inner}-fold patient-grouped inner cross-validation' if inner else ''} on the training set."
        if models else None)
    add("12d", "Heterogeneity across clusters", f"Results by {', '.join(subgroup_vars)} with interaction tests: see "
        "Subgroup results." if subgroup_vars else None)
    add("12e", "Performance measures", "AUC (DeLong CI), sensitivity, specificity, accuracy, PPV, NPV (Wilson CI), "
        "calibration intercept/slope/Brier, decision-curve net benefit.")
    add("12f", "Model updating", None)
    add("12g", "How predictions were computed for evaluation", "Probabilities from the frozen pipeline fitted on the "
        "training set; thresholds fixed on the training set.")
    add("13", "Class imbalance", None)
    add("14", "Fairness", f"Subgroup results by {', '.join(subgroup_vars)} are reported; rationale to be completed by "
        "the authors." if subgroup_vars else None)
    add("15", "Model output and thresholds", "Predicted probability per task; binary call at the Youden threshold "
        "of the training set." if tasks else None)
    add("16", "Development vs evaluation data", "Table 1 per set and task." if any(t.get("table1") for t in tasks.values()) else None)
    add("17", "Ethics approval", None)
    for sub, topic in (("18a", "Funding"), ("18b", "Conflicts of interest"), ("18c", "Protocol"), ("18d", "Registration"),
                       ("18e", "Data sharing")):
        add(sub, topic, None)
    add("18f", "Code availability", f"her2mri {results.get('her2mri_version', '')}; configuration SHA-256 "
        f"{str(prov.get('config_sha256', ''))[:12]}…" if prov else None)
    add("19", "Patient and public involvement", None)
    add("20a", "Participant flow", "See Cohort flow." if flow else None)
    add("20b", "Participant characteristics", "See Table 1." if any(t.get("table1") for t in tasks.values()) else None)
    add("20c", "Development vs evaluation comparison", "See Table 1 per set." if len(sets) > 1 else None)
    add("21", "Participants and events in each analysis", _counts_text(tasks) or None)
    add("22", "Full model", "Logistic model coefficients (odds-ratio table) and nomogram reported; exported model bundle "
        "in the study directory." if any(t.get("logistic") or t.get("nomogram") for t in tasks.values()) else None)
    add("23a", "Performance with CIs", _performance_text(tasks) or None)
    add("23b", "Heterogeneity of performance", "See Subgroup results." if any(t.get("subgroups") for t in tasks.values()) else None)
    add("24", "Model updating results", None)
    add("25", "Interpretation", None)
    flags = [w for w in results.get("warnings") or []]
    add("26", "Limitations", ("Flags raised by the run: " + " ".join(flags)) if flags else None)
    add("27a", "Usability: input data quality", None)
    add("27b", "Usability: user interaction and expertise", None)
    add("27c", "Future research", None)
    return items
