"""Binary classification tasks on HER2 status and their composition into three classes.

Naming rule: in ``<a>_vs_<b>`` the first named class is the positive class (label 1).

========================  ==========================  ==================================  ==================
task                      positive (1)                negative (0)                        binary-only cohort
========================  ==========================  ==================================  ==================
``positive_vs_negative``  ``positive``                ``zero``, ``low``, ``negative``     supported
``low_vs_zero``           ``low``                     ``zero``                            TaskError
``zero_vs_nonzero``       ``zero``                    ``low``, ``positive``               TaskError
``low_vs_positive``       ``low``                     ``positive``                        TaskError
``fish_ihc2``             ISH ``positive``            ISH ``negative``                    TaskError
========================  ==========================  ==================================  ==================

``fish_ihc2`` selects IHC 2+ lesions with a final ISH call (``her2_ish_final``, ASCO/CAP 2018) and labels the
ISH result; the other tasks read ``her2_category``. A cohort is *binary-only* when ``her2_category`` contains
``"negative"`` (HER2 known only as positive/negative): the three-level tasks cannot be labelled there.

Three-class composition (:func:`compose_three_class`) multiplies the two stages of a hierarchy:

* ``zero_first``: ``p_first`` = P(zero) from ``zero_vs_nonzero``, ``p_second`` = P(low | non-zero) from
  ``low_vs_positive``.
* ``positive_first``: ``p_first`` = P(positive) from ``positive_vs_negative``, ``p_second`` = P(low | negative)
  from ``low_vs_zero``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from her2mri.exceptions import TaskError

__all__ = [
    "HIERARCHIES",
    "TASKS",
    "THREE_CLASS_LABELS",
    "Task",
    "ThreeClassMetrics",
    "compose_three_class",
    "get_task",
    "three_class_metrics",
]

THREE_CLASS_LABELS: tuple[str, str, str] = ("zero", "low", "positive")
HIERARCHIES: dict[str, tuple[str, str]] = {
    "zero_first": ("zero_vs_nonzero", "low_vs_positive"),
    "positive_first": ("positive_vs_negative", "low_vs_zero"),
}


@dataclass(frozen=True)
class Task:
    """One binary classification task.

    ``positive`` is the label value counted as 1, ``negative`` the values counted as 0, both read from
    ``label_column``. ``eligibility`` optionally restricts lesions to ``column == value`` first (``fish_ihc2``:
    ``her2_ihc == "2+"``).
    """

    name: str
    title: str
    positive: str
    negative: tuple[str, ...]
    needs_three_level: bool
    label_column: str = "her2_category"
    eligibility: tuple[str, str] | None = None
    supports_binary_only: bool = False

    def labels(self, cohort_frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Eligible-lesion mask (length of the frame) and 0/1 labels of the eligible lesions.

        Raises :class:`TaskError` when a needed column is missing, the cohort is binary-only and the task
        needs the three HER2 levels, or one class is empty.
        """
        frame = cohort_frame
        needed = [self.label_column, "her2_category"]
        if self.eligibility is not None:
            needed.append(self.eligibility[0])
        missing = sorted({c for c in needed if c not in frame.columns})
        if missing:
            msg = (
                f"Task '{self.name}' cannot be labelled: column(s) {missing} are missing from the cohort frame; "
                "pass the frame of a validated Cohort (her2mri.cohort.validate_cohort derives them)."
            )
            raise TaskError(msg)
        category = frame["her2_category"].astype(object)
        is_binary_only = bool((category == "negative").any())
        if is_binary_only and not self.supports_binary_only:
            msg = (
                f"Task '{self.name}' ({self.title}) needs HER2 zero/low/positive (or IHC 2+ with ISH) labels, "
                "but the cohort is binary-only: her2_category contains 'negative' (HER2 known only as "
                "positive/negative). Accepted on such cohorts: 'positive_vs_negative'. Provide her2_ihc "
                "scores (and ISH results) to run this task."
            )
            raise TaskError(msg)
        values = frame[self.label_column].astype(object)
        mask = values.isin((self.positive, *self.negative)).to_numpy()
        if self.eligibility is not None:
            column, value = self.eligibility
            mask &= (frame[column].astype(object) == value).to_numpy()
        y = (values.to_numpy()[mask] == self.positive).astype(np.int64)
        n_pos, n_neg = int(y.sum()), int((1 - y).sum())
        if n_pos == 0 or n_neg == 0:
            msg = (
                f"Task '{self.name}' ({self.title}): {n_pos} positive ('{self.positive}') and {n_neg} negative "
                f"({', '.join(self.negative)}) eligible lesions; both classes are needed. Check the "
                f"'{self.label_column}' column of the cohort."
            )
            raise TaskError(msg)
        return mask, y


TASKS: dict[str, Task] = {
    "positive_vs_negative": Task(
        name="positive_vs_negative",
        title="HER2-positive vs HER2-negative",
        positive="positive",
        negative=("zero", "low", "negative"),
        needs_three_level=False,
        supports_binary_only=True,
    ),
    "low_vs_zero": Task(
        name="low_vs_zero",
        title="HER2-low vs HER2-zero",
        positive="low",
        negative=("zero",),
        needs_three_level=True,
    ),
    "zero_vs_nonzero": Task(
        name="zero_vs_nonzero",
        title="HER2-zero vs HER2-non-zero (low or positive)",
        positive="zero",
        negative=("low", "positive"),
        needs_three_level=True,
    ),
    "low_vs_positive": Task(
        name="low_vs_positive",
        title="HER2-low vs HER2-positive",
        positive="low",
        negative=("positive",),
        needs_three_level=True,
    ),
    "fish_ihc2": Task(
        name="fish_ihc2",
        title="ISH-positive vs ISH-negative within IHC 2+",
        positive="positive",
        negative=("negative",),
        needs_three_level=False,
        label_column="her2_ish_final",
        eligibility=("her2_ihc", "2+"),
        supports_binary_only=False,
    ),
}


def get_task(name: str) -> Task:
    """Look a task up by name with a helpful error."""
    if name not in TASKS:
        msg = f"Unknown task {name!r}; accepted: {', '.join(TASKS)}."
        raise TaskError(msg)
    return TASKS[name]


def _probabilities(p: Any, name: str) -> np.ndarray:
    arr = np.asarray(p, dtype=float)
    if arr.ndim == 2 and arr.shape[1] == 2:
        arr = arr[:, 1]
    if arr.ndim != 1:
        msg = f"compose_three_class: {name} must be a 1-D array of probabilities (or an (n, 2) predict_proba); got shape {arr.shape}."
        raise TaskError(msg)
    if np.any(~np.isfinite(arr)) or np.any((arr < 0) | (arr > 1)):
        msg = f"compose_three_class: {name} must hold finite probabilities in [0, 1]; got min {np.nanmin(arr)}, max {np.nanmax(arr)}."
        raise TaskError(msg)
    return arr


def compose_three_class(
    p_first: Any, p_second: Any, hierarchy: Literal["zero_first", "positive_first"]
) -> np.ndarray:
    """Compose two binary stages into (n, 3) probabilities ordered ("zero", "low", "positive"); rows sum to 1."""
    if hierarchy not in HIERARCHIES:
        msg = f"Unknown hierarchy {hierarchy!r}; accepted: {', '.join(HIERARCHIES)}."
        raise TaskError(msg)
    p1 = _probabilities(p_first, "p_first")
    p2 = _probabilities(p_second, "p_second")
    if p1.shape != p2.shape:
        msg = f"compose_three_class: p_first has {p1.size} rows and p_second {p2.size}; they must match."
        raise TaskError(msg)
    out = np.empty((p1.size, 3))
    if hierarchy == "zero_first":
        out[:, 0] = p1
        out[:, 1] = (1 - p1) * p2
        out[:, 2] = (1 - p1) * (1 - p2)
    else:
        out[:, 2] = p1
        out[:, 1] = (1 - p1) * p2
        out[:, 0] = (1 - p1) * (1 - p2)
    return out


@dataclass(frozen=True)
class ThreeClassMetrics:
    """One-vs-rest AUCs, macro AUC and the confusion matrix at the arg-max class (rows true, columns predicted)."""

    labels: tuple[str, str, str]
    ovr_auc: dict[str, float]
    macro_auc: float
    confusion_matrix: np.ndarray
    n: int
    method: str = "one-vs-rest AUC; arg-max call"

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "ovr_auc": {k: float(v) for k, v in self.ovr_auc.items()},
            "macro_auc": float(self.macro_auc),
            "confusion_matrix": self.confusion_matrix.astype(int).tolist(),
            "n": self.n,
            "method": self.method,
        }

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            self.confusion_matrix,
            index=pd.Index(self.labels, name="true"),
            columns=pd.Index(self.labels, name="predicted"),
        )


def three_class_metrics(y3: Sequence[Any] | np.ndarray, P: np.ndarray) -> ThreeClassMetrics:
    """Metrics of (n, 3) probabilities ordered ("zero", "low", "positive") against true labels.

    ``y3`` holds the labels as strings from :data:`THREE_CLASS_LABELS` or as integers 0, 1, 2. A class absent
    from ``y3`` gets AUC NaN and is left out of the macro average.
    """
    from sklearn.metrics import confusion_matrix, roc_auc_score

    probs = np.asarray(P, dtype=float)
    raw = np.asarray(y3, dtype=object)
    if probs.ndim != 2 or probs.shape[1] != 3 or probs.shape[0] != raw.size:
        msg = f"three_class_metrics: P must have shape (n, 3) with n = len(y3) = {raw.size}; got {probs.shape}."
        raise TaskError(msg)
    lookup = {label: i for i, label in enumerate(THREE_CLASS_LABELS)} | {0: 0, 1: 1, 2: 2}
    try:
        y = np.array([lookup[v] for v in raw], dtype=np.int64)
    except (KeyError, TypeError) as exc:
        msg = f"three_class_metrics: y3 values must be in {THREE_CLASS_LABELS} or 0/1/2; got {sorted(set(map(str, raw)))}."
        raise TaskError(msg) from exc
    aucs: dict[str, float] = {}
    for i, label in enumerate(THREE_CLASS_LABELS):
        yi = (y == i).astype(int)
        aucs[label] = float(roc_auc_score(yi, probs[:, i])) if 0 < yi.sum() < yi.size else float("nan")
    finite = [v for v in aucs.values() if np.isfinite(v)]
    macro = float(np.mean(finite)) if finite else float("nan")
    cm = confusion_matrix(y, probs.argmax(axis=1), labels=[0, 1, 2])
    return ThreeClassMetrics(THREE_CLASS_LABELS, aucs, macro, cm, int(y.size))
