"""Fixtures of the imaging tests: tiny phantom cases and light extraction settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from her2mri.imaging import ExtractionSettings, make_phantom_cases, settings_from_dict

DATA = Path(__file__).resolve().parents[1] / "data"

LIGHT = {
    "sequences": ["t2", "dwi_b800", "dce3"],
    "preprocess": {"n4_bias_correction": False},
    "radiomics": {"image_types": ["original"], "feature_classes": {"firstorder": None, "glcm": None}},
}


@pytest.fixture(scope="session")
def light_settings() -> ExtractionSettings:
    return settings_from_dict(LIGHT)


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("phantoms")
    make_phantom_cases(4, out, seed=7)
    return out


@pytest.fixture(scope="session")
def light_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import yaml

    path = tmp_path_factory.mktemp("settings") / "light.yaml"
    path.write_text(yaml.safe_dump(LIGHT), encoding="utf-8")
    return path
