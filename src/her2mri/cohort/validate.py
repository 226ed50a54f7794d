"""Validate a raw cohort table: normalise spellings, collect every problem, derive labels, build a Cohort.

Every problem becomes a :class:`~her2mri.exceptions.CohortIssue` (1-based data row, column, value received,
accepted values); all of them are raised together in one :class:`~her2mri.exceptions.CohortError`
(:class:`~her2mri.exceptions.UnitError` when a column is in the wrong unit). Work is done per column on unique
values, so 100,000 rows validate in a few seconds.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from her2mri.cohort import derive
from her2mri.cohort.io import read_table
from her2mri.cohort.mapping import CohortMapping, apply_mapping, load_mapping
from her2mri.cohort.model import Cohort, frame_sha256
from her2mri.cohort.subtype import SubtypeOptions
from her2mri.cohort.units import check_units
from her2mri.cohort.vocabulary import (
    COLUMNS,
    DERIVED_COLUMNS,
    MISSING_TOKENS,
    NOT_APPLICABLE,
    ColumnSpec,
    is_radiomics_column,
    normalise_token,
    spec_for,
)
from her2mri.exceptions import CohortError, CohortIssue, Her2MriWarning, UnitError

__all__ = ["load_cohort", "validate_cohort"]

MappingLike = str | Path | Mapping[str, Any] | CohortMapping | None
_MASS_TYPES = ("mass", "mass_with_nme")
_NME_TYPES = ("nme", "mass_with_nme")
_MAX_LISTED_ROWS = 10


def load_cohort(path: str | Path, *, mapping: MappingLike = None, subtype: SubtypeOptions | None = None) -> Cohort:
    """Read a CSV/TSV/Excel/Parquet cohort table, apply an optional mapping, validate and derive labels.

    Raises
    ------
    CohortError
        With ``.issues`` listing every problem found (``UnitError`` if a column is in the wrong unit).
    """
    frame = read_table(path)
    return validate_cohort(frame, mapping=mapping, subtype=subtype, source=str(path))


_SEPARATORS = re.compile(r"[\s\-]+")
_NUMBER_START = frozenset("+.0123456789")


def _is_missing_token(value: object) -> bool:
    return (isinstance(value, str) and len(value) <= 16
            and _SEPARATORS.sub("_", value.strip().lower()) in MISSING_TOKENS)


def _missing_mask(raw: pd.Series) -> np.ndarray:
    """True where a cell is empty or one of :data:`MISSING_TOKENS` (work done on unique values)."""
    mask = pd.isna(raw).to_numpy()
    if raw.dtype != object:
        return mask
    uniques = pd.unique(raw[~mask])
    # a cell starting like a number is never a missing-value spelling: skip the costly check for those (wide
    # tables have millions of distinct numbers)
    missing = [u for u in uniques if isinstance(u, str)
               and (u == "" or (u[0] not in _NUMBER_START and not (u[0] == "-" and u[1:2].isdigit())))
               and _is_missing_token(u)]
    if missing:
        mask |= raw.isin(missing).to_numpy()
    return mask


def _row_issues(column: str, rows: np.ndarray, raw: pd.Series, message: str, accepted: str | None
                ) -> list[CohortIssue]:
    values = raw.to_numpy(dtype=object)
    return [CohortIssue(int(i) + 1, column, values[i], message, accepted) for i in rows]


class _Validator:
    def __init__(self, frame: pd.DataFrame, source: str, options: SubtypeOptions) -> None:
        self.raw = frame.reset_index(drop=True)
        self.source = source
        self.options = options
        self.issues: list[CohortIssue] = []
        self.notes: list[str] = []
        self.out: dict[str, pd.Series | np.ndarray] = {}
        self.extra: list[str] = []
        self.features: list[str] = []
        self.numeric: dict[str, pd.Series] = {}
        self.n = len(self.raw)
        self.recomputed: list[str] = []
        self.kinds: dict[str, str] = {}
        self.auto_numeric: list[str] = []

    # ---- column names -------------------------------------------------------------------------
    def rename_columns(self) -> None:
        rename: dict[str, str] = {}
        for column in self.raw.columns:
            if column in COLUMNS or spec_for(column) is not None or is_radiomics_column(column):
                continue
            candidate = re.sub(r"[\s\-]+", "_", column.strip().lower())
            if candidate in COLUMNS or spec_for(candidate) is not None:
                rename[column] = candidate
        if rename:
            self.notes.append("Column names normalised: " + ", ".join(f"'{k}' → '{v}'" for k, v in rename.items()))
        self.raw = self.raw.rename(columns=rename)
        names = pd.Series(list(self.raw.columns))
        for name in names[names.duplicated()].unique():
            self.issues.append(CohortIssue(None, name, None, "the column appears more than once",
                                           accepted="each column once; remove or rename the duplicates"))
        self.raw = self.raw.loc[:, ~names.duplicated().to_numpy()]

    def check_required(self) -> None:
        columns = set(self.raw.columns)
        if "patient_id" not in columns:
            self.issues.append(CohortIssue(None, "patient_id", None, "required column is missing",
                                           accepted="a column 'patient_id' (or rename one with a mapping file)"))
        if not {"her2_ihc", "her2_status"} & columns:
            self.issues.append(CohortIssue(
                None, "her2_ihc", None, "required label column is missing: give her2_ihc or her2_status",
                accepted="a column 'her2_ihc' (0, 1+, 2+, 3+) or 'her2_status' (zero, low, positive, negative)"))

    # ---- values -------------------------------------------------------------------------------
    def column(self, name: str) -> None:
        raw = self.raw[name]
        spec = spec_for(name)
        if name in DERIVED_COLUMNS:
            self.recomputed.append(name)
            return
        if spec is None and is_radiomics_column(name):
            spec = ColumnSpec(name, "numeric", "quantitative", description="radiomics feature")
        if spec is None:
            self.extra.append(name)
            self.out[name] = self._extra(name, raw)
            return
        missing = _missing_mask(raw)
        if spec.kind in {"categorical", "binary"}:
            self._categorical(name, spec, raw, missing)
        elif spec.kind in {"numeric", "truth"}:
            self._numeric(name, spec, raw, missing)
        elif spec.kind == "date":
            self._date(name, raw, missing)
        else:
            values = raw.astype(str).str.strip().astype(object)
            values[missing] = np.nan
            self.out[name] = values

    def _extra(self, name: str, raw: pd.Series) -> pd.Series:
        """A column outside the contract: numeric when the mapping says so or every filled cell is a number
        (ages in days, computer-extracted features), else kept as text (the mapping's ``categorical``)."""
        kind = self.kinds.get(name)
        if kind == "categorical" or raw.dtype != object:
            return raw
        missing = _missing_mask(raw)
        numbers = pd.to_numeric(raw.where(~missing, np.nan), errors="coerce").astype(float)
        bad = ~missing & numbers.isna().to_numpy()
        if kind == "numeric":
            if bad.any():
                self.issues += _row_issues(name, np.flatnonzero(bad)[:_MAX_LISTED_ROWS], raw,
                                           "the mapping declares this column numeric but the cell is not a number",
                                           "a number or an empty cell")
            return numbers
        if missing.all() or bad.any():
            return raw
        self.auto_numeric.append(name)
        return numbers

    def _categorical(self, name: str, spec: ColumnSpec, raw: pd.Series, missing: np.ndarray) -> None:
        uniques = pd.unique(raw[~missing])
        lookup: dict[object, object] = {}
        for value in uniques:
            token = normalise_token(value)
            canon = spec.canonical(token)
            if canon is None and spec.applies_to is not None and token == NOT_APPLICABLE:
                canon = NOT_APPLICABLE
            lookup[value] = canon
        mapped = raw.map(lookup).astype(object)
        bad = ~missing & mapped.isna().to_numpy()
        if bad.any():
            self.issues += _row_issues(name, np.flatnonzero(bad), raw, "not an accepted value",
                                       spec.accepted_text())
        mapped[missing | bad] = np.nan
        if spec.kind == "binary":
            self.out[name] = pd.to_numeric(mapped, errors="coerce").astype(float)
        else:
            self.out[name] = mapped

    def _numeric(self, name: str, spec: ColumnSpec, raw: pd.Series, missing: np.ndarray) -> None:
        values = pd.to_numeric(raw.where(~missing, np.nan), errors="coerce").astype(float)
        bad = ~missing & values.isna().to_numpy()
        if bad.any():
            self.issues += _row_issues(name, np.flatnonzero(bad), raw, "not a number", spec.accepted_text())
        self.out[name] = values
        self.numeric[name] = values
        if spec.group == "quantitative" or is_radiomics_column(name):
            self.features.append(name)

    def _date(self, name: str, raw: pd.Series, missing: np.ndarray) -> None:
        parsed = pd.to_datetime(raw.where(~missing, None), errors="coerce", format="ISO8601")
        bad = ~missing & parsed.isna().to_numpy()
        if bad.any():
            self.issues += _row_issues(name, np.flatnonzero(bad), raw, "not a date", COLUMNS[name].accepted_text())
        self.out[name] = parsed

    def ranges(self, unit_columns: set[str]) -> None:
        for name, values in self.numeric.items():
            spec = spec_for(name)
            if spec is None or spec.plausible is None or name in unit_columns:
                continue
            lo, hi = spec.plausible
            arr = values.to_numpy(float)
            bad = np.isfinite(arr) & ((arr < lo) | (arr > hi))
            if bad.any():
                self.issues += _row_issues(name, np.flatnonzero(bad), values.astype(object),
                                           "outside the plausible range", spec.accepted_text())

    # ---- structure ----------------------------------------------------------------------------
    def structural(self) -> None:
        if "lesion_type" not in self.out:
            return
        lesion_type = pd.Series(self.out["lesion_type"], dtype=object).to_numpy()
        known = ~pd.isna(lesion_type)
        for name, spec in COLUMNS.items():
            if spec.applies_to is None or name not in self.out:
                continue
            applicable_types = _MASS_TYPES if spec.applies_to == "mass" else _NME_TYPES
            applicable = pd.Series(lesion_type).isin(applicable_types).to_numpy()
            values = pd.Series(self.out[name], dtype=object).copy()
            arr = values.to_numpy()
            given = ~pd.isna(arr) & (arr != NOT_APPLICABLE)
            wrong = known & ~applicable & given
            if wrong.any():
                kind = "mass" if spec.applies_to == "mass" else "non-mass (NME)"
                self.issues += [CohortIssue(int(i) + 1, name, arr[i],
                                            f"a {kind} descriptor is given on a '{lesion_type[i]}' lesion",
                                            f"empty or {NOT_APPLICABLE}; check lesion_type or the descriptor")
                                for i in np.flatnonzero(wrong)]
            misplaced = known & applicable & (arr == NOT_APPLICABLE)
            if misplaced.any():
                self.issues += [CohortIssue(int(i) + 1, name, NOT_APPLICABLE,
                                            f"'{NOT_APPLICABLE}' on a '{lesion_type[i]}' lesion, which has this "
                                            "component", spec.accepted_text().split(f", {NOT_APPLICABLE}")[0])
                                for i in np.flatnonzero(misplaced)]
            values[known & ~applicable] = NOT_APPLICABLE
            self.out[name] = values

    def identifiers(self) -> None:
        if "patient_id" not in self.out:
            return
        patient = pd.Series(self.out["patient_id"], dtype=object)
        empty = patient.isna().to_numpy()
        if empty.any():
            self.issues += _row_issues("patient_id", np.flatnonzero(empty), self.raw["patient_id"],
                                       "patient_id is empty", "a non-empty identifier")
        if "lesion_id" in self.out:
            lesion = pd.Series(self.out["lesion_id"], dtype=object)
            lesion = lesion.where(lesion.notna(), patient)
        else:
            counts = patient.groupby(patient).transform("size").to_numpy() if self.n else np.array([])
            order = patient.groupby(patient).cumcount().to_numpy() + 1 if self.n else np.array([])
            lesion = patient.astype(object).copy()
            multi = (counts > 1) & ~empty
            lesion[multi] = patient[multi].astype(str) + "_L" + pd.Series(order[multi]).astype(str).to_numpy()
            if multi.any():
                self.notes.append("No lesion_id column: lesion ids were set to patient_id, with '_L<k>' appended "
                                  "for patients with several lesions.")
        dup = lesion.duplicated(keep=False).to_numpy() & lesion.notna().to_numpy()
        if dup.any():
            self.issues += [CohortIssue(int(i) + 1, "lesion_id", lesion.iloc[i], "duplicate lesion_id",
                                        "a unique lesion_id per row") for i in np.flatnonzero(dup)]
        self.out["lesion_id"] = lesion
        if "center" in self.out:
            center = pd.Series(self.out["center"], dtype=object)
            self.out["center"] = center

    def warnings(self) -> None:
        if "birads_category" in self.out:
            values = pd.Series(self.out["birads_category"], dtype=object)
            sub = values.isin(["4a", "4b", "4c"]).to_numpy()
            if sub.any():
                message = (f"birads_category has {int(sub.sum())} value(s) 4a/4b/4c (rows "
                           f"{_rows_text(sub)}): these are mammography/ultrasound subdivisions, not MRI BI-RADS "
                           "(5th edition) terms. They are kept as given.")
                warnings.warn(message, Her2MriWarning, stacklevel=3)
                self.notes.append(message)

    # ---- pathology consistency and derivation -----------------------------------------------
    def status_from_percent(self) -> None:
        ki_cut = self.options.resolved_ki67_cutoff
        for status, percent, cut, labels in (("er_status", "er_percent", 1.0, ("positive", "negative")),
                                             ("pr_status", "pr_percent", 1.0, ("positive", "negative")),
                                             ("ki67_status", "ki67_percent", ki_cut, ("high", "low"))):
            if percent not in self.out:
                continue
            derived = derive.status_from_percent(self.out[percent], cut, labels=labels)
            if status not in self.out:
                self.out[status] = pd.Series(derived, dtype=object)
                continue
            given = pd.Series(self.out[status], dtype=object)
            both = given.notna().to_numpy() & ~pd.isna(derived)
            bad = both & (given.to_numpy() != derived)
            if bad.any():
                pct = pd.Series(self.out[percent]).to_numpy()
                self.issues += [CohortIssue(int(i) + 1, status, given.iloc[i],
                                            f"disagrees with {percent} = {pct[i]:g} (which gives '{derived[i]}' "
                                            f"at the {cut:g}% cut-off)",
                                            "values consistent with the percentage; fix one of the two"
                                            + (" or set the Ki-67 cut-off" if status == "ki67_status" else ""))
                                for i in np.flatnonzero(bad)]
            self.out[status] = given.where(given.notna(), pd.Series(derived, dtype=object))

    def her2(self) -> None:
        get = self._get
        group = np.asarray(derive.ish_group(get("her2_ish_ratio"), get("her2_copy_number")), dtype=float)
        ihc = get("her2_ihc")
        ish = get("her2_ish")
        final = np.asarray(derive.her2_ish_final(ihc, group, ish), dtype=object)
        category = np.asarray(derive.her2_category(ihc, group, ish), dtype=object)
        self.out["ish_group"] = pd.Series(group, dtype=float)
        self.out["her2_ish_final"] = pd.Series(final, dtype=object)
        # ultralow only on IHC 0
        sub = get("her2_ihc0_subtype")
        ultralow_bad = (sub == "ultralow") & ~pd.isna(ihc) & (ihc != "0")
        if ultralow_bad.any():
            self.issues += [CohortIssue(int(i) + 1, "her2_ihc0_subtype", "ultralow",
                                        f"'ultralow' is a sub-flag of IHC 0 but her2_ihc is {ihc[i]}",
                                        "ultralow or null only where her2_ihc is 0; leave empty otherwise")
                            for i in np.flatnonzero(ultralow_bad)]
        ultra = np.full(self.n, np.nan)
        ultra[(ihc == "0") & (sub == "ultralow")] = 1.0
        ultra[(ihc == "0") & (sub == "null")] = 0.0
        self.out["her2_ultralow"] = pd.Series(ultra)
        # reported ISH vs the ISH group
        has_group = np.isfinite(group)
        guideline = get("her2_guideline")
        reported = ~pd.isna(ish) & (ish != "equivocal") & has_group & ~pd.isna(final)
        mismatch = reported & (ish != final)
        strict = mismatch & (pd.isna(guideline) | (guideline == "2018"))
        if strict.any():
            self.issues += [CohortIssue(int(i) + 1, "her2_ish", ish[i],
                                        f"disagrees with the ASCO/CAP 2018 call from ratio and copy number "
                                        f"(ISH group {int(group[i])}, IHC {ihc[i]} → '{final[i]}')",
                                        "a her2_ish consistent with her2_ish_ratio and her2_copy_number, or set "
                                        "her2_guideline to the version the result was scored under")
                            for i in np.flatnonzero(strict)]
        if (mismatch & ~strict).any():
            self.notes.append(f"{int((mismatch & ~strict).sum())} pre-2018 ISH result(s) re-assigned by the "
                              f"ASCO/CAP 2018 groups (rows {_rows_text(mismatch & ~strict)}).")
        # reported status vs derived category
        status = get("her2_status")
        frame = pd.DataFrame({"lesion_id": self._get("lesion_id"), "her2_status": status, "her2_ihc": ihc,
                              "her2_ish": ish, "ish_group": group})
        report = derive.her2_disagreements(frame)
        for _, row in report.iterrows():
            self.issues.append(CohortIssue(
                int(row["row"]), "her2_status", row["her2_status"],
                f"disagrees with IHC {row['her2_ihc']} / ISH "
                f"{'group ' + str(int(row['ish_group'])) if np.isfinite(row['ish_group']) else row['her2_ish']}"
                f", which give '{row['derived_category']}' by ASCO/CAP 2018",
                "a her2_status consistent with her2_ihc/her2_ish, or leave her2_status empty"))
        fill = pd.isna(category) & ~pd.isna(status)
        category[fill] = status[fill]
        self.out["her2_category"] = pd.Series(category, dtype=object)
        # notes
        not_derivable = (ihc == "2+") & pd.isna(category)
        if not_derivable.any():
            self.notes.append(f"{int(not_derivable.sum())} lesion(s) with IHC 2+ and no usable ISH result: HER2 "
                              f"category not derivable, left empty (rows {_rows_text(not_derivable)}).")
        zero_pos = (ihc == "0") & (final == "positive")
        if zero_pos.any():
            self.notes.append(f"{int(zero_pos.sum())} lesion(s) with IHC 0 but positive ISH (group 1) are "
                              f"HER2-positive, not zero (rows {_rows_text(zero_pos)}).")
        discordant = (ihc == "3+") & (group == 5)
        if discordant.any():
            self.notes.append(f"{int(discordant.sum())} lesion(s) with IHC 3+ and ISH group 5 are discordant and "
                              f"should be reviewed; counted as positive by IHC (rows {_rows_text(discordant)}).")

    def hormone(self) -> None:
        get = self._get
        self.out["hr_status"] = pd.Series(derive.hr_status(get("er_status"), get("pr_status")), dtype=object)
        self.out["er_low"] = pd.Series(derive.er_low(get("er_percent")) if "er_percent" in self.out
                                       else np.full(self.n, np.nan))
        frame = pd.DataFrame({k: self._get(k) for k in ("er_status", "pr_status", "her2_category", "pr_percent",
                                                        "ki67_percent", "ki67_status")})
        subtype, reason = derive.derive_subtype(frame, self.options)
        self.out["molecular_subtype"] = pd.Series(subtype, dtype=object)
        self.out["molecular_subtype_reason"] = pd.Series(reason, dtype=object)

    def _get(self, name: str) -> np.ndarray:
        if name in self.out:
            return pd.Series(self.out[name]).to_numpy(dtype=object)
        return np.full(self.n, np.nan, dtype=object)

    # ---- assembly -----------------------------------------------------------------------------
    def frame(self) -> pd.DataFrame:
        ordered = [c for c in self.raw.columns if c in self.out and c not in DERIVED_COLUMNS]
        ordered += [c for c in self.out if c not in ordered and c not in DERIVED_COLUMNS]
        ordered += [c for c in DERIVED_COLUMNS if c in self.out]
        data = {c: pd.Series(self.out[c]).reset_index(drop=True) for c in ordered}
        return pd.DataFrame(data, index=pd.RangeIndex(self.n))


def _rows_text(mask: np.ndarray) -> str:
    rows = (np.flatnonzero(mask) + 1).tolist()
    text = ", ".join(map(str, rows[:_MAX_LISTED_ROWS]))
    return text + (f", … ({len(rows)} in all)" if len(rows) > _MAX_LISTED_ROWS else "")


def validate_cohort(frame: pd.DataFrame, *, mapping: MappingLike = None, subtype: SubtypeOptions | None = None,
                    source: str = "<frame>") -> Cohort:
    """Validate a raw cohort frame against the contract and derive labels; see :func:`load_cohort`."""
    if not isinstance(frame, pd.DataFrame):
        message = f"validate_cohort expects a pandas DataFrame; got {type(frame).__name__}."
        raise CohortError(message)
    options = subtype or SubtypeOptions()
    notes: list[str] = []
    pre_issues: list[CohortIssue] = []
    kinds: dict[str, str] = {}
    if mapping is not None:
        loaded = load_mapping(mapping)
        frame, pre_issues, notes = apply_mapping(frame, loaded)
        kinds = dict(loaded.kinds)
    v = _Validator(frame, source, options)
    v.kinds = kinds
    v.issues += pre_issues
    v.notes += notes
    v.rename_columns()
    v.check_required()
    for name in v.raw.columns:
        v.column(name)
    unit_issues = check_units(v.numeric)
    v.issues += unit_issues
    v.ranges({i.column for i in unit_issues if i.column})
    v.identifiers()
    v.structural()
    v.status_from_percent()
    v.her2()
    if v.issues:
        kind = UnitError if unit_issues else CohortError
        message = (f"Cohort '{source}' breaks the input contract: {len(v.issues)} problem(s) found "
                   "(rows are 1-based data rows, header excluded).")
        raise kind(message, v.issues)
    v.warnings()
    v.hormone()
    if v.recomputed:
        v.notes.append("Derived columns given in the table were recomputed: " + ", ".join(v.recomputed))
    if v.extra:
        shown = ", ".join(v.extra[:20]) + (f", … ({len(v.extra)} in all)" if len(v.extra) > 20 else "")
        v.notes.append("Columns outside the contract kept: " + shown)
    if v.auto_numeric:
        v.notes.append(f"{len(v.auto_numeric)} column(s) outside the contract hold only numbers and are read as "
                       "numeric (a mapping's 'kinds' can declare one categorical).")
    out = v.frame()
    categories = set(out["her2_category"].dropna())
    is_binary_only = bool(categories) and not ({"zero", "low"} & categories)
    return Cohort(frame=out, notes=tuple(v.notes), extra_columns=tuple(v.extra),
                  feature_columns=tuple(v.features), is_binary_only=is_binary_only, source=source,
                  sha256=frame_sha256(out), subtype_options=options)
