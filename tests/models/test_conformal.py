"""Class-conditional split conformal prediction: coverage guarantee by simulation, abstention, state."""

from __future__ import annotations

import json

import numpy as np
import pytest

from her2mri.exceptions import FitError, StatisticalWarning
from her2mri.models.conformal import ClassConditionalConformal, coverage_report

CLASSES = ("zero", "low", "positive")


def _simulate(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Three overlapping Gaussian classes; a deliberately over-confident softmax 'model'."""
    y = rng.choice(3, size=n, p=[0.3, 0.5, 0.2])
    centres = np.array([[0.0, 0.0], [1.2, 0.4], [2.0, 1.5]])
    x = centres[y] + rng.normal(size=(n, 2))
    logits = -2.0 * ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True), y


def test_conformal_per_class_coverage_over_200_seeds_meets_guarantee() -> None:
    """Mondrian guarantee: for each class, E[coverage] >= 1 - alpha and <= 1 - alpha + 1/(n_k + 1)."""
    alpha = 0.1
    cover = np.empty((200, 3))
    for seed in range(200):
        rng = np.random.default_rng(seed)
        p_cal, y_cal = _simulate(rng, 300)
        p_test, y_test = _simulate(rng, 1000)
        cp = ClassConditionalConformal(alpha=alpha).fit(p_cal, y_cal)
        cover[seed] = coverage_report(cp.predict_sets(p_test), y_test).coverage
    mean = cover.mean(axis=0)
    assert np.all(mean >= 1 - alpha - 0.005), mean
    # smallest class (~60 calibration cases) may over-cover by at most about 1/(n_k + 1)
    assert np.all(mean <= 1 - alpha + 1 / 50 + 0.01), mean
    # per-seed coverage is random (Beta-distributed given calibration); few seeds fall far below nominal
    assert np.mean(cover < 1 - alpha - 0.1) < 0.05


def test_conformal_threshold_uses_finite_sample_rank() -> None:
    p = np.tile([0.2, 0.5, 0.3], (9, 1))
    y = np.array([1] * 9)
    p[:, 1] = np.linspace(0.1, 0.9, 9)
    p[:, 0] = (1 - p[:, 1]) / 2
    p[:, 2] = (1 - p[:, 1]) / 2
    with pytest.warns(StatisticalWarning, match="calibration cases"):
        cp = ClassConditionalConformal(alpha=0.2).fit(p, y)
    # n=9, ceil(10 * 0.8) = 8 -> 8th smallest of 1 - p_low
    assert cp.thresholds_[1] == pytest.approx(np.sort(1 - p[:, 1])[7])
    assert cp.quantile_levels_[1] == pytest.approx(8 / 9)
    assert np.isinf(cp.thresholds_[0])
    assert np.isinf(cp.thresholds_[2])


def test_conformal_abstains_when_set_ambiguous_or_empty() -> None:
    rng = np.random.default_rng(1)
    p_cal, y_cal = _simulate(rng, 600)
    cp = ClassConditionalConformal(alpha=0.1).fit(p_cal, y_cal)
    p_test, _ = _simulate(rng, 400)
    sets = cp.predict_sets(p_test)
    calls = cp.predict_with_abstention(p_test, max_set_size=1)
    size = sets.sum(axis=1)
    assert set(calls[size == 1]) <= set(CLASSES)
    assert np.all(calls[size != 1] == "abstain")
    wider = cp.predict_with_abstention(p_test, max_set_size=3)
    assert np.all(wider[size >= 1] != "abstain")
    assert len(cp.set_labels(p_test[:3])) == 3


def test_conformal_state_round_trips_through_json() -> None:
    rng = np.random.default_rng(2)
    p_cal, y_cal = _simulate(rng, 500)
    cp = ClassConditionalConformal(alpha=0.05).fit(p_cal, np.array(CLASSES, dtype=object)[y_cal])
    state = json.loads(json.dumps(cp.to_dict()))
    back = ClassConditionalConformal.from_dict(state)
    p_test, _ = _simulate(rng, 50)
    assert np.array_equal(back.predict_sets(p_test), cp.predict_sets(p_test))


def test_conformal_rejects_bad_inputs() -> None:
    with pytest.raises(FitError, match="alpha"):
        ClassConditionalConformal(alpha=1.5).fit(np.full((3, 3), 1 / 3), [0, 1, 2])
    with pytest.raises(FitError, match="accepted: zero, low, positive"):
        ClassConditionalConformal().fit(np.full((2, 3), 1 / 3), ["zero", "2+"])
    with pytest.raises(FitError, match="not fitted"):
        ClassConditionalConformal().predict_sets(np.full((2, 3), 1 / 3))
    with pytest.raises(FitError, match="malformed"):
        ClassConditionalConformal.from_dict({"alpha": 0.1})
