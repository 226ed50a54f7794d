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
    header_rows: 3      # the table has 3 header rows (e.g. TCIA: group, name, coding): flattened to "group | name"
    kinds:              # column -> numeric | categorical (columns outside the contract)
      "Patient Information | Date of Birth (Days)": numeric
      "Tumor Characteristics | Staging(Tumor Size)# [T]": categorical
    derive:             # contract column -> minimum / maximum over columns, with a time unit, or an event flag
      dfs_months: {min_of: ["Recurrence | Days to local recurrence", "Follow Up | Days to last assessment"],
                   unit: days}
      dfs_event: {any_of: ["Recurrence | Days to local recurrence", "Recurrence | Days to distant recurrence"]}

``header_rows`` comes first: the first header row is a group name spread over several columns (merged cells:
empty or ``Unnamed: n`` headers continue the group on their left), the second the column name, further rows
(coding notes) are dropped; the flattened name is ``"<group> | <name>"`` (the name alone where the group is
empty). Renaming happens next, then ``drop``, ``values``, ``scale``, ``derive``, ``kinds`` and ``constants``;
keys of ``values`` are matched after the same normalisation as cell values (case-insensitive; ``1``, ``1.0``
and ``"1"`` are the same key).

``derive``: ``min_of`` / ``max_of`` take the row-wise minimum / maximum of the listed columns (missing cells
ignored; a row with none stays missing), converted by ``unit`` (``days``, ``weeks``, ``months`` or ``years``;
days → months is ÷ 30.4375, i.e. 365.25 / 12) into months, the contract's unit for survival times. ``any_of``
gives 1 where any listed column holds a value other than empty, 0, ``no`` or ``false``, else 0 — e.g. an event
recorded as "days to recurrence", filled only for patients who recurred.

``kinds`` states how a column outside the contract is read: ``numeric`` (every non-missing cell must be a
number; the validator names any that is not) or ``categorical`` (kept as text, e.g. numeric codes of
categories). Without it, a column outside the contract whose cells are all numbers is read as numeric.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from her2mri.cohort.vocabulary import MISSING_TOKENS, normalise_token
from her2mri.exceptions import CohortIssue, ConfigError

__all__ = ["CohortMapping", "apply_mapping", "flatten_headers", "load_mapping"]

_KEYS = ("columns", "values", "constants", "scale", "drop", "description", "header_rows", "kinds", "derive")
_KINDS = ("numeric", "categorical")
_UNITS = {"days": 12 / 365.25, "weeks": 7 * 12 / 365.25, "months": 1.0, "years": 12.0}
_DERIVE_KEYS = ("min_of", "max_of", "any_of", "unit")


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
    header_rows: int = 1
    kinds: dict[str, str] = field(default_factory=dict)
    derive: dict[str, dict[str, Any]] = field(default_factory=dict)


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
    header_rows = raw.get("header_rows", 1)
    if isinstance(header_rows, bool) or not isinstance(header_rows, int) or not 1 <= header_rows <= 5:
        raise _fail(source, f"'header_rows' must be a whole number from 1 to 5, got {header_rows!r}")
    kinds = raw.get("kinds") or {}
    if not isinstance(kinds, dict):
        raise _fail(source, f"'kinds' must be a dict, got {type(kinds).__name__}")
    for column, kind in kinds.items():
        if kind not in _KINDS:
            raise _fail(source, f"'kinds.{column}' is {kind!r}; accepted: {', '.join(_KINDS)}")
    derive = raw.get("derive") or {}
    if not isinstance(derive, dict):
        raise _fail(source, f"'derive' must be a dict, got {type(derive).__name__}")
    for column, rule in derive.items():
        if not isinstance(rule, dict) or set(map(str, rule)) - set(_DERIVE_KEYS):
            raise _fail(source, f"'derive.{column}' must be a mapping with keys from {', '.join(_DERIVE_KEYS)}; "
                                f"got {rule!r}")
        ops = [k for k in ("min_of", "max_of", "any_of") if k in rule]
        if len(ops) != 1 or not isinstance(rule[ops[0]], list) or not rule[ops[0]]:
            raise _fail(source, f"'derive.{column}' needs exactly one of min_of, max_of, any_of with a non-empty "
                                f"list of columns; got {rule!r}")
        if "unit" in rule and (ops[0] == "any_of" or rule["unit"] not in _UNITS):
            raise _fail(source, f"'derive.{column}.unit' is {rule['unit']!r}; accepted with min_of/max_of: "
                                f"{', '.join(_UNITS)}")
    return CohortMapping(
        columns={str(k): str(v) for k, v in columns.items()},
        values={str(c): {normalise_token(k): v for k, v in r.items()} for c, r in values.items()},
        constants={str(k): v for k, v in constants.items()},
        scale=scale_f,
        drop=tuple(str(d) for d in drop),
        description=str(raw.get("description") or ""),
        source=source,
        header_rows=int(header_rows),
        kinds={str(k): str(v) for k, v in kinds.items()},
        derive={str(k): {str(a): ([str(c) for c in b] if isinstance(b, list) else b) for a, b in v.items()}
                for k, v in derive.items()},
    )


def flatten_headers(frame: pd.DataFrame, header_rows: int) -> pd.DataFrame:
    """Fold a table read with ``header_rows`` header rows (the first as column names, the rest as the first
    data rows) into one header row: ``"<group> | <name>"`` from the first two, further rows dropped."""
    if header_rows <= 1:
        return frame
    if len(frame) < header_rows - 1:
        message = (f"The mapping says the table has {header_rows} header rows, but it has only {len(frame)} rows "
                   "below the first; set header_rows to the number of header rows of the table.")
        raise ConfigError(message)
    groups: list[str] = []
    current = ""
    for column in frame.columns:
        text = str(column).strip()
        if text and not text.startswith("Unnamed:"):
            current = text.split(".")[0] if _is_dedup_suffix(text) else text
        groups.append(current)
    names = [("" if not _present(v) else str(v).strip()) for v in frame.iloc[0].tolist()]
    flat = [f"{g} | {n}" if g and n else (n or g) for g, n in zip(groups, names, strict=True)]
    out = frame.iloc[header_rows - 1:].reset_index(drop=True).copy()
    out.columns = flat
    return out


def _is_dedup_suffix(text: str) -> bool:
    """pandas renames repeated headers ``Group``, ``Group.1``, ``Group.2``…"""
    head, dot, tail = text.rpartition(".")
    return bool(dot) and bool(head) and tail.isdigit()


def _derive(frame: pd.DataFrame, column: str, rule: dict[str, Any], issues: list[CohortIssue],
            source: str) -> pd.Series | None:
    op = next(k for k in ("min_of", "max_of", "any_of") if k in rule)
    names = rule[op]
    missing = [c for c in names if c not in frame.columns]
    if missing:
        issues.append(CohortIssue(None, column, None,
                                  f"the mapping '{source}' derives it from column(s) {missing} which the table lacks",
                                  accepted=", ".join(map(str, frame.columns[:30]))))
        return None
    if op == "any_of":
        def flag(value: object) -> bool:
            if not _filled(value):
                return False
            token = normalise_token(value)
            return token not in ("0", "no", "false", "none", "negative")

        hits = np.zeros(len(frame), dtype=bool)
        for name in names:
            hits |= frame[name].map(flag).to_numpy(dtype=bool)
        return pd.Series(hits.astype(float), index=frame.index)
    values = pd.DataFrame(index=frame.index)
    for name in names:
        raw = frame[name]
        filled = raw.map(_filled)
        numbers = pd.to_numeric(raw.where(filled, np.nan), errors="coerce")
        bad = filled & numbers.isna()
        for row in np.flatnonzero(bad.to_numpy())[:10]:
            issues.append(CohortIssue(int(row) + 1, name, raw.iloc[row],
                                      f"the mapping derives '{column}' from this column, which needs numbers",
                                      accepted="a number or an empty cell"))
        values[name] = numbers
    combined = values.min(axis=1, skipna=True) if op == "min_of" else values.max(axis=1, skipna=True)
    return combined * _UNITS[rule.get("unit", "months")]


def apply_mapping(frame: pd.DataFrame, mapping: CohortMapping) -> tuple[pd.DataFrame, list[CohortIssue], list[str]]:
    """Apply ``mapping`` to a raw frame; returns the new frame, problems found and notes."""
    issues: list[CohortIssue] = []
    notes: list[str] = []
    out = flatten_headers(frame, mapping.header_rows)
    if mapping.header_rows > 1:
        notes.append(f"The table's {mapping.header_rows} header rows were flattened to '<group> | <name>'.")
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
    for column, rule in mapping.derive.items():
        if column in out.columns:
            issues.append(CohortIssue(None, column, None,
                                      "the mapping derives a column the table already has; drop or rename it"))
            continue
        derived = _derive(out, column, rule, issues, mapping.source)
        if derived is not None:
            out[column] = derived
            op = next(k for k in ("min_of", "max_of", "any_of") if k in rule)
            unit = f", {rule['unit']} -> months" if "unit" in rule else ""
            notes.append(f"Column '{column}' derived by the mapping: {op.replace('_', ' ')} {rule[op]}{unit}.")
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


def _filled(value: object) -> bool:
    """A cell holding a value: neither empty nor a missing-value spelling (``NA``, ``n/a``, ``unknown``…)."""
    if not _present(value):
        return False
    return not (isinstance(value, str) and len(value) <= 16
                and re.sub(r"[\s\-]+", "_", value.strip().lower()) in MISSING_TOKENS)


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and np.isnan(value):
        return False
    return not (isinstance(value, str) and value.strip() == "")
