"""Feature blocks: resolve named blocks (column names, glob patterns, regular expressions, vocabulary groups)
to the cohort columns a model takes, and type each column (numeric / categorical / binary) for preprocessing.

Label, identification, outcome and simulation-truth columns are never features, whatever a block says.

Nothing is dropped silently. In a block defined in the configuration, a listed column that the cohort lacks, or a
pattern / regular expression / vocabulary group that matches no column, is a :class:`ConfigError` naming it. A
column a block selects but cannot use (a label or identifier column, or one with no value at all) is dropped with
a ``UserWarning`` naming it, which the study records in results.json and the report's warnings. The built-in
blocks (``clinical``, ``birads``, ``quantitative``, ``radiomics``) list every column a cohort *may* have, so their
absent columns are skipped quietly.
"""

from __future__ import annotations

import fnmatch
import re
import warnings
from collections.abc import Iterable, Mapping

import pandas as pd

from her2mri.exceptions import ConfigError
from her2mri.study.config import BLOCK_DEFAULTS, BlockSpec

__all__ = ["NEVER_FEATURES", "column_kinds", "resolve_blocks"]

#: Columns that would leak the label, identify a lesion, or describe follow-up: never model inputs.
NEVER_FEATURES = frozenset({
    "patient_id", "lesion_id", "center", "exam_date", "her2_ihc", "her2_ish", "her2_ish_ratio", "her2_copy_number",
    "her2_ihc0_subtype", "her2_status", "her2_guideline", "her2_category", "her2_ultralow", "her2_ish_final",
    "ish_group", "molecular_subtype", "molecular_subtype_reason", "true_p_zero", "true_p_low", "true_p_positive",
    "dfs_months", "dfs_event", "birads_version", "split",
})


def _vocabulary() -> Mapping[str, object]:
    from her2mri.cohort.vocabulary import COLUMNS

    return COLUMNS


def _is_forbidden(name: str) -> bool:
    return name in NEVER_FEATURES or name.startswith("true_p_") or name.startswith("her2_")


def resolve_blocks(
    frame: pd.DataFrame, names: Iterable[str], specs: Mapping[str, BlockSpec], *, exclude: Iterable[str] = ()
) -> list[str]:
    """Columns of ``frame`` selected by the blocks ``names`` (in frame order, without duplicates).

    Columns entirely missing in the frame are dropped; a block that selects nothing is an error naming it.
    """
    vocabulary = _vocabulary()
    excluded = set(exclude)
    chosen: set[str] = set()
    for name in names:
        spec = specs[name]
        strict = spec is not BLOCK_DEFAULTS.get(name) and spec != BLOCK_DEFAULTS.get(name)
        picked: set[str] = set()
        unmatched: list[str] = []
        absent = [column for column in spec.columns if column not in frame.columns]
        picked.update(column for column in spec.columns if column in frame.columns)
        for pattern in spec.patterns:
            hits = fnmatch.filter(frame.columns, pattern)
            picked.update(hits)
            if not hits:
                unmatched.append(f"pattern {pattern!r}")
        for expression in spec.regex:
            regex = re.compile(expression)
            hits = [column for column in frame.columns if regex.search(column)]
            picked.update(hits)
            if not hits:
                unmatched.append(f"regex {expression!r}")
        for group in spec.groups:
            hits = [column for column in frame.columns
                    if column in vocabulary and getattr(vocabulary[column], "group", None) == group]
            picked.update(hits)
            if not hits:
                unmatched.append(f"group {group!r}")
        if strict and (absent or unmatched):
            parts = ([f"column(s) {absent} not in the cohort"] if absent else []) + (
                [f"{', '.join(unmatched)} matching no column"] if unmatched else [])
            message = (
                f"Feature block '{name}': {'; '.join(parts)}. Cohort columns include "
                f"{[c for c in frame.columns if not _is_forbidden(c)][:12]}. Fix the block definition or the "
                "cohort (a features table is joined with cohort.features)."
            )
            raise ConfigError(message)
        unusable = sorted(
            column for column in picked
            if column not in excluded and column not in spec.exclude
            and (_is_forbidden(column) or not frame[column].notna().any())
        )
        if strict and unusable:
            warnings.warn(
                f"Feature block '{name}': column(s) {unusable} dropped (label/identifier columns, or no value in the "
                "cohort).", UserWarning, stacklevel=2,
            )
        picked = {
            column for column in picked
            if not _is_forbidden(column) and column not in excluded and column not in spec.exclude
            and frame[column].notna().any()
        }
        if not picked and name not in ("radiomics",):
            message = (
                f"Feature block '{name}' selects no usable column of the cohort (definition: "
                f"{spec.model_dump(exclude_defaults=True)}). Check the column names/patterns or drop the block."
            )
            raise ConfigError(message)
        chosen |= picked
    return [column for column in frame.columns if column in chosen]


def column_kinds(frame: pd.DataFrame, columns: Iterable[str]) -> dict[str, list[str]]:
    """Split ``columns`` into ``numeric``, ``categorical`` and ``binary`` lists (vocabulary first, then dtype)."""
    vocabulary = _vocabulary()
    kinds: dict[str, list[str]] = {"numeric": [], "categorical": [], "binary": []}
    for column in columns:
        spec = vocabulary.get(column)
        kind = getattr(spec, "kind", None)
        if kind == "categorical":
            kinds["categorical"].append(column)
        elif kind == "binary":
            kinds["binary"].append(column)
        elif kind == "numeric" or pd.api.types.is_numeric_dtype(frame[column]):
            kinds["numeric"].append(column)
        else:
            kinds["categorical"].append(column)
    return kinds
