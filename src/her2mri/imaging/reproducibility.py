"""Two-reader (or more) reproducibility of imaging features: per-feature ICC and the ICC filter.

The ICC comes from :func:`her2mri.stats.icc`. Default form ICC(2,1) = (MSR − MSE) / (MSR + (k−1)·MSE +
k·(MSC − MSE)/n): two-way random effects, absolute agreement, single rater (McGraw–Wong ICC(A,1)) — the
defensible choice for "another reader would segment it differently". Interpretation (Koo & Li 2016, on the
95 % CI): < 0.5 poor, 0.5–0.75 moderate, 0.75–0.9 good, > 0.9 excellent. Seed 001 kept features with
ICC > 0.75; :func:`select_reproducible` does the same, optionally on the lower CI bound.

Only lesions segmented by every reader enter the ICC; features constant across all lesions and readers (or
with missing values) get NaN and a note.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from her2mri._typing import PathLike
from her2mri.exceptions import ImagingError
from her2mri.imaging.dce import ROI_COLUMNS

__all__ = ["IccTableResult", "feature_icc", "select_reproducible"]

ICC_FORMS = {
    "ICC1": "ICC(1,1): one-way random, absolute agreement, single rater",
    "ICC2": "ICC(2,1): two-way random, absolute agreement, single rater",
    "ICC3": "ICC(3,1): two-way mixed, consistency, single rater",
    "ICC1k": "ICC(1,k): one-way random, average of k raters",
    "ICC2k": "ICC(2,k): two-way random, absolute agreement, average of k raters",
    "ICC3k": "ICC(3,k): two-way mixed, consistency, average of k raters",
}
_ID = ("patient_id", "lesion_id")


@dataclass(frozen=True)
class IccTableResult:
    """Per-feature ICC table (columns ``feature, sequence, estimate, ci_low, ci_high, pvalue, n, k, method, note``)."""

    table: pd.DataFrame
    form: str
    readers: tuple[str, ...]
    n: int

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_csv(self, path: PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.table.to_csv(path, index=False)
        return path


def _numeric_features(frame: pd.DataFrame, features: Sequence[str] | None) -> list[str]:
    if features is not None:
        missing = [f for f in features if f not in frame.columns]
        if missing:
            msg = f"feature_icc: features not in the table: {', '.join(missing[:5])}; accepted: columns of the reader table."
            raise ImagingError(msg)
        return list(features)
    skip = {*_ID, "reader", *ROI_COLUMNS}
    return [c for c in frame.columns if c not in skip and pd.api.types.is_numeric_dtype(frame[c])]


def feature_icc(
    readers_table: pd.DataFrame,
    *,
    features: Sequence[str] | None = None,
    form: str = "ICC2",
    conf_level: float = 0.95,
    reader_column: str = "reader",
) -> IccTableResult:
    """ICC of every numeric feature between readers, from a long table (one row per lesion and reader)."""
    from her2mri.stats import icc

    if form not in ICC_FORMS:
        msg = f"feature_icc: form {form!r} unknown; accepted: {', '.join(ICC_FORMS)}."
        raise ImagingError(msg)
    for column in (*_ID, reader_column):
        if column not in readers_table.columns:
            msg = f"feature_icc: the reader table lacks column '{column}'; accepted: patient_id, lesion_id, reader + features."
            raise ImagingError(msg)
    readers = tuple(sorted(readers_table[reader_column].astype(str).unique()))
    if len(readers) < 2:
        msg = f"feature_icc: found {len(readers)} reader(s) {list(readers)}; accepted: at least 2 readers."
        raise ImagingError(msg)
    names = _numeric_features(readers_table, features)
    counts = readers_table.groupby(list(_ID))[reader_column].nunique()
    complete = counts[counts == len(readers)].index
    keyed = readers_table.assign(**{reader_column: readers_table[reader_column].astype(str)})
    keyed = keyed.drop_duplicates([*_ID, reader_column]).set_index([*_ID, reader_column])
    keyed = keyed.loc[keyed.index.droplevel(reader_column).isin(complete), names]
    n = len(complete)
    # one array (lesion, reader, feature) instead of one pivot per feature
    cube = (
        np.stack(
            [keyed.xs(r, level=reader_column).reindex(complete).to_numpy(dtype=float) for r in readers],
            axis=1,
        )
        if n
        else np.empty((0, len(readers), len(names)))
    )
    rows = []
    for position, name in enumerate(names):
        ratings = cube[:, :, position]
        ratings = ratings[np.all(np.isfinite(ratings), axis=1)]
        sequence = name.split("__", 1)[0] if "__" in name else "quantitative"
        row = {
            "feature": name,
            "sequence": sequence,
            "estimate": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "pvalue": np.nan,
            "n": int(ratings.shape[0]),
            "k": len(readers),
            "method": ICC_FORMS[form],
            "note": "",
        }
        if ratings.shape[0] < 2:
            row["note"] = "fewer than 2 lesions with values from every reader"
        elif float(np.ptp(ratings)) == 0.0:
            row["note"] = "constant across lesions and readers"
        else:
            with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
                warnings.simplefilter("always")
                result = icc(ratings, conf_level=conf_level).get(form)
            row.update(
                estimate=result.estimate, ci_low=result.ci_low, ci_high=result.ci_high, pvalue=result.pvalue
            )
            if caught:
                row["note"] = "; ".join(sorted({str(w.message) for w in caught}))
        rows.append(row)
    columns = ["feature", "sequence", "estimate", "ci_low", "ci_high", "pvalue", "n", "k", "method", "note"]
    table = pd.DataFrame(rows, columns=columns)
    return IccTableResult(table=table, form=form, readers=readers, n=n)


def select_reproducible(
    icc_table: pd.DataFrame | IccTableResult,
    *,
    threshold: float = 0.75,
    use_ci_low: bool = False,
) -> tuple[str, ...]:
    """Features whose ICC (or, with ``use_ci_low``, its lower CI bound) exceeds ``threshold`` (NaN: dropped)."""
    table = icc_table.table if isinstance(icc_table, IccTableResult) else icc_table
    column = "ci_low" if use_ci_low else "estimate"
    keep = table[column].to_numpy(dtype=float) > threshold
    return tuple(table.loc[keep, "feature"].astype(str))
