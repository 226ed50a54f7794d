"""Per task × model × set performance through :mod:`her2mri.stats`: AUC (DeLong and patient-grouped bootstrap
CIs), threshold metrics at the training-chosen threshold, ROC points, calibration and decision curves, and the
pairwise DeLong matrix of all models on one set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from her2mri import stats
from her2mri.study.config import StatisticsSection
from her2mri.study.results import json_safe

__all__ = ["choose_threshold", "delong_block", "evaluate_scores", "ovr_three_class"]


def _estimate(item: Any) -> dict[str, Any]:
    return {
        "estimate": getattr(item, "estimate", None),
        "ci_low": getattr(item, "ci_low", None),
        "ci_high": getattr(item, "ci_high", None),
        "method": getattr(item, "method", None),
        "n": getattr(item, "n", None),
    }


def _has_both_classes(y: np.ndarray) -> bool:
    return len(np.unique(y)) == 2


def choose_threshold(y_train: np.ndarray, oof_scores: np.ndarray) -> float:
    """Youden-optimal threshold on the training set's out-of-fold scores (never on a test set)."""
    return float(stats.youden_threshold(y_train, oof_scores).threshold)


def _curve_thresholds() -> np.ndarray:
    return np.round(np.arange(0.01, 1.0, 0.01), 2)


def evaluate_scores(
    y: np.ndarray,
    score: np.ndarray,
    *,
    threshold: float,
    statistics: StatisticsSection,
    groups: np.ndarray | None,
    seed: int,
    bootstrap: bool = True,
) -> dict[str, Any]:
    """All metrics of one model on one set; empty-class sets return counts and a note instead of AUCs."""
    y = np.asarray(y, dtype=int)
    score = np.asarray(score, dtype=float)
    out: dict[str, Any] = {"n": int(len(y)), "n_positive": int(y.sum()), "n_negative": int(len(y) - y.sum())}
    if not _has_both_classes(y):
        out["note"] = "only one class present in this set; discrimination metrics are undefined"
        return out
    conf = statistics.conf_level
    auc = stats.auc_ci(y, score, conf_level=conf)
    out["auc"] = {"estimate": auc.estimate, "ci_low": auc.ci_low, "ci_high": auc.ci_high, "method": auc.method,
                  "conf_level": conf}
    if bootstrap and statistics.n_bootstrap > 0:
        boot = stats.bootstrap_ci(
            y, score, metric="auc", n_resamples=statistics.n_bootstrap, conf_level=conf, groups=groups,
            stratify=True, random_state=seed,
        )
        out["auc_bootstrap"] = {"estimate": boot.estimate, "ci_low": boot.ci_low, "ci_high": boot.ci_high,
                                "method": boot.method, "n_resamples": boot.n_resamples}
    diag = stats.diagnostic_metrics(y, score, threshold, ci_method=statistics.ci_method)
    for name in ("sensitivity", "specificity", "accuracy", "ppv", "npv"):
        out[name] = _estimate(getattr(diag, name))
    out["confusion"] = {"tp": int(diag.tp), "fp": int(diag.fp), "tn": int(diag.tn), "fn": int(diag.fn)}
    out["threshold"] = float(threshold)
    roc = stats.roc_curve(y, score)
    out["roc_curve"] = {"fpr": json_safe(roc.fpr), "tpr": json_safe(roc.tpr)}
    probabilities = np.clip(score, 1e-6, 1 - 1e-6)
    cal = stats.calibration(y, probabilities)
    out["calibration"] = {key: getattr(cal, key, None) for key in (
        "intercept", "slope", "calibration_in_the_large", "brier", "emax", "e90", "eavg")}
    curve = stats.calibration_curve(y, probabilities, method="binned", n_bins=statistics.calibration_bins)
    out["calibration_curve"] = {"predicted": json_safe(curve.predicted), "observed": json_safe(curve.observed),
                                "counts": json_safe(curve.counts)}
    dca = stats.decision_curve(y, probabilities, thresholds=_curve_thresholds())
    best = getattr(dca, "best_range", None)
    out["decision_curve"] = {
        "thresholds": json_safe(dca.thresholds), "net_benefit": json_safe(dca.net_benefit),
        "net_benefit_all": json_safe(dca.net_benefit_all),
        "net_benefit_none": json_safe(getattr(dca, "net_benefit_none", np.zeros(len(dca.thresholds)))),
        "best_range": json_safe(best) if best is not None else None,
    }
    out["optimal_dca_threshold"] = json_safe(getattr(dca, "optimal_threshold", None))
    return json_safe(out)


def delong_block(
    y: np.ndarray, scores: Mapping[str, np.ndarray], *, correction: str
) -> dict[str, Any] | None:
    """Pairwise paired DeLong tests between all models on one set (``None`` with fewer than two models)."""
    y = np.asarray(y, dtype=int)
    if len(scores) < 2 or not _has_both_classes(y):
        return None
    matrix = stats.delong_matrix(y, {k: np.asarray(v, dtype=float) for k, v in scores.items()}, correction=correction)
    return json_safe({
        "models": list(matrix.names), "aucs": matrix.aucs, "pvalues": matrix.pvalues,
        "pvalues_adjusted": matrix.pvalues_adjusted, "correction": correction,
    })


def ovr_three_class(labels: np.ndarray, probabilities: np.ndarray, conf_level: float,
                    predicted: np.ndarray | None = None) -> dict[str, Any]:
    """One-vs-rest AUCs (DeLong CIs), macro AUC, confusion matrix and per-class recall of a three-class
    probability matrix; the calls are ``predicted`` (see :mod:`her2mri.models.three_class`), else the arg-max."""
    classes = ("zero", "low", "positive")
    labels = np.asarray(labels, dtype=object)
    ovr: dict[str, Any] = {}
    aucs = []
    for index, name in enumerate(classes):
        y = (labels == name).astype(int)
        if _has_both_classes(y):
            auc = stats.auc_ci(y, probabilities[:, index], conf_level=conf_level)
            ovr[name] = {"estimate": auc.estimate, "ci_low": auc.ci_low, "ci_high": auc.ci_high, "method": auc.method}
            aucs.append(auc.estimate)
        else:
            ovr[name] = None
    if predicted is None:
        predicted = np.asarray(classes, dtype=object)[np.argmax(probabilities, axis=1)]
    predicted = np.asarray(predicted, dtype=object)
    from her2mri.models.three_class import class_recall
    matrix = [[int(np.sum((labels == t) & (predicted == p))) for p in classes] for t in classes]
    correct = int(np.sum(predicted == labels))
    accuracy = _estimate(stats.proportion_ci(correct, len(labels))) if len(labels) else None
    return json_safe({
        "labels": list(classes), "n": int(len(labels)), "ovr_auc": ovr,
        "macro_auc": float(np.mean(aucs)) if aucs else None, "confusion_matrix": matrix,
        "confusion_rows": "true", "confusion_columns": "predicted", "accuracy": accuracy,
        "recall": class_recall(labels, predicted),
    })
