from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from her2mri.exceptions import TaskError
from her2mri.models.tasks import TASKS, compose_three_class, get_task, three_class_metrics


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "her2_category": ["zero", "low", "positive", "low", np.nan, "zero", "positive", "low"],
            "her2_ihc": ["0", "1+", "3+", "2+", np.nan, "0", "2+", "2+"],
            "her2_ish_final": [np.nan, np.nan, np.nan, "negative", np.nan, np.nan, "positive", np.nan],
        }
    )


def test_tasks_registry_has_contract_names() -> None:
    assert set(TASKS) == {"positive_vs_negative", "low_vs_zero", "zero_vs_nonzero", "low_vs_positive", "fish_ihc2"}


@pytest.mark.parametrize(
    ("name", "mask", "y"),
    [
        ("positive_vs_negative", [1, 1, 1, 1, 0, 1, 1, 1], [0, 0, 1, 0, 0, 1, 0]),
        ("low_vs_zero", [1, 1, 0, 1, 0, 1, 0, 1], [0, 1, 1, 0, 1]),
        ("zero_vs_nonzero", [1, 1, 1, 1, 0, 1, 1, 1], [1, 0, 0, 0, 1, 0, 0]),
        ("low_vs_positive", [0, 1, 1, 1, 0, 0, 1, 1], [1, 0, 1, 0, 1]),
        ("fish_ihc2", [0, 0, 0, 1, 0, 0, 1, 0], [0, 1]),
    ],
)
def test_task_labels_three_level_cohort_selects_and_labels(name: str, mask: list[int], y: list[int]) -> None:
    got_mask, got_y = TASKS[name].labels(_frame())
    np.testing.assert_array_equal(got_mask, np.array(mask, dtype=bool))
    np.testing.assert_array_equal(got_y, y)


@pytest.mark.parametrize("name", ["low_vs_zero", "zero_vs_nonzero", "low_vs_positive", "fish_ihc2"])
def test_task_labels_binary_only_cohort_raises(name: str) -> None:
    frame = pd.DataFrame({"her2_category": ["negative", "positive", "negative"], "her2_ihc": [np.nan] * 3,
                          "her2_ish_final": [np.nan] * 3})
    with pytest.raises(TaskError, match=f"Task '{name}'.*binary-only"):
        TASKS[name].labels(frame)


def test_task_labels_binary_only_cohort_supports_positive_vs_negative() -> None:
    frame = pd.DataFrame({"her2_category": ["negative", "positive", "negative"]})
    mask, y = TASKS["positive_vs_negative"].labels(frame)
    assert mask.all()
    np.testing.assert_array_equal(y, [0, 1, 0])


def test_task_labels_single_class_raises() -> None:
    frame = pd.DataFrame({"her2_category": ["zero", "zero"]})
    with pytest.raises(TaskError, match="both classes"):
        TASKS["low_vs_zero"].labels(frame)


def test_task_labels_missing_column_raises() -> None:
    with pytest.raises(TaskError, match="her2_ish_final"):
        TASKS["fish_ihc2"].labels(pd.DataFrame({"her2_category": ["low"], "her2_ihc": ["2+"]}))


def test_get_task_unknown_name_raises() -> None:
    with pytest.raises(TaskError, match="accepted"):
        get_task("zero_vs_low")


@pytest.mark.parametrize("hierarchy", ["zero_first", "positive_first"])
def test_compose_three_class_rows_sum_to_one(hierarchy: str, rng: np.random.Generator) -> None:
    p1, p2 = rng.random(50), rng.random(50)
    probs = compose_three_class(p1, p2, hierarchy)
    assert probs.shape == (50, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert (probs >= 0).all()


def test_compose_three_class_zero_first_known_values() -> None:
    probs = compose_three_class([0.2], [0.75], "zero_first")
    np.testing.assert_allclose(probs, [[0.2, 0.6, 0.2]])
    probs = compose_three_class(np.array([[0.5, 0.5]]), [0.25], "positive_first")
    np.testing.assert_allclose(probs, [[0.375, 0.125, 0.5]])


def test_compose_three_class_rejects_bad_input() -> None:
    with pytest.raises(TaskError, match="hierarchy"):
        compose_three_class([0.1], [0.2], "low_first")  # type: ignore[arg-type]
    with pytest.raises(TaskError, match=r"\[0, 1\]"):
        compose_three_class([1.5], [0.2], "zero_first")


def test_three_class_metrics_perfect_and_counts() -> None:
    y3 = ["zero", "low", "positive", "low"]
    P = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.2, 0.5, 0.3]])
    res = three_class_metrics(y3, P)
    assert res.macro_auc == pytest.approx(1.0)
    assert res.ovr_auc == {"zero": 1.0, "low": 1.0, "positive": 1.0}
    np.testing.assert_array_equal(res.confusion_matrix, np.diag([1, 2, 1]))
    assert res.to_dict()["confusion_matrix"] == [[1, 0, 0], [0, 2, 0], [0, 0, 1]]
    assert res.to_frame().shape == (3, 3)
