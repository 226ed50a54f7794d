"""Subgroup performance: AUC and threshold metrics by lesion type, centre or any column, with interaction tests.

For each subgroup the table reports n, positives, negatives, the empirical AUC with its DeLong 95 % CI
(normal on the AUC scale, clipped to [0, 1], pROC convention) and sensitivity, specificity, PPV and NPV at a
fixed threshold (positive call at ``score >= threshold``) with Wilson intervals. Subgroups with fewer than
``min_per_class`` positives or negatives are kept and flagged in ``note``; the AUC is only computed with at
least 2 of each.

Heterogeneity is tested per grouping column:

* **Interaction likelihood-ratio test**: logistic regression ``y ~ s + group`` versus ``y ~ s * group``
  (statsmodels), χ² on ``levels − 1`` df, where ``s`` is ``logit(score)`` when all scores are probabilities
  in (0, 1) and the raw score otherwise. A small p-value says that the score–outcome relation differs between
  subgroups (Steyerberg, Clinical Prediction Models, 2nd ed., ch. 17).
* **Unpaired DeLong test** when the column has exactly two subgroups: ``t = (A₁ − A₂)/sqrt(V₁ + V₂)`` with
  Welch–Satterthwaite df, as pROC's ``roc.test(paired = FALSE)``.

Subgroup analyses are exploratory: many subgroups inflate false positives and small subgroups have wide CIs.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from her2mri.exceptions import FitError
from her2mri.stats._checks import as_float_scalar, check_count
from her2mri.stats.diagnostic import wilson_interval
from her2mri.stats.mrmc import auc_wald_interval
from her2mri.stats.results import json_safe

__all__ = ["InteractionTest", "SubgroupResult", "SubgroupRow", "subgroup_metrics"]

MISSING_LEVEL = "missing"


@dataclass(frozen=True)
class SubgroupRow:
    """Metrics of one subgroup (``by`` = grouping column, ``level`` = its value; ``overall`` row first)."""

    by: str
    level: str
    n: int
    n_pos: int
    n_neg: int
    auc: float
    auc_ci_low: float
    auc_ci_high: float
    auc_variance: float
    sensitivity: float
    sensitivity_ci_low: float
    sensitivity_ci_high: float
    specificity: float
    specificity_ci_low: float
    specificity_ci_high: float
    ppv: float
    ppv_ci_low: float
    ppv_ci_high: float
    npv: float
    npv_ci_low: float
    npv_ci_high: float
    tp: int
    fp: int
    tn: int
    fn: int
    note: str = ""


@dataclass(frozen=True)
class InteractionTest:
    """A heterogeneity test for one grouping column (``method`` names the test)."""

    by: str
    method: str
    statistic: float
    df: float
    pvalue: float
    estimate: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    levels: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class SubgroupResult:
    """Subgroup metric rows, interaction tests and notes (``threshold`` used for the threshold metrics)."""

    rows: tuple[SubgroupRow, ...]
    interactions: tuple[InteractionTest, ...]
    threshold: float
    conf_level: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self.rows])

    def interactions_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(t) for t in self.interactions])

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold, "conf_level": self.conf_level, "notes": list(self.notes),
            "rows": [json_safe(asdict(r)) for r in self.rows],
            "interactions": [json_safe(asdict(t)) for t in self.interactions],
        }


def _row(by: str, level: str, y: np.ndarray, s: np.ndarray, threshold: float, z: float, min_n: int) -> SubgroupRow:
    call = s >= threshold
    tp, fp = int((call & (y == 1)).sum()), int((call & (y == 0)).sum())
    tn, fn = int((~call & (y == 0)).sum()), int((~call & (y == 1)).sum())
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    notes = []
    if n_pos < min_n or n_neg < min_n:
        notes.append(f"few cases ({n_pos} positive, {n_neg} negative; < {min_n}): estimates unstable")
    if n_pos < 2 or n_neg < 2:
        notes.append("AUC not computed (needs >= 2 positives and >= 2 negatives)")
    return SubgroupRow(by, level, int(len(y)), n_pos, n_neg, *auc_wald_interval(y, s, z), *wilson_interval(tp, tp + fn, z),
                       *wilson_interval(tn, tn + fp, z), *wilson_interval(tp, tp + fp, z),
                       *wilson_interval(tn, tn + fn, z),
                       tp, fp, tn, fn, "; ".join(notes))


def _lr_interaction(by: str, y: np.ndarray, s: np.ndarray, g: pd.Series) -> InteractionTest:
    import statsmodels.api as sm

    levels = tuple(sorted(g.unique()))
    dummies = pd.get_dummies(g, drop_first=True, dtype=float)
    base = pd.concat([pd.Series(s, index=g.index, name="score"), dummies], axis=1)
    inter = dummies.mul(base["score"], axis=0).add_suffix(":score")
    x0 = sm.add_constant(base, has_constant="add")
    x1 = pd.concat([x0, inter], axis=1)
    method = "logistic interaction LR test"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            f0 = sm.Logit(y, x0).fit(disp=0, maxiter=200)
            f1 = sm.Logit(y, x1).fit(disp=0, maxiter=200)
        except Exception as exc:  # noqa: BLE001 - statsmodels raises several types on separation
            return InteractionTest(by, method, float("nan"), float("nan"), float("nan"), levels=levels,
                                   note=f"model could not be fitted: {type(exc).__name__}")
    note = "; ".join(sorted({str(w.message).split("\n")[0] for w in caught}))
    stat = float(max(2 * (f1.llf - f0.llf), 0.0))
    df = float(inter.shape[1])
    return InteractionTest(by, method, stat, df, float(stats.chi2.sf(stat, df)), levels=levels,
                           note=("fit warnings: " + note) if note else "")


def _delong_unpaired(by: str, rows: list[SubgroupRow], alpha: float) -> InteractionTest:
    a, b = rows
    method = "unpaired DeLong (Welch t)"
    if not (np.isfinite(a.auc) and np.isfinite(b.auc)):
        return InteractionTest(by, method, float("nan"), float("nan"), float("nan"), levels=(a.level, b.level),
                               note="AUC missing in a subgroup")
    diff, v = a.auc - b.auc, a.auc_variance + b.auc_variance
    if v <= 0:
        return InteractionTest(by, method, float("nan"), float("nan"), float("nan"), diff, levels=(a.level, b.level),
                               note="zero variance")
    t = diff / np.sqrt(v)
    df = v**2 / (a.auc_variance**2 / (a.n - 1) + b.auc_variance**2 / (b.n - 1))
    half = float(stats.t.ppf(1 - alpha / 2, df)) * np.sqrt(v)
    return InteractionTest(by, method, float(t), float(df), float(2 * stats.t.sf(abs(t), df)), float(diff),
                           float(diff - half), float(diff + half), (a.level, b.level))


def _vector(frame: pd.DataFrame, value: Any, name: str) -> np.ndarray:
    if isinstance(value, str):
        if value not in frame.columns:
            msg = f"subgroup_metrics: column '{value}' (for {name}) is not in the frame; got {list(frame.columns)[:12]}..."
            raise FitError(msg)
        return frame[value].to_numpy()
    try:
        arr = np.asarray(value, dtype=object)
    except (TypeError, ValueError) as exc:
        msg = f"subgroup_metrics: {name} must be a column name or one value per row; got unreadable input ({exc})."
        raise FitError(msg) from None
    if arr.ndim != 1:
        msg = (f"subgroup_metrics: {name} must be a column name or a 1-D array with one value per row; got "
               f"{value!r:.60}.")
        raise FitError(msg)
    if arr.shape[0] != len(frame):
        msg = f"subgroup_metrics: {name} has {arr.shape[0]} values but the frame has {len(frame)} rows."
        raise FitError(msg)
    return arr


def subgroup_metrics(
    frame: pd.DataFrame,
    y_true: str | Any,
    score: str | Any,
    threshold: float,
    by: Sequence[str] = ("lesion_type", "center"),
    *,
    conf_level: float = 0.95,
    min_per_class: int = 5,
) -> SubgroupResult:
    """Metrics overall and per level of each ``by`` column, with interaction tests (see module docstring).

    ``y_true`` and ``score`` are column names of ``frame`` or arrays aligned with its rows; rows with a missing
    outcome or score are dropped (counted in ``notes``); a missing subgroup value forms the level ``missing``.
    """
    threshold = as_float_scalar(threshold, "threshold", "subgroup_metrics")
    min_per_class = check_count(min_per_class, "min_per_class", "subgroup_metrics", minimum=0)
    if not isinstance(conf_level, float | int) or isinstance(conf_level, bool) or not 0 < conf_level < 1:
        msg = f"The 'conf_level' parameter of subgroup_metrics must be in (0, 1). Got {conf_level!r} instead."
        raise FitError(msg)
    y_all = pd.to_numeric(pd.Series(_vector(frame, y_true, "y_true"), index=frame.index), errors="coerce")
    s_all = pd.to_numeric(pd.Series(_vector(frame, score, "score"), index=frame.index), errors="coerce")
    bad_y = set(y_all.dropna().unique()) - {0, 1}
    if bad_y:
        msg = f"subgroup_metrics: y_true must be 0/1 (1 = positive); got values {sorted(bad_y)[:5]}."
        raise FitError(msg)
    missing_by = [b for b in by if b not in frame.columns]
    if missing_by:
        msg = f"subgroup_metrics: grouping column(s) {missing_by} not in the frame; pass existing columns in by=."
        raise FitError(msg)
    keep = y_all.notna() & s_all.notna()
    if not keep.any():
        msg = (f"subgroup_metrics: no row has both an outcome ('y_true') and a numeric 'score' (of {len(frame)} "
               "rows); pass the outcome and score columns.")
        raise FitError(msg)
    notes = [f"{int((~keep).sum())} rows without outcome or score dropped"] if (~keep).any() else []
    y, s = y_all[keep].astype(int), s_all[keep].astype(float)
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    rows = [_row("overall", "all", y.to_numpy(), s.to_numpy(), threshold, z, min_per_class)]
    s_model = s.to_numpy()
    if s_model.min() > 0 and s_model.max() < 1:
        s_model = np.log(s_model / (1 - s_model))
        notes.append("interaction models use logit(score)")
    interactions: list[InteractionTest] = []
    for col in by:
        g = frame.loc[keep, col].astype(object).where(frame.loc[keep, col].notna(), MISSING_LEVEL).astype(str)
        group_rows = [_row(col, lvl, y[g == lvl].to_numpy(), s[g == lvl].to_numpy(), threshold, z, min_per_class)
                      for lvl in sorted(g.unique())]
        rows.extend(group_rows)
        if len(group_rows) < 2:
            notes.append(f"'{col}' has a single level; no interaction test")
            continue
        interactions.append(_lr_interaction(col, y.to_numpy(), s_model, g))
        if len(group_rows) == 2:
            interactions.append(_delong_unpaired(col, group_rows, 1 - conf_level))
    return SubgroupResult(tuple(rows), tuple(interactions), float(threshold), conf_level, tuple(notes))
