"""validate_cohort: spellings, structural emptiness, every problem reported, derived columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from her2mri.cohort import NOT_APPLICABLE, CohortError, validate_cohort
from her2mri.exceptions import Her2MriWarning


def base(n: int = 3, **columns: object) -> pd.DataFrame:
    frame = pd.DataFrame({"patient_id": [f"p{i}" for i in range(n)], "her2_ihc": ["0", "1+", "3+"][:n] * (n // 3 or 1)})
    frame = frame.iloc[:n].copy()
    for name, values in columns.items():
        frame[name] = values
    return frame


def test_validate_cohort_normalises_ihc_spellings() -> None:
    frame = pd.DataFrame({"patient_id": list("abcdefg"), "her2_ihc": ["0", "1", "2 +", "3+", " 1+ ", 2.0, "IHC 3+"],
                          "her2_ish": ["", "", "Not amplified", "", "", "AMPLIFIED", ""]})
    cohort = validate_cohort(frame)
    assert cohort.frame["her2_ihc"].tolist() == ["0", "1+", "2+", "3+", "1+", "2+", "3+"]
    assert cohort.frame["her2_category"].tolist() == ["zero", "low", "low", "positive", "low", "positive", "positive"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("yes", 1.0), ("No", 0.0), ("TRUE", 1.0), ("false", 0.0), ("1", 1.0), ("0", 0.0), ("present", 1.0),
    ("Absent", 0.0), ("", np.nan),
])
def test_validate_cohort_yes_no_spellings_become_float(raw, expected) -> None:
    cohort = validate_cohort(base(1, peritumoral_edema=[raw]))
    value = cohort.frame["peritumoral_edema"].iloc[0]
    assert (np.isnan(value) if np.isnan(expected) else value == expected)


def test_validate_cohort_categorical_spellings_case_insensitive() -> None:
    cohort = validate_cohort(base(3, lesion_type=["Mass", "NON-MASS", "mass with NME"],
                                  tic_type=["Wash-out", "type II", "PERSISTENT"],
                                  histologic_grade=["III", "2", "G1"], t_category=["t1c", "T2", "3"]))
    frame = cohort.frame
    assert frame["lesion_type"].tolist() == ["mass", "nme", "mass_with_nme"]
    assert frame["tic_type"].tolist() == ["washout", "plateau", "persistent"]
    assert frame["histologic_grade"].tolist() == ["3", "2", "1"]
    assert frame["t_category"].tolist() == ["T1", "T2", "T3"]


def test_validate_cohort_rejects_bad_categorical_value_with_accepted_list() -> None:
    with pytest.raises(CohortError, match=r"Column 'her2_ihc', row 2: not an accepted value; got '4\+'; "
                                          r"accepted: 0, 1\+, 2\+, 3\+"):
        validate_cohort(pd.DataFrame({"patient_id": ["a", "b"], "her2_ihc": ["0", "4+"]}))


def test_validate_cohort_rejects_non_number_in_numeric_column() -> None:
    with pytest.raises(CohortError, match=r"Column 'age', row 1: not a number; got 'fifty'"):
        validate_cohort(base(1, age=["fifty"]))


def test_validate_cohort_rejects_value_outside_plausible_range() -> None:
    with pytest.raises(CohortError, match=r"Column 'age', row 1: outside the plausible range; got 250"):
        validate_cohort(base(1, age=[250]))


def test_validate_cohort_missing_required_column_is_clear() -> None:
    with pytest.raises(CohortError, match=r"Column 'patient_id': required column is missing"):
        validate_cohort(pd.DataFrame({"her2_ihc": ["0"]}))
    with pytest.raises(CohortError, match=r"give her2_ihc or her2_status"):
        validate_cohort(pd.DataFrame({"patient_id": ["a"]}))


def test_validate_cohort_duplicate_lesion_id_is_an_error() -> None:
    frame = pd.DataFrame({"patient_id": ["a", "a", "b"], "lesion_id": ["x", "x", "y"], "her2_ihc": ["0", "0", "1+"]})
    with pytest.raises(CohortError, match=r"Column 'lesion_id', row 2: duplicate lesion_id"):
        validate_cohort(frame)


def test_validate_cohort_without_lesion_id_numbers_lesions_of_one_patient() -> None:
    cohort = validate_cohort(pd.DataFrame({"patient_id": ["a", "a", "b"], "her2_ihc": ["0", "1+", "3+"]}))
    assert cohort.frame["lesion_id"].tolist() == ["a_L1", "a_L2", "b"]
    assert cohort.groups.tolist() == ["a", "a", "b"]
    assert cohort.n_patients == 2


def test_validate_cohort_reports_all_twenty_problems() -> None:
    n = 20
    frame = pd.DataFrame({"patient_id": [f"p{i}" for i in range(n)], "her2_ihc": ["0"] * n})
    frame.loc[0:4, "her2_ihc"] = "5+"                     # 5 bad IHC
    frame["age"] = ["x" if i in range(5, 10) else 50 for i in range(n)]   # 5 non-numbers
    frame["tic_type"] = ["flat" if i in range(10, 15) else "plateau" for i in range(n)]  # 5 bad TIC
    frame["peritumoral_edema"] = ["maybe" if i >= 15 else "no" for i in range(n)]       # 5 bad yes/no
    with pytest.raises(CohortError, match="20 problem") as info:
        validate_cohort(frame)
    issues = info.value.issues
    assert len(issues) == 20
    assert sorted(i.row for i in issues) == list(range(1, 21))
    assert all(i.accepted for i in issues)


def test_validate_cohort_keeps_extra_columns_and_notes_them() -> None:
    cohort = validate_cohort(base(3, scanner_model=["a", "b", "c"], my_score=[1, 2, 3]))
    assert cohort.frame["scanner_model"].tolist() == ["a", "b", "c"]
    assert cohort.extra_columns == ("scanner_model", "my_score")
    assert any("scanner_model" in note for note in cohort.notes)


def test_validate_cohort_mass_descriptors_on_nme_are_not_applicable() -> None:
    cohort = validate_cohort(base(3, lesion_type=["nme", "mass", "mass_with_nme"],
                                  mass_shape=[np.nan, "oval", "irregular"],
                                  nme_distribution=["segmental", "", "focal"]))
    frame = cohort.frame
    assert frame["mass_shape"].tolist() == [NOT_APPLICABLE, "oval", "irregular"]
    assert frame["nme_distribution"].tolist() == ["segmental", NOT_APPLICABLE, "focal"]


def test_validate_cohort_missing_mass_descriptor_on_mass_stays_missing() -> None:
    cohort = validate_cohort(base(1, lesion_type=["mass"], mass_shape=[np.nan]))
    assert pd.isna(cohort.frame["mass_shape"].iloc[0])


def test_validate_cohort_mass_descriptor_given_on_pure_nme_is_an_error() -> None:
    with pytest.raises(CohortError, match=r"Column 'mass_shape', row 1: a mass descriptor is given on a 'nme' lesion"):
        validate_cohort(base(1, lesion_type=["nme"], mass_shape=["round"]))


def test_validate_cohort_not_applicable_on_mass_is_an_error() -> None:
    with pytest.raises(CohortError, match=r"'not_applicable' on a 'mass' lesion"):
        validate_cohort(base(1, lesion_type=["mass"], mass_margin=["not applicable"]))


def test_validate_cohort_birads_4a_warns_and_is_kept() -> None:
    with pytest.warns(Her2MriWarning, match="not MRI BI-RADS"):
        cohort = validate_cohort(base(3, birads_category=["4a", "5", "4"]))
    assert cohort.frame["birads_category"].tolist() == ["4a", "5", "4"]


def test_validate_cohort_binary_only_her2_status_is_accepted() -> None:
    cohort = validate_cohort(pd.DataFrame({"patient_id": ["a", "b"], "her2_status": ["Positive", "negative"]}))
    assert cohort.is_binary_only
    assert cohort.frame["her2_category"].tolist() == ["positive", "negative"]


def test_validate_cohort_her2_status_disagreeing_with_ihc_lists_rows() -> None:
    frame = pd.DataFrame({"patient_id": list("abcd"), "her2_ihc": ["0", "3+", "1+", "2+"],
                          "her2_status": ["zero", "low", "negative", "zero"], "her2_ish": ["", "", "", "negative"]})
    with pytest.raises(CohortError, match="2 problem") as info:
        validate_cohort(frame)
    assert [i.row for i in info.value.issues] == [2, 4]
    assert "which give 'positive'" in str(info.value)


def test_validate_cohort_ihc2_without_ish_is_not_derivable_and_noted() -> None:
    cohort = validate_cohort(pd.DataFrame({"patient_id": ["a", "b"], "her2_ihc": ["2+", "1+"]}))
    assert pd.isna(cohort.frame["her2_category"].iloc[0])
    assert any("not derivable" in note for note in cohort.notes)


def test_validate_cohort_ihc0_with_ish_group1_is_positive_with_note() -> None:
    cohort = validate_cohort(pd.DataFrame({"patient_id": ["a"], "her2_ihc": ["0"], "her2_ish_ratio": [2.4],
                                           "her2_copy_number": [5.0]}))
    assert cohort.frame["her2_category"].iloc[0] == "positive"
    assert any("IHC 0 but positive ISH" in note for note in cohort.notes)


def test_validate_cohort_reported_ish_disagreeing_with_group_is_an_error() -> None:
    frame = pd.DataFrame({"patient_id": ["a"], "her2_ihc": ["2+"], "her2_ish": ["negative"],
                          "her2_ish_ratio": [2.5], "her2_copy_number": [5.0]})
    with pytest.raises(CohortError, match="ISH group 1"):
        validate_cohort(frame)
    frame["her2_guideline"] = ["2013"]
    cohort = validate_cohort(frame)
    assert cohort.frame["her2_category"].iloc[0] == "positive"


def test_validate_cohort_ultralow_on_nonzero_ihc_is_an_error() -> None:
    frame = pd.DataFrame({"patient_id": ["a", "b"], "her2_ihc": ["0", "1+"], "her2_ihc0_subtype": ["ultralow", "ultralow"]})
    with pytest.raises(CohortError, match=r"row 2: 'ultralow' is a sub-flag of IHC 0 but her2_ihc is 1\+"):
        validate_cohort(frame)


def test_validate_cohort_ultralow_flag_on_ihc0() -> None:
    frame = pd.DataFrame({"patient_id": list("abc"), "her2_ihc": ["0", "0", "1+"],
                          "her2_ihc0_subtype": ["ultralow", "null", ""]})
    flags = validate_cohort(frame).frame["her2_ultralow"].tolist()
    assert flags[:2] == [1.0, 0.0]
    assert np.isnan(flags[2])


def test_validate_cohort_derives_status_from_percent() -> None:
    cohort = validate_cohort(base(3, er_percent=[0, 5, 80], pr_percent=[0, 0.5, 30], ki67_percent=[10, 20, 50]))
    frame = cohort.frame
    assert frame["er_status"].tolist() == ["negative", "positive", "positive"]
    assert frame["pr_status"].tolist() == ["negative", "negative", "positive"]
    assert frame["ki67_status"].tolist() == ["low", "high", "high"]
    assert frame["er_low"].tolist() == [0.0, 1.0, 0.0]
    assert frame["hr_status"].tolist() == ["negative", "positive", "positive"]


def test_validate_cohort_status_disagreeing_with_percent_is_an_error() -> None:
    with pytest.raises(CohortError, match=r"Column 'er_status', row 2: disagrees with er_percent = 0"):
        validate_cohort(base(2, er_percent=[50, 0], er_status=["positive", "positive"]))


def test_validate_cohort_subtype_variant_changes_subtypes() -> None:
    from her2mri.cohort import SubtypeOptions

    frame = base(1, er_percent=[80], pr_percent=[50], ki67_percent=[16])
    frame["her2_ihc"] = ["1+"]
    assert validate_cohort(frame).frame["molecular_subtype"].iloc[0] == "luminal_a"
    options = SubtypeOptions(variant="st_gallen_2011")
    assert validate_cohort(frame, subtype=options).frame["molecular_subtype"].iloc[0] == "luminal_b_her2_negative"


def test_validate_cohort_derived_columns_always_present() -> None:
    frame = validate_cohort(base(3)).frame
    for column in ("ish_group", "her2_category", "her2_ultralow", "hr_status", "er_low", "molecular_subtype",
                   "molecular_subtype_reason", "her2_ish_final"):
        assert column in frame.columns


def test_validate_cohort_feature_columns_include_radiomics_and_quantitative() -> None:
    cohort = validate_cohort(base(3, eer=[0.5, 0.6, 0.7], adc_p95=[1.2, 1.3, 1.4],
                                  **{"dce3__original_glcm_Contrast": [1.0, 2.0, 3.0]}))
    assert set(cohort.feature_columns) == {"eer", "adc_p95", "dce3__original_glcm_Contrast"}


def test_validate_cohort_column_names_are_normalised() -> None:
    cohort = validate_cohort(pd.DataFrame({"Patient ID": ["a"], "HER2_IHC": ["0"]}))
    assert {"patient_id", "her2_ihc"} <= set(cohort.frame.columns)


def test_validate_cohort_is_idempotent_on_its_own_output() -> None:
    cohort = validate_cohort(base(3, er_percent=[0, 5, 80], lesion_type=["nme", "mass", "mass"]))
    again = validate_cohort(cohort.frame)
    pd.testing.assert_frame_equal(again.frame, cohort.frame)
    assert again.sha256 == cohort.sha256


def test_validate_cohort_rejects_unparseable_date() -> None:
    with pytest.raises(CohortError, match=r"Column 'exam_date', row 2: not a date; got '31/02/2020'"):
        validate_cohort(base(2, exam_date=["2020-02-03", "31/02/2020"]))


def test_validate_cohort_rejects_duplicate_column() -> None:
    frame = pd.DataFrame([["a", "0", "0"]], columns=["patient_id", "her2_ihc", "HER2_IHC"])
    with pytest.raises(CohortError, match=r"Column 'her2_ihc': the column appears more than once"):
        validate_cohort(frame)


def test_validate_cohort_rejects_non_numeric_radiomics_value() -> None:
    with pytest.raises(CohortError, match=r"(?i)Column 'dwi__original_firstorder_Mean', row 1: not a number") as info:
        validate_cohort(base(1, dwi__original_firstorder_Mean=["high"]))
    assert info.value.issues[0].column == "dwi__original_firstorder_Mean"
