"""Read and write cohort tables (CSV, TSV, Excel, Parquet). No interpretation happens here.

Text formats are read with every cell as text and only empty cells as missing, so that spellings such as
``1+``, ``null`` or ``NA`` reach the validator unchanged and are judged there.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from her2mri._typing import PathLike
from her2mri.exceptions import CohortError

__all__ = ["SUPPORTED_SUFFIXES", "read_table", "write_table"]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq")


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        message = (f"Cannot read or write cohort table '{path}': the suffix '{path.suffix}' is not supported; "
                   f"accepted: {', '.join(SUPPORTED_SUFFIXES)}. Save the table as CSV, TSV, Excel or Parquet.")
        raise CohortError(message)
    return suffix


def read_table(path: PathLike, *, sheet: str | int = 0) -> pd.DataFrame:
    """Read a cohort table into a raw frame (object columns for text formats).

    Parameters
    ----------
    path
        ``.csv``, ``.tsv``/``.txt`` (tab separated), ``.xlsx``/``.xlsm`` or ``.parquet``/``.pq``.
    sheet
        Excel sheet name or 0-based index.
    """
    path = Path(path)
    if not path.is_file():
        message = f"Cohort table '{path}' does not exist. Check the path."
        raise FileNotFoundError(message)
    suffix = _suffix(path)
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
        elif suffix in {".tsv", ".txt"}:
            frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_values=[""],
                                encoding="utf-8-sig")
        elif suffix in {".xlsx", ".xlsm"}:
            frame = pd.read_excel(path, sheet_name=sheet, dtype=object, keep_default_na=False, na_values=[""])
        else:
            frame = pd.read_parquet(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        message = f"Cohort table '{path}' could not be read as {suffix[1:]}: {exc}."
        raise CohortError(message) from exc
    frame.columns = [str(c) for c in frame.columns]
    return frame


def write_table(frame: pd.DataFrame, path: PathLike) -> Path:
    """Write a frame in the format given by the suffix; returns the path written."""
    path = Path(path)
    suffix = _suffix(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix in {".tsv", ".txt"}:
        frame.to_csv(path, sep="\t", index=False)
    elif suffix in {".xlsx", ".xlsm"}:
        out = frame.copy()
        for column in out.columns:
            if isinstance(out[column].dtype, pd.DatetimeTZDtype):
                out[column] = out[column].dt.tz_localize(None)
        out.to_excel(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path
