"""Mapping files: a Duke-style public table is read without editing it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2mri.cohort import load_cohort, load_mapping, require_three_level, validate_cohort
from her2mri.cohort.mapping import apply_mapping
from her2mri.exceptions import CohortError, ConfigError, TaskError

DATA = Path(__file__).parent / "data"
EXAMPLE = Path(__file__).parents[2] / "examples" / "mappings" / "duke_breast_cancer_mri.yaml"


def test_duke_mapping_reads_binary_her2_table() -> None:
    cohort = load_cohort(DATA / "duke_style.csv", mapping=EXAMPLE)
    frame = cohort.frame
    assert cohort.is_binary_only
    assert frame["her2_category"].tolist() == ["positive", "negative", "negative", "negative", "positive"]
    assert frame["er_status"].tolist() == ["negative", "positive", "positive", "negative", "positive"]
    assert frame["menopausal_status"].tolist()[:2] == ["pre", "post"]
    assert pd.isna(frame["menopausal_status"].iloc[2])
    assert frame["laterality"].tolist()[:2] == ["left", "right"]
    assert (frame["center"] == "duke").all()
    assert "Tumor Characteristics | Mol Subtype" not in frame.columns
    assert cohort.extra_columns == ("Patient Information | Race and Ethnicity",)
    assert frame["molecular_subtype"].tolist()[0] == "her2_enriched"


def test_require_three_level_refuses_binary_only_cohort() -> None:
    cohort = load_cohort(DATA / "duke_style.csv", mapping=EXAMPLE)
    with pytest.raises(TaskError, match=r"'HER2-low vs HER2-zero' needs three HER2 levels"):
        require_three_level(cohort, "HER2-low vs HER2-zero")


def test_require_three_level_accepts_three_level_cohort() -> None:
    cohort = validate_cohort(pd.DataFrame({"patient_id": ["a", "b"], "her2_ihc": ["0", "1+"]}))
    require_three_level(cohort, "HER2-low vs HER2-zero")


def test_mapping_as_dict_recodes_and_scales() -> None:
    frame = pd.DataFrame({"ID": ["a", "b"], "HER2 score": [1, 3], "ADC (mm2/s)": [0.0009, 0.0012]})
    mapping = {"columns": {"ID": "patient_id", "HER2 score": "her2_ihc", "ADC (mm2/s)": "adc_min"},
               "values": {"her2_ihc": {1: "1+", 3: "3+"}}, "scale": {"adc_min": 1000}}
    cohort = validate_cohort(frame, mapping=mapping)
    assert cohort.frame["her2_ihc"].tolist() == ["1+", "3+"]
    assert cohort.frame["adc_min"].round(6).tolist() == [0.9, 1.2]


def test_mapping_naming_absent_column_is_reported() -> None:
    frame = pd.DataFrame({"patient_id": ["a"], "her2_ihc": ["0"]})
    with pytest.raises(CohortError, match=r"names column 'ER' which the table lacks"):
        validate_cohort(frame, mapping={"columns": {"ER": "er_status"}})


def test_mapping_unknown_key_is_config_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['rename'\]"):
        load_mapping({"rename": {"a": "b"}})


def test_mapping_file_not_yaml_mapping_is_config_error(tmp_path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_mapping(path)


def _raw_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": ["P1", "P2", "P3"], "her2_status": ["positive", "negative", "negative"],
        "age_days": ["-20000", "-18000", ""], "code": ["1", "2", "3"], "volume": ["1.5", "oops", "2"],
        "local_days": ["100", "", "NA"], "distant_days": ["", "", "400"], "followup_days": ["900", "365.25", "500"],
    })


def test_numeric_looking_columns_outside_the_contract_are_numeric_and_kinds_override() -> None:
    cohort = validate_cohort(_raw_frame().drop(columns=["volume"]), mapping={"kinds": {"code": "categorical"}})
    assert pd.api.types.is_float_dtype(cohort.frame["age_days"])
    assert cohort.frame["age_days"].isna().sum() == 1
    assert not pd.api.types.is_numeric_dtype(cohort.frame["code"])


def test_declared_numeric_column_names_the_bad_cell() -> None:
    with pytest.raises(CohortError) as info:
        validate_cohort(_raw_frame(), mapping={"kinds": {"volume": "numeric"}})
    issue = next(i for i in info.value.issues if i.column == "volume")
    assert issue.row == 2
    assert issue.value == "oops"


def test_derive_minimum_over_columns_in_days_and_event_flag() -> None:
    mapping = load_mapping({"derive": {
        "dfs_months": {"min_of": ["local_days", "distant_days", "followup_days"], "unit": "days"},
        "dfs_event": {"any_of": ["local_days", "distant_days"]},
    }})
    out, issues, notes = apply_mapping(_raw_frame(), mapping)
    assert not issues
    np.testing.assert_allclose(out["dfs_months"], [100 * 12 / 365.25, 12.0, 400 * 12 / 365.25])
    assert out["dfs_event"].tolist() == [1.0, 0.0, 1.0]
    assert any("dfs_months" in note for note in notes)


@pytest.mark.parametrize("bad", [
    {"kinds": {"a": "text"}},
    {"derive": {"dfs_months": {"min_of": ["a"], "unit": "fortnights"}}},
    {"derive": {"dfs_months": {"min_of": ["a"], "max_of": ["b"]}}},
    {"derive": {"dfs_event": {"any_of": []}}},
    {"header_rows": 0},
])
def test_bad_mapping_extensions_are_clear_errors(bad: dict) -> None:
    with pytest.raises(ConfigError, match="Mapping '<dict>' is invalid"):
        load_mapping(bad)


def test_three_header_rows_flattened_with_merged_group_cells() -> None:
    raw = pd.DataFrame([["ID", "ER", "HER2"], ["", "0/1", "0/1"], ["P1", "1", "0"]],
                       columns=["Patient Information", "Tumor Characteristics", "Unnamed: 2"])
    out, issues, _ = apply_mapping(raw, load_mapping({"header_rows": 3}))
    assert list(out.columns) == ["Patient Information | ID", "Tumor Characteristics | ER",
                                 "Tumor Characteristics | HER2"]
    assert out.iloc[0].tolist() == ["P1", "1", "0"]
