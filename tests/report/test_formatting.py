"""Number formatting rules of the report."""

from __future__ import annotations

import pytest

from her2mri.report.formatting import (
    fmt_ci,
    fmt_count_pct,
    fmt_estimate,
    fmt_pct,
    fmt_pvalue,
    fmt_value,
    label_set,
    label_variable,
)


@pytest.mark.parametrize(("p", "text"), [(0.0004, "<0.001"), (0.001, "0.001"), (0.0426, "0.043"), (0.9996, ">0.999"),
                                         (None, "—"), (float("nan"), "—")])
def test_fmt_pvalue_rules(p: float | None, text: str) -> None:
    assert fmt_pvalue(p) == text


def test_fmt_ci_uses_en_dash_and_two_decimals() -> None:
    assert fmt_ci(0.8123, 0.756, 0.864) == "0.81 (0.76–0.86)"
    assert fmt_ci(0.8123, None, 0.9) == "0.81"
    assert fmt_estimate({"estimate": 0.7, "ci_low": 0.6, "ci_high": 0.8}) == "0.70 (0.60–0.80)"
    assert fmt_estimate(None) == "—"


def test_fmt_percentages() -> None:
    assert fmt_pct(0.4062) == "40.6%"
    assert fmt_pct(40.62, is_fraction=False) == "40.6%"
    assert fmt_count_pct(52, 128) == "52 (40.6%)"


def test_fmt_value_handles_missing_and_nested() -> None:
    assert fmt_value(float("nan")) == "—"
    assert fmt_value(True) == "yes"
    assert fmt_value({"estimate": 0.5, "ci_low": 0.4, "ci_high": 0.6}) == "0.50 (0.40–0.60)"


def test_labels_read_like_a_paper() -> None:
    assert label_set("external:center2") == "External validation set (center2)"
    assert label_set("train") == "Training set"
    assert label_variable("tumor_size_mm") == "Tumor size (mm)"
    assert label_variable("adc_mean") == "ADC mean"
    assert label_variable("er_status") == "ER status"
    assert label_variable("lesion_number=multiple") == "Lesion number: multiple"
    assert label_variable("mass_shape[not_applicable]") == "Mass shape: not applicable"
