"""Read and write cohort tables (CSV, TSV, Excel, Parquet). No interpretation happens here.

Text formats are read with every cell as text and only empty cells as missing, so that spellings such as
``1+``, ``null`` or ``NA`` reach the validator unchanged and are judged there. ``her2mri validate`` and
``her2mri predict`` both read through :func:`read_table`, so a file means the same to both:

* text files (``.csv``, ``.tsv``, ``.txt``): the separator is found from the header line among comma,
  semicolon and tab (the one that splits it most; quoted text is respected), whatever the suffix; a header that
  stays one column while it holds another separator (``|``, spaces) gets a hint instead of dozens of
  "missing column" errors;
* Excel: a workbook with several sheets needs ``sheet`` (the error lists them);
* a table with a header but no data rows, and rows whose every cell is empty (a line of only separators), are
  errors naming the rows; so is an infinite number (``inf``, ``-Infinity``, ``1e999``), with its row and column.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from her2mri._typing import PathLike
from her2mri.exceptions import CohortError, CohortIssue

__all__ = ["SEPARATORS", "SUPPORTED_SUFFIXES", "read_table", "sniff_separator", "write_table"]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq")
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
_MERGED_HINTS = ("|", ":", "  ")
_MAX_LISTED = 10


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        message = (f"Cannot read or write cohort table '{path}': the suffix '{path.suffix}' is not supported; "
                   f"accepted: {', '.join(SUPPORTED_SUFFIXES)}. Save the table as CSV, TSV, Excel or Parquet.")
        raise CohortError(message)
    return suffix


def _count_outside_quotes(line: str, separator: str) -> int:
    try:
        return len(next(csv.reader([line], delimiter=separator))) - 1
    except (csv.Error, StopIteration):
        return line.count(separator)


def sniff_separator(header: str) -> str:
    """The separator among comma, semicolon and tab that splits ``header`` into most fields (comma on a tie
    or when none occurs)."""
    counts = {sep: _count_outside_quotes(header, sep) for sep in SEPARATORS}
    best = max(counts.values())
    return next(sep for sep in SEPARATORS if counts[sep] == best) if best > 0 else ","


def _read_text(path: Path) -> pd.DataFrame:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        message = (f"Cohort table '{path}' is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as "
                   "UTF-8 (Excel: CSV UTF-8).")
        raise CohortError(message) from None
    lines = text.splitlines()
    header = next((line for line in lines if line.strip()), "")
    if not header:
        message = f"Cohort table '{path}' is empty: expected a header line naming the columns, then one row per lesion."
        raise CohortError(message)
    separator = sniff_separator(header)
    frame = pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False, na_values=[""])
    if frame.shape[1] == 1:
        merged = [h for h in _MERGED_HINTS if h in header]
        if merged:
            message = (
                f"Cohort table '{path}': the header reads as one column {header[:80]!r}; it seems to be separated "
                f"by {merged[0]!r}, which is not accepted. Separate columns with a comma, a semicolon or a tab."
            )
            raise CohortError(message)
    return frame


def _sheet_names(path: Path) -> list[str]:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def _read_excel(path: Path, sheet: str | int | None) -> pd.DataFrame:
    names = _sheet_names(path)
    if sheet is None:
        if len(names) > 1:
            message = (f"Workbook '{path}' has {len(names)} sheets; choose one with --sheet (sheet= in Python). "
                       f"Sheets: {', '.join(repr(n) for n in names)}.")
            raise CohortError(message)
        sheet = 0
    elif isinstance(sheet, str) and sheet not in names:
        if sheet.isdigit() and int(sheet) < len(names):
            sheet = int(sheet)
        else:
            message = f"Workbook '{path}' has no sheet {sheet!r}; sheets: {', '.join(repr(n) for n in names)}."
            raise CohortError(message)
    if isinstance(sheet, int) and not 0 <= sheet < len(names):
        message = (f"Workbook '{path}' has no sheet number {sheet} (0-based); sheets: "
                   f"{', '.join(repr(n) for n in names)}.")
        raise CohortError(message)
    return pd.read_excel(path, sheet_name=sheet, dtype=object, keep_default_na=False, na_values=[""])


def _is_infinite_text(value: str) -> bool:
    if len(value) > 32:
        return False
    try:
        return math.isinf(float(value))
    except ValueError:
        return False


def _column_masks(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(empty, infinite) cell masks of one column, vectorised (tables may hold thousands of feature columns)."""
    missing = column.isna().to_numpy()
    if column.dtype == object:
        text = column.astype("string").str.strip()
        empty = missing | (text == "").fillna(True).to_numpy(dtype=bool)
        values = {v for v in text.dropna().unique() if _is_infinite_text(v)}
        infinite = text.isin(values).fillna(False).to_numpy(dtype=bool) if values else np.zeros(len(text), bool)
        return empty, infinite
    if pd.api.types.is_float_dtype(column):
        return missing, np.isinf(column.to_numpy(dtype=float))
    return missing, np.zeros(len(column), dtype=bool)


def _check_rows(frame: pd.DataFrame, path: Path) -> None:
    if len(frame) == 0:
        message = (f"Cohort table '{path}' has a header but no data rows; expected one row per lesion under "
                   f"the header ({', '.join(map(str, frame.columns[:6]))}{', …' if frame.shape[1] > 6 else ''}).")
        raise CohortError(message)
    all_empty = np.ones(len(frame), dtype=bool)
    infinite_cells: list[tuple[int, str]] = []
    for name in frame.columns:
        empty, infinite = _column_masks(frame[name])
        all_empty &= empty
        infinite_cells += [(int(r), str(name)) for r in np.flatnonzero(infinite)[:_MAX_LISTED]]
    blank_rows = np.flatnonzero(all_empty)
    if len(blank_rows) == len(frame):
        message = f"Cohort table '{path}' has no data: every row under the header is empty."
        raise CohortError(message)
    issues = [CohortIssue(int(r) + 1, None, None, "row is empty (every cell blank); delete it")
              for r in blank_rows[:_MAX_LISTED]]
    for row, name in sorted(infinite_cells)[:_MAX_LISTED]:
        issues.append(CohortIssue(row + 1, name, frame.at[frame.index[row], name],
                                  "infinite numbers are not accepted", "a finite number, or empty if unknown"))
    if issues:
        message = f"Cohort table '{path}': {len(issues)} problem(s) found while reading"
        raise CohortError(message, issues)


def read_table(path: PathLike, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a cohort table into a raw frame (object columns for text formats).

    Parameters
    ----------
    path
        ``.csv``, ``.tsv``, ``.txt`` (separator sniffed: comma, semicolon or tab), ``.xlsx``/``.xlsm`` or
        ``.parquet``/``.pq``.
    sheet
        Excel sheet name or 0-based index; required when the workbook has several sheets.

    Raises
    ------
    CohortError
        Unreadable file, merged header, several sheets without ``sheet``, no data rows, empty rows, infinite
        numbers (rows are 1-based data rows, header excluded).
    """
    path = Path(path)
    if not path.is_file():
        message = f"Cohort table '{path}' does not exist. Check the path."
        raise FileNotFoundError(message)
    suffix = _suffix(path)
    if sheet is not None and suffix not in {".xlsx", ".xlsm"}:
        message = f"--sheet applies to Excel workbooks only; '{path}' is {suffix[1:]}."
        raise CohortError(message)
    try:
        if suffix in {".csv", ".tsv", ".txt"}:
            frame = _read_text(path)
        elif suffix in {".xlsx", ".xlsm"}:
            frame = _read_excel(path, sheet)
        else:
            frame = pd.read_parquet(path)
    except CohortError:
        raise
    except (ValueError, OSError, KeyError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        message = f"Cohort table '{path}' could not be read as {suffix[1:]}: {exc}."
        raise CohortError(message) from None
    except Exception as exc:  # openpyxl raises its own types (e.g. InvalidFileException) on damaged workbooks
        message = f"Cohort table '{path}' could not be read as {suffix[1:]}: {type(exc).__name__}: {exc}."
        raise CohortError(message) from None
    frame.columns = [str(c) for c in frame.columns]
    _check_rows(frame, path)
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
