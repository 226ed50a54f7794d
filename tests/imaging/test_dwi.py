"""ADC and DKI models: simulate-and-recover."""

from __future__ import annotations

import numpy as np
import pytest

from her2mri.exceptions import ImagingError
from her2mri.imaging import AdcModel, KurtosisModel

B_DKI = np.array([0.0, 800.0, 1400.0, 2000.0])


def _dki_signal(s0: np.ndarray, d: np.ndarray, k: np.ndarray, b: np.ndarray) -> np.ndarray:
    bb = b / 1000.0
    return s0[..., None] * np.exp(-bb * d[..., None] + bb**2 * d[..., None] ** 2 * k[..., None] / 6.0)


def test_adc_model_two_b_values_closed_form_recovers_adc(rng: np.random.Generator) -> None:
    adc = rng.uniform(0.5, 2.5, (4, 5, 6))
    signal = 1000.0 * np.exp(-np.stack([0.0 * adc, 0.8 * adc], axis=-1))
    fit = AdcModel([0, 800]).fit(signal)
    assert fit.method == "closed_form"
    np.testing.assert_allclose(fit.adc, adc, rtol=1e-10)
    np.testing.assert_allclose(fit.s0, 1000.0, rtol=1e-10)


def test_adc_model_many_b_values_wls_recovers_adc_with_noise(rng: np.random.Generator) -> None:
    n = 3000
    adc = rng.uniform(0.6, 2.0, n)
    b = np.array([0.0, 400.0, 800.0, 1000.0])
    signal = 1000.0 * np.exp(-(b / 1000.0) * adc[:, None]) + rng.normal(0, 5.0, (n, b.size))
    fit = AdcModel(b).fit(signal)
    assert fit.method == "wls"
    assert np.median(np.abs(fit.adc - adc)) < 0.02
    np.testing.assert_allclose(
        fit.predict(b)[:3], fit.s0[:3, None] * np.exp(-(b / 1000.0) * fit.adc[:3, None])
    )


def test_adc_model_outside_mask_is_nan() -> None:
    signal = np.full((2, 2, 2), 100.0)
    signal[..., 1] = 50.0
    mask = np.array([[True, False], [False, True]])
    fit = AdcModel([0, 1000]).fit(signal, mask)
    assert np.isnan(fit.adc[0, 1])
    assert np.isfinite(fit.adc[0, 0])
    np.testing.assert_allclose(fit.adc[0, 0], np.log(2.0))


def test_adc_model_nonpositive_signal_gives_nan() -> None:
    fit = AdcModel([0, 800]).fit(np.array([[100.0, 0.0], [100.0, 50.0]]))
    assert np.isnan(fit.adc[0])
    assert np.isfinite(fit.adc[1])


def test_adc_model_single_b_value_raises() -> None:
    with pytest.raises(ImagingError, match="at least 2 distinct b-values"):
        AdcModel([800, 800])


def test_kurtosis_model_noiseless_signal_recovers_d_and_k(rng: np.random.Generator) -> None:
    n = 2000
    d = rng.uniform(0.6, 1.6, n)
    k = rng.uniform(0.3, 0.9, n)
    s0 = rng.uniform(500, 1500, n)
    fit = KurtosisModel(B_DKI).fit(_dki_signal(s0, d, k, B_DKI))
    np.testing.assert_allclose(fit.d_app, d, atol=1e-6)
    np.testing.assert_allclose(fit.k_app, k, atol=1e-6)
    np.testing.assert_allclose(fit.s0, s0, rtol=1e-6)


def test_kurtosis_model_noisy_signal_recovers_d_and_k_within_tolerance(rng: np.random.Generator) -> None:
    n = 4000
    d = np.full(n, 1.1)
    k = np.full(n, 0.8)
    s0 = np.full(n, 1000.0)
    signal = _dki_signal(s0, d, k, B_DKI) + rng.normal(0, 10.0, (n, B_DKI.size))
    fit = KurtosisModel(B_DKI).fit(signal)
    assert abs(np.median(fit.d_app) - 1.1) < 0.03
    assert abs(np.median(fit.k_app) - 0.8) < 0.06
    linear = KurtosisModel(B_DKI, method="linear").fit(signal)
    assert abs(np.median(linear.d_app) - 1.1) < 0.05


def test_kurtosis_model_respects_physical_constraints(rng: np.random.Generator) -> None:
    n = 500
    signal = rng.uniform(50, 1000, (n, B_DKI.size))
    signal[:, 0] = 1000.0
    fit = KurtosisModel(B_DKI).fit(signal)
    ok = np.isfinite(fit.d_app)
    assert ok.all()
    assert np.all(fit.d_app > 0)
    assert np.all(fit.k_app >= 0)
    assert np.all(fit.k_app <= 3.0 / (2.0 * fit.d_app) + 1e-9)


def test_kurtosis_model_two_b_values_raises() -> None:
    with pytest.raises(ImagingError, match="at least 3 distinct b-values"):
        KurtosisModel([0, 800])


def test_kurtosis_model_signal_shape_mismatch_raises() -> None:
    with pytest.raises(ImagingError, match="last axis"):
        KurtosisModel(B_DKI).fit(np.ones((3, 3)))


def test_kurtosis_model_k_bounds_bias_mean_not_median_on_mono_exponential_signal() -> None:
    """Documented: K_app >= 0 puts about half of a K = 0 lesion's voxels at 0, so the mean is biased upward."""
    rng = np.random.default_rng(2)
    n = 2000
    signal = _dki_signal(np.full(n, 1000.0), np.full(n, 1.0), np.zeros(n), B_DKI)
    fit = KurtosisModel(B_DKI).fit(signal + rng.normal(0, 1000.0 / 20.0, (n, B_DKI.size)))
    assert np.nanmin(fit.k_app) == 0.0
    assert 0.4 < np.mean(fit.k_app == 0.0) < 0.6
    assert 0.15 < np.nanmean(fit.k_app) < 0.35
    assert np.nanmedian(fit.k_app) < 0.02
