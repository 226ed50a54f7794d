"""Number and label formatting for the study report — every rule lives here, nowhere else.

Rules (as in radiology journals):

* p-values: ``"<0.001"`` below 0.001, otherwise three decimals (``"0.042"``); ``"—"`` when missing.
* estimates with confidence intervals: ``"0.81 (0.76–0.86)"`` with an en dash and two decimals.
* percentages: one decimal (``"40.6%"``); counts with percentage ``"52 (40.6%)"``.
* missing values are shown as an em dash, never as ``nan`` or ``None``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MISSING",
    "fmt_ci",
    "fmt_count_pct",
    "fmt_estimate",
    "fmt_num",
    "fmt_pct",
    "fmt_pvalue",
    "fmt_value",
    "is_number",
    "label_model",
    "label_set",
    "label_task",
    "label_variable",
]

MISSING = "—"
EN_DASH = "–"

_MODEL_LABELS = {
    "lr": "LR",
    "dt": "DT",
    "svm": "SVM",
    "knn": "k-NN",
    "mlp": "ANN",
    "ann": "ANN",
    "rf": "RF",
    "gbdt": "GBDT",
    "xgboost": "XGBoost",
    "auto": "Auto",
}

_TASK_LABELS = {
    "positive_vs_negative": "HER2-positive vs HER2-negative",
    "low_vs_zero": "HER2-low vs HER2-zero",
    "zero_vs_nonzero": "HER2-zero vs HER2-non-zero",
    "low_vs_positive": "HER2-low vs HER2-positive",
    "fish_ihc2": "ISH-positive vs ISH-negative among IHC 2+",
}

_SET_LABELS = {
    "train": "Training set",
    "training": "Training set",
    "internal": "Internal validation set",
    "test": "Test set",
    "external": "External validation set",
    "cv": "Cross-validation (out-of-fold)",
    "oof": "Cross-validation (out-of-fold)",
}


def is_number(value: Any) -> bool:
    """True for a finite real number (bools excluded)."""
    if isinstance(value, bool) or value is None:
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number)


def fmt_num(value: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals; integers stay integers; missing → em dash."""
    if not is_number(value):
        return MISSING if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    number = float(value)
    if isinstance(value, int) or (number.is_integer() and abs(number) >= 1000):
        return f"{int(round(number)):d}"
    return f"{number:.{digits}f}"


def fmt_pvalue(value: Any) -> str:
    """``"<0.001"`` below 0.001, else three decimals; ``">0.999"`` at the top end."""
    if not is_number(value):
        return MISSING
    p = float(value)
    if p < 0.001:
        return "<0.001"
    if p > 0.999:
        return ">0.999"
    return f"{p:.3f}"


def fmt_ci(estimate: Any, ci_low: Any = None, ci_high: Any = None, digits: int = 2) -> str:
    """``"0.81 (0.76–0.86)"``; the interval is left out when either bound is missing."""
    if not is_number(estimate):
        return MISSING
    text = f"{float(estimate):.{digits}f}"
    if is_number(ci_low) and is_number(ci_high):
        text += f" ({float(ci_low):.{digits}f}{EN_DASH}{float(ci_high):.{digits}f})"
    return text


def fmt_estimate(value: Any, digits: int = 2) -> str:
    """Format an ``{"estimate", "ci_low", "ci_high"}`` mapping, a bare number, or a missing value."""
    if isinstance(value, Mapping):
        return fmt_ci(value.get("estimate"), value.get("ci_low"), value.get("ci_high"), digits)
    if is_number(value):
        return fmt_num(value, digits)
    return MISSING


def fmt_pct(value: Any, digits: int = 1, *, is_fraction: bool = True) -> str:
    """A percentage; ``value`` is a fraction (0–1) unless ``is_fraction=False``."""
    if not is_number(value):
        return MISSING
    number = float(value) * (100.0 if is_fraction else 1.0)
    return f"{number:.{digits}f}%"


def fmt_count_pct(count: Any, total: Any, digits: int = 1) -> str:
    """``"52 (40.6%)"``."""
    if not is_number(count):
        return MISSING
    if not is_number(total) or float(total) == 0:
        return f"{int(count)}"
    return f"{int(count)} ({fmt_pct(float(count) / float(total), digits)})"


def fmt_value(value: Any, digits: int = 2) -> str:
    """Generic cell formatting for tables built from records of unknown shape."""
    if isinstance(value, Mapping):
        if "estimate" in value:
            return fmt_estimate(value, digits)
        return "; ".join(f"{k}: {fmt_value(v, digits)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(fmt_value(v, digits) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return MISSING
    if isinstance(value, float) and math.isnan(value):
        return MISSING
    if is_number(value):
        return fmt_num(value, digits)
    return str(value)


def label_model(name: str) -> str:
    """Short display label of a model name (``"lr"`` → ``"LR"``); unknown names pass through."""
    return _MODEL_LABELS.get(str(name).lower(), str(name))


def label_task(name: str, title: str | None = None) -> str:
    """Display label of a task; the results' own title wins when given."""
    if title:
        return str(title)
    return _TASK_LABELS.get(name, name.replace("_", " "))


def label_set(name: str) -> str:
    """Display label of an evaluation set: ``"external:center2"`` → ``"External validation set (center2)"``."""
    base, _, detail = str(name).partition(":")
    label = _SET_LABELS.get(base.lower(), base.replace("_", " ").capitalize())
    return f"{label} ({detail})" if detail else label


def label_variable(name: str) -> str:
    """Human label of a cohort column (``"adc_mean"`` → ``"ADC mean"``)."""
    text = str(name)
    level = ""
    match = re.fullmatch(r"(.+)\[(.+)\]", text) or re.fullmatch(r"([^=]+)=(.+)", text)
    if match:
        text, level = match.group(1), match.group(2).replace("_", " ")
    for suffix, unit in (("_mm", " (mm)"), ("_months", " (months)"), ("_years", " (years)"), ("_pct", " (%)")):
        if text.endswith(suffix):
            text = text[: -len(suffix)] + unit
    for prefix, label in (("adc", "ADC"), ("eer", "EER"), ("ser", "SER"), ("tic", "TIC"), ("nme", "NME"), ("er", "ER"),
                          ("pr", "PR"), ("hr", "HR"), ("birads", "BI-RADS"), ("bpe", "BPE"), ("fgt", "FGT"),
                          ("ki67", "Ki-67"), ("her2", "HER2"), ("ish", "ISH"), ("ihc", "IHC"), ("dfs", "DFS")):
        if text == prefix or text.startswith(prefix + "_"):
            text = label + text[len(prefix) :]
    text = text.replace("__", ": ").replace("_", " ")
    if text in ("(Intercept)", "const", "intercept"):
        return "Intercept"
    text = text[:1].upper() + text[1:]
    return f"{text}: {level}" if level else text
