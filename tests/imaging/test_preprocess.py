"""Preprocessing functions."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from her2mri.exceptions import ImagingError
from her2mri.imaging import (
    PreprocessSettings,
    n4_bias_correction,
    normalize_rescale,
    normalize_zscore,
    preprocess_image,
    resample_isotropic,
)


def _image(array: np.ndarray, spacing=(1.0, 1.0, 3.0)) -> sitk.Image:
    image = sitk.GetImageFromArray(array.astype(np.float64))
    image.SetSpacing(spacing)
    return image


def test_n4_bias_correction_reduces_smooth_bias(rng: np.random.Generator) -> None:
    z, y, x = np.meshgrid(np.arange(8), np.arange(32), np.arange(32), indexing="ij")
    truth = 500.0 + rng.normal(0, 5, (8, 32, 32))
    bias = 1.0 + 0.4 * x / 31.0
    image = _image(truth * bias)
    mask = _image(np.ones(truth.shape))
    corrected = sitk.GetArrayFromImage(n4_bias_correction(image, mask=mask, iterations=(20, 20)))
    cv_before = (truth * bias).std() / (truth * bias).mean()
    cv_after = corrected.std() / corrected.mean()
    assert cv_after < cv_before / 3


def test_normalize_zscore_within_mask() -> None:
    array = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    mask = _image((array >= 10).astype(np.uint8))
    out = sitk.GetArrayFromImage(normalize_zscore(_image(array), mask))
    inside = out[array >= 10]
    assert inside.mean() == pytest.approx(0.0, abs=1e-12)
    assert inside.std() == pytest.approx(1.0)


def test_normalize_zscore_constant_region_raises() -> None:
    with pytest.raises(ImagingError, match="Cannot z-score"):
        normalize_zscore(_image(np.ones((2, 2, 2))), _image(np.ones((2, 2, 2))))


def test_normalize_rescale_to_seed_001_range() -> None:
    out = sitk.GetArrayFromImage(normalize_rescale(_image(np.linspace(-5, 5, 24).reshape(2, 3, 4))))
    assert out.min() == pytest.approx(0.0)
    assert out.max() == pytest.approx(2000.0)


def test_resample_isotropic_image_bspline_mask_nearest() -> None:
    mask_array = np.zeros((4, 10, 10), dtype=np.uint8)
    mask_array[1:3, 3:7, 3:7] = 1
    mask = resample_isotropic(_image(mask_array), 1.0, is_mask=True)
    assert mask.GetSpacing() == (1.0, 1.0, 1.0)
    assert mask.GetSize() == (10, 10, 12)
    assert set(np.unique(sitk.GetArrayFromImage(mask))) <= {0.0, 1.0}


def test_preprocess_image_records_steps_in_order() -> None:
    image = _image(np.random.default_rng(0).normal(100, 10, (4, 16, 16)) + 200)
    mask = _image(np.ones((4, 16, 16)))
    settings = PreprocessSettings(n4_bias_correction=False, normalization="zscore", resample_spacing_mm=2.0)
    out, out_mask, steps = preprocess_image(image, mask, settings)
    assert [s.name for s in steps] == ["normalize_zscore", "resample_isotropic"]
    assert out.GetSpacing() == (2.0, 2.0, 2.0)
    assert out_mask.GetSize() == out.GetSize()
