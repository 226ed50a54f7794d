"""The imaging manifest: one table that says which image and mask files belong to which lesion.

Columns (CSV, TSV or Parquet):

``patient_id``, ``lesion_id``, ``sequence``, ``image``, ``mask``, ``reader`` (required) and optionally
``b_value`` (s/mm²) for DWI and ``time_s`` (seconds after contrast injection) for DCE. A DWI series is either
one row per b-value (one 3-D file each, ``b_value`` a single number) or one row with a 4-D file and
``b_value`` listing every b-value separated by ``;``. DCE works the same way with ``time_s``. Relative paths
are resolved against the manifest's folder.

Sequence names are snake_case (``t2``, ``dwi``, ``dce``, ``t1`` …); ``dwi`` and ``dce`` are the series the
quantitative DWI/DCE features come from.

Problems of the table as a whole (a missing column, no rows, an empty ``patient_id`` / ``lesion_id`` /
``reader``) raise at once. A problem of one row or series (an empty or unreadable ``b_value`` / ``time_s``,
a negative b-value, an empty ``image`` / ``mask``, a bad sequence name, a repeated sequence or value) belongs
to one case: it is recorded in :attr:`CaseSpec.problems` and that case fails when it is extracted, while the
other cases go on. ``strict=True`` raises the first such problem instead.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from her2mri._typing import PathLike
from her2mri.exceptions import ImagingError

__all__ = ["CaseSpec", "Manifest", "SeriesSpec", "read_manifest", "validate_manifest"]

REQUIRED_COLUMNS = ("patient_id", "lesion_id", "sequence", "image", "mask", "reader")
OPTIONAL_COLUMNS = ("b_value", "time_s")
SERIES_SEQUENCES = {"dwi": "b_value", "dce": "time_s"}
_SEQUENCE_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class SeriesSpec:
    """The files of one sequence of one case. ``values`` are b-values or times (empty for plain images)."""

    sequence: str
    images: tuple[str, ...]
    masks: tuple[str, ...]
    values: tuple[float, ...] = ()
    is_4d: bool = False


@dataclass(frozen=True)
class CaseSpec:
    """Everything needed to extract one lesion as segmented by one reader."""

    patient_id: str
    lesion_id: str
    reader: str
    series: tuple[SeriesSpec, ...] = field(default_factory=tuple)
    problems: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """A file-name-safe, unique key of the case."""
        raw = f"{self.patient_id}__{self.lesion_id}__{self.reader}"
        return re.sub(r"[^A-Za-z0-9_.-]", "-", raw)

    def get(self, sequence: str) -> SeriesSpec | None:
        """The series named ``sequence`` or ``None``."""
        for spec in self.series:
            if spec.sequence == sequence:
                return spec
        return None


@dataclass(frozen=True)
class Manifest:
    """A validated manifest: the canonical frame (absolute paths) and the cases it describes."""

    frame: pd.DataFrame
    source: str
    readers: tuple[str, ...]
    cases: tuple[CaseSpec, ...]

    def cases_for(self, reader: str | None = None) -> tuple[CaseSpec, ...]:
        """The cases of one reader (all cases if ``reader`` is None)."""
        if reader is None:
            return self.cases
        return tuple(case for case in self.cases if case.reader == reader)

    @property
    def problems(self) -> dict[str, tuple[str, ...]]:
        """The problems of each case that has any, by case key (those cases fail when extracted)."""
        return {case.key: case.problems for case in self.cases if case.problems}


def read_manifest(path: PathLike, *, strict: bool = False) -> Manifest:
    """Read and validate a manifest file (``.csv``, ``.tsv``/``.txt`` or ``.parquet``).

    Row-level problems are recorded per case (see the module docstring) unless ``strict`` is true.
    """
    path = Path(path)
    if not path.exists():
        msg = f"Manifest '{path}' does not exist. Give the path of a CSV, TSV or Parquet manifest."
        raise ImagingError(msg)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif suffix in (".tsv", ".txt", ".tab"):
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    elif suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    else:
        msg = f"Manifest '{path}': unknown file type '{suffix}'; accepted: .csv, .tsv, .parquet."
        raise ImagingError(msg)
    return validate_manifest(frame, root=path.parent, source=str(path), strict=strict)


def _parse_values(text: str, *, source: str, row: int, column: str) -> tuple[float, ...]:
    parts = [p for p in re.split(r"[;\s]+", text.strip()) if p]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if not values or not all(math.isfinite(v) for v in values):
        msg = (
            f"Manifest '{source}' row {row}, column '{column}': got {text!r}; accepted: a finite number or "
            "numbers separated by ';' (e.g. '800' or '0;800;1400;2000')."
        )
        raise ImagingError(msg)
    return values


def _resolve(root: Path, value: str) -> str:
    candidate = Path(value).expanduser()
    if not candidate.is_absolute():
        candidate = root / candidate
    return str(candidate.resolve())


def _row_problem(record: dict[str, str], position: int, source: str) -> tuple[str, tuple[float, ...]]:
    """The problem of one row of a case (``""`` if none) and its b-values / times."""
    for column in ("sequence", "image", "mask"):
        if record[column] == "":
            msg = f"Manifest '{source}' row {position}, column '{column}': empty; accepted: a non-empty value."
            return msg, ()
    sequence = record["sequence"].lower()
    if not _SEQUENCE_RE.match(sequence):
        msg = (
            f"Manifest '{source}' row {position}, column 'sequence': got {record['sequence']!r}; accepted: "
            "snake_case names such as t2, dwi, dce, t1."
        )
        return msg, ()
    value_column = SERIES_SEQUENCES.get(sequence)
    if value_column is None:
        return "", ()
    raw = record.get(value_column, "")
    if raw == "":
        msg = (
            f"Manifest '{source}' row {position}, column '{value_column}': empty for sequence '{sequence}'; "
            f"accepted: the {'b-value(s) in s/mm²' if sequence == 'dwi' else 'time(s) in s after injection'}"
            ", one per volume, separated by ';'."
        )
        return msg, ()
    try:
        values = _parse_values(raw, source=source, row=position, column=value_column)
    except ImagingError as exc:
        return str(exc), ()
    if sequence == "dwi" and any(v < 0 for v in values):
        msg = f"Manifest '{source}' row {position}, column 'b_value': got {raw!r}; accepted: b-values >= 0 s/mm²."
        return msg, ()
    return "", values


def validate_manifest(
    frame: pd.DataFrame, *, root: PathLike = ".", source: str = "<frame>", strict: bool = False
) -> Manifest:
    """Check a manifest frame and group its rows into cases. Rows are 1-based as in a spreadsheet.

    Problems of one case are recorded in its :attr:`CaseSpec.problems` (the case then fails on extraction
    and the others go on); ``strict=True`` raises the first of them as an :class:`ImagingError` instead.
    """
    root = Path(root)
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        msg = (
            f"Manifest '{source}' lacks column(s) {', '.join(missing)}; required: {', '.join(REQUIRED_COLUMNS)}; "
            f"optional: {', '.join(OPTIONAL_COLUMNS)}. Found: {', '.join(frame.columns)}."
        )
        raise ImagingError(msg)
    if frame.empty:
        msg = f"Manifest '{source}' has no rows; accepted: at least one image row."
        raise ImagingError(msg)
    for column in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS):
        if column in frame.columns:
            frame[column] = frame[column].map(lambda v: "" if pd.isna(v) else str(v).strip())
    rows = []
    problems: dict[tuple[str, str, str], list[str]] = {}
    for position, record in enumerate(frame.to_dict("records"), start=1):
        for column in ("patient_id", "lesion_id", "reader"):
            if record[column] == "":
                msg = f"Manifest '{source}' row {position}, column '{column}': empty; accepted: a non-empty value."
                raise ImagingError(msg)
        ids = (record["patient_id"], record["lesion_id"], record["reader"])
        problem, values = _row_problem(record, position, source)
        if problem:
            if strict:
                raise ImagingError(problem)
            problems.setdefault(ids, []).append(problem)
            continue
        rows.append(
            {
                "row": position,
                "patient_id": record["patient_id"],
                "lesion_id": record["lesion_id"],
                "reader": record["reader"],
                "sequence": record["sequence"].lower(),
                "image": _resolve(root, record["image"]),
                "mask": _resolve(root, record["mask"]),
                "values": values,
            }
        )
    columns = ["row", "patient_id", "lesion_id", "reader", "sequence", "image", "mask", "values"]
    canonical = pd.DataFrame(rows, columns=columns)
    readers = tuple(dict.fromkeys(str(r) for r in frame["reader"]))
    groups = dict(iter(canonical.groupby(["patient_id", "lesion_id", "reader"], sort=True)))
    cases = []
    for key in sorted(set(groups) | set(problems)):
        patient_id, lesion_id, reader = (str(k) for k in key)
        series = []
        case_problems = list(problems.get(key, []))
        group = groups.get(key)
        if group is not None:
            for sequence, seq_rows in group.groupby("sequence", sort=True):
                try:
                    series.append(_series_from_rows(sequence, seq_rows, source=source))
                except ImagingError as exc:
                    if strict:
                        raise
                    case_problems.append(str(exc))
        cases.append(CaseSpec(patient_id, lesion_id, reader, tuple(series), tuple(case_problems)))
    return Manifest(frame=canonical, source=source, readers=readers, cases=tuple(cases))


def _series_from_rows(sequence: str, rows: pd.DataFrame, *, source: str) -> SeriesSpec:
    records = rows.to_dict("records")
    if sequence not in SERIES_SEQUENCES:
        if len(records) > 1:
            where = ", ".join(str(r["row"]) for r in records)
            msg = (
                f"Manifest '{source}' rows {where}: sequence '{sequence}' appears {len(records)} times for one "
                "lesion and reader; accepted: one row per plain sequence (only dwi/dce may span several rows)."
            )
            raise ImagingError(msg)
        record = records[0]
        return SeriesSpec(sequence, (record["image"],), (record["mask"],))
    if len(records) == 1 and len(records[0]["values"]) > 1:
        record = records[0]
        return SeriesSpec(sequence, (record["image"],), (record["mask"],), record["values"], is_4d=True)
    for record in records:
        if len(record["values"]) != 1:
            column = SERIES_SEQUENCES[sequence]
            msg = (
                f"Manifest '{source}' row {record['row']}, column '{column}': got {len(record['values'])} values in a "
                f"multi-row {sequence} series; accepted: one value per row when each row is one volume."
            )
            raise ImagingError(msg)
    records.sort(key=lambda r: r["values"][0])
    values = tuple(r["values"][0] for r in records)
    if len(set(values)) != len(values):
        column = SERIES_SEQUENCES[sequence]
        msg = (
            f"Manifest '{source}' rows {', '.join(str(r['row']) for r in records)}, column '{column}': duplicate "
            f"values {values}; accepted: each b-value/time once per lesion and reader."
        )
        raise ImagingError(msg)
    return SeriesSpec(
        sequence,
        tuple(r["image"] for r in records),
        tuple(r["mask"] for r in records),
        values,
        is_4d=False,
    )
