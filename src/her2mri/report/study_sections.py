"""Report sections about the study as a whole: summary, cohort flow, Table 1, survival, three-class results,
subgroups, conformal prediction, reader study, harmonisation/drift, methods, TRIPOD+AI, provenance, warnings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats as sps

from her2mri.report import figures as fg
from her2mri.report.blocks import Section, StudyData, figure, figures, get, heading, table, text
from her2mri.report.formatting import (
    MISSING,
    fmt_estimate,
    fmt_num,
    fmt_pct,
    fmt_pvalue,
    fmt_value,
    label_model,
    label_set,
    label_task,
    label_variable,
)
from her2mri.report.methods import methods_paragraphs
from her2mri.report.model_sections import task_sets
from her2mri.report.tripod import tripod_items

__all__ = [
    "cohort_flow_section",
    "conformal_section",
    "harmonisation_section",
    "kaplan_meier",
    "logrank_pvalue",
    "methods_section",
    "provenance_section",
    "reader_section",
    "subgroup_section",
    "summary_section",
    "survival_section",
    "three_class_section",
    "tripod_section",
    "warnings_section",
]


def _none(sid: str, title: str, reason: str) -> Section:
    return Section(id=sid, title=title, missing=reason)


def _headline_set(sets: Sequence[str]) -> str | None:
    for prefix in ("external", "internal", "test", "cv", "oof"):
        for s in sets:
            if str(s).startswith(prefix):
                return s
    return sets[-1] if sets else None


def summary_section(data: StudyData) -> Section:
    r = data.results
    cohort = r.get("cohort") or {}
    name = get(r, "config", "name") or "HER2 status from breast MRI"
    section = Section(id="summary", title="Summary")
    parts = []
    if cohort.get("n_lesions") is not None:
        parts.append(f"{cohort['n_lesions']} lesions in {cohort.get('n_patients', MISSING)} patients")
    centres = sorted({c for s in (cohort.get("sets") or {}).values() for c in (s.get("centers") or [])})
    if centres:
        parts.append(f"{len(centres)} centre{'s' if len(centres) != 1 else ''}")
    kind = get(r, "design", "kind")
    lead = f"Study: {name}. " + (", ".join(parts) + "." if parts else "")
    if kind:
        lead += f" Validation design: {kind}."
    section.lead = lead
    status = r.get("status")
    if status in ("failed", "partial"):
        step = r.get("failed_step") or "?"
        error = str(r.get("error") or "").rstrip(".") + "."
        note = (f"This run failed at step '{step}': {error} Sections after that step are missing."
                if status == "failed" else f"This run is partial (stopped after step '{r.get('stopped_after', step)}').")
        section.blocks.append(text(note, css="alert"))
    rows = []
    sentences: list[str] = []
    for tname, task in data.tasks.items():
        best = task.get("best_model")
        sets = task_sets(data, task)
        head = _headline_set(sets)
        block = get(task, "models", best or "", "sets", head or "", default={}) or {}
        if block.get("auc"):
            sentence = (f"{label_task(tname, task.get('title'))}: the {label_model(best or '')} model reached an AUC of "
                        f"{fmt_estimate(block.get('auc'))} in the {label_set(head).lower() if head else 'validation set'}")
            if block.get("sensitivity") and block.get("specificity"):
                sentence += (f", with sensitivity {fmt_estimate(block.get('sensitivity'))} and specificity "
                             f"{fmt_estimate(block.get('specificity'))} at the training-set threshold")
            bayes = get(task, "true_posterior_auc", head or "")
            if bayes is not None:
                sentence += f" (simulation ceiling: AUC {fmt_num(bayes)})"
            sentences.append(sentence + ".")
        rows.append([label_task(tname, task.get("title")), label_model(best or MISSING), label_set(head) if head else MISSING,
                     fmt_estimate(block.get("auc")), fmt_estimate(block.get("sensitivity")),
                     fmt_estimate(block.get("specificity"))])
    if sentences:
        section.blocks.append(text(" ".join(sentences)))
    if rows:
        section.blocks.append(table(["Task", "Best model", "Headline set", "AUC (95% CI)", "Sensitivity", "Specificity"],
                                    rows, caption="Headline results: the model selected by the study for each task, on the most independent set.",
                                    name="summary-table", numeric_from=3))
    macro = get(r, "three_class", "sets", default={}) or {}
    head = _headline_set(list(macro))
    if head and get(macro, head, "macro_auc") is not None:
        section.blocks.append(text(f"Three-class (zero / low / positive) macro-averaged one-vs-rest AUC in the "
                                   f"{label_set(head).lower()}: {fmt_num(get(macro, head, 'macro_auc'))}."))
    return section


def _is_task_step(step: Any) -> bool:
    return isinstance(step, Mapping) and str(step.get("step", "")).startswith("task ")


def cohort_flow_section(data: StudyData) -> Section:
    cohort = data.results.get("cohort") or {}
    flow = [f for f in cohort.get("flow") or [] if isinstance(f, Mapping)]
    sets = cohort.get("sets") or {}
    if not flow and not sets:
        return _none("cohort-flow", "Cohort flow", "no cohort block in results.json")
    section = Section(id="cohort-flow", title="Cohort flow")
    chain = [f for f in flow if not _is_task_step(f)]
    task_steps = [f for f in flow if _is_task_step(f)]
    set_boxes = [(label_set(s), f"{v.get('n_lesions', MISSING)} lesions / {v.get('n_patients', MISSING)} patients")
                 for s, v in sets.items() if isinstance(v, Mapping)]
    if chain:
        section.blocks.append(figures([figure(fg.flow_figure(chain, set_boxes), "Participant flow: inclusion steps "
                                              "(exclusions to the right) and the evaluation sets.", name="flow", wide=True)]))
        section.blocks.append(table(["Step", "n", "Excluded", "Reason"],
                                    [[f.get("step", ""), fmt_value(f.get("n")), fmt_value(f.get("excluded") or 0),
                                      (f.get("reason") or "") if f.get("excluded") else ""] for f in chain],
                                    caption="Inclusion steps.", name="flow-table"))
    if sets:
        section.blocks.append(table(["Set", "Lesions", "Patients", "Centres"],
                                    [[label_set(s), fmt_value(v.get("n_lesions")), fmt_value(v.get("n_patients")),
                                      ", ".join(v.get("centers") or [])] for s, v in sets.items() if isinstance(v, Mapping)],
                                    caption="Evaluation sets.", name="sets-table"))
    if task_steps:
        by_set = cohort.get("flow_by_set") if isinstance(cohort.get("flow_by_set"), Mapping) else {}
        set_names = list(by_set)
        rows = []
        for step in task_steps:
            name = str(step["step"])[len("task "):]
            counts = []
            for s in set_names:
                match = [f for f in by_set.get(s) or [] if isinstance(f, Mapping) and f.get("step") == step["step"]]
                counts.append(fmt_value(match[0].get("n")) if match else MISSING)
            rows.append([label_task(name, get(data.tasks, name, "title")), fmt_value(step.get("n")), *counts,
                         (step.get("reason") or "") if step.get("excluded") else ""])
        section.blocks.append(table(["Task", "Eligible lesions", *[label_set(s) for s in set_names], "Not eligible"], rows,
                                    caption="Lesions eligible for each task, overall and per set.", name="task-flow-table"))
    for note in cohort.get("notes") or []:
        section.blocks.append(text(str(note), css="note"))
    return section


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier step function (times starting at 0, survival) for plotting."""
    order = np.argsort(time, kind="stable")
    t, e = time[order], event[order].astype(bool)
    times, surv = [0.0], [1.0]
    at_risk = len(t)
    s = 1.0
    for u in np.unique(t):
        here = t == u
        d = int(np.sum(e & here))
        if d:
            s *= 1 - d / at_risk
            times.append(float(u))
            surv.append(s)
        at_risk -= int(here.sum())
    times.append(float(t.max()) if len(t) else 0.0)
    surv.append(s)
    return np.asarray(times), np.asarray(surv)


def logrank_pvalue(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> float:
    """Two-or-more-group log-rank test p-value (R: survival::survdiff)."""
    labels = np.unique(group)
    event = event.astype(bool)
    obs_minus_exp = np.zeros(len(labels))
    cov = np.zeros((len(labels), len(labels)))
    for u in np.unique(time[event]):
        risk = time >= u
        n = risk.sum()
        d = np.sum(event & (time == u))
        n_g = np.array([np.sum(risk & (group == g)) for g in labels], float)
        d_g = np.array([np.sum(event & (time == u) & (group == g)) for g in labels], float)
        obs_minus_exp += d_g - d * n_g / n
        if n > 1:
            factor = d * (n - d) / (n * n * (n - 1))
            cov += factor * (np.diag(n_g * n) - np.outer(n_g, n_g))
    k = len(labels) - 1
    if k < 1:
        return float("nan")
    stat = float(obs_minus_exp[:k] @ np.linalg.pinv(cov[:k, :k]) @ obs_minus_exp[:k])
    return float(sps.chi2.sf(stat, k))


def _grid(max_time: float) -> list[float]:
    step = max(6.0, float(np.ceil(max_time / 6 / 6) * 6)) if max_time > 0 else 12.0
    return [float(x) for x in np.arange(0, max_time + 1e-9, step)]


def _km_from_block(km: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times incl. 0, survival incl. 1, n_risk per listed time) from a survfit-like block."""
    times = np.asarray(km.get("time") or [], float)
    surv = np.asarray(km.get("survival") or [], float)
    risk = np.asarray(km.get("n_risk") or [], float)
    return np.concatenate([[0.0], times]), np.concatenate([[1.0], surv]), risk


def _at_risk_from_block(times: np.ndarray, risk: np.ndarray, grid: Sequence[float]) -> list[int]:
    out = []
    listed = times[1:]
    for g in grid:
        later = np.flatnonzero(listed >= g)
        out.append(int(risk[later[0]]) if len(later) and len(risk) > later[0] else 0)
    return out


def _sentence(value: Any) -> str:
    text = str(value or "").strip()
    if not text:
        return ""
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _logrank_text(p: Any) -> str:
    text = fmt_pvalue(p)
    return f"log-rank p {text}" if text.startswith(("<", ">")) else f"log-rank p = {text}"


def _survival_per_set(name: str, task: Mapping[str, Any], surv: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One KM figure per set from survfit-like blocks ``sets.<set>.km.{high,low}``, plus a summary table."""
    items, rows = [], []
    unit = surv.get("time_unit", "months")
    endpoint = str(surv.get("endpoint", "disease-free survival"))
    for s, block in (surv.get("sets") or {}).items():
        km = block.get("km") if isinstance(block, Mapping) else None
        if not isinstance(km, Mapping) or not km:
            continue
        groups = [g for g in ("high", "low") if g in km] + sorted(set(km) - {"high", "low"})
        parsed = {g: _km_from_block(km[g]) for g in groups}
        max_time = max((float(t[-1]) for t, _, _ in parsed.values() if len(t)), default=0.0)
        grid = _grid(max_time)
        curves = [(f"{g.capitalize()} score (n = {int(km[g].get('n') or (r[0] if len(r) else 0))})", t, sv)
                  for g, (t, sv, r) in parsed.items()]
        at_risk = [(g.capitalize(), _at_risk_from_block(t, r, grid)) for g, (t, _, r) in parsed.items()]
        p = get(block, "logrank", "pvalue")
        fig = fg.km_figure(curves, grid, at_risk, _logrank_text(p), f"Time ({unit})", endpoint[:1].upper() + endpoint[1:])
        items.append(figure(fig, f"{label_task(name, task.get('title'))} — {label_set(s)}.", name=f"km-{name}-{s}",
                            size="half"))
        cox = block.get("cox") or {}
        if "covariate" not in cox:  # results written before the group HR: the per-unit HR is not "high vs low"
            cox = {}
        rows.append([label_set(s), fmt_value(block.get("n")), fmt_value(block.get("events")), fmt_pvalue(p),
                     fmt_estimate({"estimate": cox.get("hazard_ratio"), "ci_low": cox.get("ci_low"),
                                   "ci_high": cox.get("ci_high")}), fmt_num(cox.get("concordance"))])
    blocks: list[dict[str, Any]] = []
    if items:
        blocks.append(figures(items))
        blocks.append(table(["Set", "Lesions", "Events", "Log-rank p", "HR high vs low (95% CI)", "C-index"], rows,
                            caption=f"{label_task(name, task.get('title'))}: {endpoint} by {label_model(surv.get('model', ''))} "
                                    f"score group (cut-off {fmt_num(surv.get('cutoff'), 3)}, "
                                    f"{surv.get('cutoff_rule', 'fixed on the training set')}).",
                            note="Kaplan–Meier estimates; log-rank test (survival::survdiff); Cox proportional-hazards "
                                 "hazard ratio of the high-score group against the low-score group, the same two groups "
                                 "as the curves and the log-rank test (survival::coxph(Surv(time, event) ~ high), Efron "
                                 "ties). " + _sentence(surv.get("note")),
                            name=f"survival-{name}"))
    return blocks


def survival_section(data: StudyData) -> Section:
    section = Section(id="survival", title="Disease-free survival by model score")
    for name, task in data.tasks.items():
        surv = task.get("survival")
        if not isinstance(surv, Mapping):
            continue
        per_set = _survival_per_set(name, task, surv)
        if per_set:
            section.blocks += [heading(label_task(name, task.get("title"))), *per_set]
            continue
        raw = surv.get("data") or {}
        if not raw.get("time"):
            continue
        time = np.asarray(raw["time"], float)
        event = np.asarray(raw["event"], float)
        group = np.asarray(raw["group"]).astype(str)
        keep = np.isfinite(time) & np.isfinite(event)
        time, event, group = time[keep], event[keep], group[keep]
        labels = [g for g in ("high", "low") if g in set(group)] + sorted(set(group) - {"high", "low"})
        curves = []
        for g in labels:
            m = group == g
            t, sv = kaplan_meier(time[m], event[m])
            curves.append((f"{g.capitalize()} score (n = {int(m.sum())})", t, sv))
        p = get(surv, "logrank", "pvalue")
        if p is None:
            p = logrank_pvalue(time, event, group)
        grid = _grid(float(np.nanmax(time)) if len(time) else 0.0)
        at_risk = [(g.capitalize(), [int(np.sum((group == g) & (time >= x))) for x in grid]) for g in labels]
        unit = surv.get("time_unit", "months")
        endpoint = str(surv.get("endpoint", "disease-free survival"))
        fig = fg.km_figure(curves, grid, at_risk, _logrank_text(p), f"Time ({unit})", endpoint[:1].upper() + endpoint[1:])
        caption = (f"{label_task(name, task.get('title'))}: {endpoint} of lesions with high vs "
                   f"low {label_model(surv.get('model', ''))} score (cut-off {fmt_num(surv.get('cutoff'), 3)}, "
                   f"{surv.get('cutoff_rule', 'fixed on the training set')}); {label_set(str(surv.get('set', '')))}.")
        section.blocks += [heading(label_task(name, task.get("title"))), figures([figure(fig, caption, name=f"km-{name}", size="half")])]
    if not section.blocks:
        return _none("survival", "Disease-free survival by model score", "no follow-up (survival block) in results.json")
    return section


def three_class_section(data: StudyData) -> Section:
    three = data.results.get("three_class") or {}
    sets = three.get("sets") or {}
    if not sets:
        configured = get(data.results, "config", "tasks", "three_class")
        status = str(get(data.results, "steps", "three_class", "status", default="") or "")
        if configured is None:
            reason = ("not configured: add tasks.three_class (hierarchy positive_first or zero_first) with both of the "
                      "hierarchy's tasks to compose zero / low / positive probabilities")
        elif get(data.results, "cohort", "is_binary_only"):
            reason = "not computed: the cohort is binary-only (HER2 known only as positive / negative)"
        else:
            reason = f"not computed ({status or 'no three-class results in results.json'})"
        return _none("three-class", "Three-class results", reason)
    section = Section(id="three-class", title="Three-class results (HER2-zero / low / positive)",
                      lead=f"Hierarchy: {str(three.get('hierarchy', MISSING)).replace('_', ' ')}; " + (
                          "predicted class = largest composed probability (arg-max)." if three.get("call_rule") == "argmax"
                          else "predicted class at each stage's training Youden threshold ("
                          + ", ".join(f"{label_task(t)} {fmt_num(v, 3)}" for t, v in (three.get("thresholds") or {}).items())
                          + "), the rule predict and the web app use."))
    items, rows = [], []
    for s, block in sets.items():
        labels = block.get("labels") or ["zero", "low", "positive"]
        cm = block.get("confusion_matrix")
        if cm:
            items.append(figure(fg.confusion_figure(labels, cm, label_set(s)), f"Confusion matrix — {label_set(s)}.",
                                name=f"confusion-{s}"))
        ovr = block.get("ovr_auc") or {}
        recall = block.get("recall") or {}
        rows.append([label_set(s), *[fmt_estimate(ovr.get(lab)) for lab in labels], fmt_num(block.get("macro_auc")),
                     fmt_estimate(block.get("accuracy")),
                     *[(f"{fmt_num((recall.get(lab) or {}).get('recall'), 2)} ({(recall.get(lab) or {}).get('correct', '—')}/"
                        f"{(recall.get(lab) or {}).get('n', '—')})") if recall.get(lab) else "—" for lab in labels]])
    if items:
        section.blocks.append(figures(items))
    section.blocks.append(table(["Set", "AUC zero vs rest", "AUC low vs rest", "AUC positive vs rest", "Macro AUC", "Accuracy",
                                 "Recall zero", "Recall low", "Recall positive"],
                                rows, caption="One-vs-rest AUCs of the composed three-class probabilities; accuracy and "
                                              "per-class recall (called / lesions of the class) of the three-class call.",
                                name="three-class-table"))
    return section


def subgroup_section(data: StudyData) -> Section:
    section = Section(id="subgroups", title="Subgroup results")
    for name, task in data.tasks.items():
        sub = task.get("subgroups")
        rows_in = sub.get("rows") if isinstance(sub, Mapping) else sub
        if not rows_in:
            continue
        rows: list[Any] = []
        last_set = None
        for r in rows_in:
            if r.get("set") != last_set:
                last_set = r.get("set")
                rows.append({"group": label_set(str(last_set or ""))})
            estimable = r.get("estimable", True)
            rows.append([label_model(r.get("model", "")), label_variable(r.get("variable", "")),
                         str(r.get("level", "")).replace("_", " ").replace("nme", "NME"),
                         fmt_value(r.get("n")), fmt_value(r.get("n_positive")),
                         fmt_estimate(r.get("auc")) if estimable else "not estimated",
                         fmt_estimate(r.get("sensitivity")), fmt_estimate(r.get("specificity"))])
        variables = list(dict.fromkeys(label_variable(r.get("variable", "")).lower() for r in rows_in))
        tests: list[list[str]] = []
        for s_name, block in ((sub.get("sets") or {}) if isinstance(sub, Mapping) else {}).items():
            for test in (block.get("interactions") or []) if isinstance(block, Mapping) else []:
                method = str(test.get("method") or "interaction test")
                what = ("AUC difference " + fmt_estimate(test, 3)) if "DeLong" in method else (
                    f"χ² = {fmt_num(test.get('statistic'))}, df = {fmt_num(test.get('df'), 0)}")
                tests.append([label_set(s_name), label_variable(test.get("by", "")), method, what,
                              fmt_pvalue(test.get("pvalue"))])
        minimum = sub.get("min_per_class") if isinstance(sub, Mapping) else None
        small = any(isinstance(r, Mapping) and r.get("estimable") is False for r in rows_in)
        note = ("Each subgroup's AUC with its DeLong 95% CI; sensitivity and specificity at the model's training "
                "threshold (Wilson CIs).")
        if small:
            note += (f" 'not estimated': fewer than {minimum} lesions of a class in the subgroup "
                     "(subgroups.min_per_class).")
        section.blocks.append(table(["Model", "Subgroup", "Level", "n", "Positive", "AUC (95% CI)", "Sensitivity", "Specificity"],
                                    rows, caption=f"{label_task(name, task.get('title'))}: performance by {', '.join(variables)}.",
                                    note=note, name=f"subgroups-{name}", numeric_from=3))
        if tests:
            section.blocks.append(table(["Set", "Subgroup", "Heterogeneity test", "Statistic", "p"], tests,
                                        caption=f"{label_task(name, task.get('title'))}: does performance differ between "
                                                "subgroups?",
                                        note="Logistic interaction likelihood-ratio test: subgroup × logit(score) terms "
                                             "added to a logistic model of the outcome on the score (χ², df = levels − 1). "
                                             "Unpaired DeLong: difference of the two subgroups' AUCs (Welch t), only "
                                             "for two-level subgroups.",
                                        name=f"subgroup-tests-{name}", numeric_from=3))
    for name, task in data.tasks.items():
        sub = task.get("subgroups")
        for note in (sub.get("notes") or []) if isinstance(sub, Mapping) else []:
            section.blocks.append(text(f"{label_task(name, task.get('title'))}: {note}", css="note"))
    if not section.blocks:
        return _none("subgroups", "Subgroup results", "no subgroup analysis in results.json")
    return section


def conformal_section(data: StudyData) -> Section:
    conf = data.results.get("conformal") or {}
    sets = conf.get("sets") or {}
    if not sets:
        return _none("conformal", "Conformal prediction sets", "conformal prediction not requested in this run")
    section = Section(id="conformal", title="Conformal prediction sets",
                      lead=f"{conf.get('method', 'Split conformal')}; target coverage {fmt_pct(1 - float(conf.get('alpha', 0.1)))}.")
    classes = sorted({c for b in sets.values() for c in (b.get("coverage_by_class") or {})},
                     key=lambda c: ["zero", "low", "positive"].index(c) if c in ("zero", "low", "positive") else 9)
    rows = [[label_set(s), fmt_pct(b.get("coverage")), *[fmt_pct(get(b, "coverage_by_class", c)) for c in classes],
             fmt_num(b.get("mean_set_size")), fmt_pct(b.get("singleton_fraction"))] for s, b in sets.items()]
    section.blocks.append(table(["Set", "Coverage", *[f"Coverage HER2-{c}" for c in classes], "Mean set size", "Single-class sets"],
                                rows, caption="Empirical coverage and size of the prediction sets.", name="conformal-table"))
    return section


def _reader_rows(reader: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for r in reader.get("per_reader") or reader.get("readers") or []:
        if not isinstance(r, Mapping):
            continue
        def est(key: str, r: Mapping[str, Any] = r) -> str:
            if isinstance(r.get(key), Mapping):
                return fmt_estimate(r.get(key))
            return fmt_estimate({"estimate": r.get(key), "ci_low": r.get(f"{key}_ci_low"),
                                 "ci_high": r.get(f"{key}_ci_high")})
        rows.append([str(r.get("reader_id", r.get("reader", ""))), str(r.get("condition", r.get("modality", ""))),
                     fmt_value(r.get("n")), est("auc"), est("sensitivity"), est("specificity")])
    return rows


def reader_section(data: StudyData) -> Section:
    reader = data.results.get("reader_study") or {}
    if not reader:
        return _none("reader-study", "Reader study", "no reader study in this run")
    lead = (f"{label_task(reader.get('task', ''))}: {fmt_value(reader.get('n_lesions'))} lesions "
            f"({fmt_value(reader.get('n_pos'))} positive), {len(reader.get('readers') or [])} readers, read without "
            f"and with the model ({label_model(reader.get('model', ''))}).")
    section = Section(id="reader-study", title="Reader study", lead=lead)
    rows = _reader_rows(reader)
    if rows:
        section.blocks.append(table(["Reader", "Reading", "Lesions", "AUC (95% CI)", "Sensitivity (95% CI)",
                                     "Specificity (95% CI)"], rows,
                                    caption="Reader performance without (unaided) and with (aided) the model.",
                                    note="AUC with its DeLong CI from each reader's scores; sensitivity and specificity "
                                         f"of the reader's calls (score ≥ {fmt_num(reader.get('threshold'))}) with Wilson CIs.",
                                    name="reader-table", numeric_from=2))
    comparisons = [c for c in reader.get("comparisons") or [] if isinstance(c, Mapping)]
    if comparisons:
        section.blocks.append(table(
            ["Reader", "AUC unaided", "AUC aided", "Change (95% CI)", "p"],
            [[str(c.get("reader_id", "")), fmt_num(c.get("auc_unaided"), 3), fmt_num(c.get("auc_aided"), 3),
              fmt_estimate(c, 3), fmt_pvalue(c.get("pvalue"))] for c in comparisons],
            caption="Per-reader change of AUC with the model.",
            note="Paired DeLong test of each reader's aided against unaided AUC.", name="reader-comparisons"))
    mrmc = reader.get("mrmc") or {}
    summary = mrmc.get("summary") if isinstance(mrmc.get("summary"), Mapping) else mrmc
    if summary:
        section.blocks.append(text(f"MRMC analysis ({summary.get('method', 'Obuchowski–Rockette')}, random readers and "
                                   f"cases): AUC difference aided − unaided {fmt_estimate(summary, 3)}, "
                                   f"F = {fmt_num(summary.get('statistic'))}, df = {fmt_num(summary.get('df'), 1)}, "
                                   f"p = {fmt_pvalue(summary.get('pvalue'))}."))
    kappa = [k for k in reader.get("agreement") or [] if isinstance(k, Mapping)]
    if kappa:
        section.blocks.append(table(
            ["Descriptor", "Reading", "Readers", "Lesions", "Cohen's κ (95% CI)", "Agreement"],
            [[label_variable(k.get("descriptor", "")), str(k.get("condition", "")), str(k.get("readers", "")),
              fmt_value(k.get("n")), fmt_estimate(k, 2), str(k.get("interpretation", ""))] for k in kappa],
            caption="Inter-reader agreement on the readers' categorical reads.",
            note="Cohen's κ (unweighted) for each pair of readers on the lesions both read, with its asymptotic 95% CI "
                 "(R: psych::cohen.kappa); agreement bands of Landis & Koch (< 0.2 slight, 0.21–0.40 fair, "
                 "0.41–0.60 moderate, 0.61–0.80 substantial, > 0.80 almost perfect).",
            name="reader-kappa", numeric_from=3))
    for note in reader.get("notes") or []:
        section.blocks.append(text(str(note), css="note"))
    return section


def harmonisation_section(data: StudyData) -> Section:
    harm = data.results.get("harmonisation") or {}
    if not isinstance(harm, Mapping) or harm.get("enabled") is False:
        harm = {}
    drift = data.results.get("drift") or {}
    if not harm and not drift:
        return _none("harmonisation", "Harmonisation and drift", "no harmonisation or drift analysis in this run")
    section = Section(id="harmonisation", title="Harmonisation and drift")
    compare = []
    for name, block in (harm.get("tasks") or {}).items():
        for s_name, entry in ((block or {}).get("sets") or {}).items():
            compare.append([label_task(name, get(data.tasks, name, "title")), label_model(block.get("model", "")),
                            label_set(s_name), fmt_estimate(entry.get("with_combat"), 3),
                            fmt_estimate(entry.get("without_combat"), 3), fmt_pvalue(entry.get("delong_pvalue"))])
    if compare:
        section.lead = (f"ComBat{' (empirical Bayes)' if harm.get('eb', True) else ''} by {harm.get('by', 'center')}, "
                        "fitted inside each training fold.")
        section.blocks.append(table(["Task", "Model", "Set", "AUC with ComBat (95% CI)", "AUC without ComBat (95% CI)",
                                     "DeLong p"], compare,
                                    caption="The chosen model refitted without harmonisation, side by side.",
                                    note="Same model, features and seed, refitted on the training set without the ComBat "
                                         "step; AUCs with DeLong CIs and the paired DeLong test on the same lesions. "
                                         + _sentence(harm.get("note")),
                                    name="combat-comparison", numeric_from=3))
    feats = harm.get("features") or []
    if feats:
        section.lead = f"{harm.get('method', 'ComBat')} by {harm.get('batch', 'centre')}."
        rows_fig = [(f.get("feature", ""), f.get("before") or {}, f.get("after") or {}) for f in feats
                    if f.get("before") and f.get("after")]
        if rows_fig:
            section.blocks.append(figures([figure(fg.harmonisation_figure(rows_fig, harm.get("batch", "batch")),
                                                  "Per-centre feature means before and after harmonisation.",
                                                  name="harmonisation", wide=True)]))
        batches = sorted({b for f in feats for b in (f.get("before") or {})})
        rows = [[f.get("feature", ""), *[fmt_num(get(f, "before", b), 3) for b in batches], fmt_pvalue(f.get("pvalue_before")),
                 *[fmt_num(get(f, "after", b), 3) for b in batches], fmt_pvalue(f.get("pvalue_after"))] for f in feats]
        section.blocks.append(table(["Feature", *[f"Before: {b}" for b in batches], "p before",
                                     *[f"After: {b}" for b in batches], "p after"], rows,
                                    caption="Batch means and test of a batch effect before and after harmonisation.",
                                    name="harmonisation-table"))
    dfeats = [d for d in drift.get("features") or [] if isinstance(d, Mapping)]
    if dfeats:
        if any("effect_size" in d or "summary_a" in d for d in dfeats):
            ranked = sorted(dfeats, key=lambda d: -abs(float(d.get("effect_size") or 0.0)))
            shown = [d for d in ranked if abs(float(d.get("effect_size") or 0.0)) >= 0.1
                     or (d.get("pvalue_adjusted") is not None and float(d["pvalue_adjusted"]) < 0.05)][:20]
            rows = [[label_set(d.get("set", "")), label_variable(d.get("feature", "")),
                     str(d.get("summary_a") or "").replace("_", " "), str(d.get("summary_b") or "").replace("_", " "),
                     (f"SMD {fmt_num(d.get('smd'))}" if d.get("smd") is not None else
                      f"V {fmt_num(d.get('cramers_v'))}" if d.get("cramers_v") is not None else fmt_num(d.get("effect_size"))),
                     fmt_pvalue(d.get("pvalue_adjusted", d.get("pvalue")))] for d in shown]
            hidden = len(dfeats) - len(shown)
            ref = label_set(drift.get("reference", "train")).lower()
            section.blocks.append(table(["Set", "Feature", f"Reference ({ref})", "Evaluation set", "Effect size", "Adj. p"], rows,
                                        caption=f"Distribution drift against the {ref}: features with an effect size ≥ 0.1 "
                                                "or an adjusted p < 0.05, largest first.",
                                        note=("SMD, standardised mean difference (numeric; Kolmogorov–Smirnov test); V, Cramér's V "
                                              "(categorical; χ² test); p adjusted by Benjamini–Hochberg. "
                                              + (f"{hidden} further feature comparisons showed small drift and are not listed."
                                                 if hidden > 0 else "")),
                                        name="drift-table", numeric_from=4))
        else:
            keys = [k for k in dfeats[0] if k not in ("feature", "set")]
            rows = [[label_set(d.get("set", "")), d.get("feature", ""),
                     *[fmt_pvalue(d.get(k)) if "pvalue" in k else fmt_value(d.get(k)) for k in keys]] for d in dfeats]
            section.blocks.append(table(["Set", "Feature", *[{"psi": "PSI", "pvalue": "p"}.get(k, k.replace("_", " ").capitalize())
                                                             for k in keys]], rows,
                                        caption=f"Distribution drift against the {label_set(drift.get('reference', 'train')).lower()}.",
                                        name="drift-table", numeric_from=2))
    if not section.blocks:
        return _none("harmonisation", "Harmonisation and drift",
                     "harmonisation was configured but no test set had both classes for the with/without comparison, "
                     "and there is no external set for drift")
    return section


def methods_section(data: StudyData) -> Section:
    section = Section(id="methods", title="Methods")
    for title, paragraph in methods_paragraphs(data.results):
        section.blocks += [heading(title, 4), text(paragraph)]
    return section


def tripod_section(data: StudyData) -> Section:
    items = tripod_items(data.results)
    filled = sum(i.filled for i in items)
    section = Section(id="tripod", title="TRIPOD+AI checklist",
                      lead=f"{filled} of {len(items)} items filled from this run; the rest are for the authors.")
    section.blocks.append(table(["Item", "Topic", "What this run reports"],
                                [{"cells": [i.item, i.topic, i.text], "css": "" if i.filled else "todo"} for i in items],
                                caption="TRIPOD+AI (Collins et al., BMJ 2024;385:e078378).", name="tripod-table", numeric_from=9))
    return section


def provenance_section(data: StudyData) -> Section:
    r = data.results
    prov = r.get("provenance") or {}
    pairs = [("her2mri", r.get("her2mri_version")), ("Created", r.get("created")), ("Schema version", r.get("schema_version")),
             ("Python", prov.get("python")), ("Platform", prov.get("platform")), ("Seed", prov.get("seed")),
             ("Config SHA-256", prov.get("config_sha256")), ("Cohort SHA-256", prov.get("cohort_sha256")),
             ("Git commit", prov.get("git_commit"))]
    for key, value in prov.items():
        if key not in ("python", "platform", "seed", "config_sha256", "cohort_sha256", "git_commit", "packages") and \
                not isinstance(value, Mapping | list):
            pairs.append((key.replace("_", " ").capitalize(), value))
    section = Section(id="provenance", title="Provenance")
    section.blocks.append({"kind": "kv", "items": [(k, fmt_value(v)) for k, v in pairs if v not in (None, "")]})
    packages = prov.get("packages") or {}
    if packages:
        section.blocks.append(table(["Package", "Version"], [[k, str(v)] for k, v in packages.items()],
                                    caption="Package versions.", name="packages-table", numeric_from=9))
    return section


def warnings_section(data: StudyData, extra: Sequence[str] = ()) -> Section:
    items = [str(w) for w in data.results.get("warnings") or []] + list(data.notes) + list(extra)
    section = Section(id="warnings", title="Warnings and footnotes")
    if not items:
        section.blocks.append(text("No warnings were raised during this run."))
    else:
        section.blocks.append({"kind": "list", "items": items})
    return section


