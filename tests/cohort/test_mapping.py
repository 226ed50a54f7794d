"""Mapping files: a Duke-style public table is read without editing it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from her2mri.cohort import load_cohort, load_mapping, require_three_level, validate_cohort
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
