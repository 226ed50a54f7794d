"""The methods section of the report, written from the study configuration and results.

Every sentence states only what the run did (read from ``results["config"]``, ``results["design"]`` and the
per-task blocks); a setting the configuration does not contain is not mentioned rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from her2mri.report.formatting import label_model, label_set, label_task, label_variable

__all__ = ["methods_paragraphs"]

_DESIGN_TEXT = {
    "split": "a patient-grouped, stratified random split of the development cohort into training and internal "
    "validation sets",
    "external": "development on the training centre(s) (patient-grouped, stratified split into training and internal "
    "validation sets) and external validation on held-out centre(s)",
    "cv": "patient-grouped, stratified k-fold cross-validation with out-of-fold predictions of the saved model "
    "(its family and hyper-parameters, tuned by inner cross-validation on all lesions, refitted in every outer "
    "fold; the tuning saw the outer test folds, so nested cross-validation is the unbiased estimate)",
    "nested_cv": "nested, patient-grouped cross-validation (hyper-parameters tuned in the inner loop, performance "
    "estimated from outer-fold predictions)",
    "column": "the training/validation assignment given in the cohort table",
}

_SELECTOR_TEXT = {
    "correlation": "a Pearson correlation filter",
    "univariate": "a univariate filter",
    "lasso": "LASSO logistic regression with cross-validated penalty",
    "random_forest": "random-forest importance",
    "gbdt": "gradient-boosting importance",
    "stepwise": "stepwise logistic regression (AIC)",
    "shap": "SHAP-value ranking",
    "mrmr": "minimum redundancy–maximum relevance (mRMR)",
    "reliability": "an inter-observer reliability filter (ICC)",
}

_MODEL_TEXT = {
    "lr": "logistic regression (LR)",
    "dt": "decision tree (DT)",
    "svm": "support vector machine (SVM)",
    "knn": "k-nearest neighbours (k-NN)",
    "mlp": "multilayer perceptron (ANN)",
    "rf": "random forest (RF)",
    "gbdt": "gradient-boosted decision trees (GBDT)",
}


def _get(mapping: Any, *keys: str, default: Any = None) -> Any:
    current = mapping
    for key in keys:
        if not isinstance(current, Mapping) or key not in current:
            return default
        current = current[key]
    return current


def _join(items: Sequence[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _selector_names(selection: Any) -> list[str]:
    names: list[str] = []
    for entry in selection or []:
        if isinstance(entry, str):
            name, params = entry, {}
        elif isinstance(entry, Mapping):
            name = str(entry.get("name") or entry.get("method") or next(iter(entry), ""))
            params = entry.get("params") or {}
        elif isinstance(entry, Sequence) and entry:
            name, params = str(entry[0]), entry[1] if len(entry) > 1 and isinstance(entry[1], Mapping) else {}
        else:
            continue
        text = _SELECTOR_TEXT.get(name, name.replace("_", " "))
        if name == "univariate" and isinstance(params, Mapping) and params.get("level") == "variable":
            text = ("univariable tests of each variable (χ² for a categorical variable as a whole, a rank or t test "
                    "for a numeric one), kept or dropped with all its levels")
        if isinstance(params, Mapping) and params:
            text += " (" + ", ".join(f"{k} = {v}" for k, v in params.items()) + ")"
        grid = entry.get("grid") if isinstance(entry, Mapping) else None
        if isinstance(grid, Mapping) and grid:
            text += (", its " + _join([f"{k} among {', '.join(map(str, v))}" for k, v in grid.items()])
                     + " tuned with the classifier by inner cross-validation (a weaker setting kept only when better "
                     "beyond fold-to-fold noise)")
        names.append(text)
    return names


def _model_entries(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Normalise ``config["models"]``: a list of names or of ``{name, classifier, blocks, selectors, tuning}``."""
    out = []
    for entry in config.get("models") or []:
        if isinstance(entry, Mapping):
            out.append({"name": str(entry.get("name") or entry.get("classifier")),
                        "classifier": str(entry.get("classifier") or entry.get("name")),
                        "blocks": list(entry.get("blocks") or []), "selectors": list(entry.get("selectors") or []),
                        "tuning": entry.get("tuning", True)})
        else:
            out.append({"name": str(entry), "classifier": str(entry), "blocks": [], "selectors": [], "tuning": True})
    return out


def _design_paragraph(results: Mapping[str, Any]) -> str:
    config = results.get("config") or {}
    design = {**(config.get("design") or {}), **(results.get("design") or {})}
    cohort = results.get("cohort") or {}
    text = "Retrospective diagnostic-model study"
    if cohort.get("n_lesions") is not None:
        text += f" of {cohort['n_lesions']} lesions"
        if cohort.get("n_patients") is not None:
            text += f" in {cohort['n_patients']} patients"
    centres = cohort.get("centers") or []
    if centres:
        text += f" from {len(centres)} centre{'s' if len(centres) != 1 else ''} ({', '.join(map(str, centres))})"
    text += "."
    kind = design.get("kind")
    if kind:
        text += f" Validation design: {_DESIGN_TEXT.get(str(kind), str(kind))}."
    if kind in ("cv", "nested_cv") and design.get("n_splits"):
        text += f" {design['n_splits']} folds × {design.get('n_repeats', 1)} repeat(s)."
        if int(design.get("n_repeats", 1) or 1) > 1:
            text += (" The cross-validated AUC and calibration are those of the repeat-averaged scores; the "
                     "per-repeat AUCs and calibration slopes (mean, SD, range) are in results.json (per_repeat_auc, "
                     "per_repeat_calibration_slope), and the calibration figure flags the per-repeat mean slope.")
    size = design.get("internal_test_size", design.get("test_size"))
    if size is not None and kind in ("split", "external"):
        text += f" The internal validation fraction was {float(size):.0%}."
    if design.get("external_centers") and kind == "external":
        text += f" External centre(s): {', '.join(map(str, design['external_centers']))}."
    sets = design.get("sets") or []
    if sets:
        text += f" Evaluation sets: {_join([label_set(s).lower() for s in sets])}."
    grouped = design.get("grouped_by", "patient_id")
    text += f" Splits were grouped by {str(grouped).replace('_id', ' ID').replace('_', ' ')} so that all lesions of a patient fall in one set"
    text += f" and stratified on {label_variable(str(design['stratified_on']))}." if design.get("stratified_on") else "."
    seed = design.get("seed") if design.get("seed") is not None else config.get("seed", _get(results, "provenance", "seed"))
    if seed is not None:
        text += f" Random seed {seed}."
    return text


def _tasks_paragraph(results: Mapping[str, Any]) -> str | None:
    tasks = results.get("tasks") or {}
    if not tasks:
        return None
    parts = []
    for name, task in tasks.items():
        title = label_task(name, task.get("title"))
        negative = task.get("negative") or []
        neg = "/".join(str(n) for n in negative) if isinstance(negative, list) else str(negative)
        parts.append(f"{title} (positive class: HER2-{task.get('positive', '?')}; negative: HER2-{neg})")
    hierarchy = _get(results, "three_class", "hierarchy") or _get(results, "config", "tasks", "three_class", "hierarchy")
    text = (
        "HER2 status was categorised from immunohistochemistry and in-situ hybridisation following ASCO/CAP 2018 "
        "(HER2-zero: IHC 0; HER2-low: IHC 1+ or 2+ with negative ISH; HER2-positive: IHC 3+ or 2+ with positive ISH). "
        f"Binary tasks: {_join(parts)}."
    )
    if hierarchy:
        text += f" Three-class probabilities were composed hierarchically ({str(hierarchy).replace('_', ' ')})."
    return text


def _preprocessing_paragraph(config: Mapping[str, Any], models: list[dict[str, Any]]) -> str:
    prep = config.get("preprocessing") or {}
    details = []
    impute = prep.get("impute")
    if impute:
        details.append(f"{impute} imputation of numeric and mode imputation of categorical predictors (structurally "
                       "inapplicable BI-RADS descriptors kept as their own level, never imputed)")
    scale = prep.get("scale")
    if scale:
        details.append("standardisation" if scale is True else f"{scale} scaling")
    harmonize = prep.get("harmonize") or config.get("harmonize")
    if isinstance(harmonize, Mapping):
        details.append(f"ComBat harmonisation by {harmonize.get('by', 'centre')}"
                       + (" (empirical Bayes)" if harmonize.get("eb", True) else ""))
    elif harmonize:
        details.append(f"ComBat harmonisation ({harmonize})")
    text = "All preprocessing was fitted on training data only (inside each fold) and applied unchanged to validation data"
    text += (": " + "; ".join(details) + ".") if details else "."
    blocks = sorted({b for m in models for b in m["blocks"]})
    custom = config.get("blocks")
    features = config.get("features")
    if isinstance(features, Mapping) and isinstance(features.get("blocks"), Mapping):
        custom = features["blocks"]
    if blocks:
        text += f" Candidate predictor blocks: {_join(blocks)}."
    elif isinstance(custom, Mapping) and custom:
        text += " Candidate predictor blocks: " + "; ".join(
            f"{name} ({len(cols)} variables)" if isinstance(cols, list) else str(name) for name, cols in custom.items()
        ) + "."
    selectors = _selector_names(config.get("selection") if isinstance(config.get("selection"), list) else [])
    per_model = {m["name"]: _selector_names(m["selectors"]) for m in models if m["selectors"]}
    if selectors:
        text += f" Feature selection, inside folds: {_join(selectors)}, applied in that order."
    elif per_model:
        text += " Feature selection, inside folds: " + "; ".join(
            f"{label_model(name)}: {' → '.join(sel)}" for name, sel in per_model.items()) + "."
    else:
        text += " No feature selection beyond the predictor blocks."
    return text


def _models_paragraph(results: Mapping[str, Any], models: list[dict[str, Any]]) -> str | None:
    config = results.get("config") or {}
    tasks = results.get("tasks") or {}
    if not models:
        return None
    classifiers = list(dict.fromkeys(m["classifier"] for m in models))
    text = f"Classifiers: {_join([_MODEL_TEXT.get(c, label_model(c)) for c in classifiers])}."
    tuning = config.get("tuning") if isinstance(config.get("tuning"), Mapping) else {}
    inner = tuning.get("inner_cv") or _get(config, "design", "inner_splits")
    if any(m["tuning"] for m in models):
        text += (f" Hyper-parameters were tuned by grid search with {inner}-fold patient-grouped inner "
                 "cross-validation on the training data, maximising the AUC." if inner else
                 " Hyper-parameters were tuned on the training data.")
    selection = config.get("selection")
    if isinstance(selection, Mapping) and selection.get("metric"):
        chosen = selection.get("model")
        rule = selection.get("rule")
        how = {
            "simplest": (" The reported model per task was the simplest model (logistic regression first, then "
                         "trees, k-NN, SVM, neural network and ensembles) unless a more complex one had a higher "
                         "training out-of-fold AUC by a paired DeLong test (Holm-adjusted p < "
                         f"{selection.get('alpha', 0.05)}), chosen on the training set only, never on validation data."),
            "one_se": (" The reported model per task was the first listed model whose training out-of-fold AUC was "
                       "within one DeLong standard error of the highest, chosen on the training set only."),
        }.get(str(rule), " The best model per task was chosen by cross-validated AUC on the training set, never on "
                         "validation data.")
        text += f" The reported model was fixed in the configuration ({label_model(chosen)})." if chosen else how
    rules = {m.get("threshold_rule") for t in tasks.values() for m in (t.get("models") or {}).values()
             if isinstance(m, Mapping)}
    if "youden_on_training" in rules:
        text += (" Operating thresholds were fixed at the Youden index on the training set and carried unchanged to "
                 "the validation sets.")
    return text


def _statistics_paragraph(config: Mapping[str, Any]) -> str:
    stats = config.get("statistics") or {}
    conf = float(stats.get("conf_level", 0.95))
    corr_names = {"bh": "Benjamini–Hochberg false-discovery-rate", "bonferroni": "Bonferroni", "holm": "Holm"}
    text = (f"AUCs are reported with {conf:.0%} confidence intervals by the DeLong method (R: pROC::ci.auc) and compared "
            "pairwise with the paired DeLong test (pROC::roc.test)")
    dcorr = stats.get("delong_correction")
    if dcorr and dcorr != "none":
        text += f", p-values adjusted by the {corr_names.get(str(dcorr), str(dcorr))} method (p.adjust)"
    ci = str(stats.get("ci_method", stats.get("proportion_ci", "wilson")))
    text += (f". Sensitivity, specificity, accuracy, PPV and NPV are given with "
             f"{'Clopper–Pearson' if ci == 'clopper_pearson' else ci.capitalize()} intervals (binom::binom.confint)")
    n_boot = stats.get("n_bootstrap", stats.get("bootstrap"))
    if n_boot:
        text += f"; bootstrap intervals use {n_boot} patient-grouped resamples (boot::boot.ci)"
    bins = stats.get("calibration_bins", 10)
    text += (f". Calibration is summarised by calibration-in-the-large, slope and Brier score (rms::val.prob) and shown "
             f"in {bins} quantile bins; clinical utility by decision-curve net benefit against treat-all and treat-none "
             "(dcurves::dca), the optimal DCA threshold being the one of largest net-benefit gain over both. For each "
             "task's chosen model the Hosmer–Lemeshow test (ResourceSelection::hoslem.test), a bootstrap band of the "
             "decision curve and the clinical-impact curve (rmda) are shown")
    optimism = stats.get("optimism_resamples", 20)
    if optimism:
        text += (f"; the logistic model's AUC, calibration slope and Brier score are corrected for optimism by "
                 f"{optimism} bootstrap refits (Harrell; rms::validate)")
    text += "."
    corr = stats.get("table1_correction", "bh")
    text += (" Table 1 compares classes with t/Mann–Whitney U (ANOVA/Kruskal–Wallis for the three HER2 classes) or "
             "χ²/Fisher tests, and the study sets with the same tests and standardised mean differences"
             + (f", p-values adjusted by the {corr_names.get(str(corr), str(corr))} method (p.adjust)" if corr != "none" else "")
             + ".")
    survival = config.get("survival") or {}
    if survival.get("enabled", True):
        cut = survival.get("cutoff", "median")
        endpoint = {"dfs_months": "Disease-free survival", "os_months": "Overall survival"}.get(
            str(survival.get("time", "dfs_months")), str(survival.get("time", "")).replace("_", " ").capitalize())
        text += (f" {endpoint} by model-score group (high vs low at the "
                 f"{'training median' if cut == 'median' else 'model threshold'}) uses Kaplan–Meier estimates and the "
                 "log-rank test (survival::survfit, survival::survdiff), with the Cox hazard ratio of the high-score "
                 "group against the low-score group (survival::coxph).")
    conformal = config.get("conformal")
    if isinstance(conformal, Mapping) and conformal.get("alpha") is not None:
        text += (f" Class-conditional split conformal prediction sets target {1 - float(conformal['alpha']):.0%} coverage.")
    text += " Two-sided p < 0.05 was considered significant."
    return text


def methods_paragraphs(results: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return ``(heading, paragraph)`` pairs describing design, tasks, preprocessing, models and statistics."""
    config = results.get("config") or {}
    models = _model_entries(config)
    if not models:
        names = sorted({m for t in (results.get("tasks") or {}).values() for m in (t.get("models") or {})})
        models = [{"name": n, "classifier": n, "blocks": [], "selectors": [], "tuning": True} for n in names]
    out: list[tuple[str, str]] = [("Design", _design_paragraph(results))]
    tasks_text = _tasks_paragraph(results)
    if tasks_text:
        out.append(("Reference standard and tasks", tasks_text))
    out.append(("Preprocessing and feature selection", _preprocessing_paragraph(config, models)))
    models_text = _models_paragraph(results, models)
    if models_text:
        out.append(("Models", models_text))
    out.append(("Statistical analysis", _statistics_paragraph(config)))
    prov = results.get("provenance") or {}
    packages = prov.get("packages") or {}
    if packages or prov.get("python"):
        version = results.get("her2mri_version", packages.get("her2mri", ""))
        text = f"Analyses were run with her2mri {version}".rstrip()
        if prov.get("python"):
            text += f" on Python {prov['python']}"
        pk = ", ".join(f"{k} {v}" for k, v in packages.items() if k != "her2mri")
        if pk:
            text += f" ({pk})"
        out.append(("Software", text + "."))
    return out
