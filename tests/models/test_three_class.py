"""The one three-class call rule: hierarchy thresholds (default) or arg-max, shared by report, predict and web."""

from __future__ import annotations

import numpy as np
import pytest

from her2mri.exceptions import ConfigError
from her2mri.models.tasks import compose_three_class
from her2mri.models.three_class import class_recall, three_class_call


def test_thresholds_walk_the_hierarchy() -> None:
    p_pos = np.array([0.9, 0.2, 0.2, 0.35])
    p_low = np.array([0.1, 0.7, 0.3, 0.9])
    calls = three_class_call(p_pos, p_low, "positive_first", thresholds=(0.3, 0.5))
    assert calls.tolist() == ["positive", "low", "zero", "positive"]
    calls = three_class_call(p_pos, p_low, "zero_first", thresholds=(0.3, 0.5))
    assert calls.tolist() == ["zero", "low", "positive", "zero"]


def test_argmax_is_the_largest_composed_probability_and_can_differ_from_thresholds() -> None:
    rng = np.random.default_rng(0)
    p1, p2 = rng.random(200), rng.random(200)
    P = compose_three_class(p1, p2, "positive_first")
    argmax = three_class_call(p1, p2, "positive_first", rule="argmax")
    assert argmax.tolist() == np.array(["zero", "low", "positive"])[np.argmax(P, axis=1)].tolist()
    # a threshold of 0.3 on P(positive) calls positive where the arg-max (needs > ~0.5 of the mass) does not
    by_threshold = three_class_call(p1, p2, "positive_first", thresholds=(0.3, 0.5))
    assert np.sum(by_threshold == "positive") > np.sum(argmax == "positive")


def test_recall_per_class() -> None:
    recall = class_recall(["zero", "zero", "low", "positive"], ["zero", "low", "low", "low"])
    assert recall["zero"] == {"n": 2, "correct": 1, "recall": 0.5}
    assert recall["positive"]["recall"] == 0.0
    assert class_recall(["low"], ["low"])["zero"]["recall"] is None


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"rule": "vote"}, "accepted: thresholds, argmax"),
    ({"thresholds": None}, "needs the two tasks' thresholds"),
    ({"thresholds": (0.5, float("nan"))}, "two finite probabilities"),
])
def test_bad_arguments_are_config_errors(kwargs, match) -> None:
    with pytest.raises(ConfigError, match=match):
        three_class_call([0.1], [0.2], "positive_first", **kwargs)
    with pytest.raises(ConfigError, match="hierarchy"):
        three_class_call([0.1], [0.2], "low_first", thresholds=(0.5, 0.5))
