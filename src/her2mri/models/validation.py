"""Validation designs, all grouped by patient: no patient's lesions are ever split between training and test.

* :func:`stratified_group_split` – random 7:3 split of patients, stratified by outcome (deterministic per seed).
* :func:`external_split` – training centres vs one separate test set per external centre.
* :func:`repeated_stratified_group_kfold` – repeated stratified group k-fold CV.
* :func:`split_from_column` – a pre-assigned set column (``train``, ``test``, ``internal``, ``external:<name>``).
* :func:`cross_val_predict_grouped` – out-of-fold probabilities for every lesion; with a ``grid`` it runs nested
  CV (tuning in inner grouped folds of each outer training fold).

Each function checks the patient separation and raises :class:`~her2mri.exceptions.FitError` if broken.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedGroupKFold

from her2mri.exceptions import ConfigError, FitError

__all__ = [
    "DesignSplit",
    "assert_patient_disjoint",
    "cross_val_predict_grouped",
    "external_split",
    "nested_cross_val_predict",
    "repeated_stratified_group_kfold",
    "split_from_column",
    "stratified_group_split",
]


def assert_patient_disjoint(train: np.ndarray, test: np.ndarray, groups: Any, where: str = "split") -> None:
    """Raise FitError if any patient has lesions in both ``train`` and ``test`` (index arrays)."""
    g = np.asarray(groups, dtype=object)
    shared = set(g[np.asarray(train, dtype=int)].tolist()) & set(g[np.asarray(test, dtype=int)].tolist())
    if shared:
        shown = sorted(map(str, shared))[:5]
        msg = (
            f"{where}: {len(shared)} patient(s) have lesions in both training and test (e.g. {shown}); "
            "split by patient_id so that every patient's lesions stay together."
        )
        raise FitError(msg)


@dataclass(frozen=True)
class DesignSplit:
    """Training indices and one or more named test index arrays. Unpacks as ``train, tests``."""

    train: np.ndarray
    tests: dict[str, np.ndarray] = field(default_factory=dict)

    def __iter__(self) -> Any:
        return iter((self.train, self.tests))


def _patient_labels(y: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.DataFrame({"g": g, "y": y})
    per = frame.groupby("g", sort=True)["y"].max()
    return per.index.to_numpy(), per.to_numpy()


def stratified_group_split(
    y: Any, groups: Any, test_size: float = 0.3, random_state: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Random patient-level split with the outcome stratified; returns ``(train_idx, test_idx)``.

    Patients are stratified by their highest lesion label, shuffled with ``random_state`` and
    ``round(test_size × n)`` patients of each stratum go to the test set.
    """
    if not 0 < test_size < 1:
        msg = f"The 'test_size' parameter of stratified_group_split must be in (0, 1). Got {test_size!r} instead."
        raise ConfigError(msg)
    y_arr = np.asarray(y)
    g_arr = np.asarray(groups, dtype=object).astype(str)
    if y_arr.size != g_arr.size:
        msg = f"stratified_group_split: y has {y_arr.size} values and groups {g_arr.size}; they must match."
        raise ConfigError(msg)
    rng = np.random.default_rng(random_state)
    patients, labels = _patient_labels(y_arr, g_arr)
    test_patients: list[Any] = []
    for label in np.unique(labels):
        members = patients[labels == label]
        members = members[rng.permutation(members.size)]
        n_test = int(round(test_size * members.size))
        n_test = min(max(n_test, 1 if members.size > 1 else 0), members.size - 1 if members.size > 1 else 0)
        test_patients.extend(members[:n_test].tolist())
    is_test = np.isin(g_arr, np.asarray(test_patients, dtype=object).astype(str))
    train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    assert_patient_disjoint(train, test, g_arr, "stratified_group_split")
    return train, test


def external_split(
    centers: Any, external: Sequence[str], groups: Any = None
) -> DesignSplit:
    """Train on every centre not in ``external``; one test set per external centre, named ``external:<centre>``."""
    c = np.asarray(centers, dtype=object).astype(str)
    present = set(c.tolist())
    unknown = [e for e in external if e not in present]
    if not external or unknown:
        msg = (
            f"external_split: external centre(s) {unknown or list(external)} not usable; centres in the data: "
            f"{sorted(present)}. Name at least one centre present in the 'center' column."
        )
        raise ConfigError(msg)
    train = np.flatnonzero(~np.isin(c, list(external)))
    if train.size == 0:
        msg = "external_split: every centre is external, nothing is left for training; keep one centre for training."
        raise ConfigError(msg)
    tests = {f"external:{e}": np.flatnonzero(c == e) for e in external}
    if groups is not None:
        for name, idx in tests.items():
            assert_patient_disjoint(train, idx, groups, f"external_split ({name})")
    return DesignSplit(train, tests)


def repeated_stratified_group_kfold(
    y: Any, groups: Any, n_splits: int = 5, n_repeats: int = 1, random_state: int | None = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_repeats × n_splits`` patient-grouped stratified folds, repeat-major order (repeat r, fold k at r·k+k)."""
    y_arr = np.asarray(y)
    g_arr = np.asarray(groups, dtype=object).astype(str)
    n_groups = np.unique(g_arr).size
    if n_splits < 2 or n_repeats < 1 or n_splits > n_groups:
        msg = (
            f"repeated_stratified_group_kfold: need 2 <= n_splits <= number of patients ({n_groups}) and "
            f"n_repeats >= 1; got n_splits={n_splits}, n_repeats={n_repeats}."
        )
        raise ConfigError(msg)
    rng = np.random.default_rng(random_state)
    folds = []
    for _ in range(n_repeats):
        seed = int(rng.integers(0, 2**31 - 1))
        cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        for train, test in cv.split(np.zeros((y_arr.size, 1)), y_arr, g_arr):
            assert_patient_disjoint(train, test, g_arr, "repeated_stratified_group_kfold")
            folds.append((train, test))
    return folds


def split_from_column(values: Any, groups: Any = None) -> DesignSplit:
    """Split by a pre-assigned column: ``train``; test sets ``test``, ``internal``, ``external:<name>``."""
    v = pd.Series(np.asarray(values, dtype=object)).astype(str).str.strip()
    bad = sorted({x for x in v if x not in ("train", "test", "internal") and not (x.startswith("external:") and len(x) > 9)})
    if bad:
        msg = (
            f"split_from_column: values {bad[:5]} are not accepted; accepted: train, test, internal, "
            "external:<centre name>."
        )
        raise ConfigError(msg)
    train = np.flatnonzero(v.to_numpy() == "train")
    if train.size == 0:
        msg = "split_from_column: no lesion is marked 'train'; mark the training lesions 'train'."
        raise ConfigError(msg)
    tests = {name: np.flatnonzero(v.to_numpy() == name) for name in sorted(set(v) - {"train"})}
    if groups is not None:
        for name, idx in tests.items():
            assert_patient_disjoint(train, idx, groups, f"split_from_column ({name})")
    return DesignSplit(train, tests)


def _fit_predict(estimator: Any, X: pd.DataFrame, y: np.ndarray, groups: np.ndarray, train: np.ndarray,
                 test: np.ndarray, grid: Any, inner_cv: int, random_state: int | None) -> np.ndarray:
    from her2mri.models.pipeline import _groups_fit_params, tune_pipeline

    if grid is not None:
        fitted = tune_pipeline(
            estimator, grid, X.iloc[train], y[train], groups[train], inner_cv=inner_cv, random_state=random_state
        ).best_estimator_
    else:
        fitted = clone(estimator)
        params = _groups_fit_params(fitted, groups[train]) if hasattr(fitted, "steps") else {}
        fitted.fit(X.iloc[train], y[train], **params)
    return np.asarray(fitted.predict_proba(X.iloc[test]))[:, 1]


def cross_val_predict_grouped(
    estimator: Any,
    X: pd.DataFrame,
    y: Any,
    groups: Any,
    *,
    n_splits: int = 5,
    n_repeats: int = 1,
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Sequence[Any]]] | None = None,
    inner_cv: int = 3,
    folds: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Out-of-fold positive-class probabilities for every lesion (and repeat).

    The estimator (typically a pipeline from :func:`~her2mri.models.pipeline.build_pipeline`) is cloned and
    fitted on each training fold only; with ``grid`` it is tuned by inner grouped CV inside the fold (nested CV).
    Returns a long DataFrame with columns ``index`` (row position in ``X``), ``repeat``, ``fold``, ``y_true``,
    ``score`` — one row per lesion per repeat.
    """
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(X)
    y_arr = np.asarray(y)
    g_arr = np.asarray(groups, dtype=object).astype(str)
    if folds is None:
        folds = repeated_stratified_group_kfold(y_arr, g_arr, n_splits, n_repeats, random_state)
        per_repeat = n_splits
    else:
        per_repeat = len(folds)
    rows = []
    for i, (train, test) in enumerate(folds):
        assert_patient_disjoint(train, test, g_arr, "cross_val_predict_grouped")
        score = _fit_predict(estimator, X, y_arr, g_arr, np.asarray(train), np.asarray(test), grid, inner_cv, random_state)
        rows.append(
            pd.DataFrame(
                {"index": test, "repeat": i // per_repeat, "fold": i % per_repeat, "y_true": y_arr[test], "score": score}
            )
        )
    out = pd.concat(rows, ignore_index=True).sort_values(["repeat", "index"], kind="stable")
    return out.reset_index(drop=True)


def nested_cross_val_predict(
    estimator: Any,
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Sequence[Any]]],
    X: pd.DataFrame,
    y: Any,
    groups: Any,
    *,
    n_splits: int = 5,
    n_repeats: int = 1,
    inner_cv: int = 3,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Nested CV: :func:`cross_val_predict_grouped` with tuning over ``grid`` inside every outer training fold."""
    return cross_val_predict_grouped(
        estimator, X, y, groups, n_splits=n_splits, n_repeats=n_repeats, grid=grid, inner_cv=inner_cv,
        random_state=random_state,
    )
