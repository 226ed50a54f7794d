"""Reading a study directory and the small building blocks every report section is made of.

A section is a :class:`Section` (stable ``id``, title, blocks, or a ``missing`` reason); its blocks are plain
dicts the template renders by ``kind``: "text", "heading", "figures", "table", "kv" (definition list).
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from her2mri.exceptions import Her2MriError
from her2mri.report.formatting import MISSING

__all__ = [
    "ReportError",
    "ReportSectionError",
    "Section",
    "StudyData",
    "figure",
    "figures",
    "heading",
    "load_study",
    "safe_section",
    "table",
    "text",
]


class ReportError(Her2MriError, ValueError):
    """A study directory cannot be rendered (results.json missing or unreadable)."""


class ReportSectionError(ReportError):
    """The report was written, but one or more sections failed to render (each shown as an error in it)."""

    def __init__(self, path: Path, failed: Sequence[tuple[str, str]]) -> None:
        self.path = path
        self.failed = tuple(failed)
        listed = "; ".join(f"'{title}': {reason}" for title, reason in self.failed)
        super().__init__(f"Report {path} written with {len(self.failed)} failed section(s): {listed}.")


@dataclass
class Section:
    id: str
    title: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    missing: str | None = None
    lead: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class StudyData:
    """Everything read from a study directory."""

    directory: Path
    results: Mapping[str, Any]
    predictions: pd.DataFrame | None
    notes: tuple[str, ...]

    @property
    def tasks(self) -> Mapping[str, Any]:
        tasks = self.results.get("tasks")
        return tasks if isinstance(tasks, Mapping) else {}

    def shap_frame(self, task: str, file_name: str | None) -> pd.DataFrame | None:
        path = self.directory / (file_name or f"shap_{task}.csv")
        if not path.is_file():
            return None
        try:
            return pd.read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError):
            return None


def _reject_constant(value: str) -> float:
    return float("nan")


def load_study(study_dir: str | Path) -> StudyData:
    """Read ``results.json`` (required) and ``predictions.csv`` (optional) from a study directory."""
    directory = Path(study_dir)
    path = directory / "results.json"
    if not path.is_file():
        message = (
            f"Study directory '{directory}': results.json not found. Accepted: a directory written by "
            "'her2mri study run' or 'her2mri demo'. Run the study first or pass the right directory."
        )
        raise ReportError(message)
    try:
        results = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except (OSError, json.JSONDecodeError) as exc:
        message = f"Study directory '{directory}': results.json is not valid JSON ({exc}). Re-run the study to rewrite it."
        raise ReportError(message) from exc
    if not isinstance(results, Mapping):
        message = f"'{path}': got a JSON {type(results).__name__}; accepted: a JSON object. Re-run the study."
        raise ReportError(message)
    notes: list[str] = []
    version = results.get("schema_version")
    if version not in (1, "1", None):
        notes.append(f"results.json has schema_version {version}; this report knows version 1 and shows what it can.")
    predictions = None
    pred_path = directory / "predictions.csv"
    if pred_path.is_file():
        try:
            predictions = pd.read_csv(pred_path, dtype={"lesion_id": str, "patient_id": str, "center": str})
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            notes.append(f"predictions.csv could not be read ({exc}); curves come from results.json only.")
    return StudyData(directory=directory, results=results, predictions=predictions, notes=tuple(notes))


def safe_section(build: Callable[[StudyData], Section | None], data: StudyData, sid: str,
                 title: str) -> Section | None:
    """Run a section builder; a failure becomes a section marked as an error (shown in the report), never a crash.

    ``None`` passes through: an optional section (e.g. imaging) with nothing to show is left out of the report.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            return build(data)
    except Exception as exc:  # noqa: BLE001 - a report must render whatever one section's data looks like
        return Section(id=sid, title=title, error=f"{type(exc).__name__}: {exc}")


def text(content: str, *, css: str = "") -> dict[str, Any]:
    return {"kind": "text", "text": content, "css": css}


def heading(content: str, level: int = 3) -> dict[str, Any]:
    return {"kind": "heading", "text": content, "level": level}


def figure(uri: str, caption: str, *, name: str, wide: bool = False, size: str = "") -> dict[str, Any]:
    """A figure; ``size`` is "" (one third of the page), "half" or "wide" (full width)."""
    return {"uri": uri, "caption": caption, "name": name, "size": "wide" if wide else size}


_NUMERIC_START = re.compile(r"^[<>≤≥−\-+]?\d|^—$|^[<>]0")


def _is_numeric_cell(value: Any) -> bool:
    return bool(_NUMERIC_START.match(str(value).strip()))


def figures(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "figures", "items": list(items)}


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any] | Mapping[str, Any]],
    *,
    caption: str = "",
    note: str = "",
    name: str = "",
    numeric_from: int = 1,
    keep_empty_columns: bool = False,
) -> dict[str, Any]:
    """A table; a row given as ``{"group": label}`` becomes a full-width sub-heading row.

    Columns whose every cell is missing (em dash or empty) are dropped; cells that read as numbers are
    right-aligned from column ``numeric_from`` on.
    """
    body = [dict(r) if isinstance(r, Mapping) else {"cells": list(r)} for r in rows]
    cell_rows = [r["cells"] for r in body if "cells" in r]
    keep = [
        j for j in range(len(header))
        if j < 2 or any(j < len(c) and str(c[j]).strip() not in ("", MISSING) for c in cell_rows)
    ] if cell_rows and not keep_empty_columns else list(range(len(header)))
    for r in body:
        if "cells" in r:
            cells = [r["cells"][j] if j < len(r["cells"]) else "" for j in keep]
            r["cells"] = [
                {"text": c, "num": j >= numeric_from and _is_numeric_cell(c)} for j, c in zip(keep, cells, strict=True)
            ]
    return {
        "kind": "table",
        "header": [
            {"text": header[j], "num": any(r["cells"][i]["num"] for r in body if "cells" in r)}
            for i, j in enumerate(keep)
        ],
        "rows": body,
        "caption": caption,
        "note": note,
        "name": name,
        "numeric_from": numeric_from,
    }


def get(mapping: Any, *keys: str, default: Any = None) -> Any:
    """Nested ``.get`` that tolerates missing levels and non-mapping values."""
    current = mapping
    for key in keys:
        if not isinstance(current, Mapping) or key not in current:
            return default
        current = current[key]
    return current


def finite(values: Any) -> bool:
    """True for a non-empty sequence of finite numbers."""
    try:
        return len(values) > 0 and all(v is not None and math.isfinite(float(v)) for v in values)
    except (TypeError, ValueError):
        return False
