"""Report sections about model performance: ROC, metrics tables, DeLong, calibration, decision curves, SHAP,
nomogram and the odds-ratio table.  Each builder takes :class:`StudyData` and returns a :class:`Section`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from her2mri.report import figures as fg
from her2mri.report.blocks import Section, StudyData, figure, figures, finite, get, heading, table, text
from her2mri.report.formatting import (
    fmt_estimate,
    fmt_num,
    fmt_pvalue,
    label_model,
    label_set,
    label_task,
    label_variable,
)
from her2mri.report.nomogram import build_nomogram, draw_nomogram

__all__ = [
    "calibration_section",
    "decision_curve_section",
    "delong_section",
    "metrics_section",
    "nomogram_section",
    "odds_ratio_section",
    "roc_section",
    "shap_section",
]


def task_sets(data: StudyData, task: Mapping[str, Any]) -> list[str]:
    """Evaluation sets of a task, in the design's order."""
    found: list[str] = []
    for model in (task.get("models") or {}).values():
        for s in model.get("sets") or {}:
            if s not in found:
                found.append(s)
    order = list(get(data.results, "design", "sets", default=[]) or [])
    return [s for s in order if s in found] + [s for s in found if s not in order]


def _models(task: Mapping[str, Any]) -> Mapping[str, Any]:
    models = task.get("models")
    return models if isinstance(models, Mapping) else {}


def _roc_points(data: StudyData, task_name: str, model: str, set_name: str, block: Mapping[str, Any]):
    curve = block.get("roc_curve") or {}
    if finite(curve.get("fpr")) and finite(curve.get("tpr")):
        return np.asarray(curve["fpr"], float), np.asarray(curve["tpr"], float)
    frame = data.predictions
    if frame is None or not {"task", "model", "set", "y_true", "score"} <= set(frame.columns):
        return None
    rows = frame[(frame["task"] == task_name) & (frame["model"] == model) & (frame["set"] == set_name)]
    rows = rows.dropna(subset=["y_true", "score"])
    if rows.empty or rows["y_true"].nunique() < 2:
        return None
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(rows["y_true"].astype(int), rows["score"].astype(float))
    return fpr, tpr


def _none(sid: str, title: str, reason: str) -> Section:
    return Section(id=sid, title=title, missing=reason)


def _per_task_figures(data: StudyData, section: Section, missing: str,
                      items_for: Callable[[str, Mapping[str, Any]], list[Any]]) -> Section:
    """Fill ``section`` with one heading and figure grid per task (``items_for(name, task)``), or mark it missing."""
    for name, task in data.tasks.items():
        items = items_for(name, task)
        if items:
            section.blocks += [heading(label_task(name, task.get("title"))), figures(items)]
    if not section.blocks:
        return _none(section.id, section.title, missing)
    return section


def roc_section(data: StudyData) -> Section:
    def items_for(name: str, task: Mapping[str, Any]) -> list[Any]:
        items = []
        for s in task_sets(data, task):
            curves = []
            for model, spec in _models(task).items():
                block = get(spec, "sets", s, default={}) or {}
                points = _roc_points(data, name, model, s, block)
                if points is None:
                    continue
                curves.append((f"{label_model(model)}  AUC {fmt_estimate(block.get('auc'))}", points[0], points[1]))
            if curves:
                caption = f"{label_task(name, task.get('title'))} — {label_set(s)}."
                bayes = get(task, "true_posterior_auc", s)
                if bayes is not None:
                    caption += f" AUC of the simulation's true posterior (upper bound): {fmt_num(bayes)}."
                items.append(figure(fg.roc_figure(curves, label_set(s)), caption, name=f"roc-{name}-{s}"))
        return items

    return _per_task_figures(data, Section(id="roc", title="ROC curves"),
                             "no ROC data in results.json or predictions.csv", items_for)


_METRICS = (("auc", "AUC (95% CI)"), ("sensitivity", "Sensitivity (95% CI)"), ("specificity", "Specificity (95% CI)"),
            ("accuracy", "Accuracy (95% CI)"), ("npv", "NPV (95% CI)"), ("ppv", "PPV (95% CI)"))


def metrics_section(data: StudyData) -> Section:
    section = Section(id="metrics", title="Diagnostic performance")
    reader = data.results.get("reader_study") or {}
    for i, (name, task) in enumerate(data.tasks.items(), start=3):
        rows: list[Any] = []
        best = task.get("best_model")
        for s in task_sets(data, task):
            rows.append({"group": label_set(s)})
            for model, spec in _models(task).items():
                block = get(spec, "sets", s)
                if not isinstance(block, Mapping):
                    continue
                label = label_model(model) + (" †" if model == best else "")
                thr = block.get("optimal_dca_threshold")
                rows.append([label, *[fmt_estimate(block.get(k)) for k, _ in _METRICS], fmt_num(thr) if thr is not None else "*"])
            if reader.get("task") == name and reader.get("set") == s:
                for r in reader.get("per_reader") or []:
                    if not isinstance(r, Mapping):
                        continue
                    who = f"Reader {r.get('reader_id', '')}" + (f", {r['condition']}" if r.get("condition") else "")
                    rows.append([who, *[fmt_estimate({"estimate": r.get(k), "ci_low": r.get(f"{k}_ci_low"),
                                                      "ci_high": r.get(f"{k}_ci_high")}) for k, _ in _METRICS], "—"])
        if len(rows) > 0:
            counts = task.get("counts") or {}
            count_text = "; ".join(
                f"{label_set(s)}: {c.get('positive')} HER2-{task.get('positive', 'positive')} vs {c.get('negative')}"
                for s, c in counts.items()
            )
            section.blocks.append(table(
                ["Model", *[h for _, h in _METRICS], "Optimal DCA threshold"], rows,
                caption=f"Table {i}. Performance of the models in differentiating {label_task(name, task.get('title'))}.",
                note=(
                    "95% CI, 95% confidence interval; AUC, area under the ROC curve (DeLong CI); NPV/PPV, negative/positive "
                    "predictive value (Wilson CIs). Calls at the Youden threshold fixed on the training set. Optimal DCA "
                    "threshold: threshold probability of largest net-benefit gain over treat-all and treat-none; "
                    "* no threshold where the model beats both. † model selected by the study. "
                    + (f"Lesions (positive vs negative) — {count_text}." if count_text else "")
                ),
                name=f"metrics-{name}",
            ))
    if not section.blocks:
        return _none("metrics", "Diagnostic performance", "no per-model metrics in results.json")
    return section


def delong_section(data: StudyData) -> Section:
    section = Section(id="delong", title="Pairwise DeLong tests",
                      lead="Paired DeLong tests of AUC differences between models on the same lesions (lower triangle; "
                           "red = small p-value, bold = p < 0.05).")

    def items_for(name: str, task: Mapping[str, Any]) -> list[Any]:
        items = []
        for s, block in (task.get("delong") or {}).items():
            models = block.get("models") or []
            correction = str(block.get("correction") or "none")
            adjusted = correction != "none" and block.get("pvalues_adjusted")
            pv = (block.get("pvalues_adjusted") if adjusted else block.get("pvalues")) or []
            if len(models) < 2 or len(pv) != len(models):
                continue
            how = {"holm": "Holm", "bonferroni": "Bonferroni", "bh": "Benjamini–Hochberg"}.get(correction, correction)
            caption = (f"{label_task(name, task.get('title'))} — {label_set(s)}; "
                       + (f"{how}-adjusted p-values." if adjusted else "unadjusted p-values."))
            items.append(figure(fg.delong_heatmap([label_model(m) for m in models], pv, label_set(s)), caption,
                                name=f"delong-{name}-{s}"))
        return items

    return _per_task_figures(data, section, "no DeLong comparisons in results.json (fewer than two models?)",
                             items_for)


def calibration_section(data: StudyData) -> Section:
    def items_for(name: str, task: Mapping[str, Any]) -> list[Any]:
        items = []
        for s in task_sets(data, task):
            curves = []
            flagged = []
            for model, spec in _models(task).items():
                block = get(spec, "sets", s, default={}) or {}
                curve = block.get("calibration_curve") or {}
                if not (finite(curve.get("predicted")) and finite(curve.get("observed"))):
                    continue
                cal = block.get("calibration") or {}
                slope = cal.get("slope")
                # repeated CV: the slope of one repeat's model (the repeat-averaged scores are smoother, their
                # slope runs higher); that is the figure flagged
                repeat_slope = (block.get("per_repeat_calibration_slope") or {}).get("mean")
                judged = repeat_slope if isinstance(repeat_slope, int | float) else slope
                if isinstance(judged, int | float) and judged == judged and not 0.7 <= float(judged) <= 1.3:
                    kind = "overfitted, predictions too extreme" if judged < 0.7 else "predictions too timid"
                    flagged.append(f"{label_model(model)} ({fmt_num(judged)}: {kind})")
                label = f"{label_model(model)}: slope {fmt_num(slope)}"
                if isinstance(repeat_slope, int | float):
                    label += f" (per repeat, mean {fmt_num(repeat_slope)})"
                label += f", intercept {fmt_num(cal.get('intercept'))}, Brier {fmt_num(cal.get('brier'), 3)}"
                curves.append((label, curve["predicted"], curve["observed"]))
            if curves:
                caption = f"{label_task(name, task.get('title'))} — {label_set(s)} (decile bins)."
                if flagged:
                    caption += " Calibration slope outside 0.7–1.3: " + "; ".join(flagged) + "."
                items.append(figure(fg.calibration_figure(curves, label_set(s)), caption,
                                    name=f"calibration-{name}-{s}"))
        return items

    return _per_task_figures(data, Section(id="calibration", title="Calibration"),
                             "no calibration curves in results.json", items_for)


def decision_curve_section(data: StudyData) -> Section:
    def items_for(name: str, task: Mapping[str, Any]) -> list[Any]:
        items = []
        for s in task_sets(data, task):
            curves, thresholds, nb_all = [], None, None
            for model, spec in _models(task).items():
                dca = get(spec, "sets", s, "decision_curve", default={}) or {}
                if not (finite(dca.get("thresholds")) and finite(dca.get("net_benefit"))):
                    continue
                if thresholds is None:
                    thresholds, nb_all = dca["thresholds"], dca.get("net_benefit_all")
                curves.append((label_model(model), dca["net_benefit"]))
            if curves and thresholds is not None and finite(nb_all):
                items.append(figure(fg.decision_curve_figure(thresholds, curves, nb_all, label_set(s)),
                                    f"{label_task(name, task.get('title'))} — {label_set(s)}: net benefit of the models "
                                    "against treating all and treating none.", name=f"dca-{name}-{s}"))
        return items

    return _per_task_figures(data, Section(id="decision-curves", title="Decision curves"),
                             "no decision curves in results.json", items_for)


def _shap_long(frame: pd.DataFrame) -> tuple[list[str], dict[str, np.ndarray], dict[str, np.ndarray], pd.DataFrame]:
    """Normalise a SHAP csv (wide ``shap__f``/``value__f`` columns, or long lesion_id/feature/shap_value/feature_value)."""
    if {"feature", "shap_value"} <= set(frame.columns):
        wide_s = frame.pivot_table(index="lesion_id", columns="feature", values="shap_value", aggfunc="first")
        if "feature_value" in frame.columns:
            wide_v = frame.pivot(index="lesion_id", columns="feature", values="feature_value").reindex(wide_s.index)
        else:
            wide_v = pd.DataFrame(index=wide_s.index, columns=wide_s.columns)
        meta = pd.DataFrame(index=wide_s.index)
        if "base_value" in frame.columns:
            meta["base_value"] = frame.groupby("lesion_id")["base_value"].first()
        feats = list(wide_s.columns)
        return feats, {f: wide_s[f].to_numpy(float) for f in feats}, {f: wide_v[f].to_numpy(object) for f in feats}, \
            meta.reset_index()
    feats = [c[len("shap__"):] for c in frame.columns if c.startswith("shap__")]
    shap = {f: frame[f"shap__{f}"].to_numpy(float) for f in feats}
    values = {f: (frame[f"value__{f}"].to_numpy(object) if f"value__{f}" in frame.columns
                  else np.full(len(frame), np.nan, dtype=object)) for f in feats}
    return feats, shap, values, frame


def _is_binary(column: np.ndarray) -> bool:
    seen = {str(v) for v in column if v is not None and str(v) not in ("nan", "")}
    return bool(seen) and seen <= {"0", "1", "0.0", "1.0"}


def _shown_value(raw: object, is_yes_no: bool) -> str:
    """A feature value as a reader expects it: yes/no for binaries, 3 significant digits, levels without underscores."""
    if raw is None or str(raw) in ("nan", ""):
        return "missing"
    if is_yes_no:
        return "yes" if str(raw) in ("1", "1.0") else "no"
    try:
        number = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(raw).replace("_", " ")
    return f"{number:.0f}" if abs(number) >= 100 else f"{number:.3g}"


def _is_continuous(column: np.ndarray) -> bool:
    """A numeric input with more than a handful of distinct values (dependence plots are drawn for these)."""
    numbers = []
    for v in column:
        try:
            numbers.append(float(v))
        except (TypeError, ValueError):
            if v is not None and str(v) not in ("nan", ""):
                return False
    finite_values = np.asarray(numbers, dtype=float)
    finite_values = finite_values[np.isfinite(finite_values)]
    return np.unique(finite_values).size > 5


def _waterfall_lesions(out: np.ndarray) -> list[tuple[str, int]]:
    """Highest, lowest and median model output: three distinct lesions (fewer when there are fewer lesions)."""
    order = np.argsort(out, kind="mergesort")
    if order.size == 0:
        return []
    picks = [("highest output", int(order[-1]))]
    if order.size > 1:
        picks.append(("lowest output", int(order[0])))
    if order.size > 2:
        middle = order[1:-1]
        picks.append(("median output", int(middle[np.argmin(np.abs(out[middle] - np.median(out)))])))
    return picks


def _shap_coverage(info: Mapping[str, Any], n_rows: int) -> str:
    """One sentence saying which lesions the SHAP figures cover (and how many are missing, if any)."""
    requested = int(info.get("n_requested") or n_rows)
    explained = int(info.get("n_explained") or n_rows)
    sets = ", ".join(label_set(s) for s in info.get("sets", []))
    where = f" of the evaluation sets ({sets})" if sets else ""
    method = {"linear": "exact linear SHAP", "tree": "exact interventional TreeSHAP",
              "exact": "exact interventional Shapley values (all coalitions)",
              "permutation": "antithetic permutation sampling of interventional Shapley values"}.get(
        str(info.get("method", "")), "SHAP")
    background = f" against {int(info['n_background'])} training lesions" if info.get("n_background") else ""
    if explained < requested:
        return (f"Coverage: {explained} of {requested} lesions{where} explained ({100 * explained / requested:.0f}%) — "
                f"the explanation time budget ran out; the figures show those lesions only. Method: {method}{background}.")
    return f"Coverage: all {requested} lesions{where} explained. Method: {method}{background}."


def shap_section(data: StudyData) -> Section:
    section = Section(id="shap", title="Model explanation (SHAP)")
    for name, task in data.tasks.items():
        info = task.get("shap") or {}
        frame = data.shap_frame(name, info.get("file")) if info or (data.directory / f"shap_{name}.csv").is_file() else None
        if frame is None or frame.empty:
            continue
        feats, shap, values, meta = _shap_long(frame)
        if not feats:
            continue
        mean_abs = info.get("mean_abs") or {f: float(np.nanmean(np.abs(shap[f]))) for f in feats}
        order = sorted(feats, key=lambda f: -float(mean_abs.get(f, np.nanmean(np.abs(shap[f])))))[:20]
        output = info.get("output", "")
        unit = {"log_odds": "log-odds", "probability": "probability"}.get(output, "model output")
        xlabel = f"SHAP value ({unit})"
        title = label_task(name, task.get("title"))
        model = label_model(info.get("model", task.get("best_model", "")))
        labels = {f: label_variable(f) for f in order}
        items = [
            figure(fg.shap_beeswarm_figure([labels[f] for f in order], {labels[f]: shap[f] for f in order},
                                           {labels[f]: values[f] for f in order}, xlabel),
                   f"{title}: SHAP summary of the {model} model ({info.get('method', 'SHAP')}); each point is a lesion, "
                   "colour is the feature value (categories in alphabetical order).", name=f"shap-beeswarm-{name}", size="half"),
            figure(fg.shap_bar_figure([(labels[f], float(mean_abs.get(f, 0.0))) for f in order], f"mean |SHAP| ({unit})"),
                   f"{title}: mean absolute SHAP value per feature.", name=f"shap-bar-{name}"),
        ]
        total = np.sum([np.nan_to_num(shap[f]) for f in feats], axis=0)
        base = meta["base_value"].to_numpy(float) if "base_value" in meta.columns else np.full(len(total), float(info.get("base_value", 0.0)))
        out = base + total
        ids = meta["lesion_id"].astype(str).to_numpy() if "lesion_id" in meta.columns else np.arange(len(out)).astype(str)
        yes_no = {f for f in feats if _is_binary(values[f])}
        ranking = sorted(feats, key=lambda f: -float(mean_abs.get(f, np.nanmean(np.abs(shap[f])))))
        continuous = [f for f in ranking if f not in yes_no and _is_continuous(values[f])][:3]
        items += [
            figure(fg.shap_dependence_figure(values[f], shap[f], label_variable(f), xlabel),
                   f"{title}: SHAP dependence of {label_variable(f)} (rank {ranking.index(f) + 1} of {len(ranking)} "
                   "inputs by mean |SHAP|); each point is a lesion.", name=f"shap-dependence-{name}-{rank}")
            for rank, f in enumerate(continuous, start=1)
        ]
        waterfalls = []
        for tag, idx in _waterfall_lesions(out):
            ranked = sorted(feats, key=lambda f: -abs(np.nan_to_num(shap[f][idx])))
            shown_feats, rest = (ranked, []) if len(ranked) <= 10 else (ranked[:9], ranked[9:])
            contributions = [(f"{label_variable(f)} = {_shown_value(values[f][idx], f in yes_no)}",
                              float(np.nan_to_num(shap[f][idx]))) for f in shown_feats]
            if rest:
                contributions.append((f"{len(rest)} other features", float(sum(np.nan_to_num(shap[f][idx]) for f in rest))))
            waterfalls.append(figure(fg.shap_waterfall_figure(float(base[idx]), contributions,
                                                              f"Lesion {ids[idx]} ({tag})", unit),
                                     f"{title}: contributions for lesion {ids[idx]} ({tag}).",
                                     name=f"shap-waterfall-{name}-{tag.split()[0]}"))
        section.blocks += [heading(title), text(_shap_coverage(info, len(out))), figures(items), figures(waterfalls)]
    if not section.blocks:
        return _none("shap", "Model explanation (SHAP)", "no shap_<task>.csv in the study directory")
    return section


def nomogram_section(data: StudyData) -> Section:
    section = Section(id="nomogram", title="Nomogram",
                      lead="Read each variable's points on the top axis, add them, and read the predicted probability "
                           "under the total on the bottom axes.")
    for name, task in data.tasks.items():
        spec = task.get("nomogram")
        if not isinstance(spec, Mapping) or not spec.get("terms"):
            continue
        nomo = build_nomogram(spec)
        labels = [label_variable(t.feature) for t in nomo.terms]
        title = label_task(name, task.get("title"))
        source = (f"the evaluated {label_model(spec.get('model', ''))} model" if spec.get("source") == "evaluated model"
                  else "the multivariable logistic model")
        caption = (f"{title}: nomogram of {source} (probability of HER2-{task.get('positive', 'positive')}); "
                   f"{fmt_num(nomo.scale, 1)} points per unit of log-odds.")
        section.blocks += [heading(title), figures([figure(draw_nomogram(nomo, labels), caption, name=f"nomogram-{name}", wide=True)])]
    if not section.blocks:
        return _none("nomogram", "Nomogram", "no logistic model with a nomogram block in results.json")
    return section


def odds_ratio_section(data: StudyData) -> Section:
    section = Section(id="odds-ratios", title="Multivariable logistic model")
    for name, task in data.tasks.items():
        terms = get(task, "logistic", "terms", default=[]) or []
        if not terms:
            continue
        rows = []
        forest = []
        for t in terms:
            term = str(t.get("term", ""))
            if term in ("const", "intercept", "(Intercept)", "Intercept"):
                label = "Intercept"
                or_text = "—"
            else:
                label = label_variable(term)
                or_text = fmt_estimate({"estimate": t.get("odds_ratio"), "ci_low": t.get("or_ci_low"),
                                        "ci_high": t.get("or_ci_high")})
            rows.append([label, fmt_num(t.get("coef"), 3), fmt_num(t.get("se"), 3), or_text, fmt_pvalue(t.get("pvalue"))])
            bounds = (t.get("odds_ratio"), t.get("or_ci_low"), t.get("or_ci_high"))
            if label != "Intercept" and finite(bounds) and min(float(b) for b in bounds) > 0:
                forest.append((label, *(float(b) for b in bounds)))
        logistic = task.get("logistic") or {}
        firth = str(logistic.get("method", "")).startswith("Firth")
        evaluation = "; ".join(f"{label_set(s)} AUC {fmt_estimate(v)}" for s, v in (logistic.get("evaluation") or {}).items())
        note = ("Firth penalised likelihood (" + str(logistic.get("firth_reason") or "sparse levels or separation")
                + "): profile penalised-likelihood 95% CIs and penalised likelihood-ratio p-values"
                if firth else "Wald tests and Wald 95% CIs")
        note += "; categorical terms against their reference level."
        if logistic.get("source") == "refit":
            note += (f" Refit on the inputs with the largest coefficients in the evaluated {label_model(logistic.get('model', ''))} "
                     f"model, not that model itself{'; its own performance: ' + evaluation if evaluation else ''}.")
        section.blocks.append(table(["Term", "β", "SE", "Odds ratio (95% CI)", "p"], rows,
                                    caption=f"{label_task(name, task.get('title'))}: multivariable logistic regression "
                                            "(training set).",
                                    note=note, name=f"odds-ratios-{name}"))
        if forest:
            section.blocks.append(figures([figure(fg.forest_figure(forest, label_task(name, task.get("title"))),
                                                  f"{label_task(name, task.get('title'))}: odds ratios of the multivariable "
                                                  "model (orange: > 1, blue: < 1 with the CI excluding 1).",
                                                  name=f"forest-{name}", size="half")]))
    if not section.blocks:
        return _none("odds-ratios", "Multivariable logistic model", "no logistic model in results.json")
    return section


