"""The one three-class call rule (HER2-zero / low / positive), used by the study report, ``predict`` and the web app.

Rules (``tasks.three_class.call``):

``thresholds`` (default)
    Walk the hierarchy: the first task's positive class when its probability reaches the first task's threshold,
    otherwise the second task's positive class when its probability reaches the second threshold, otherwise the
    second task's negative class. The thresholds are each task model's Youden-optimal cut-off on training
    out-of-fold scores, so every stage balances its sensitivity and specificity.
``argmax``
    The class with the largest composed probability (:func:`her2mri.models.tasks.compose_three_class`).

Why thresholds by default: the composed probabilities carry the training prevalence (about 60 % HER2-low in seed
004's cohorts), so the arg-max calls the majority class for most lesions and almost never the minority classes —
on the demo's external centre it called HER2-zero for 1 of 60 HER2-zero lesions. The per-stage thresholds are the
cut-offs the binary results are reported at, so the three-class call agrees with the reported sensitivities.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from her2mri.exceptions import ConfigError

__all__ = ["CALL_RULES", "LABELS", "STAGE_LABELS", "class_recall", "three_class_call"]

CALL_RULES = ("thresholds", "argmax")
LABELS = ("zero", "low", "positive")
#: per hierarchy: (first task's positive label, second task's positive label, second task's negative label)
STAGE_LABELS = {"positive_first": ("positive", "low", "zero"), "zero_first": ("zero", "low", "positive")}


def three_class_call(p_first: Any, p_second: Any, hierarchy: str, *, rule: str = "thresholds",
                     thresholds: Sequence[float] | None = None) -> np.ndarray:
    """The three-class call per lesion (an array of ``"zero"``/``"low"``/``"positive"``).

    ``p_first`` / ``p_second``: probabilities of the hierarchy's first and second task (positive class of each);
    ``thresholds``: the two tasks' thresholds (needed by ``rule="thresholds"``).
    """
    if rule not in CALL_RULES:
        message = f"three_class.call: got {rule!r}; accepted: {', '.join(CALL_RULES)}."
        raise ConfigError(message)
    if hierarchy not in STAGE_LABELS:
        message = f"three_class.hierarchy: got {hierarchy!r}; accepted: {', '.join(STAGE_LABELS)}."
        raise ConfigError(message)
    p1 = np.asarray(p_first, dtype=float).reshape(-1)
    p2 = np.asarray(p_second, dtype=float).reshape(-1)
    if p1.shape != p2.shape:
        message = (f"three_class_call: p_first has {p1.size} entries and p_second {p2.size}; accepted: one "
                   "probability per lesion in each.")
        raise ConfigError(message)
    if rule == "argmax":
        from her2mri.models.tasks import compose_three_class

        P = np.asarray(compose_three_class(p1, p2, hierarchy))
        return np.asarray(LABELS, dtype=object)[np.argmax(P, axis=1)]
    if thresholds is None or len(thresholds) != 2 or not all(np.isfinite(float(t)) for t in thresholds):
        message = (f"three_class_call: rule 'thresholds' needs the two tasks' thresholds; got {thresholds!r}; "
                   "accepted: two finite probabilities, e.g. (0.31, 0.55).")
        raise ConfigError(message)
    first, second_positive, second_negative = STAGE_LABELS[hierarchy]
    t1, t2 = (float(t) for t in thresholds)
    later = np.where(p2 >= t2, second_positive, second_negative)
    return np.where(p1 >= t1, first, later).astype(object)


def class_recall(labels: Any, calls: Any) -> dict[str, dict[str, Any]]:
    """Per true class: number of lesions, number called that class and the recall (None for an absent class)."""
    labels = np.asarray(labels, dtype=object)
    calls = np.asarray(calls, dtype=object)
    out: dict[str, dict[str, Any]] = {}
    for label in LABELS:
        mask = labels == label
        n = int(mask.sum())
        hit = int(np.sum(calls[mask] == label))
        out[label] = {"n": n, "correct": hit, "recall": hit / n if n else None}
    return out
