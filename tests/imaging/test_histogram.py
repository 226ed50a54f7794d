"""ROI histogram metrics and the minimum-ADC ROI."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from her2mri.exceptions import ImagingError
from her2mri.imaging import adc_minimum, roi_histogram


def test_roi_histogram_metrics_match_definitions(rng: np.random.Generator) -> None:
    values = rng.gamma(4.0, 0.25, (6, 7, 8))
    mask = values > 0.5
    result = roi_histogram(values, mask, bin_width=0.1)
    inside = values[mask]
    assert result.mean == pytest.approx(inside.mean())
    assert result.median == pytest.approx(np.median(inside))
    assert result.p5 == pytest.approx(np.percentile(inside, 5))
    assert result.p95 == pytest.approx(np.percentile(inside, 95))
    assert result.skewness == pytest.approx(stats.skew(inside))
    assert result.kurtosis == pytest.approx(stats.kurtosis(inside, fisher=False))
    _, counts = np.unique(np.floor(inside / 0.1), return_counts=True)
    p = counts / counts.sum()
    assert result.entropy == pytest.approx(-(p * np.log2(p)).sum())
    assert set(result.to_dict("adc")) == {
        f"adc_{m}" for m in ("mean", "median", "p5", "p95", "skewness", "kurtosis", "entropy")
    }


def test_roi_histogram_ignores_nan_and_rejects_empty() -> None:
    values = np.array([1.0, np.nan, 3.0])
    assert roi_histogram(values).mean == pytest.approx(2.0)
    with pytest.raises(ImagingError, match="no finite value"):
        roi_histogram(np.array([np.nan]))


def test_adc_minimum_finds_darkest_small_roi() -> None:
    adc = np.full((1, 12, 12), 1.5)
    adc[0, 2:5, 6:9] = 0.6
    mask = np.zeros_like(adc, dtype=bool)
    mask[0, 1:11, 1:11] = True
    result = adc_minimum(adc, mask)
    assert result.estimate == pytest.approx(0.6)
    assert result.method == "min_mean_3x3_roi"


def test_adc_minimum_tiny_lesion_falls_back_to_p5() -> None:
    adc = np.array([[[1.0, 2.0, 3.0]]])
    mask = np.array([[[True, False, True]]])
    result = adc_minimum(adc, mask)
    assert result.method == "p5_fallback"
    assert result.estimate == pytest.approx(np.percentile([1.0, 3.0], 5))
