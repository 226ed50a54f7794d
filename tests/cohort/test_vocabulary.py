"""The vocabulary: one spec per contract column, canonical values, spellings and helpers."""

from __future__ import annotations

import pytest

from her2mri.cohort.vocabulary import (
    COLUMNS,
    NOT_APPLICABLE,
    binary_columns,
    categorical_columns,
    histogram_column_spec,
    is_radiomics_column,
    normalise_token,
    numeric_columns,
    spec_for,
)


def test_columns_specs_are_consistent() -> None:
    for name, spec in COLUMNS.items():
        assert spec.name == name
        assert spec.kind in {"id", "categorical", "binary", "numeric", "date", "truth"}
        assert spec.group in {"identification", "pathology", "birads", "quantitative", "followup", "derived", "truth"}
        if spec.kind == "categorical":
            assert spec.values
            assert set(spec.labels) == set(spec.values)


def test_helpers_split_columns_by_kind() -> None:
    assert "her2_ihc" in categorical_columns()
    assert "her2_category" not in categorical_columns()
    assert "her2_category" in categorical_columns(include_derived=True)
    assert "peritumoral_edema" in binary_columns()
    assert "adc_min" in numeric_columns()
    assert "true_p_low" not in numeric_columns()
    assert COLUMNS["true_p_low"].group == "truth"


def test_structural_descriptors_marked_with_applies_to() -> None:
    assert {n for n, s in COLUMNS.items() if s.applies_to == "mass"} == {
        "mass_shape", "mass_margin", "mass_internal_enhancement"}
    assert {n for n, s in COLUMNS.items() if s.applies_to == "nme"} == {"nme_distribution", "nme_internal_enhancement"}
    assert NOT_APPLICABLE == "not_applicable"


@pytest.mark.parametrize(("raw", "token"), [
    (" 2 + ", "2+"), ("Not Amplified", "not_amplified"), (2.0, "2"), ("3.0", "3"), (True, "true"),
    ("Mass with NME", "mass_with_nme"), ("non-mass", "non_mass"),
])
def test_normalise_token(raw, token) -> None:
    assert normalise_token(raw) == token


def test_histogram_and_radiomics_columns_are_recognised() -> None:
    assert histogram_column_spec("adc_p95").unit == "×10⁻³ mm²/s"
    assert histogram_column_spec("adc_kurtosis").unit is None
    assert histogram_column_spec("k_app_mean").unit is None
    assert spec_for("d_app_median") is not None
    assert is_radiomics_column("dce3__original_glcm_Contrast")
    assert not is_radiomics_column("tumor_size_mm")
