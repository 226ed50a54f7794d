"""Training-cohort summary and out-of-distribution checks.

A bundle remembers, for each input, what the training cohort looked like: numbers by their minimum, maximum,
1st and 99th percentiles, mean and SD; categories by the levels seen and their counts. At prediction time a
case is flagged *out of distribution* when a number lies outside the training [min, max] or a category level
was never seen in training (the models never learnt what that level means). Values between the extreme
percentiles and the extremes are not flagged but can be read from the summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from her2mri.bundle.schema import InputSchema

__all__ = ["NumericSummary", "TrainingSummary", "check_ood", "summarise_training"]


@dataclass(frozen=True)
class NumericSummary:
    """Distribution of one numeric input in the training cohort (missing values excluded)."""

    min: float
    max: float
    p1: float
    p99: float
    mean: float
    sd: float
    n: int
    n_missing: int

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("min", "max", "p1", "p99", "mean", "sd", "n", "n_missing")}


@dataclass(frozen=True)
class TrainingSummary:
    """Per-input training distribution: ``numeric[name]`` and ``categorical[name] = {level: count}``."""

    n: int
    numeric: Mapping[str, NumericSummary]
    categorical: Mapping[str, Mapping[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "numeric": {k: v.to_dict() for k, v in self.numeric.items()},
            "categorical": {k: dict(v) for k, v in self.categorical.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingSummary:
        numeric = {
            k: NumericSummary(
                **{f: (int(v[f]) if f in ("n", "n_missing") else _float(v[f])) for f in v}
            )
            for k, v in data["numeric"].items()
        }
        categorical = {k: {str(lv): int(c) for lv, c in v.items()} for k, v in data["categorical"].items()}
        return cls(n=int(data["n"]), numeric=numeric, categorical=categorical)


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)


def summarise_training(frame: pd.DataFrame, schema: InputSchema) -> TrainingSummary:
    """Summarise the training frame on the schema's inputs (binary columns count their 0/1 levels)."""
    numeric: dict[str, NumericSummary] = {}
    categorical: dict[str, dict[str, int]] = {}
    for spec in schema.columns:
        if spec.name not in frame.columns:
            continue
        series = frame[spec.name]
        if spec.kind == "numeric":
            x = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
            finite = x[np.isfinite(x)]
            if finite.size == 0:
                stats = dict.fromkeys(("min", "max", "p1", "p99", "mean", "sd"), float("nan"))
            else:
                stats = {
                    "min": float(finite.min()),
                    "max": float(finite.max()),
                    "p1": float(np.percentile(finite, 1)),
                    "p99": float(np.percentile(finite, 99)),
                    "mean": float(finite.mean()),
                    "sd": float(finite.std(ddof=1)) if finite.size > 1 else 0.0,
                }
            numeric[spec.name] = NumericSummary(**stats, n=int(finite.size), n_missing=int(x.size - finite.size))
        else:
            counts = series.dropna().map(_level).value_counts()
            categorical[spec.name] = {str(k): int(v) for k, v in sorted(counts.items())}
    return TrainingSummary(n=len(frame), numeric=numeric, categorical=categorical)


def _level(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return "yes" if value == 1.0 else "no" if value == 0.0 else str(value)
    return str(value)


def check_ood(frame: pd.DataFrame, summary: TrainingSummary) -> list[list[str]]:
    """For each row of a canonical (validated) frame, the reasons it lies outside the training distribution.

    An empty list means the row is inside. Missing values are not reasons (they are imputed and reported
    separately).
    """
    reasons: list[list[str]] = [[] for _ in range(len(frame))]
    for name, stats in summary.numeric.items():
        if name not in frame.columns or not np.isfinite(stats.min):
            continue
        x = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
        for i, value in enumerate(x):
            if np.isfinite(value) and (value < stats.min or value > stats.max):
                reasons[i].append(f"{name}={value:g} outside training range [{stats.min:g}, {stats.max:g}]")
    for name, levels in summary.categorical.items():
        if name not in frame.columns:
            continue
        for i, value in enumerate(frame[name].tolist()):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            level = _level(value)
            if level not in levels:
                seen = ", ".join(levels) if levels else "none"
                reasons[i].append(f"{name}={level} not seen in training (seen: {seen})")
    return reasons
