"""ASCO/CAP 2018 derivation: ISH groups, final ISH call, HER2 category, ER-low and HR status."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from her2mri.cohort import er_low, her2_category, her2_disagreements, her2_ish_final, hr_status, ish_group

# ratio, copies that fall in each ISH group
GROUP_INPUT = {1: (2.5, 5.0), 2: (2.5, 3.0), 3: (1.5, 7.0), 4: (1.5, 5.0), 5: (1.2, 2.5), None: (np.nan, np.nan)}

# IHC -> {ISH group: (her2_category, her2_ish_final)} — domain-notes §2.2
DECISION_TABLE = {
    "0": {1: ("positive", "positive"), 2: ("zero", "negative"), 3: ("zero", "negative"),
          4: ("zero", "negative"), 5: ("zero", "negative"), None: ("zero", None)},
    "1+": {1: ("positive", "positive"), 2: ("low", "negative"), 3: ("low", "negative"),
           4: ("low", "negative"), 5: ("low", "negative"), None: ("low", None)},
    "2+": {1: ("positive", "positive"), 2: ("low", "negative"), 3: ("positive", "positive"),
           4: ("low", "negative"), 5: ("low", "negative"), None: (None, None)},
    "3+": {1: ("positive", "positive"), 2: ("positive", "positive"), 3: ("positive", "positive"),
           4: ("positive", "positive"), 5: ("positive", None), None: ("positive", None)},
}
CASES = [(ihc, g, *DECISION_TABLE[ihc][g]) for ihc in DECISION_TABLE for g in DECISION_TABLE[ihc]]


@pytest.mark.parametrize(("ihc", "group", "category", "final"), CASES)
def test_her2_category_decision_table_cell_matches_asco_cap_2018(ihc, group, category, final) -> None:
    ratio, copies = GROUP_INPUT[group]
    g = ish_group(ratio, copies)
    if group is None:
        assert np.isnan(g)
    else:
        assert g == group
    got = her2_category(ihc, g)
    got_final = her2_ish_final(ihc, g)
    assert (pd.isna(got) if category is None else got == category)
    assert (pd.isna(got_final) if final is None else got_final == final)


@pytest.mark.parametrize(("ratio", "copies", "group"), [
    (2.0, 4.0, 1), (2.0, 3.99, 2), (1.99, 4.0, 4), (1.99, 6.0, 3), (1.99, 5.99, 4), (1.99, 3.99, 5),
    (2.0, 6.0, 1), (1.999999, 6.0, 3), (2.0, 0.0, 2),
])
def test_ish_group_boundaries_belong_to_greater_equal_side(ratio, copies, group) -> None:
    assert ish_group(ratio, copies) == group


def test_ish_group_vectorised_with_missing_gives_nan() -> None:
    out = ish_group(np.array([2.0, np.nan, 1.0]), np.array([4.0, 5.0, np.nan]))
    assert out[0] == 1
    assert np.isnan(out[1:]).all()


def test_her2_category_ish_only_negative_gives_binary_negative() -> None:
    assert her2_category(np.nan, np.nan, "negative") == "negative"
    assert her2_category(np.nan, np.nan, "positive") == "positive"


def test_her2_category_ihc2_with_reported_ish_uses_reported_call() -> None:
    out = her2_category(np.array(["2+", "2+", "2+"], dtype=object), np.full(3, np.nan),
                        np.array(["positive", "negative", "equivocal"], dtype=object))
    assert out[0] == "positive"
    assert out[1] == "low"
    assert pd.isna(out[2])


def test_er_low_flags_one_to_ten_percent_inclusive() -> None:
    out = er_low(np.array([0.0, 0.5, 1.0, 10.0, 10.5, 80.0, np.nan]))
    np.testing.assert_array_equal(out[:6], [0, 0, 1, 1, 0, 0])
    assert np.isnan(out[6])


def test_hr_status_positive_if_either_receptor_positive() -> None:
    out = hr_status(np.array(["positive", "negative", "negative", np.nan, np.nan], dtype=object),
                    np.array(["negative", "positive", "negative", "negative", "positive"], dtype=object))
    assert list(out[:3]) == ["positive", "positive", "negative"]
    assert pd.isna(out[3])
    assert out[4] == "positive"


def test_her2_disagreements_lists_rows_that_disagree() -> None:
    frame = pd.DataFrame({"lesion_id": ["a", "b", "c", "d"], "her2_status": ["zero", "negative", "low", "positive"],
                          "her2_ihc": ["0", "1+", "3+", "2+"], "her2_ish": [np.nan, np.nan, np.nan, np.nan]})
    report = her2_disagreements(frame)
    assert report["row"].tolist() == [3]
    assert report.loc[0, "derived_category"] == "positive"
