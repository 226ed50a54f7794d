from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from her2mri.exceptions import ConfigError, FitError
from her2mri.models.pipeline import build_pipeline
from her2mri.models.validation import (
    assert_patient_disjoint,
    cross_val_predict_grouped,
    external_split,
    repeated_stratified_group_kfold,
    split_from_column,
    stratified_group_split,
)


@st.composite
def grouped_labels(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n_patients = draw(st.integers(min_value=10, max_value=60))
    sizes = draw(st.lists(st.integers(1, 4), min_size=n_patients, max_size=n_patients))
    groups = np.repeat(np.arange(n_patients), sizes)
    labels = draw(st.lists(st.integers(0, 1), min_size=groups.size, max_size=groups.size))
    y = np.array(labels)
    y[:6] = [0, 1, 0, 1, 0, 1]
    return y, np.array([f"p{g}" for g in groups])


def _disjoint(train: np.ndarray, test: np.ndarray, groups: np.ndarray) -> bool:
    return not set(groups[train]) & set(groups[test])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=grouped_labels(), seed=st.integers(0, 1000))
def test_split_designs_never_share_patients(data: tuple[np.ndarray, np.ndarray], seed: int) -> None:
    y, groups = data
    train, test = stratified_group_split(y, groups, 0.3, random_state=seed)
    assert _disjoint(train, test, groups)
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(y.size))
    for tr, te in repeated_stratified_group_kfold(y, groups, n_splits=3, n_repeats=2, random_state=seed):
        assert _disjoint(tr, te, groups)


def test_stratified_group_split_is_deterministic_and_near_seventy_thirty(rng: np.random.Generator) -> None:
    groups = np.repeat(np.arange(300), 2).astype(str)
    y = np.repeat(rng.integers(0, 2, 300), 2)
    a = stratified_group_split(y, groups, random_state=5)
    b = stratified_group_split(y, groups, random_state=5)
    np.testing.assert_array_equal(a[1], b[1])
    assert a[1].size / y.size == pytest.approx(0.3, abs=0.02)
    assert y[a[1]].mean() == pytest.approx(y.mean(), abs=0.03)


def test_repeated_kfold_covers_every_lesion_once_per_repeat(rng: np.random.Generator) -> None:
    groups = np.repeat(np.arange(50), 2).astype(str)
    y = rng.integers(0, 2, 100)
    folds = repeated_stratified_group_kfold(y, groups, n_splits=5, n_repeats=3, random_state=1)
    assert len(folds) == 15
    for r in range(3):
        tests = np.concatenate([te for _, te in folds[5 * r : 5 * r + 5]])
        np.testing.assert_array_equal(np.sort(tests), np.arange(100))


def test_external_split_gives_one_test_set_per_centre() -> None:
    centers = np.array(["c1", "c1", "c2", "c3", "c2", "c1"])
    train, tests = external_split(centers, ["c2", "c3"], groups=np.arange(6))
    np.testing.assert_array_equal(train, [0, 1, 5])
    assert {k: v.tolist() for k, v in tests.items()} == {"external:c2": [2, 4], "external:c3": [3]}
    with pytest.raises(ConfigError, match="not usable"):
        external_split(centers, ["c9"])


def test_external_split_patient_in_two_centres_raises() -> None:
    with pytest.raises(FitError, match="both training and test"):
        external_split(["c1", "c2"], ["c2"], groups=["p1", "p1"])


def test_split_from_column_values_and_errors() -> None:
    split = split_from_column(["train", "test", "external:b", "train", "internal"], groups=list("abcde"))
    np.testing.assert_array_equal(split.train, [0, 3])
    assert sorted(split.tests) == ["external:b", "internal", "test"]
    with pytest.raises(ConfigError, match="accepted"):
        split_from_column(["train", "validation"])
    with pytest.raises(FitError, match="both training and test"):
        split_from_column(["train", "test"], groups=["p", "p"])


def test_assert_patient_disjoint_raises_with_example() -> None:
    with pytest.raises(FitError, match="p7"):
        assert_patient_disjoint(np.array([0]), np.array([1]), ["p7", "p7"])


def test_cross_val_predict_grouped_every_lesion_once_per_repeat(rng: np.random.Generator) -> None:
    X = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    y = (X["a"] + rng.normal(size=80) > 0).astype(int).to_numpy()
    groups = np.repeat(np.arange(40), 2)
    pipe = build_pipeline(numeric=["a", "b", "c"], model="lr")
    oof = cross_val_predict_grouped(pipe, X, y, groups, n_splits=4, n_repeats=2, random_state=0)
    assert len(oof) == 160
    assert (oof.groupby("repeat")["index"].nunique() == 80).all()
    nested = cross_val_predict_grouped(pipe, X, y, groups, n_splits=4, grid={"model__C": [0.1, 1.0]}, inner_cv=2)
    assert nested["score"].between(0, 1).all()
