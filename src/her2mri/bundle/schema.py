"""The input schema of a model bundle: which cohort columns the models need, their kinds, levels and units.

Built once from the cohort vocabulary (:mod:`her2mri.cohort.vocabulary`) and the training frame when the bundle
is made, then stored as JSON inside it, so that prediction-time validation does not depend on the vocabulary of
the installed version. Columns the vocabulary does not know (radiomics ``<sequence>__<feature>`` columns,
quantitative extras) are described from the training frame.

:meth:`InputSchema.validate` normalises a frame of cases to canonical values (case-insensitive levels, yes/no
spellings, numbers) and collects **every** problem into one :class:`~her2mri.exceptions.CohortError`:
missing columns, unknown levels (row, column, received, accepted), non-numbers, values outside the plausible
range, and descriptors filled in for a lesion type they do not apply to. Empty values are allowed: the
pipelines impute them, and the prediction table says which inputs were imputed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from her2mri.cohort.vocabulary import MISSING_TOKENS, NOT_APPLICABLE, normalise_token, spec_for
from her2mri.exceptions import CohortError, CohortIssue

__all__ = ["NOT_APPLICABLE", "InputColumn", "InputSchema", "build_input_schema"]

InputKind = Literal["categorical", "binary", "numeric"]

_YES = {"yes", "y", "true", "t", "1", "present"}
_NO = {"no", "n", "false", "f", "0", "absent"}
_NME_ONLY = {"nme"}
_MASS_ONLY = {"mass", "focus"}


@dataclass(frozen=True)
class InputColumn:
    """One input the models need. ``values``/``labels`` for categorical columns; ``unit``/``plausible`` for numbers."""

    name: str
    kind: InputKind
    values: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    unit: str | None = None
    plausible: tuple[float, float] | None = None
    applies_to: Literal["mass", "nme"] | None = None
    description: str = ""
    group: str = "quantitative"
    aliases: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Human name for forms: the description's first clause or the column name."""
        return self.name.replace("_", " ")

    def level_label(self, value: str) -> str:
        return str(self.labels.get(value, value.replace("_", " ")))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "values": list(self.values),
            "labels": dict(self.labels),
            "unit": self.unit,
            "plausible": list(self.plausible) if self.plausible is not None else None,
            "applies_to": self.applies_to,
            "description": self.description,
            "group": self.group,
            "aliases": dict(self.aliases),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputColumn:
        plausible = data.get("plausible")
        return cls(
            name=str(data["name"]),
            kind=data["kind"],
            values=tuple(str(v) for v in data.get("values", ())),
            labels={str(k): str(v) for k, v in dict(data.get("labels", {})).items()},
            unit=data.get("unit"),
            plausible=(float(plausible[0]), float(plausible[1])) if plausible is not None else None,
            applies_to=data.get("applies_to"),
            description=str(data.get("description", "")),
            group=str(data.get("group", "quantitative")),
            aliases={str(k): str(v) for k, v in dict(data.get("aliases", {})).items()},
        )

    def accepted(self) -> str:
        """The accepted values, as an error message lists them."""
        if self.kind == "binary":
            return "yes/no (also true/false, 1/0, present/absent)"
        if self.kind == "numeric":
            unit = f" {self.unit}" if self.unit else ""
            if self.plausible is not None:
                return f"a number from {self.plausible[0]:g} to {self.plausible[1]:g}{unit}"
            return f"a number{unit}"
        levels = list(self.values)
        if self.applies_to is not None:
            levels.append(NOT_APPLICABLE)
        return ", ".join(levels)


@dataclass(frozen=True)
class InputSchema:
    """The ordered inputs of a bundle. ``lesion_type`` is consulted for structural emptiness when present."""

    columns: tuple[InputColumn, ...]
    ki67_cutoff: float = 20.0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def get(self, name: str) -> InputColumn:
        for column in self.columns:
            if column.name == name:
                return column
        msg = f"Column {name!r} is not an input of this model; inputs: {', '.join(self.names)}."
        raise KeyError(msg)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [c.to_dict() for c in self.columns], "ki67_cutoff": self.ki67_cutoff}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputSchema:
        return cls(
            columns=tuple(InputColumn.from_dict(c) for c in data["columns"]),
            ki67_cutoff=float(data.get("ki67_cutoff", 20.0)),
        )

    def derivable(self, name: str) -> tuple[str, ...]:
        """Columns from which an empty input ``name`` is derived (ER/PR/Ki-67 status from the percentages,
        HR status from ER/PR status, ER-low from ER %); empty when it is not derivable."""
        return _DERIVATIONS.get(name, ())

    # ------------------------------------------------------------------------------------------ validation
    def validate(self, frame: pd.DataFrame, *, source: str = "<cases>") -> pd.DataFrame:
        """Canonical copy of ``frame`` restricted to the schema's columns (plus ``lesion_id``/``patient_id``
        and ``lesion_type`` when given). Raises :class:`CohortError` listing every problem."""
        if not isinstance(frame, pd.DataFrame):
            msg = f"Cases must be a pandas DataFrame; got {type(frame).__name__}."
            raise TypeError(msg)
        frame = _fill_derived(frame, self)
        lookup = _Lookup(frame.columns)
        issues: list[CohortIssue] = []
        missing = [c.name for c in self.columns if c.name not in lookup]
        for name in missing:
            spec = self.get(name)
            issues.append(
                CohortIssue(
                    row=None,
                    column=name,
                    value=None,
                    message="required column is missing (leave cells empty for unknown values, but keep the column)",
                    accepted=spec.accepted(),
                )
            )
        out = pd.DataFrame(index=frame.index)
        for key in ("lesion_id", "patient_id"):
            if key in lookup:
                out[key] = frame[lookup[key]].astype(object).where(frame[lookup[key]].notna(), None)
        lesion_type = self._lesion_types(frame, lookup, issues)
        for spec in self.columns:
            if spec.name not in lookup:
                continue
            raw = frame[lookup[spec.name]]
            out[spec.name] = self._column(spec, raw, lesion_type, issues)
        if "lesion_type" in lookup and "lesion_type" not in out.columns:
            out["lesion_type"] = lesion_type
        if issues:
            msg = f"{source}: {len(issues)} problem(s) in the cases given to the model"
            raise CohortError(msg, issues)
        return out

    def _lesion_types(
        self, frame: pd.DataFrame, lookup: Mapping[str, Any], issues: list[CohortIssue]
    ) -> pd.Series:
        if "lesion_type" not in lookup:
            return pd.Series([np.nan] * len(frame), index=frame.index, dtype=object)
        spec = (
            self.get("lesion_type")
            if "lesion_type" in self
            else InputColumn("lesion_type", "categorical", values=("focus", "mass", "nme", "mass_with_nme"))
        )
        return self._column(spec, frame[lookup["lesion_type"]], None, issues)

    @staticmethod
    def _column(
        spec: InputColumn, raw: pd.Series, lesion_type: pd.Series | None, issues: list[CohortIssue]
    ) -> pd.Series:
        values: list[Any] = []
        for pos, value in enumerate(raw.tolist()):
            row = pos + 1
            kind = None if lesion_type is None else lesion_type.iloc[pos]
            structural = spec.applies_to is not None and (
                (spec.applies_to == "mass" and kind in _NME_ONLY)
                or (spec.applies_to == "nme" and kind in _MASS_ONLY)
            )
            empty = _is_missing(value)
            if structural:
                if empty or normalise_token(value) in (NOT_APPLICABLE, "not_applicable", "none"):
                    values.append(NOT_APPLICABLE)
                else:
                    issues.append(
                        CohortIssue(
                            row, spec.name, value,
                            f"a {spec.applies_to} descriptor was given for a lesion of type '{kind}'; "
                            "leave it empty (it does not apply)",
                        )
                    )
                    values.append(np.nan)
                continue
            if empty:
                values.append(np.nan)
                continue
            values.append(_normalise(spec, value, row, issues))
        dtype = object if spec.kind == "categorical" else float
        return pd.Series(values, index=raw.index, dtype=dtype)


def _normalise(spec: InputColumn, value: Any, row: int, issues: list[CohortIssue]) -> Any:
    if spec.kind == "numeric":
        try:
            number = float(value) if isinstance(value, int | float) else float(str(value).strip())
        except ValueError:
            issues.append(CohortIssue(row, spec.name, value, "not a number", spec.accepted()))
            return np.nan
        if not np.isfinite(number):
            issues.append(CohortIssue(row, spec.name, value, "not a finite number", spec.accepted()))
            return np.nan
        if spec.plausible is not None and not spec.plausible[0] <= number <= spec.plausible[1]:
            issues.append(CohortIssue(row, spec.name, value, "outside the plausible range", spec.accepted()))
            return np.nan
        return number
    token = normalise_token(value)
    if spec.kind == "binary":
        if token in _YES or spec.aliases.get(token) == "1":
            return 1.0
        if token in _NO or spec.aliases.get(token) == "0":
            return 0.0
        issues.append(CohortIssue(row, spec.name, value, "unknown value", spec.accepted()))
        return np.nan
    canonical = {normalise_token(v): v for v in spec.values}
    if spec.applies_to is not None:
        canonical[NOT_APPLICABLE] = NOT_APPLICABLE
    canonical.update({k: v for k, v in spec.aliases.items()})
    if token in canonical:
        return canonical[token]
    issues.append(CohortIssue(row, spec.name, value, "unknown value", spec.accepted()))
    return np.nan


_DERIVATIONS: dict[str, tuple[str, ...]] = {
    "er_status": ("er_percent",),
    "pr_status": ("pr_percent",),
    "ki67_status": ("ki67_percent",),
    "hr_status": ("er_status", "pr_status"),
    "er_low": ("er_percent",),
}


def _number(value: Any) -> float:
    if _is_missing(value):
        return float("nan")
    try:
        return float(value) if isinstance(value, int | float) else float(str(value).strip())
    except ValueError:
        return float("nan")


def _status(value: Any, column: str) -> Any:
    if _is_missing(value):
        return np.nan
    spec = spec_for(column)
    canonical = spec.canonical(normalise_token(value)) if spec is not None else None
    return canonical if canonical is not None else value


class _Lookup(dict):
    """Column lookup by name, ignoring case and surrounding spaces on both sides (the table's headers and the
    model's own column names, which may be mixed-case, e.g. computer-extracted imaging features)."""

    def __init__(self, columns: Any = ()) -> None:
        super().__init__()
        for column in columns:
            super().setdefault(self._key(column), column)

    @staticmethod
    def _key(name: Any) -> str:
        return str(name).strip().lower()

    def __contains__(self, name: object) -> bool:
        return super().__contains__(self._key(name))

    def __getitem__(self, name: Any) -> Any:
        return super().__getitem__(self._key(name))

    def __setitem__(self, name: Any, value: Any) -> None:
        super().__setitem__(self._key(name), value)

    def get(self, name: Any, default: Any = None) -> Any:
        return super().get(self._key(name), default)


def _fill_derived(frame: pd.DataFrame, schema: InputSchema) -> pd.DataFrame:
    """Fill empty derivable inputs from the columns they are derived from, as the cohort validator does
    (status at ≥ 1 % for ER/PR, at ≥ ``ki67_cutoff`` % for Ki-67; HR positive if ER or PR positive; ER-low
    for 1–10 %). Values given are never overwritten; underivable cells stay empty."""
    lookup = _Lookup(frame.columns)
    wanted = [c for c in ("er_status", "pr_status", "ki67_status", "hr_status", "er_low") if c in schema]
    if not wanted or not any(s in lookup for c in wanted for s in _DERIVATIONS[c]):
        return frame
    frame = frame.copy()
    n = len(frame)

    def current(column: str) -> list[Any]:
        return list(frame[lookup[column]]) if column in lookup else [np.nan] * n

    def store(column: str, derived: list[Any]) -> None:
        values = current(column)
        filled = [d if _is_missing(v) else v for v, d in zip(values, derived, strict=True)]
        key = lookup.get(column, column)
        frame[key] = pd.Series(filled, index=frame.index, dtype=object)
        lookup[column] = key

    cut = {"er_status": 1.0, "pr_status": 1.0, "ki67_status": schema.ki67_cutoff}
    labels = {"er_status": ("positive", "negative"), "pr_status": ("positive", "negative"), "ki67_status": ("high", "low")}
    for column in ("er_status", "pr_status", "ki67_status"):
        source = _DERIVATIONS[column][0]
        if (column in wanted or (column in ("er_status", "pr_status") and "hr_status" in wanted)) and source in lookup:
            numbers = [_number(v) for v in current(source)]
            store(column, [np.nan if np.isnan(x) else labels[column][0 if x >= cut[column] else 1] for x in numbers])
    if "hr_status" in wanted and ("er_status" in lookup or "pr_status" in lookup):
        er = [_status(v, "er_status") for v in current("er_status")]
        pr = [_status(v, "pr_status") for v in current("pr_status")]
        hr = [
            "positive" if "positive" in (a, b) else "negative" if (a, b) == ("negative", "negative") else np.nan
            for a, b in zip(er, pr, strict=True)
        ]
        store("hr_status", hr)
    if "er_low" in wanted and "er_percent" in lookup:
        numbers = [_number(v) for v in current("er_percent")]
        store("er_low", [np.nan if np.isnan(x) else float(1.0 <= x <= 10.0) for x in numbers])
    return frame


def _is_missing(value: Any) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return True
    return not isinstance(value, int | float) and normalise_token(value) in MISSING_TOKENS


# ----------------------------------------------------------------------------------------------- building
def _aliases(spec: Any) -> dict[str, str]:
    return {normalise_token(k): str(v) for k, v in dict(spec.aliases).items()}


def _from_vocabulary(spec: Any) -> InputColumn:
    kind = spec.kind if spec.kind in ("categorical", "binary", "numeric") else "categorical"
    plausible = getattr(spec, "plausible", None)
    return InputColumn(
        name=spec.name,
        kind=kind,
        values=tuple(str(v) for v in getattr(spec, "values", ()) or ()),
        labels={str(k): str(v) for k, v in dict(getattr(spec, "labels", {}) or {}).items()},
        unit=getattr(spec, "unit", None),
        plausible=(float(plausible[0]), float(plausible[1])) if plausible is not None else None,
        applies_to=getattr(spec, "applies_to", None),
        description=str(getattr(spec, "description", "") or ""),
        group=str(getattr(spec, "group", "quantitative")),
        aliases=_aliases(spec),
    )


def _from_training(name: str, series: pd.Series | None) -> InputColumn:
    if series is not None and not pd.api.types.is_numeric_dtype(series):
        levels = tuple(sorted({str(v) for v in series.dropna()} - {NOT_APPLICABLE}))
        return InputColumn(name=name, kind="categorical", values=levels, description="from the training data")
    return InputColumn(name=name, kind="numeric", description="quantitative feature (from the training data)")


def build_input_schema(
    columns: Iterable[str], training_frame: pd.DataFrame | None = None, *, ki67_cutoff: float = 20.0
) -> InputSchema:
    """Schema of ``columns`` (in first-seen order, duplicates dropped): vocabulary metadata where the cohort
    vocabulary knows the column, the training frame's dtype and levels otherwise. ``ki67_cutoff`` is the
    study's Ki-67 cut-off, used to derive an empty ``ki67_status`` from ``ki67_percent``."""
    seen: list[str] = []
    for name in columns:
        if name not in seen:
            seen.append(str(name))
    out = []
    for name in seen:
        spec = spec_for(name)
        if spec is not None and getattr(spec, "kind", None) in ("categorical", "binary", "numeric"):
            out.append(_from_vocabulary(spec))
        else:
            series = training_frame[name] if training_frame is not None and name in training_frame else None
            out.append(_from_training(name, series))
    return InputSchema(columns=tuple(out), ki67_cutoff=float(ki67_cutoff))

