"""Nomograms of logistic-regression pipelines, computed by probing the fitted pipeline.

For a model that is additive on the log-odds scale (logistic regression after per-column imputation,
scaling and one-hot encoding), the contribution of one cohort column to the linear predictor does not depend
on the other columns. We measure it by changing one column of a reference case at a time:

* categorical / yes-no columns: each level seen in training;
* numeric columns: 11 evenly spaced values over the training [min, max] (linear interpolation between them,
  linear extrapolation outside), plus the value used when the input is missing (imputed).

Points follow the usual nomogram convention (rms::nomogram in R): the column with the widest range of
contributions spans 0–100 points; every other column is on the same scale, its lowest contribution at 0. The
probability is ``1 / (1 + exp(-(offset + total_points / scale)))``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from her2mri.bundle.ood import TrainingSummary
from her2mri.bundle.schema import InputSchema

__all__ = ["Nomogram", "NomogramTerm", "build_nomogram", "is_linear_pipeline"]

_GRID = 11


@dataclass(frozen=True)
class NomogramTerm:
    """Points of one column: ``levels`` (categorical/binary) or ``grid``/``grid_points`` (numeric)."""

    feature: str
    kind: str
    levels: Mapping[str, float]
    grid: tuple[float, ...]
    grid_points: tuple[float, ...]
    missing_points: float

    def points(self, value: Any) -> float:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return self.missing_points
        if self.kind == "numeric":
            x, y = np.asarray(self.grid), np.asarray(self.grid_points)
            if x.size == 1 or x[-1] == x[0]:
                return float(y[0])
            v = float(value)
            if v < x[0]:
                return float(y[0] + (v - x[0]) * (y[1] - y[0]) / (x[1] - x[0]))
            if v > x[-1]:
                return float(y[-1] + (v - x[-1]) * (y[-1] - y[-2]) / (x[-1] - x[-2]))
            return float(np.interp(v, x, y))
        key = _key(value)
        return float(self.levels.get(key, self.missing_points))

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "levels": dict(self.levels),
            "grid": list(self.grid),
            "grid_points": list(self.grid_points),
            "missing_points": self.missing_points,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NomogramTerm:
        return cls(
            feature=str(data["feature"]),
            kind=str(data["kind"]),
            levels={str(k): float(v) for k, v in dict(data["levels"]).items()},
            grid=tuple(float(v) for v in data["grid"]),
            grid_points=tuple(float(v) for v in data["grid_points"]),
            missing_points=float(data["missing_points"]),
        )


@dataclass(frozen=True)
class Nomogram:
    """Points per column for one task's logistic model; ``probability(total) = expit(offset + total / scale)``."""

    task: str
    model_name: str
    terms: tuple[NomogramTerm, ...]
    offset: float
    scale: float

    def score(self, case: Mapping[str, Any]) -> dict[str, Any]:
        """Points per column, total points and the probability of the task's positive class for one case."""
        points = {t.feature: t.points(case.get(t.feature)) for t in self.terms}
        total = float(sum(points.values()))
        lp = self.offset + total / self.scale
        return {"points": points, "total_points": total, "probability": float(1.0 / (1.0 + np.exp(-lp)))}

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "model_name": self.model_name,
            "terms": [t.to_dict() for t in self.terms],
            "offset": self.offset,
            "scale": self.scale,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Nomogram:
        return cls(
            task=str(data["task"]),
            model_name=str(data["model_name"]),
            terms=tuple(NomogramTerm.from_dict(t) for t in data["terms"]),
            offset=float(data["offset"]),
            scale=float(data["scale"]),
        )


def _key(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return "yes" if value == 1.0 else "no" if value == 0.0 else str(value)
    return str(value)


def _final(pipeline: Any) -> Any:
    steps = getattr(pipeline, "steps", None)
    model = steps[-1][1] if steps else pipeline
    return getattr(model, "best_estimator_", model)


def is_linear_pipeline(pipeline: Any) -> bool:
    """True when the final estimator is a linear classifier (has ``coef_`` and ``decision_function``)."""
    model = _final(pipeline)
    return hasattr(model, "coef_") and hasattr(model, "decision_function")


def _reference(background: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    row: dict[str, Any] = {}
    for c in columns:
        s = background[c]
        if pd.api.types.is_numeric_dtype(s):
            row[c] = float(s.median()) if s.notna().any() else np.nan
        else:
            mode = s.dropna().mode()
            row[c] = mode.iloc[0] if len(mode) else np.nan
    return pd.DataFrame([row], columns=columns)


def _probe(pipeline: Any, reference: pd.DataFrame, column: str, probes: list[Any], kind: str) -> np.ndarray:
    """Linear predictor of the reference case with ``column`` set to each probe (the last probe is the
    missing value; a pipeline that cannot take missing values gets the reference's own value there)."""
    return _probe_many(pipeline, reference, [(column, probes, kind)])[0]


def _active_columns(pipeline: Any) -> set[str] | None:
    """Input columns that can move the linear predictor: the sources of the features reaching the classifier.

    Steps before the classifier (harmonisation, preprocessing, selectors) act column by column, so a column whose
    outputs were all dropped by selection adds nothing, whatever its value; its term is zero without probing.
    ``None`` when the pipeline does not say (every column is probed then).
    """
    steps = getattr(pipeline, "steps", None)
    if not steps or len(steps) < 2:
        return None
    try:
        preprocess = dict(steps).get("preprocess")
        kept = [str(n) for n in pipeline[:-1].get_feature_names_out()]
        sources = preprocess.source_columns() if preprocess is not None else None
    except (AttributeError, ValueError, TypeError, IndexError):
        return None
    if sources is None or any(name not in sources for name in kept):
        return None
    return {sources[name] for name in kept}


def _probe_many(pipeline: Any, reference: pd.DataFrame, jobs: list[tuple[str, list[Any], str]]) -> list[np.ndarray]:
    """:func:`_probe` for several columns in one batch per chunk: the pipeline is called a few times on
    stacked reference rows instead of once per column (wide tables have thousands of columns)."""
    out: list[np.ndarray] = []
    limit = 4096  # rows per call
    start = 0
    while start < len(jobs):
        chunk, rows = [], 0
        while start < len(jobs) and (not chunk or rows + len(jobs[start][1]) <= limit):
            chunk.append(jobs[start])
            rows += len(jobs[start][1])
            start += 1
        batch = reference.loc[reference.index.repeat(rows)].reset_index(drop=True)
        last_rows = []
        offset = 0
        for column, probes, kind in chunk:
            values = pd.Series(probes, dtype=float if kind != "categorical" else object)
            if kind == "categorical" and batch[column].dtype != object:
                batch[column] = batch[column].astype(object)
            batch.loc[offset:offset + len(probes) - 1, column] = values.to_numpy()
            last_rows.append((offset + len(probes) - 1, column))
            offset += len(probes)
        try:
            lp = np.asarray(pipeline.decision_function(batch), dtype=float).reshape(-1)
        except ValueError:
            for row, column in last_rows:
                batch.loc[row, column] = reference[column].iloc[0]
            lp = np.asarray(pipeline.decision_function(batch), dtype=float).reshape(-1)
        offset = 0
        for _, probes, _ in chunk:
            out.append(lp[offset:offset + len(probes)])
            offset += len(probes)
    return out


def build_nomogram(
    task: str,
    model_name: str,
    pipeline: Any,
    columns: list[str],
    schema: InputSchema,
    summary: TrainingSummary,
    background: pd.DataFrame,
) -> Nomogram:
    """Probe a fitted linear pipeline column by column (see the module docstring)."""
    reference = _reference(background, columns)
    lp0 = float(np.asarray(pipeline.decision_function(reference)).reshape(-1)[0])
    raw: list[tuple[str, str, dict[str, float], list[float], list[float], float]] = []
    plans: list[tuple[str, list[Any], str, list[float]]] = []
    for c in columns:
        spec = schema.get(c) if c in schema else None
        kind = spec.kind if spec is not None else "numeric"
        probes: list[Any]
        if kind == "numeric":
            stats = summary.numeric.get(c)
            lo, hi = (stats.min, stats.max) if stats is not None and np.isfinite(stats.min) else (0.0, 1.0)
            grid = list(np.linspace(lo, hi, _GRID)) if hi > lo else [lo]
            probes = [*grid, np.nan]
        else:
            levels = list(summary.categorical.get(c, {}))
            probes = [(1.0 if lv == "yes" else 0.0) if kind == "binary" else lv for lv in levels] + [np.nan]
            grid = []
        plans.append((c, probes, kind, grid))
    active = _active_columns(pipeline)
    probed = [plan for plan in plans if active is None or plan[0] in active]
    found = dict(zip([plan[0] for plan in probed],
                     _probe_many(pipeline, reference, [(c, probes, kind) for c, probes, kind, _ in probed]),
                     strict=True))
    results = [found.get(c, np.full(len(probes), lp0)) for c, probes, _, _ in plans]
    for (c, probes, kind, grid), values in zip(plans, results, strict=True):
        lp = values - lp0
        if kind == "numeric":
            raw.append((c, kind, {}, grid, list(lp[:-1]), float(lp[-1])))
        else:
            names = [_key(p) for p in probes[:-1]]
            raw.append((c, kind, dict(zip(names, lp[:-1].tolist(), strict=True)), [], [], float(lp[-1])))
    spans, mins = [], []
    for _, kind, levels, _, grid_lp, missing in raw:
        values = list(levels.values()) if kind != "numeric" else list(grid_lp)
        values = values or [missing]
        mins.append(min(values))
        spans.append(max(values) - min(values))
    widest = max(spans) if spans and max(spans) > 0 else 1.0
    scale = 100.0 / widest
    terms = []
    for (c, kind, levels, grid, grid_lp, missing), low in zip(raw, mins, strict=True):
        terms.append(
            NomogramTerm(
                feature=c,
                kind=kind,
                levels={k: (v - low) * scale for k, v in levels.items()},
                grid=tuple(float(g) for g in grid),
                grid_points=tuple((v - low) * scale for v in grid_lp),
                missing_points=(missing - low) * scale,
            )
        )
    return Nomogram(task=task, model_name=model_name, terms=tuple(terms), offset=lp0 + float(sum(mins)), scale=scale)
