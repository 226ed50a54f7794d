"""Validation designs: which lesions form the training set and which form each test set.

Every design is made once per cohort (not once per task), stratified on the HER2 category and grouped by
patient, so that all tasks share the same sets, the three-class output can be composed on the same lesions and
no patient is ever on both sides of a split. Sets are named ``train``, ``internal``, ``external:<centre>``,
``cv`` (pooled out-of-fold predictions of the cross-validation designs) or the values of a split column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from her2mri.exceptions import ConfigError
from her2mri.study.config import DesignSection

__all__ = ["DesignPlan", "Fold", "inner_folds", "make_design"]


@dataclass(frozen=True)
class Fold:
    """One outer fold of a cross-validation design (row positions into the cohort frame)."""

    repeat: int
    fold: int
    train: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class DesignPlan:
    """Row positions (into the cohort frame) of the training set and of each evaluation set.

    For ``cv`` / ``nested_cv`` designs ``sets`` holds ``train`` (all lesions; the final model is refitted on
    them for the bundle) and ``cv`` (the same lesions, evaluated through their out-of-fold predictions), and
    ``folds`` the outer folds.
    """

    kind: str
    train: np.ndarray
    sets: dict[str, np.ndarray]
    folds: tuple[Fold, ...] = ()
    details: dict[str, object] = field(default_factory=dict)

    @property
    def test_sets(self) -> list[str]:
        return [name for name in self.sets if name != "train"]

    def describe(self) -> dict[str, object]:
        return {"kind": self.kind, "sets": list(self.sets), **self.details}


def _strata(frame: pd.DataFrame) -> np.ndarray:
    if "her2_category" in frame.columns:
        return frame["her2_category"].astype(object).where(frame["her2_category"].notna(), "unknown").astype(str).to_numpy()
    return np.zeros(len(frame), dtype=int).astype(str)


def _patient_split(
    positions: np.ndarray, frame: pd.DataFrame, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split rows at ``positions`` by patient, stratified on each patient's (first-listed) HER2 category."""
    sub = frame.iloc[positions]
    patients = sub["patient_id"].astype(str).to_numpy()
    strata = _strata(sub)
    first = pd.Series(strata, index=patients).groupby(level=0, sort=True).first()
    counts = first.value_counts()
    stratify = first.to_numpy() if (counts.min() >= 2 and len(counts) > 1) else None
    train_patients, test_patients = train_test_split(
        first.index.to_numpy(), test_size=test_size, stratify=stratify, random_state=seed
    )
    in_test = np.isin(patients, test_patients)
    return positions[~in_test], positions[in_test]


def _group_kfold(
    positions: np.ndarray, frame: pd.DataFrame, n_splits: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    sub = frame.iloc[positions]
    groups = sub["patient_id"].astype(str).to_numpy()
    n_groups = len(np.unique(groups))
    if n_groups < n_splits:
        message = (
            f"Cross-validation with {n_splits} folds needs at least {n_splits} patients; got {n_groups}. "
            "Lower design.n_splits / design.inner_splits or use a larger cohort."
        )
        raise ConfigError(message)
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [
        (positions[train], positions[test])
        for train, test in splitter.split(np.zeros(len(sub)), _strata(sub), groups)
    ]


_INNER_CACHE: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}


def inner_folds(
    y: np.ndarray, groups: np.ndarray, n_splits: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Patient-grouped stratified folds on a training set (indices into ``y``), for tuning and thresholds.

    ``StratifiedGroupKFold`` searches folds patient by patient in Python (a second per call on a thousand
    patients), and the same training set is split again by every model fitted on it, so the folds are kept
    (a small cache keyed by the labels, patient ids, ``n_splits`` and ``seed``).
    """
    import hashlib

    y = np.asarray(y)
    groups = np.asarray(groups)
    digest = hashlib.sha1(np.ascontiguousarray(y, dtype=np.int64).tobytes())
    digest.update("\x00".join(map(str, groups)).encode("utf-8"))
    digest.update(f"|{n_splits}|{seed}".encode("ascii"))
    key = digest.hexdigest()
    if key in _INNER_CACHE:
        return [(train.copy(), test.copy()) for train, test in _INNER_CACHE[key]]
    n_groups = len(np.unique(groups))
    n_min = int(np.bincount(np.asarray(y, dtype=int)).min()) if len(np.unique(y)) > 1 else 0
    k = max(2, min(n_splits, n_groups, max(n_min, 2)))
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    folds = list(splitter.split(np.zeros(len(y)), y, groups))
    if len(_INNER_CACHE) > 256:
        _INNER_CACHE.clear()
    _INNER_CACHE[key] = folds
    return [(train.copy(), test.copy()) for train, test in folds]


def make_design(frame: pd.DataFrame, design: DesignSection, seed: int) -> DesignPlan:
    """Build the sets of ``design`` on the cohort frame (row positions), reproducibly from ``seed``."""
    everything = np.arange(len(frame))
    if design.kind == "split":
        train, internal = _patient_split(everything, frame, design.test_size, seed)
        return DesignPlan("split", train, {"train": train, "internal": internal}, details={"test_size": design.test_size})
    if design.kind == "external":
        if "center" not in frame.columns:
            message = "design.kind 'external' needs a 'center' column in the cohort; none was found."
            raise ConfigError(message)
        centers = frame["center"].astype(str).to_numpy()
        known = sorted(set(centers))
        unknown = [c for c in design.external_centers if c not in known]
        if unknown:
            message = (
                f"design.external_centers lists {unknown}, not found in the cohort's 'center' column; "
                f"centres present: {known}."
            )
            raise ConfigError(message)
        is_external = np.isin(centers, design.external_centers)
        development = everything[~is_external]
        if len(development) == 0:
            message = "design.external_centers holds out every centre; keep at least one for training."
            raise ConfigError(message)
        sets: dict[str, np.ndarray] = {}
        if design.internal_test_size is not None:
            train, internal = _patient_split(development, frame, design.internal_test_size, seed)
            sets = {"train": train, "internal": internal}
        else:
            train = development
            sets = {"train": train}
        for center in design.external_centers:
            sets[f"external:{center}"] = everything[centers == center]
        details = {
            "external_centers": list(design.external_centers),
            "development_centers": sorted(set(centers[~is_external])),
            "internal_test_size": design.internal_test_size,
        }
        return DesignPlan("external", train, sets, details=details)
    if design.kind in ("cv", "nested_cv"):
        folds = []
        for repeat in range(design.n_repeats):
            for index, (train, test) in enumerate(_group_kfold(everything, frame, design.n_splits, seed + repeat)):
                folds.append(Fold(repeat, index, train, test))
        details = {"n_splits": design.n_splits, "n_repeats": design.n_repeats, "inner_splits": design.inner_splits}
        return DesignPlan(design.kind, everything, {"train": everything, "cv": everything}, tuple(folds), details)
    # split column
    if design.column not in frame.columns:
        message = (
            f"design.kind 'column' reads the pre-assigned split from column '{design.column}', which the cohort "
            "does not have. Add the column (kept as an extra column) or set design.column."
        )
        raise ConfigError(message)
    values = frame[design.column].astype(str).str.strip().to_numpy()
    if design.train_value not in set(values):
        message = (
            f"Split column '{design.column}' has no '{design.train_value}' rows; values found: "
            f"{sorted(set(values))}. Set design.train_value to the value marking training lesions."
        )
        raise ConfigError(message)
    train = everything[values == design.train_value]
    sets = {"train": train}
    for value in sorted(set(values) - {design.train_value, "nan", ""}):
        sets[value] = everything[values == value]
    shared = set(frame["patient_id"].iloc[train]) & set(frame["patient_id"].iloc[everything[values != design.train_value]])
    if shared:
        message = (
            f"Split column '{design.column}' puts patients in both training and test sets: "
            f"{sorted(shared)[:5]}. Assign all lesions of a patient to the same set."
        )
        raise ConfigError(message)
    return DesignPlan("column", train, sets, details={"column": design.column})
