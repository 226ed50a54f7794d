"""Unit plausibility: whole columns given in the wrong unit are errors naming the expected unit."""

from __future__ import annotations

import pandas as pd
import pytest

from her2mri.cohort import validate_cohort
from her2mri.exceptions import CohortError, UnitError


def frame(**columns: object) -> pd.DataFrame:
    out = pd.DataFrame({"patient_id": ["a", "b", "c"], "her2_ihc": ["0", "1+", "3+"]})
    for name, values in columns.items():
        out[name] = values
    return out


@pytest.mark.parametrize("column", ["adc_min", "adc_mean", "adc_median", "adc_p5", "d_app_mean"])
def test_validate_cohort_rejects_adc_in_mm2_per_s(column) -> None:
    with pytest.raises(UnitError, match=rf"Column '{column}': values look like mm²/s .*expected unit is ×10⁻³ mm²/s"):
        validate_cohort(frame(**{column: [0.0009, 0.0011, 0.0012]}))


def test_validate_cohort_rejects_adc_in_um2_per_s() -> None:
    with pytest.raises(UnitError, match=r"×10⁻⁶ mm²/s"):
        validate_cohort(frame(adc_min=[900, 1100, 1200]))


def test_validate_cohort_accepts_adc_in_contract_unit_and_unitless_kurtosis() -> None:
    cohort = validate_cohort(frame(adc_min=[0.9, 1.1, 1.2], adc_kurtosis=[0.001, 0.002, 0.003],
                                   k_app_mean=[0.8, 0.9, 1.0]))
    assert cohort.frame["adc_min"].tolist() == [0.9, 1.1, 1.2]


@pytest.mark.parametrize("column", ["er_percent", "pr_percent", "ki67_percent"])
def test_validate_cohort_rejects_percentages_given_as_fractions(column) -> None:
    with pytest.raises(UnitError, match=rf"Column '{column}': every value is at most 1.*percent \(0–100\)"):
        validate_cohort(frame(**{column: [0.1, 0.45, 0.9]}))


def test_validate_cohort_rejects_eer_given_as_percent() -> None:
    with pytest.raises(UnitError, match=r"Column 'eer': values look like a percentage.*fraction \(0.62 means 62%\)"):
        validate_cohort(frame(eer=[62, 55, 70]))


def test_unit_error_is_a_cohort_error_and_lists_other_problems_too() -> None:
    with pytest.raises(CohortError, match="2 problem") as info:
        validate_cohort(frame(eer=[62, 55, 70], tic_type=["plateau", "bad", "washout"]))
    assert isinstance(info.value, UnitError)
