"""The study result: a JSON-safe document built step by step, written atomically after each step.

``results.json`` follows schema version 1, documented key by key in ``docs/results-schema.md``. Keys that vary
between two runs of the same configuration (timestamps and durations) are listed in :data:`VOLATILE_KEYS` so that
reproducibility checks can drop them.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["RESULTS_SCHEMA_VERSION", "VOLATILE_KEYS", "StudyResult", "json_safe", "strip_volatile", "write_json_atomic"]

RESULTS_SCHEMA_VERSION = 1

#: Dotted paths of the keys that legitimately differ between two identical runs.
VOLATILE_KEYS: tuple[str, ...] = (
    "created",
    "provenance.started",
    "provenance.finished",
    "provenance.durations_s",
    "provenance.output_dir",
    "provenance.platform",
    "provenance.hostname",
)


def json_safe(value: Any) -> Any:
    """Convert numpy / pandas / path values to plain JSON types; NaN and infinities become ``None``."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [json_safe(item) for item in items]
    if isinstance(value, np.ndarray):
        return [json_safe(item) for item in value.tolist()]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "to_dict"):
        return json_safe(value.to_dict())
    return str(value)


def write_json_atomic(document: Mapping[str, Any], path: Path, *, indent: int | None = 2) -> Path:
    """Write ``document`` as JSON to ``path`` via a temporary file and an atomic rename.

    ``indent=None`` writes compact JSON (several times faster for large documents; used for the partial
    documents rewritten after each study step, the finished document is indented).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(json_safe(document), indent=indent, sort_keys=False, allow_nan=False)
    handle, tmp = tempfile.mkstemp(prefix=".results-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text + "\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def strip_volatile(document: Mapping[str, Any], keys: tuple[str, ...] = VOLATILE_KEYS) -> dict[str, Any]:
    """Return a deep copy of ``document`` without the volatile keys (for reproducibility comparisons)."""
    copy: dict[str, Any] = json.loads(json.dumps(json_safe(document)))
    for dotted in keys:
        parts = dotted.split(".")
        node: Any = copy
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict):
            node.pop(parts[-1], None)
    return copy


@dataclass(frozen=True)
class StudyResult:
    """What :func:`her2mri.study.run_study` returns: the results document and where its files were written.

    ``document`` is the content of ``results.json``; ``predictions`` the out-of-sample predictions (one row per
    lesion × task × model × set); ``out_dir`` the output folder (``None`` when nothing was written).
    """

    document: dict[str, Any]
    predictions: pd.DataFrame
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return str(self.document.get("status", "unknown"))

    @property
    def tasks(self) -> dict[str, Any]:
        return dict(self.document.get("tasks", {}))

    def auc(self, task: str, model: str, set_name: str) -> float:
        """AUC of ``model`` for ``task`` on ``set_name`` (e.g. ``'internal'`` or ``'external:center2'``)."""
        return float(self.document["tasks"][task]["models"][model]["sets"][set_name]["auc"]["estimate"])

    def best_model(self, task: str) -> str:
        return str(self.document["tasks"][task]["best_model"])

    def to_dict(self) -> dict[str, Any]:
        return json_safe(self.document)

    def to_frame(self) -> pd.DataFrame:
        """Tidy performance table: one row per task × model × set with AUC and threshold metrics."""
        rows = []
        for task, block in self.document.get("tasks", {}).items():
            for model, info in block.get("models", {}).items():
                for set_name, metrics in info.get("sets", {}).items():
                    row = {"task": task, "model": model, "set": set_name, "n": metrics.get("n")}
                    for key in ("auc", "sensitivity", "specificity", "accuracy", "ppv", "npv"):
                        item = metrics.get(key) or {}
                        row[key] = item.get("estimate")
                        row[f"{key}_ci_low"] = item.get("ci_low")
                        row[f"{key}_ci_high"] = item.get("ci_high")
                    rows.append(row)
        return pd.DataFrame(rows)
