"""Report content for statistics the study computes beyond the per-model metrics: bootstrap AUC CIs, the
three-group and by-set Tables 1, Hosmer–Lemeshow and optimism-corrected calibration, decision curves with
bootstrap bands and the clinical-impact curve. Each table or figure carries one line of method.

The builders extend the base sections (:mod:`her2mri.report.model_sections`, :mod:`her2mri.report.table1`) so that
each statistic sits with its kin (calibration with calibration, …) and a run without it renders as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from her2mri.report import figures as fg
from her2mri.report import model_sections as ms
from her2mri.report.blocks import Section, StudyData, figure, figures, finite, get, heading, table, text
from her2mri.report.formatting import (
    fmt_estimate,
    fmt_num,
    fmt_pvalue,
    fmt_value,
    label_model,
    label_set,
    label_task,
    label_variable,
)
from her2mri.report.table1 import abbreviate_test, table1_section

__all__ = [
    "calibration_with_extras",
    "decision_curves_with_extras",
    "metrics_with_bootstrap",
    "table1_with_extras",
]

_GROUP_LABEL = {"zero": "HER2-zero", "low": "HER2-low", "positive": "HER2-positive"}


def _merge(base: Section, extra: list[dict[str, Any]]) -> Section:
    """Append ``extra`` blocks to ``base``; a base marked missing becomes present when there is something to add."""
    if not extra:
        return base
    if base.missing:
        base.missing = None
    base.blocks += extra
    return base


# ---- bootstrap AUC CIs ----------------------------------------------------------------------------------------

def _bootstrap_blocks(data: StudyData) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for name, task in data.tasks.items():
        rows: list[Any] = []
        method, n_boot = "", None
        for s in ms.task_sets(data, task):
            group_rows = []
            for model, spec in (task.get("models") or {}).items():
                block = get(spec, "sets", s, default={}) or {}
                boot = block.get("auc_bootstrap")
                if not isinstance(boot, Mapping):
                    continue
                method = str(boot.get("method") or method)
                n_boot = boot.get("n_resamples", n_boot)
                group_rows.append([label_model(model) + (" †" if model == task.get("best_model") else ""),
                                   fmt_estimate(block.get("auc"), 3),
                                   fmt_estimate({"estimate": boot.get("estimate"), "ci_low": boot.get("ci_low"),
                                                 "ci_high": boot.get("ci_high")}, 3)])
            if group_rows:
                rows.append({"group": label_set(s)})
                rows += group_rows
        if rows:
            blocks.append(table(["Model", "AUC (DeLong 95% CI)", "AUC (bootstrap 95% CI)"], rows,
                                caption=f"{label_task(name, task.get('title'))}: AUC with analytic and bootstrap "
                                        "confidence intervals.",
                                note=f"Bootstrap: {method or 'percentile bootstrap'}, {fmt_value(n_boot)} resamples of "
                                     "patients (stratified by class), percentile interval; DeLong: asymptotic "
                                     "variance (pROC::ci.auc). The training set is evaluated on out-of-fold scores "
                                     "and has no bootstrap CI. † model selected by the study.",
                                name=f"auc-bootstrap-{name}"))
    return blocks


def metrics_with_bootstrap(data: StudyData) -> Section:
    return _merge(ms.metrics_section(data), _bootstrap_blocks(data))


# ---- Table 1: three HER2 groups, and sets compared -------------------------------------------------------------

def _table1_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> tuple[list[list[str]], bool, str]:
    adjusted = any(r.get("pvalue_adjusted") is not None for r in rows)
    tests: dict[str, str] = {}
    body: list[list[str]] = []
    last = None
    for r in rows:
        var = str(r.get("variable", ""))
        first = var != last
        last = var
        summary = str(r.get("summary") or "")
        label = (label_variable(var) + (f", {summary}" if summary and summary != "n (%)" else "")) if first else ""
        p = r.get("pvalue_adjusted") if adjusted else r.get("pvalue")
        if r.get("test"):
            tests[abbreviate_test(str(r["test"]))] = str(r["test"])
        body.append([label, str(r.get("level") or "").replace("_", " "), *[fmt_value(r.get(c)) for c in columns],
                     fmt_pvalue(p) if first and p is not None else "", abbreviate_test(str(r.get("test") or ""))
                     if first else ""])
    legend = "; ".join(f"{k}, {v}" for k, v in sorted(tests.items()) if k and k != v)
    return body, adjusted, legend


def _three_group_blocks(data: StudyData) -> list[dict[str, Any]]:
    three = data.results.get("table1_three_group")
    blocks: list[dict[str, Any]] = []
    if not isinstance(three, Mapping):
        return blocks
    for s, block in three.items():
        if not isinstance(block, Mapping) or not block.get("rows"):
            continue
        groups = list(block.get("groups") or [])
        counts = block.get("counts") or {}
        body, adjusted, legend = _table1_rows(block["rows"], [*groups, "overall"])
        header = ["Variable", "Level", *[f"{_GROUP_LABEL.get(g, g)} (n = {counts.get(g, '?')})" for g in groups],
                  "Overall", "Adj. p" if adjusted else "p", "Test"]
        blocks.append(table(header, body, caption=f"Characteristics by HER2 class (zero / low / positive) — "
                                                  f"{label_set(s)}.",
                            note="Continuous: mean ± SD or median (Q1, Q3) as stated (Shapiro–Wilk chooses); "
                                 "ANOVA or Kruskal–Wallis across the three classes; categorical: n (%), χ² or "
                                 "Fisher's exact test by expected counts (tableone::CreateTableOne). "
                                 + ("p-values adjusted across the table. " if adjusted else "")
                                 + (f"Tests: {legend}." if legend else ""),
                            name=f"table1-three-{s}", numeric_from=2, keep_empty_columns=True))
    if blocks:
        blocks.insert(0, heading("All three HER2 classes"))
    return blocks


def _by_set_blocks(data: StudyData) -> list[dict[str, Any]]:
    by_set = data.results.get("table1_by_set")
    if not isinstance(by_set, Mapping) or not by_set.get("rows"):
        return []
    sets = list(by_set.get("sets") or [])
    counts = by_set.get("counts") or {}
    reference = str(by_set.get("reference") or (sets[0] if sets else "train"))
    smd = [f"smd_{s}" for s in sets if s != reference]
    body, adjusted, legend = _table1_rows(by_set["rows"], [*sets])
    rows = by_set["rows"]
    for cells, r in zip(body, rows, strict=True):
        cells[-2:-2] = [fmt_num(r.get(c)) for c in smd]
    header = ["Variable", "Level", *[f"{label_set(s)} (n = {counts.get(s, '?')})" for s in sets],
              *[f"SMD {label_set(c[4:]).lower()}" for c in smd], "Adj. p" if adjusted else "p", "Test"]
    return [heading("Training and validation sets compared"),
            table(header, body, caption="Characteristics of the study sets side by side.",
                  note=f"Each set summarised as a whole; the test compares the sets (rules of Table 1); SMD, standardised "
                       f"mean difference against the {label_set(reference).lower()} (|SMD| > 0.1 is a notable "
                       "imbalance). " + (f"Tests: {legend}." if legend else ""),
                  name="table1-by-set", numeric_from=2, keep_empty_columns=True)]


def table1_with_extras(data: StudyData) -> Section:
    return _merge(table1_section(data), _three_group_blocks(data) + _by_set_blocks(data))


# ---- calibration: Hosmer–Lemeshow and optimism correction -------------------------------------------------------

def _calibration_blocks(data: StudyData) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    hl_rows: list[list[str]] = []
    opt_rows: list[list[str]] = []
    resamples = None
    for name, task in data.tasks.items():
        extra = task.get("chosen_model_statistics")
        if not isinstance(extra, Mapping):
            continue
        model = label_model(extra.get("model", ""))
        for s, entry in (extra.get("sets") or {}).items():
            hl = (entry or {}).get("hosmer_lemeshow") or {}
            if hl:
                hl_rows.append([label_task(name, task.get("title")), model, label_set(s), fmt_num(hl.get("statistic")),
                                fmt_num(hl.get("df"), 0), fmt_pvalue(hl.get("pvalue"))])
        opt = extra.get("optimism") or {}
        metrics = list(opt.get("metrics") or [])
        if metrics:
            model = label_model(opt.get("model") or extra.get("model", ""))
            resamples = opt.get("n_resamples")
            for i, metric in enumerate(metrics):
                label = {"auc": "AUC", "slope": "Calibration slope", "brier": "Brier score"}.get(metric, metric)
                opt_rows.append([label_task(name, task.get("title")), model, label,
                                 fmt_num(opt["apparent"][i], 3), fmt_num(opt["optimism"][i], 3),
                                 fmt_num(opt["corrected"][i], 3)])
        elif opt.get("note"):
            blocks.append(text(f"{label_task(name, task.get('title'))}: {opt['note']}.", css="note"))
    if hl_rows:
        blocks.append(table(["Task", "Model", "Set", "HL χ²", "df", "p"], hl_rows,
                            caption="Hosmer–Lemeshow goodness-of-fit of the chosen models.",
                            note="Equal-count groups of predicted risk (deciles, fewer in small sets), χ² on groups − 2 "
                                 "df (ResourceSelection::hoslem.test). The test depends on the grouping and has low "
                                 "power in small sets; read it with the calibration slope and curve.",
                            name="hosmer-lemeshow", numeric_from=3))
    if opt_rows:
        blocks.append(table(["Task", "Model", "Metric", "Apparent", "Optimism", "Corrected"], opt_rows,
                            caption="Optimism-corrected performance of the logistic models on the training set.",
                            note=f"Harrell's bootstrap ({fmt_value(resamples)} patient resamples) of each task's logistic "
                                 "model (the chosen one when it is logistic): the pipeline, with "
                                 "its chosen hyper-parameters, refitted on each resample; optimism = performance on the "
                                 "resample − on the original data; corrected = apparent − mean optimism "
                                 "(rms::validate).",
                            name="optimism", numeric_from=3))
    return blocks


def calibration_with_extras(data: StudyData) -> Section:
    return _merge(ms.calibration_section(data), _calibration_blocks(data))


# ---- decision curves with bootstrap bands, clinical impact -------------------------------------------------------

def _decision_blocks(data: StudyData) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for name, task in data.tasks.items():
        extra = task.get("chosen_model_statistics")
        if not isinstance(extra, Mapping):
            continue
        model = label_model(extra.get("model", ""))
        items = []
        for s, entry in (extra.get("sets") or {}).items():
            dca = (entry or {}).get("decision_curve") or {}
            if finite(dca.get("band_low")) and finite(dca.get("band_high")) and finite(dca.get("net_benefit")):
                items.append(figure(
                    fg.decision_band_figure(dca["thresholds"], dca["net_benefit"], dca["band_low"], dca["band_high"],
                                            dca["net_benefit_all"], model, label_set(s)),
                    f"{label_task(name, task.get('title'))} — {label_set(s)}: net benefit of {model} with its 95% "
                    f"bootstrap band ({fmt_value(dca.get('n_resamples'))} patient resamples, percentile).",
                    name=f"dca-band-{name}-{s}"))
            impact = (entry or {}).get("clinical_impact") or {}
            if finite(impact.get("n_high_risk")):
                population = int(impact.get("population") or 1000)
                items.append(figure(
                    fg.clinical_impact_figure(impact["thresholds"], impact["n_high_risk"],
                                              impact["n_high_risk_with_event"], population,
                                              f"HER2-{task.get('positive', 'positive')}", label_set(s)),
                    f"{label_task(name, task.get('title'))} — {label_set(s)}: clinical impact of {model}: per "
                    f"{population:,} lesions, the number called positive at each threshold and how many are truly "
                    f"HER2-{task.get('positive', 'positive')} (Kerr et al.; rmda::plot_clinical_impact).",
                    name=f"impact-{name}-{s}"))
        if items:
            blocks += [heading(f"{label_task(name, task.get('title'))}: uncertainty and clinical impact"),
                       figures(items)]
    return blocks


def decision_curves_with_extras(data: StudyData) -> Section:
    return _merge(ms.decision_curve_section(data), _decision_blocks(data))
