"""Mapping files: read a public table without editing it (rename columns, recode values, add constants).

A mapping is a YAML file (or the equivalent dict) with these optional keys::

    columns:            # source column -> contract column
      "Tumor Characteristics | ER": er_status
    values:             # contract column -> {source value: contract value}
      er_status: {0: negative, 1: positive}
    constants:          # contract columns added with one value for every row
      center: duke
    scale:              # contract column -> factor the values are multiplied by (e.g. mm²/s -> ×10⁻³ mm²/s)
      adc_mean: 1000
    drop: ["Tumor Characteristics | Mol Subtype"]   # source columns removed on purpose

Renaming happens first, then ``drop``, ``values``, ``scale`` and ``constants``; keys of ``values`` are matched
after the same normalisation as cell values (case-insensitive; ``1``, ``1.0`` and ``"1"`` are the same key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from her2mri.cohort.vocabulary import normalise_token
from her2mri.exceptions import CohortIssue, ConfigError

__all__ = ["CohortMapping", "apply_mapping", "load_mapping"]

_KEYS = ("columns", "values", "constants", "scale", "drop", "description")


@dataclass(frozen=True)
class CohortMapping:
    """A validated mapping (see the module docstring for the file format)."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, object]] = field(default_factory=dict)
    constants: dict[str, object] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    description: str = ""
    source: str = "<dict>"


def _fail(source: str, what: str) -> ConfigError:
    message = f"Mapping '{source}' is invalid: {what}. See docs/cohort.md, section 'Mapping files'."
    return ConfigError(message)


def load_mapping(mapping: str | Path | Mapping[str, Any] | CohortMapping) -> CohortMapping:
    """Read and check a mapping from a YAML path or a dict."""
    if isinstance(mapping, CohortMapping):
        return mapping
    source = "<dict>"
    if isinstance(mapping, str | Path):
        path = Path(mapping)
        source = str(path)
        if not path.is_file():
            message = f"Mapping file '{path}' does not exist. Check the path."
            raise FileNotFoundError(message)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise _fail(source, f"not valid YAML ({exc})") from exc
    else:
        raw = dict(mapping)
    if not isinstance(raw, dict):
        raise _fail(source, f"the top level must be a mapping of keys, got {type(raw).__name__}")
    unknown = sorted(set(map(str, raw)) - set(_KEYS))
    if unknown:
        raise _fail(source, f"unknown key(s) {unknown}; accepted: {', '.join(_KEYS)}")
    columns = raw.get("columns") or {}
    values = raw.get("values") or {}
    constants = raw.get("constants") or {}
    scale = raw.get("scale") or {}
    drop = raw.get("drop") or []
    for key, obj, kind in (("columns", columns, dict), ("values", values, dict), ("constants", constants, dict),
                           ("scale", scale, dict), ("drop", drop, list)):
        if not isinstance(obj, kind):
            raise _fail(source, f"'{key}' must be a {kind.__name__}, got {type(obj).__name__}")
    for column, recode in values.items():
        if not isinstance(recode, dict):
            raise _fail(source, f"'values.{column}' must map source values to contract values")
    try:
        scale_f = {str(k): float(v) for k, v in scale.items()}
    except (TypeError, ValueError) as exc:
        raise _fail(source, "'scale' factors must be numbers") from exc
    return CohortMapping(
        columns={str(k): str(v) for k, v in columns.items()},
        values={str(c): {normalise_token(k): v for k, v in r.items()} for c, r in values.items()},
        constants={str(k): v for k, v in constants.items()},
        scale=scale_f,
        drop=tuple(str(d) for d in drop),
        description=str(raw.get("description") or ""),
        source=source,
    )


def apply_mapping(frame: pd.DataFrame, mapping: CohortMapping) -> tuple[pd.DataFrame, list[CohortIssue], list[str]]:
    """Apply ``mapping`` to a raw frame; returns the new frame, problems found and notes."""
    issues: list[CohortIssue] = []
    notes: list[str] = []
    out = frame.copy()
    missing = [c for c in list(mapping.columns) + list(mapping.drop) if c not in out.columns]
    for column in missing:
        issues.append(CohortIssue(None, column, None,
                                  f"the mapping '{mapping.source}' names column '{column}' which the table lacks",
                                  accepted=", ".join(map(str, out.columns[:30]))))
    rename = {k: v for k, v in mapping.columns.items() if k in out.columns}
    targets = pd.Series(list(rename.values()))
    for target in targets[targets.duplicated()].unique():
        issues.append(CohortIssue(None, target, None, "the mapping renames several source columns to this column"))
    clash = [v for k, v in rename.items() if v in out.columns and v not in rename]
    for target in clash:
        issues.append(CohortIssue(None, target, None,
                                  "the mapping renames a column to a name the table already has"))
    out = out.rename(columns=rename)
    out = out.drop(columns=[c for c in mapping.drop if c in out.columns])
    for column, recode in mapping.values.items():
        if column not in out.columns:
            continue
        raw = out[column]
        tokens = raw.map(lambda v: normalise_token(v) if _present(v) else None)
        mapped = tokens.map(lambda t, r=recode: r.get(t, _KEEP) if t is not None else _KEEP)
        keep = mapped.map(lambda v: v is _KEEP)
        out[column] = raw.where(keep, mapped).astype(object)
    for column, factor in mapping.scale.items():
        if column in out.columns:
            out[column] = pd.to_numeric(out[column], errors="coerce") * factor
            notes.append(f"Column '{column}' multiplied by {factor:g} as the mapping asks.")
    for column, value in mapping.constants.items():
        if column in out.columns:
            issues.append(CohortIssue(None, column, None,
                                      "the mapping sets a constant for a column the table already has"))
        else:
            out[column] = value
    return out, issues, notes


class _Keep:
    pass


_KEEP = _Keep()


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and np.isnan(value):
        return False
    return not (isinstance(value, str) and value.strip() == "")
