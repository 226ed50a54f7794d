"""Which features shifted between two cohorts (e.g. two centres): a drift summary sorted by effect size.

Numeric features: standardised mean difference ``SMD = (mean_b − mean_a) / sqrt((s²_a + s²_b) / 2)`` and the
two-sample Kolmogorov–Smirnov statistic ``D`` with its p-value. Categorical features (and 0/1 yes/no columns):
Pearson χ² on the level × cohort table and Cramér's ``V = sqrt(χ² / (n · (min(r, c) − 1)))``. P-values are
adjusted over all features with Benjamini–Hochberg. Rows are sorted by ``effect_size`` = ``|SMD|`` (numeric)
or ``V`` (categorical); both are ≈ 0.1 at a "small" shift (Austin 2009; Cohen 1988), so one ranking is useful,
but read the two scales with care.

Missing values are dropped per feature and the missing fraction in each cohort is reported, because a change in
missingness is itself a drift signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from her2mri.exceptions import FitError
from her2mri.stats.results import json_safe

__all__ = ["DriftResult", "FeatureDrift", "feature_drift"]


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one feature between cohort A and cohort B."""

    feature: str
    kind: str
    effect_size: float
    smd: float
    ks_statistic: float
    cramers_v: float
    statistic: float
    df: float
    pvalue: float
    pvalue_adjusted: float
    method: str
    n_a: int
    n_b: int
    missing_a: float
    missing_b: float
    summary_a: str
    summary_b: str


@dataclass(frozen=True)
class DriftResult:
    """Per-feature drift, sorted by decreasing effect size. ``label_a`` / ``label_b`` name the two cohorts."""

    features: tuple[FeatureDrift, ...]
    label_a: str
    label_b: str
    correction: str = "bh"

    def top(self, k: int = 5) -> list[str]:
        """Names of the ``k`` most shifted features."""
        return [f.feature for f in self.features[:k]]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(f) for f in self.features])

    def to_dict(self) -> dict[str, Any]:
        return {"label_a": self.label_a, "label_b": self.label_b, "correction": self.correction,
                "features": [json_safe(asdict(f)) for f in self.features]}


def _is_categorical(a: pd.Series, b: pd.Series) -> bool:
    both = pd.concat([a, b], ignore_index=True).dropna()
    if not (pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b)):
        return True
    if pd.api.types.is_bool_dtype(both):
        return True
    return bool(set(np.unique(both.to_numpy(dtype=float))) <= {0.0, 1.0})


def _bh(p: np.ndarray) -> np.ndarray:
    out = np.full_like(p, np.nan, dtype=float)
    ok = np.isfinite(p)
    if not ok.any():
        return out
    q = p[ok]
    order = np.argsort(q)
    m = q.size
    ranked = q[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def _numeric(name: str, a: pd.Series, b: pd.Series, miss: tuple[float, float]) -> FeatureDrift:
    xa, xb = a.dropna().to_numpy(dtype=float), b.dropna().to_numpy(dtype=float)
    if xa.size < 2 or xb.size < 2:
        nan = float("nan")
        return FeatureDrift(name, "numeric", nan, nan, nan, nan, nan, nan, nan, nan, "too few values",
                            int(xa.size), int(xb.size), *miss, "", "")
    pooled = np.sqrt((xa.var(ddof=1) + xb.var(ddof=1)) / 2.0)
    smd = float((xb.mean() - xa.mean()) / pooled) if pooled > 0 else 0.0
    ks = stats.ks_2samp(xa, xb)
    return FeatureDrift(
        name, "numeric", abs(smd), smd, float(ks.statistic), float("nan"), float(ks.statistic), float("nan"),
        float(ks.pvalue), float("nan"), "Kolmogorov-Smirnov; SMD", int(xa.size), int(xb.size), *miss,
        f"mean {xa.mean():.4g} (SD {xa.std(ddof=1):.3g})", f"mean {xb.mean():.4g} (SD {xb.std(ddof=1):.3g})")


def _categorical(name: str, a: pd.Series, b: pd.Series, miss: tuple[float, float]) -> FeatureDrift:
    xa, xb = a.dropna().astype(str), b.dropna().astype(str)
    table = pd.crosstab(pd.concat([xa, xb], ignore_index=True),
                        np.r_[np.zeros(len(xa), int), np.ones(len(xb), int)])
    nan = float("nan")
    if table.shape[0] < 2 or table.shape[1] < 2:
        v = 0.0 if table.shape[0] < 2 and len(xa) and len(xb) else nan
        return FeatureDrift(name, "categorical", v, nan, nan, v, nan, nan, nan, nan, "single level",
                            int(len(xa)), int(len(xb)), *miss, "", "")
    chi2, p, dof, _ = stats.chi2_contingency(table.to_numpy(), correction=False)
    n = table.to_numpy().sum()
    v = float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))

    def _mode(x: pd.Series) -> str:
        share = x.value_counts(normalize=True)
        return f"{share.index[0]} {100 * share.iloc[0]:.0f}%"

    return FeatureDrift(name, "categorical", v, nan, nan, v, float(chi2), float(dof), float(p), nan,
                        "Pearson chi-square; Cramer's V", int(len(xa)), int(len(xb)), *miss, _mode(xa), _mode(xb))


def feature_drift(
    frame_a: pd.DataFrame,
    frame_b: pd.DataFrame,
    features: Sequence[str] | None = None,
    *,
    label_a: str = "a",
    label_b: str = "b",
) -> DriftResult:
    """Compare the distribution of ``features`` between ``frame_a`` and ``frame_b`` (see module docstring).

    ``features=None`` uses every column present in both frames except identifiers (``patient_id``,
    ``lesion_id``, ``center``). Returns a :class:`DriftResult` sorted by decreasing effect size.
    """
    if features is None:
        skip = {"patient_id", "lesion_id", "center", "exam_date"}
        features = [c for c in frame_a.columns if c in frame_b.columns and c not in skip]
    missing = [f for f in features if f not in frame_a.columns or f not in frame_b.columns]
    if missing:
        msg = (f"feature_drift: feature(s) {missing} are not columns of both frames. "
               "Pass features present in both cohorts.")
        raise FitError(msg)
    if len(frame_a) == 0 or len(frame_b) == 0:
        msg = f"feature_drift: both cohorts need rows; got {len(frame_a)} and {len(frame_b)}."
        raise FitError(msg)
    rows: list[FeatureDrift] = []
    for name in features:
        a, b = frame_a[name], frame_b[name]
        miss = (float(a.isna().mean()), float(b.isna().mean()))
        rows.append(_categorical(name, a, b, miss) if _is_categorical(a, b) else _numeric(name, a, b, miss))
    adjusted = _bh(np.array([r.pvalue for r in rows], dtype=float))
    rows = [FeatureDrift(**{**asdict(r), "pvalue_adjusted": float(q)}) for r, q in zip(rows, adjusted, strict=True)]
    rows.sort(key=lambda r: (-(r.effect_size if np.isfinite(r.effect_size) else -1.0), r.feature))
    return DriftResult(tuple(rows), label_a, label_b)
