"""Reading and writing CSV, TSV, Excel and Parquet cohort tables."""

from __future__ import annotations

import pandas as pd
import pytest

from her2mri.cohort import CohortError, load_cohort, read_table, validate_cohort, write_table
from her2mri.cohort.demo import make_demo_cohort


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return make_demo_cohort(n_center1=40, n_center2=20, seed=7)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx", ".parquet"])
def test_load_cohort_round_trip_gives_same_canonical_frame(raw, tmp_path, suffix) -> None:
    reference = validate_cohort(raw)
    path = write_table(raw, tmp_path / f"cohort{suffix}")
    cohort = load_cohort(path)
    left = cohort.frame.drop(columns=["exam_date"])
    right = reference.frame.drop(columns=["exam_date"])
    pd.testing.assert_frame_equal(left, right, check_dtype=False)
    assert (cohort.frame["exam_date"].dt.date == reference.frame["exam_date"].dt.date).all()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_validated_frame_round_trips_through_write_and_load(raw, tmp_path, suffix) -> None:
    cohort = validate_cohort(raw)
    again = load_cohort(write_table(cohort.frame, tmp_path / f"validated{suffix}"))
    assert again.frame["her2_category"].tolist() == cohort.frame["her2_category"].tolist()
    assert again.frame["mass_shape"].tolist() == cohort.frame["mass_shape"].tolist()


def test_read_table_keeps_text_spellings(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("patient_id,her2_ihc,her2_ihc0_subtype\na,1+,null\nb,NA,\n", encoding="utf-8")
    frame = read_table(path)
    assert frame["her2_ihc"].tolist()[0] == "1+"
    assert frame["her2_ihc0_subtype"].tolist()[0] == "null"


def test_read_table_unsupported_suffix_is_clear(tmp_path) -> None:
    path = tmp_path / "t.json"
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(CohortError, match=r"suffix '.json' is not supported; accepted: .csv"):
        read_table(path)


def test_load_cohort_missing_file_raises_file_not_found(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_cohort(tmp_path / "nope.csv")
