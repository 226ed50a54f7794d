"""Manifest reading and validation."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from her2mri.exceptions import ImagingError
from her2mri.imaging import read_manifest, validate_manifest


def _row(**kw: str) -> dict[str, str]:
    row = {
        "patient_id": "P1",
        "lesion_id": "L1",
        "sequence": "t2",
        "image": "t2.nii.gz",
        "mask": "m.nii.gz",
        "reader": "r1",
    }
    row.update(kw)
    return row


def test_read_manifest_resolves_relative_paths_against_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "manifest.csv"
    path.parent.mkdir()
    pd.DataFrame([_row()]).to_csv(path, index=False)
    manifest = read_manifest(path)
    case = manifest.cases[0]
    assert case.get("t2").images[0] == str((tmp_path / "sub" / "t2.nii.gz").resolve())
    assert manifest.readers == ("r1",)


def test_read_manifest_tsv_and_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame([_row()])
    frame.to_csv(tmp_path / "m.tsv", sep="\t", index=False)
    frame.to_parquet(tmp_path / "m.parquet")
    assert len(read_manifest(tmp_path / "m.tsv").cases) == 1
    assert len(read_manifest(tmp_path / "m.parquet").cases) == 1


def test_validate_manifest_missing_column_lists_required() -> None:
    frame = pd.DataFrame([_row()]).drop(columns="reader")
    with pytest.raises(ImagingError, match="lacks column.*reader.*required"):
        validate_manifest(frame)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"sequence": "dwi", "b_value": "eight hundred"}, r"row 2, column 'b_value': got 'eight hundred'; accepted"),
        ({"sequence": "dwi", "b_value": ""}, r"row 2, column 'b_value': empty for sequence 'dwi'; accepted"),
        ({"sequence": "dwi", "b_value": "nan"}, r"row 2, column 'b_value': got 'nan'; accepted: a finite"),
        ({"sequence": "dwi", "b_value": "-5"}, r"row 2, column 'b_value': got '-5'; accepted: b-values >= 0"),
        ({"sequence": "dce", "time_s": ";"}, r"row 2, column 'time_s': got ';'; accepted"),
        ({"sequence": "T2 W"}, r"row 2, column 'sequence': got 'T2 W'; accepted"),
        ({"sequence": "adc", "image": ""}, r"row 2, column 'image': empty"),
    ],
)
def test_validate_manifest_row_problem_fails_its_case_only(row: dict[str, str], expected: str) -> None:
    """A bad row is recorded on its own case (which fails on extraction); strict=True raises it instead."""
    frame = pd.DataFrame([_row(), _row(lesion_id="L2", **row), _row(lesion_id="L2", sequence="t1")]).fillna("")
    manifest = validate_manifest(frame, source="m.csv")
    good, bad = manifest.cases
    assert good.problems == ()
    assert good.get("t2") is not None
    assert len(bad.problems) == 1
    assert re.search(expected, bad.problems[0])
    assert bad.problems[0].startswith("Manifest 'm.csv' row 2")
    assert manifest.problems == {bad.key: bad.problems}
    with pytest.raises(ImagingError, match=expected):
        validate_manifest(frame, source="m.csv", strict=True)


def test_validate_manifest_empty_id_is_a_table_error() -> None:
    with pytest.raises(ImagingError, match=r"row 1, column 'reader': empty"):
        validate_manifest(pd.DataFrame([_row(reader="")]))


def test_validate_manifest_groups_dwi_rows_and_4d_dce() -> None:
    rows = [_row(sequence="dwi", image=f"b{b}.nrrd", b_value=str(b)) for b in (800, 0, 2000, 1400)]
    rows.append(_row(sequence="dce", image="dce.nii.gz", time_s="0;60;120"))
    rows.append(_row(reader="r2"))
    manifest = validate_manifest(pd.DataFrame(rows).fillna(""))
    assert [c.reader for c in manifest.cases] == ["r1", "r2"]
    dwi = manifest.cases[0].get("dwi")
    assert dwi.values == (0.0, 800.0, 1400.0, 2000.0)
    assert dwi.images[0].endswith("b0.nrrd")
    dce = manifest.cases[0].get("dce")
    assert dce.is_4d
    assert dce.values == (0.0, 60.0, 120.0)


def test_validate_manifest_duplicate_plain_sequence_fails_the_case() -> None:
    manifest = validate_manifest(pd.DataFrame([_row(), _row()]))
    assert "appears 2 times" in manifest.cases[0].problems[0]
    with pytest.raises(ImagingError, match="appears 2 times"):
        validate_manifest(pd.DataFrame([_row(), _row()]), strict=True)


def test_read_manifest_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ImagingError, match="does not exist"):
        read_manifest(tmp_path / "none.csv")
