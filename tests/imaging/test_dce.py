"""DCE kinetics: EER, SER, TIC type and initial-phase class recovered from simulated curves."""

from __future__ import annotations

import numpy as np
import pytest

from her2mri.exceptions import ImagingError
from her2mri.imaging import DceSettings, dce_kinetics, initial_enhancement_class, tic_type

TIMES = np.array([0.0, 60.0, 120.0, 180.0, 240.0, 300.0, 360.0, 420.0])


def _series(eer: float, late: float, shape: tuple[int, ...] = (2, 4, 4), pre: float = 200.0) -> np.ndarray:
    curve = []
    for t in TIMES:
        rel = 0.0 if t <= 0 else min(t, 120.0) / 120.0
        value = pre * (1 + eer * rel)
        if t > 120:
            value *= 1 + late * (t - 120.0) / 300.0
        curve.append(value)
    return np.asarray(curve)[:, None, None, None] * np.ones((1, *shape))


@pytest.mark.parametrize(
    ("eer", "late", "expected_tic", "expected_initial"),
    [(0.4, 0.25, "persistent", "slow"), (0.8, 0.0, "plateau", "medium"), (1.5, -0.25, "washout", "fast")],
)
def test_dce_kinetics_simulated_curve_recovers_eer_and_type(
    eer: float, late: float, expected_tic: str, expected_initial: str
) -> None:
    series = _series(eer, late)
    mask = np.ones(series.shape[1:], dtype=bool)
    result = dce_kinetics(series, TIMES, mask)
    assert result.eer == pytest.approx(eer, rel=1e-9)
    assert result.tic_type == expected_tic
    assert result.initial_enhancement == expected_initial
    s0, s1, s2 = 200.0, 200.0 * (1 + eer), 200.0 * (1 + eer) * (1 + late)
    assert result.ser == pytest.approx((s1 - s0) / (s2 - s0))
    assert "relative_change" in result.convention
    assert set(result.features()) == {"eer", "ser", "tic_type", "initial_enhancement"}


def test_dce_kinetics_noisy_curve_recovers_eer(rng: np.random.Generator) -> None:
    series = _series(1.2, -0.2, shape=(4, 10, 10)) + rng.normal(0, 4.0, (TIMES.size, 4, 10, 10))
    mask = np.ones((4, 10, 10), dtype=bool)
    result = dce_kinetics(series, TIMES, mask, DceSettings(roi="mask"))
    assert result.eer == pytest.approx(1.2, abs=0.02)
    assert result.tic_type == "washout"


def test_dce_kinetics_most_enhancing_roi_selects_hotspot() -> None:
    series = _series(0.5, 0.0, shape=(1, 10, 10))
    series[:, 0, 0, :5] = _series(2.0, -0.3, shape=(1, 1, 5))[:, 0, 0, :]
    mask = np.ones((1, 10, 10), dtype=bool)
    result = dce_kinetics(series, TIMES, mask, DceSettings(hotspot_fraction=0.05))
    assert result.n == 5
    assert result.eer == pytest.approx(2.0)
    assert result.tic_type == "washout"
    whole = dce_kinetics(series, TIMES, mask, DceSettings(roi="mask"))
    assert whole.eer < 1.0


def test_dce_kinetics_ser_rule_and_at_2min_mode() -> None:
    series = _series(1.0, -0.2)
    mask = np.ones(series.shape[1:], dtype=bool)
    result = dce_kinetics(
        series, TIMES, mask, DceSettings(tic_rule="ser", eer_mode="at_2min", early_time_s=90)
    )
    assert result.eer == pytest.approx(0.75)
    assert result.tic_type == "washout"
    assert result.convention.startswith("ser(0.9, 1.1)")


def test_tic_type_thresholds_are_parameters() -> None:
    assert tic_type(100.0, 108.0) == "plateau"
    assert tic_type(100.0, 108.0, thresholds=(-0.05, 0.05)) == "persistent"
    assert tic_type(100.0, 85.0) == "washout"


def test_initial_enhancement_class_boundaries() -> None:
    assert initial_enhancement_class(0.49) == "slow"
    assert initial_enhancement_class(0.5) == "medium"
    assert initial_enhancement_class(1.0) == "medium"
    assert initial_enhancement_class(1.01) == "fast"


def test_dce_kinetics_one_post_phase_raises() -> None:
    with pytest.raises(ImagingError, match="at least 2"):
        dce_kinetics(np.ones((2, 2, 2)), [0.0, 60.0], np.ones((2, 2), dtype=bool))


def test_dce_kinetics_empty_mask_raises() -> None:
    with pytest.raises(ImagingError, match="empty"):
        dce_kinetics(_series(1.0, 0.0), TIMES, np.zeros((2, 4, 4), dtype=bool))


@pytest.mark.parametrize(("snr", "low", "high"), [(20.0, 0.15, 0.30), (50.0, 0.05, 0.12)])
def test_dce_kinetics_hotspot_roi_biases_eer_upward_on_homogeneous_lesion(
    snr: float, low: float, high: float
) -> None:
    """Documented bias: on a homogeneous lesion (EER 1.0) the hotspot ROI picks positive noise, the mask does not."""
    rng = np.random.default_rng(1)
    hot, whole = [], []
    for _ in range(50):
        series = _series(1.0, 0.0, shape=(4, 10, 10)) + rng.normal(0, 200.0 / snr, (TIMES.size, 4, 10, 10))
        mask = np.ones((4, 10, 10), dtype=bool)
        hot.append(dce_kinetics(series, TIMES, mask).eer)
        whole.append(dce_kinetics(series, TIMES, mask, DceSettings(roi="mask")).eer)
    assert low < np.mean(hot) - 1.0 < high
    assert abs(np.mean(whole) - 1.0) < 0.01


def test_dce_kinetics_roi_record_names_roi_and_voxels() -> None:
    series = _series(1.0, 0.0, shape=(1, 10, 10))
    mask = np.ones((1, 10, 10), dtype=bool)
    assert dce_kinetics(series, TIMES, mask).roi_record() == {"dce_roi": "most_enhancing", "dce_roi_voxels": 10}
    whole = dce_kinetics(series, TIMES, mask, DceSettings(roi="mask")).roi_record()
    assert whole == {"dce_roi": "mask", "dce_roi_voxels": 100}
