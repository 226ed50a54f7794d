"""Study inputs: load the cohort, join a features table, apply lesion-type exclusions, and record the cohort
flow (counts in, excluded and why) overall, per task and per set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from her2mri.exceptions import ConfigError
from her2mri.study.config import CohortSection

__all__ = ["StudyData", "load_study_data", "read_table", "task_flow"]


@dataclass(frozen=True)
class StudyData:
    """The canonical cohort frame the study runs on, with its flow log and the cohort's own notes."""

    frame: pd.DataFrame
    flow: list[dict[str, Any]]
    notes: list[str]
    source: str
    sha256: str | None
    is_binary_only: bool


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV / TSV / Excel / Parquet table (used for the features and reader tables)."""
    if not path.is_file():
        message = f"Table not found: '{path}'. Give a path relative to the configuration file."
        raise ConfigError(message)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return pd.read_csv(path)
    if suffix == ".tsv":
        return pd.read_csv(path, sep="\t")
    if suffix in (".xlsx", ".xls"):
        return pd.read_excel(path)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    message = f"Table '{path}' has an unsupported extension '{suffix}'; accepted: .csv, .tsv, .xlsx, .parquet."
    raise ConfigError(message)


def _subtype_options(section: CohortSection) -> Any:
    if section.subtype is None:
        return None
    from her2mri.cohort import SubtypeOptions

    return SubtypeOptions(**section.subtype)


def _join_features(frame: pd.DataFrame, section: CohortSection, flow: list[dict[str, Any]]) -> pd.DataFrame:
    spec = section.features
    if spec is None:
        return frame
    table = read_table(spec.path)
    if spec.key is not None and spec.key != spec.on:
        if spec.key not in table.columns:
            message = (
                f"cohort.features.key '{spec.key}' is not a column of the features table '{spec.path}'; its "
                f"columns start with {list(table.columns)[:5]}."
            )
            raise ConfigError(message)
        if spec.on in table.columns:
            message = (
                f"cohort.features.key '{spec.key}' would be renamed to '{spec.on}', which the features table "
                f"'{spec.path}' already has; drop one of them or leave key out."
            )
            raise ConfigError(message)
        table = table.rename(columns={spec.key: spec.on})
    if spec.on not in table.columns or spec.on not in frame.columns:
        message = (
            f"cohort.features.on '{spec.on}' must be a column of both the cohort and the features table "
            f"'{spec.path}'; features table columns start with {list(table.columns)[:5]}."
        )
        raise ConfigError(message)
    table = table.copy()
    table[spec.on] = table[spec.on].astype(str)
    if table[spec.on].duplicated().any():
        message = f"Features table '{spec.path}' has duplicated '{spec.on}' values; one row per lesion is required."
        raise ConfigError(message)
    clashes = [c for c in table.columns if c != spec.on and c in frame.columns]
    table = table.drop(columns=clashes)
    joined = frame.merge(table, on=spec.on, how="inner", validate="one_to_one")
    flow.append({
        "step": f"joined to features table {spec.path.name} on {spec.on}"
                + (f" (its column '{spec.key}')" if spec.key and spec.key != spec.on else ""), "n": int(len(joined)),
        "excluded": int(len(frame) - len(joined)), "reason": "no row in the features table",
    })
    return joined


def load_study_data(section: CohortSection) -> StudyData:
    """Load and validate the cohort (``her2mri.cohort.load_cohort``), join features, exclude lesion types."""
    from her2mri.cohort import load_cohort

    cohort = load_cohort(section.path, mapping=section.mapping, subtype=_subtype_options(section))
    frame = cohort.frame.reset_index(drop=True)
    flow: list[dict[str, Any]] = [
        {"step": f"cohort table {Path(str(cohort.source)).name}", "n": int(len(frame)), "excluded": 0, "reason": ""}
    ]
    if section.features is not None:
        frame = _join_features(frame, section, flow)
    if section.exclude_lesion_types:
        if "lesion_type" not in frame.columns:
            message = "cohort.exclude_lesion_types needs a 'lesion_type' column; the cohort has none."
            raise ConfigError(message)
        drop = frame["lesion_type"].isin(section.exclude_lesion_types).to_numpy()
        frame = frame.loc[~drop].reset_index(drop=True)
        flow.append({
            "step": "lesion types excluded", "n": int(len(frame)), "excluded": int(drop.sum()),
            "reason": f"lesion_type in {section.exclude_lesion_types}",
        })
    category = frame["her2_category"] if "her2_category" in frame.columns else pd.Series(np.nan, index=frame.index)
    underivable = int(category.isna().sum())
    flow.append({
        "step": "HER2 category derivable", "n": int(len(frame) - underivable), "excluded": underivable,
        "reason": "HER2 category not derivable (e.g. IHC 2+ without an ISH result); kept out of every HER2 task",
    })
    return StudyData(
        frame=frame, flow=flow, notes=list(cohort.notes), source=str(cohort.source),
        sha256=getattr(cohort, "sha256", None), is_binary_only=bool(cohort.is_binary_only),
    )


def task_flow(frame: pd.DataFrame, task_name: str, mask: np.ndarray) -> dict[str, Any]:
    """Flow entry of one task: eligible lesions and the excluded ones counted by HER2 category (the why)."""
    category = frame.get("her2_category", pd.Series(np.nan, index=frame.index))
    excluded = category[~mask].astype(object).where(category[~mask].notna(), "not derivable")
    reasons = {str(k): int(v) for k, v in excluded.value_counts().sort_index().items()}
    labels = {
        "negative": "binary-only 'negative' (HER2 level unknown)",
        "not derivable": "HER2 category not derivable",
    }
    text = "; ".join(f"{labels.get(k, 'HER2 ' + k + ' not in this task')}: {v}" for k, v in reasons.items())
    return {"step": f"task {task_name}", "n": int(mask.sum()), "excluded": int((~mask).sum()), "reason": text,
            "excluded_by_category": reasons}
