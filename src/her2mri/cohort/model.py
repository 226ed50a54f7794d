"""The validated cohort: an immutable frame of canonical columns plus what validation found."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from her2mri.cohort.subtype import SubtypeOptions
from her2mri.exceptions import TaskError

__all__ = ["Cohort", "frame_sha256", "require_three_level"]


def frame_sha256(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's column names, dtypes and cell values (row order matters, index does not)."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update("\x1f".join(str(t) for t in frame.dtypes).encode())
    if len(frame):
        try:
            hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        except TypeError:  # unhashable cells in an extra column
            hashed = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
        digest.update(hashed.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class Cohort:
    """A validated lesion-level cohort.

    Attributes
    ----------
    frame
        One row per lesion: canonical column names and values, derived columns appended (see docs/cohort.md).
    notes
        Non-fatal findings (kept extra columns, HER2 not derivable, guideline exceptions, recomputed columns).
    extra_columns
        Columns outside the contract, kept unchanged in ``frame``.
    feature_columns
        Quantitative MRI columns and ``<sequence>__<feature>`` radiomics columns found.
    is_binary_only
        True when HER2 is only known as positive/negative (no zero/low rows): three-level tasks cannot run.
    source
        Where the table came from (a path or ``"<frame>"``).
    sha256
        Hash of the canonical frame (provenance).
    subtype_options
        The molecular-subtype definition used.
    """

    frame: pd.DataFrame
    notes: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    feature_columns: tuple[str, ...] = ()
    is_binary_only: bool = False
    source: str = "<frame>"
    sha256: str = ""
    subtype_options: SubtypeOptions = field(default_factory=SubtypeOptions)

    @property
    def groups(self) -> pd.Series:
        """Patient id of every lesion (use as ``groups`` so that a patient never spans train and test)."""
        return self.frame["patient_id"]

    @property
    def n_lesions(self) -> int:
        return len(self.frame)

    @property
    def n_patients(self) -> int:
        return int(self.frame["patient_id"].nunique())

    @property
    def centers(self) -> tuple[str, ...]:
        if "center" not in self.frame.columns:
            return ()
        return tuple(sorted(self.frame["center"].dropna().unique().tolist()))

    def her2_counts(self) -> pd.Series:
        """Lesions per HER2 category (NaN counted as "not derivable")."""
        values = self.frame["her2_category"].fillna("not derivable")
        order = [c for c in ("zero", "low", "positive", "negative", "not derivable") if c in set(values)]
        return values.value_counts().reindex(order)

    def ihc_ish_table(self) -> pd.DataFrame:
        """Cross-table of IHC score (rows) by ISH group (columns; "none" where no ISH group)."""
        if "her2_ihc" not in self.frame.columns:
            return pd.DataFrame()
        ihc = self.frame["her2_ihc"].fillna("missing")
        group = self.frame["ish_group"].map(lambda g: f"group {int(g)}" if np.isfinite(g) else "none")
        return pd.crosstab(ihc, group)

    def __repr__(self) -> str:
        return (f"Cohort(source={self.source!r}, lesions={self.n_lesions}, patients={self.n_patients}, "
                f"binary_only={self.is_binary_only}, notes={len(self.notes)})")


def require_three_level(cohort: Cohort, task_title: str) -> None:
    """Raise :class:`TaskError` when ``cohort`` cannot support a task that needs HER2 zero vs low.

    A cohort whose HER2 is only known as positive/negative (e.g. Duke, I-SPY) supports the
    positive-vs-negative task only.
    """
    categories = set(cohort.frame["her2_category"].dropna())
    if cohort.is_binary_only or not ({"zero", "low"} & categories):
        message = (f"The task '{task_title}' needs three HER2 levels (zero / low / positive), but cohort "
                   f"'{cohort.source}' only has HER2 as positive/negative "
                   f"(categories found: {sorted(categories) or 'none'}). Provide her2_ihc (0/1+/2+/3+) with ISH "
                   "results, or her2_status zero/low/positive, or run the positive-vs-negative task only.")
        raise TaskError(message)
