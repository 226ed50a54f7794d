"""PyRadiomics wrapper: breast1 baseline parity and settings translation."""

from __future__ import annotations

import ast
import csv
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from her2mri.exceptions import ConfigError, ImagingError
from her2mri.imaging import RadiomicsSettings, extract_radiomics, load_mask, load_settings, load_volume
from her2mri.imaging.settings import settings_from_dict

DATA = Path(__file__).resolve().parents[1] / "data"
CLASSES = ("firstorder", "shape", "glcm", "glrlm", "glszm", "gldm", "ngtdm")


def _baseline(feature_class: str) -> tuple[dict[str, str], dict[str, str]]:
    with open(DATA / "baseline" / f"baseline_{feature_class}.csv", newline="") as handle:
        rows = {row[0]: row for row in csv.reader(handle)}
    column = rows["featureName"].index("breast1")
    return {k: v[column] for k, v in rows.items()}, rows


@pytest.mark.parametrize("feature_class", CLASSES)
def test_extract_radiomics_breast1_matches_pyradiomics_baseline(feature_class: str) -> None:
    """Original-image features of PyRadiomics' breast1 case equal its shipped baseline (rtol 1e-6).

    Settings are read from the baseline's ``diagnostics_Configuration_Settings`` row and go through our
    snake_case translation both ways. No feature is excluded.
    """
    values, _ = _baseline(feature_class)
    settings = RadiomicsSettings.from_pyradiomics(
        ast.literal_eval(values["diagnostics_Configuration_Settings"]),
        image_types=ast.literal_eval(values["diagnostics_Configuration_EnabledImageTypes"]),
        feature_classes={feature_class: None},
    )
    image = load_volume(DATA / "breast1_image.nrrd")
    mask = load_mask(DATA / "breast1_label.nrrd")
    result = extract_radiomics(image, mask, settings, sequence="breast1")
    expected = {k: float(v) for k, v in values.items() if k.startswith("original_")}
    assert expected
    got = {k.split("__", 1)[1]: v for k, v in result.features.items()}
    assert set(expected) <= set(got)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-6, err_msg=name)
    assert all(k.startswith("diagnostics_") for k in result.diagnostics)
    assert not any(k.startswith("breast1__diagnostics") for k in result.features)


def test_radiomics_settings_default_follow_seed_001() -> None:
    params = load_settings().radiomics.to_pyradiomics()
    assert params["setting"]["resampledPixelSpacing"] == [1.0, 1.0, 1.0]
    assert params["imageType"]["LoG"]["sigma"] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert "Wavelet" in params["imageType"]
    assert set(params["featureClass"]) == set(CLASSES)
    assert params["setting"]["binWidth"] == 25.0


def test_radiomics_settings_unknown_key_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="radiomics.binWidth"):
        settings_from_dict({"radiomics": {"binWidth": 10}})


def test_radiomics_settings_from_pyradiomics_unknown_setting_raises() -> None:
    with pytest.raises(ImagingError, match="not supported"):
        RadiomicsSettings.from_pyradiomics({"fancySetting": 1})


def test_radiomics_settings_bin_count_replaces_bin_width() -> None:
    params = RadiomicsSettings(bin_count=32).to_pyradiomics()["setting"]
    assert params["binCount"] == 32
    assert "binWidth" not in params


# PyRadiomics' own settings for the parity tests below, written in its names (resampling on, as seed 001).
PYRADIOMICS_SETTING = {
    "binWidth": 25,
    "resampledPixelSpacing": [1.0, 1.0, 1.0],
    "interpolator": "sitkBSpline",
    "padDistance": 5,
    "label": 1,
}
PYRADIOMICS_IMAGE_TYPES = {"Original": {}, "LoG": {"sigma": [1.0, 2.0, 3.0, 4.0, 5.0]}, "Wavelet": {"wavelet": "coif1"}}


def _pyradiomics(image, mask) -> dict[str, float]:
    """Features from PyRadiomics' own extractor (all classes, original + LoG + wavelet)."""
    from radiomics import featureextractor

    extractor = featureextractor.RadiomicsFeatureExtractor(**PYRADIOMICS_SETTING)
    extractor.disableAllImageTypes()
    for kind, params in PYRADIOMICS_IMAGE_TYPES.items():
        extractor.enableImageTypeByName(kind, customArgs=params)
    extractor.enableAllFeatures()
    raw = extractor.execute(image, mask)
    return {k: float(v) for k, v in raw.items() if not k.startswith("diagnostics_")}


def _assert_same(got: dict[str, float], expected: dict[str, float]) -> None:
    assert len(expected) > 1000
    assert set(got) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-6, atol=1e-12, err_msg=name)


def test_pixel_type_as_stored_extraction_equals_pyradiomics_with_resampling(tmp_path: Path) -> None:
    """pixel_type: as_stored reproduces PyRadiomics run on the int16 files (1 mm B-spline resampling on)."""
    from her2mri.imaging import extract_features, settings_from_dict

    manifest = tmp_path / "manifest.csv"
    row = f"B1,B1-L1,t2,{DATA / 'breast1_image.nrrd'},{DATA / 'breast1_label.nrrd'},r1\n"
    manifest.write_text("patient_id,lesion_id,sequence,image,mask,reader\n" + row, encoding="utf-8")
    settings = settings_from_dict(
        {
            "sequences": ["t2"],
            "quantitative": False,
            "preprocess": {"n4_bias_correction": False, "normalization": "none"},
            "radiomics": {"pixel_type": "as_stored"},
        }
    )
    assert settings.radiomics.resampled_spacing_mm == (1.0, 1.0, 1.0)
    result = extract_features(manifest, settings=settings)
    assert result.failures.empty
    row_values = result.features.iloc[0]
    got = {c.split("__", 1)[1]: float(row_values[c]) for c in result.features.columns if "__" in c}
    expected = _pyradiomics(str(DATA / "breast1_image.nrrd"), str(DATA / "breast1_label.nrrd"))
    _assert_same(got, expected)


def test_pixel_type_float64_default_equals_pyradiomics_on_float_image_differs_from_int16() -> None:
    """The default resamples in float64: PyRadiomics gives the same on the float64 image, not on the int16 file."""
    assert load_settings().radiomics.pixel_type == "float64"
    image = load_volume(DATA / "breast1_image.nrrd")
    assert image.GetPixelID() == sitk.sitkFloat64
    assert load_volume(DATA / "breast1_image.nrrd", dtype="as_stored").GetPixelID() == sitk.sitkInt16
    mask = load_mask(DATA / "breast1_label.nrrd")
    ours = extract_radiomics(image, mask, RadiomicsSettings(), sequence="b").features
    got = {k.split("__", 1)[1]: v for k, v in ours.items()}
    _assert_same(got, _pyradiomics(image, mask))
    on_file = _pyradiomics(str(DATA / "breast1_image.nrrd"), str(DATA / "breast1_label.nrrd"))
    mean = got["original_firstorder_Mean"] / on_file["original_firstorder_Mean"] - 1
    assert 0 < abs(mean) < 0.01  # integer rounding after resampling shifts the mean slightly


def test_load_volume_unknown_pixel_type_raises() -> None:
    with pytest.raises(ImagingError, match="dtype='int8'.*accepted: float64, float32, as_stored"):
        load_volume(DATA / "breast1_image.nrrd", dtype="int8")
