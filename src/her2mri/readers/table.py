"""The reader-study table: validation of reads against the cohort contract's second table.

One row per reader × lesion × reading condition with columns ``reader_id``, ``lesion_id``, ``condition``
(``unaided`` or ``aided``), ``score`` (a probability in [0, 1] for every row, or an ordinal confidence 1–5 for
every row) and optional ``her2_call`` (``zero``, ``low``, ``positive``). Values are case-insensitive; ids are
kept as text. Every problem is reported at once (row numbers count data rows from 1, header excluded).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from her2mri.exceptions import CohortError, CohortIssue

__all__ = ["CONDITIONS", "HER2_CALLS", "ReaderTable", "read_reads", "validate_reads"]

REQUIRED = ("reader_id", "lesion_id", "condition", "score")
CONDITIONS = ("unaided", "aided")
HER2_CALLS = ("zero", "low", "positive")
ScoreKind = Literal["probability", "ordinal"]


@dataclass(frozen=True)
class ReaderTable:
    """A validated reads table: canonical ``frame``, the detected ``score_kind`` and non-fatal ``notes``."""

    frame: pd.DataFrame
    score_kind: ScoreKind
    readers: tuple[str, ...]
    conditions: tuple[str, ...]
    has_calls: bool
    source: str = "<reads>"
    notes: tuple[str, ...] = field(default_factory=tuple)


def read_reads(path: str | Path) -> pd.DataFrame:
    """Read a reads table from CSV, TSV, Excel or Parquet (ids kept as text)."""
    p = Path(path)
    if not p.exists():
        msg = f"Reads file not found: {p}"
        raise FileNotFoundError(msg)
    suffix = p.suffix.lower()
    text_cols = {"reader_id": str, "lesion_id": str}
    if suffix in (".xlsx", ".xls"):
        return pd.read_excel(p, dtype=text_cols)
    if suffix == ".parquet":
        return pd.read_parquet(p)
    sep = "\t" if suffix in (".tsv", ".tab") else ","
    return pd.read_csv(p, sep=sep, dtype=text_cols)


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _raw(value: object) -> object:
    """The cell as the user typed it (numpy scalars as plain Python values, for readable messages)."""
    return value.item() if isinstance(value, np.generic) else value


def validate_reads(frame: pd.DataFrame, *, source: str = "<reads>") -> ReaderTable:
    """Validate and canonicalise a reads table; raise :class:`CohortError` listing every issue."""
    issues: list[CohortIssue] = []
    columns = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in REQUIRED if c not in columns]
    for col in missing:
        issues.append(CohortIssue(None, col, None, "required column is missing",
                                  "reader_id, lesion_id, condition, score (her2_call optional)"))
    if missing:
        msg = f"Reads table {source} is not valid ({len(issues)} problem(s)); found columns {list(frame.columns)}"
        raise CohortError(msg, issues)
    data = frame.rename(columns={v: k for k, v in columns.items()}).reset_index(drop=True)
    out = pd.DataFrame(index=data.index)
    for col in ("reader_id", "lesion_id"):
        vals = data[col].map(_text)
        for i in np.flatnonzero(vals.isna().to_numpy()):
            issues.append(CohortIssue(int(i) + 1, col, None, "empty id", "any non-empty text"))
        out[col] = vals
    cond = data["condition"].map(lambda v: (_text(v) or "").lower())
    for i in np.flatnonzero(~cond.isin(CONDITIONS).to_numpy()):
        issues.append(CohortIssue(int(i) + 1, "condition", _raw(data["condition"].iloc[i]), "unknown reading condition",
                                  ", ".join(CONDITIONS)))
    out["condition"] = cond
    score = pd.to_numeric(data["score"], errors="coerce")
    for i in np.flatnonzero(score.isna().to_numpy()):
        issues.append(CohortIssue(int(i) + 1, "score", _raw(data["score"].iloc[i]), "score is missing or not a number",
                                  "probability 0-1 or ordinal 1-5"))
    valid = score.dropna()
    kind: ScoreKind = "probability"
    if len(valid) and valid.max() > 1.0:
        kind = "ordinal"
        bad = score.notna() & ~(score.isin([1, 2, 3, 4, 5]))
        accepted = "ordinal 1, 2, 3, 4, 5 on every row (scores above 1 were found, so the table is ordinal)"
    else:
        bad = score.notna() & ((score < 0) | (score > 1))
        accepted = "probability 0-1 on every row"
    for i in np.flatnonzero(bad.to_numpy()):
        issues.append(CohortIssue(int(i) + 1, "score", _raw(data["score"].iloc[i]), "score out of range", accepted))
    out["score"] = score.astype(float)
    has_calls = "her2_call" in data.columns
    if has_calls:
        calls = data["her2_call"].map(lambda v: None if _text(v) is None else str(v).strip().lower())
        for i in np.flatnonzero((calls.notna() & ~calls.isin(HER2_CALLS)).to_numpy()):
            issues.append(CohortIssue(int(i) + 1, "her2_call", _raw(data["her2_call"].iloc[i]), "unknown HER2 call",
                                      ", ".join(HER2_CALLS) + " (or empty)"))
        out["her2_call"] = calls
    dup = out.duplicated(["reader_id", "lesion_id", "condition"], keep="first")
    for i in np.flatnonzero(dup.to_numpy()):
        first = out.index[(out["reader_id"] == out["reader_id"].iloc[i]) & (out["lesion_id"] == out["lesion_id"].iloc[i])
                          & (out["condition"] == out["condition"].iloc[i])][0]
        issues.append(CohortIssue(int(i) + 1, "lesion_id", out["lesion_id"].iloc[i],
                                  f"duplicate read (same reader, lesion and condition as row {first + 1})",
                                  "one read per reader, lesion and condition"))
    if issues:
        issues.sort(key=lambda x: (x.row or 0, x.column or ""))
        msg = f"Reads table {source} is not valid ({len(issues)} problem(s))"
        raise CohortError(msg, issues)
    extra = [c for c in data.columns if c not in (*REQUIRED, "her2_call")]
    for col in extra:
        out[col] = data[col]
    notes = [f"extra column(s) kept: {', '.join(map(str, extra))}"] if extra else []
    conditions = tuple(c for c in CONDITIONS if (out["condition"] == c).any())
    if len(conditions) < 2:
        notes.append(f"only the '{conditions[0]}' condition is present; no aided vs unaided comparison")
    readers = tuple(pd.unique(out["reader_id"]))
    return ReaderTable(out, kind, readers, conditions, has_calls, source, tuple(notes))
