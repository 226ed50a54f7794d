"""The methods section of the report, written from the study configuration and results.

Every sentence states only what the run did (read from ``results["config"]``, ``results["design"]`` and the
per-task blocks); a setting the configuration does not contain is not mentioned rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from her2mri.report.formatting import label_model, label_set, label_task

__all__ = ["methods_paragraphs"]

_DESIGN_TEXT = {
    "split": "a patient-grouped, stratified random split of the development cohort into training and internal "
    "validation sets",
    "external": "development on the training centre(s) (patient-grouped, stratified split into training and internal "
    "validation sets) and external validation on held-out centre(s)",
    "cv": "patient-grouped, stratified k-fold cross-validation with out-of-fold predictions",
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
        if name == "correlation" and isinstance(params, Mapping) and "threshold" in params:
            text += f" (|r| > {params['threshold']})"
        names.append(text)
    return names


def methods_paragraphs(results: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return ``(heading, paragraph)`` pairs describing design, tasks, preprocessing, models and statistics."""
    config = results.get("config") or {}
    design = results.get("design") or {}
    tasks = results.get("tasks") or {}
    out: list[tuple[str, str]] = []

    kind = design.get("kind") or _get(config, "design", "kind")
    sets = design.get("sets") or []
    cohort = results.get("cohort") or {}
    text = "Retrospective diagnostic-model study"
    if cohort.get("n_lesions") is not None:
        text += f" of {cohort['n_lesions']} lesions"
        if cohort.get("n_patients") is not None:
            text += f" in {cohort['n_patients']} patients"
    text += "."
    if kind:
        text += f" Validation design: {_DESIGN_TEXT.get(str(kind), str(kind))}."
    test_size = design.get("test_size", _get(config, "design", "internal_test_size"))
    if test_size is not None and kind in ("split", "external"):
        text += f" The internal validation fraction was {float(test_size):.0%}."
    if sets:
        text += f" Evaluation sets: {_join([label_set(s) for s in sets])}."
    text += " All splits kept every lesion of a patient in the same set."
    seed = design.get("random_state", _get(results, "provenance", "seed"))
    if seed is not None:
        text += f" Random seed {seed}."
    out.append(("Design", text))

    if tasks:
        parts = []
        for name, task in tasks.items():
            title = label_task(name, task.get("title"))
            negative = task.get("negative") or []
            neg = "/".join(str(n) for n in negative) if isinstance(negative, list) else str(negative)
            parts.append(f"{title} (positive class: HER2-{task.get('positive', '?')}; negative: HER2-{neg})")
        hierarchy = _get(results, "three_class", "hierarchy") or config.get("hierarchy")
        text = (
            "HER2 status was categorised from immunohistochemistry and in-situ hybridisation following ASCO/CAP 2018 "
            "(HER2-zero: IHC 0; HER2-low: IHC 1+ or 2+ with negative ISH; HER2-positive: IHC 3+ or 2+ with positive ISH). "
            f"Binary tasks: {_join(parts)}."
        )
        if hierarchy:
            text += f" Three-class probabilities were composed hierarchically ({str(hierarchy).replace('_', ' ')})."
        out.append(("Reference standard and tasks", text))

    prep = config.get("preprocessing") or {}
    features = config.get("features") or {}
    text = "All preprocessing was fitted inside each training fold and applied unchanged to validation data"
    details = []
    if prep.get("impute"):
        details.append(f"imputation ({prep['impute']}; structurally inapplicable BI-RADS descriptors kept as their own level)")
    if prep.get("scale"):
        details.append(f"{prep['scale']} scaling")
    harmonize = prep.get("harmonize") or config.get("harmonize")
    if harmonize:
        details.append(f"ComBat harmonisation ({harmonize if isinstance(harmonize, str) else 'by centre'})")
    text += (": " + _join(details) + ".") if details else "."
    blocks = features.get("blocks") if isinstance(features, Mapping) else None
    if isinstance(blocks, Mapping) and blocks:
        text += " Candidate predictor blocks: " + "; ".join(
            f"{name} ({len(cols)} variables)" if isinstance(cols, list) else str(name) for name, cols in blocks.items()
        ) + "."
    selectors = _selector_names(config.get("selection"))
    if selectors:
        text += f" Feature selection, also inside folds: {_join(selectors)}, applied in that order."
    out.append(("Preprocessing and feature selection", text))

    models = config.get("models") or sorted({m for t in tasks.values() for m in (t.get("models") or {})})
    tuning = config.get("tuning") or {}
    text = ""
    if models:
        text = f"Classifiers: {_join([_MODEL_TEXT.get(str(m), label_model(str(m))) for m in models])}."
    if tuning:
        inner = tuning.get("inner_cv")
        scoring = tuning.get("scoring", "roc_auc")
        text += (
            f" Hyper-parameters were tuned by grid search with {inner}-fold patient-grouped inner cross-validation "
            f"on the training data, maximising {str(scoring).replace('_', ' ').upper() if scoring == 'roc_auc' else scoring}."
            if inner
            else f" Hyper-parameters were tuned on the training data ({scoring})."
        )
    rules = {m.get("threshold_rule") for t in tasks.values() for m in (t.get("models") or {}).values()}
    rules.discard(None)
    if "youden_on_training" in rules:
        text += " Operating thresholds were fixed at the Youden index on the training set and carried unchanged to validation sets."
    if text:
        out.append(("Models", text.strip()))

    stats = config.get("statistics") or {}
    conf = float(stats.get("conf_level", 0.95))
    corr = stats.get("table1_correction", "bh")
    corr_text = {"bh": "Benjamini–Hochberg false discovery rate", "bonferroni": "Bonferroni", "holm": "Holm"}.get(
        str(corr), str(corr)
    )
    text = (
        f"AUCs are reported with {conf:.0%} confidence intervals by the DeLong method (R: pROC::ci.auc) and compared "
        "pairwise with the paired DeLong test (pROC::roc.test)"
    )
    dcorr = stats.get("delong_correction")
    if dcorr and dcorr != "none":
        text += f", p-values adjusted by {dcorr}"
    text += (
        ". Sensitivity, specificity, accuracy, PPV and NPV are given with "
        f"{str(stats.get('proportion_ci', 'wilson')).replace('_', '–').title()} intervals (binom::binom.confint). "
        "Calibration is summarised by intercept (calibration-in-the-large), slope and Brier score (rms::val.prob); "
        "clinical utility by decision-curve net benefit against treat-all and treat-none (dcurves::dca), the optimal "
        "DCA threshold being the one of largest net-benefit gain over both. "
        f"Table 1 compares classes with t/Mann–Whitney U or χ²/Fisher tests, p-values adjusted by the {corr_text} method "
        "(p.adjust). Disease-free survival by model-score group uses Kaplan–Meier estimates and the log-rank test "
        "(survival::survfit, survdiff). Two-sided p < 0.05 was considered significant."
    )
    if stats.get("bootstrap"):
        text += f" Bootstrap intervals use {stats['bootstrap']} patient-grouped resamples."
    out.append(("Statistical analysis", text))

    prov = results.get("provenance") or {}
    packages = prov.get("packages") or {}
    if packages or prov.get("python"):
        pk = ", ".join(f"{k} {v}" for k, v in packages.items())
        text = f"Analyses were run with her2mri {results.get('her2mri_version', packages.get('her2mri', ''))}".rstrip()
        if prov.get("python"):
            text += f" on Python {prov['python']}"
        if pk:
            text += f" ({pk})"
        text += "."
        out.append(("Software", text))
    return out
