"""PyRadiomics wrapper: breast1 baseline parity and settings translation."""

from __future__ import annotations

import ast
import csv
from pathlib import Path

import numpy as np
import pytest

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
