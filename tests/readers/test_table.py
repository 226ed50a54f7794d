"""Validation of the reader-study reads table."""

from __future__ import annotations

import pandas as pd
import pytest

from her2mri.exceptions import CohortError
from her2mri.readers.table import validate_reads


def _reads(**overrides: list) -> pd.DataFrame:
    base = {
        "reader_id": ["R1", "R1", "R2", "R2"],
        "lesion_id": ["L1", "L1", "L1", "L1"],
        "condition": ["unaided", "Aided", "UNAIDED", "aided"],
        "score": [0.2, 0.7, 0.4, 0.9],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_validate_reads_canonicalises_condition_and_detects_probability() -> None:
    table = validate_reads(_reads())
    assert list(table.frame["condition"]) == ["unaided", "aided", "unaided", "aided"]
    assert table.score_kind == "probability"
    assert table.readers == ("R1", "R2")
    assert table.conditions == ("unaided", "aided")


def test_validate_reads_detects_ordinal_scores() -> None:
    assert validate_reads(_reads(score=[1, 5, 3, 4])).score_kind == "ordinal"


def test_validate_reads_rejects_bad_condition_with_row_and_accepted_values() -> None:
    with pytest.raises(CohortError, match=r"Column 'condition', row 2: unknown reading condition; got 'with AI'; "
                                          r"accepted: unaided, aided"):
        validate_reads(_reads(condition=["unaided", "with AI", "unaided", "aided"]))


def test_validate_reads_rejects_mixed_probability_and_ordinal_scores() -> None:
    with pytest.raises(CohortError, match=r"row 1: score out of range; got 0.2; accepted: ordinal 1, 2, 3, 4, 5"):
        validate_reads(_reads(score=[0.2, 4, 3, 5]))


def test_validate_reads_lists_every_problem() -> None:
    frame = _reads(score=[0.2, "high", -0.1, 0.9], her2_call=["positive", "2+", None, "LOW"])
    with pytest.raises(CohortError) as info:
        validate_reads(frame)
    issues = info.value.issues
    assert {(i.row, i.column) for i in issues} == {(2, "score"), (3, "score"), (2, "her2_call")}


def test_validate_reads_rejects_duplicate_reads() -> None:
    frame = _reads(condition=["unaided", "unaided", "unaided", "aided"])
    with pytest.raises(CohortError, match="duplicate read .* as row 1"):
        validate_reads(frame)


def test_validate_reads_missing_column_is_named() -> None:
    with pytest.raises(CohortError, match="Column 'score': required column is missing"):
        validate_reads(_reads().drop(columns="score"))


def test_validate_reads_keeps_extra_columns_with_note() -> None:
    table = validate_reads(_reads(experience=["senior"] * 4))
    assert "experience" in table.frame.columns
    assert any("experience" in n for n in table.notes)
