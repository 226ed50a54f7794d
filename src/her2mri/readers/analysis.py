"""Reader study: readers with and without the model (unaided vs aided), per reader and as an MRMC analysis.

Steps: validate the reads → join each read to the lesion's 0/1 truth for the task → per reader × condition
AUC (DeLong CI) and sensitivity / specificity at a threshold (Wilson CIs) → per reader aided − unaided AUC with
the paired DeLong test → Obuchowski–Rockette MRMC (jackknife covariances, Hillis ddf) of aided − unaided over
the lesions read by every reader in both conditions.

Threshold: a read is a positive call when ``score >= threshold`` (default 0.5 for probabilities, 3 for the
ordinal 1–5 scale), or, with ``calls="her2_call"``, when the reader's ``her2_call`` is one of
``positive_calls``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from her2mri.exceptions import FitError
from her2mri.readers.table import ReaderTable, validate_reads
from her2mri.stats.diagnostic import wilson_interval
from her2mri.stats.mrmc import MrmcResult, auc_wald_interval, delong_covariance, or_hillis
from her2mri.stats.results import json_safe

__all__ = ["ReaderComparison", "ReaderMetrics", "ReaderStudyResult", "run_reader_study"]

Truth = pd.Series | Mapping[str, Any] | Callable[[np.ndarray], Any]


@dataclass(frozen=True)
class ReaderMetrics:
    """One reader in one condition."""

    reader_id: str
    condition: str
    n: int
    n_pos: int
    n_neg: int
    auc: float
    auc_ci_low: float
    auc_ci_high: float
    sensitivity: float
    sensitivity_ci_low: float
    sensitivity_ci_high: float
    specificity: float
    specificity_ci_low: float
    specificity_ci_high: float
    accuracy: float
    tp: int
    fp: int
    tn: int
    fn: int


@dataclass(frozen=True)
class ReaderComparison:
    """Aided − unaided for one reader on the lesions read in both conditions (paired DeLong z test)."""

    reader_id: str
    n: int
    auc_unaided: float
    auc_aided: float
    estimate: float
    ci_low: float
    ci_high: float
    statistic: float
    pvalue: float
    sensitivity_change: float
    specificity_change: float
    method: str = "paired DeLong"


@dataclass(frozen=True)
class ReaderStudyResult:
    """Everything a reader study reports; ``mrmc`` is ``None`` when the design cannot support it (see notes)."""

    task: str
    score_kind: str
    threshold: float | None
    calls: str
    n_lesions: int
    n_pos: int
    n_neg: int
    readers: tuple[str, ...]
    per_reader: tuple[ReaderMetrics, ...]
    comparisons: tuple[ReaderComparison, ...]
    mrmc: MrmcResult | None
    conf_level: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        """Per reader × condition metrics, with the aided − unaided comparison on the aided rows."""
        table = pd.DataFrame([asdict(m) for m in self.per_reader])
        if self.comparisons and not table.empty:
            comp = pd.DataFrame([asdict(c) for c in self.comparisons])[
                ["reader_id", "estimate", "ci_low", "ci_high", "pvalue"]].rename(columns={
                    "estimate": "auc_change", "ci_low": "auc_change_ci_low", "ci_high": "auc_change_ci_high",
                    "pvalue": "auc_change_pvalue"})
            comp["condition"] = "aided"
            table = table.merge(comp, on=["reader_id", "condition"], how="left")
        return table

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (NaN / inf become ``None``)."""
        out = {
            "task": self.task, "score_kind": self.score_kind, "threshold": self.threshold, "calls": self.calls,
            "n_lesions": self.n_lesions, "n_pos": self.n_pos, "n_neg": self.n_neg, "readers": list(self.readers),
            "conf_level": self.conf_level,
            "per_reader": [asdict(m) for m in self.per_reader],
            "comparisons": [asdict(c) for c in self.comparisons],
            "mrmc": None, "notes": list(self.notes),
        }
        if self.mrmc is not None:
            rrrc = self.mrmc.analyses.get("rrrc")
            out["mrmc"] = {
                "summary": {"comparison": "aided - unaided", "estimate": self.mrmc.estimate,
                            "ci_low": self.mrmc.ci_low, "ci_high": self.mrmc.ci_high,
                            "statistic": rrrc.statistic if rrrc else None, "df": self.mrmc.df,
                            "pvalue": self.mrmc.pvalue, "method": self.mrmc.method,
                            "cov_method": self.mrmc.cov_method},
                "detail": self.mrmc.to_dict(),
            }
        return json_safe(out)


def _truth_for(lesions: np.ndarray, truth: Truth) -> pd.Series:
    if callable(truth) and not isinstance(truth, (pd.Series, Mapping)):
        values = np.asarray(truth(lesions))
        if values.shape[0] != lesions.shape[0]:
            msg = f"The truth function returned {values.shape[0]} values for {lesions.shape[0]} lesions."
            raise FitError(msg)
        series = pd.Series(values, index=lesions)
    else:
        series = pd.Series(truth) if isinstance(truth, Mapping) else truth
        series = series.copy()
        series.index = series.index.astype(str)
        if series.index.duplicated().any():
            dup = series.index[series.index.duplicated()][0]
            msg = f"Truth has lesion_id '{dup}' more than once; give one 0/1 value per lesion."
            raise FitError(msg)
        series = series.reindex(lesions)
    series = pd.to_numeric(series, errors="coerce")
    bad = set(series.dropna().unique()) - {0, 1}
    if bad:
        msg = f"Truth must be 0/1 per lesion (1 = the task's positive class); got values {sorted(bad)[:5]}."
        raise FitError(msg)
    return series


def _metrics(reader: str, condition: str, y: np.ndarray, s: np.ndarray, call: np.ndarray, z: float) -> ReaderMetrics:
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    auc_ci = auc_wald_interval(y, s, z)[:3]
    tp, fn = int((call & (y == 1)).sum()), int((~call & (y == 1)).sum())
    tn, fp = int((~call & (y == 0)).sum()), int((call & (y == 0)).sum())
    return ReaderMetrics(reader, condition, int(len(y)), n_pos, n_neg, *auc_ci, *wilson_interval(tp, tp + fn, z),
                         *wilson_interval(tn, tn + fp, z), (tp + tn) / len(y) if len(y) else float("nan"), tp, fp, tn, fn)


def run_reader_study(
    reads: pd.DataFrame | ReaderTable,
    truth: Truth,
    *,
    task: str,
    threshold: float | None = None,
    calls: Literal["threshold", "her2_call"] = "threshold",
    positive_calls: Sequence[str] = ("positive",),
    conf_level: float = 0.95,
    cov_method: Literal["jackknife", "delong"] = "jackknife",
) -> ReaderStudyResult:
    """Analyse a reader study (see module docstring).

    ``truth`` gives each lesion's 0/1 label for ``task``: a Series or mapping indexed by ``lesion_id``, or a
    function of the array of lesion ids. Lesions without a label (not eligible for the task) are left out
    and counted in ``notes``.
    """
    table = reads if isinstance(reads, ReaderTable) else validate_reads(reads)
    if not 0 < conf_level < 1:
        msg = f"The 'conf_level' parameter of run_reader_study must be in (0, 1). Got {conf_level!r} instead."
        raise FitError(msg)
    if calls == "her2_call" and not table.has_calls:
        msg = "calls='her2_call' needs a her2_call column in the reads table; use calls='threshold' instead."
        raise FitError(msg)
    notes = list(table.notes)
    frame = table.frame.copy()
    lesions = np.asarray(pd.unique(frame["lesion_id"]), dtype=object)
    y_by_lesion = _truth_for(lesions, truth)
    frame["truth"] = frame["lesion_id"].map(y_by_lesion)
    unlabelled = frame.loc[frame["truth"].isna(), "lesion_id"].nunique()
    if unlabelled:
        notes.append(f"{unlabelled} lesion(s) without a label for task '{task}' were left out")
    frame = frame[frame["truth"].notna()].copy()
    frame["truth"] = frame["truth"].astype(int)
    case_truth = frame.groupby("lesion_id")["truth"].first()
    if case_truth.nunique() < 2:
        msg = (f"Reader study for task '{task}': the read lesions with labels hold only one class "
               f"({len(case_truth)} lesions); both positive and negative lesions are needed.")
        raise FitError(msg)
    if threshold is None and calls == "threshold":
        threshold = 0.5 if table.score_kind == "probability" else 3.0
    if calls == "her2_call":
        frame["call"] = frame["her2_call"].isin([str(c).lower() for c in positive_calls])
    else:
        frame["call"] = frame["score"] >= float(threshold)  # type: ignore[arg-type]
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))

    per_reader = []
    for (reader, condition), g in frame.groupby(["reader_id", "condition"], sort=False):
        per_reader.append(_metrics(str(reader), str(condition), g["truth"].to_numpy(), g["score"].to_numpy(),
                                   g["call"].to_numpy(bool), z))
    order = {c: i for i, c in enumerate(("unaided", "aided"))}
    readers = tuple(str(r) for r in pd.unique(frame["reader_id"]))
    per_reader.sort(key=lambda m: (readers.index(m.reader_id), order.get(m.condition, 9)))

    comparisons: list[ReaderComparison] = []
    mrmc: MrmcResult | None = None
    if set(frame["condition"]) >= {"unaided", "aided"}:
        comparisons = _paired(frame, readers, z)
        mrmc = _mrmc(frame, readers, conf_level, cov_method, notes)
    if len(readers) < 4:
        notes.append(f"{len(readers)} reader(s): per-reader comparisons are the main result; the MRMC "
                     "random-reader test has very few denominator df (seed study 004 had 2 readers). "
                     "A proper MRMC study needs >= 4-5 readers with probability or confidence scores.")
    return ReaderStudyResult(task, table.score_kind, None if threshold is None else float(threshold), calls,
                             int(len(case_truth)), int(case_truth.sum()), int((case_truth == 0).sum()), readers,
                             tuple(per_reader), tuple(comparisons), mrmc, conf_level, tuple(dict.fromkeys(notes)))


def _paired(frame: pd.DataFrame, readers: tuple[str, ...], z: float) -> list[ReaderComparison]:
    out = []
    for reader in readers:
        sub = frame[frame["reader_id"] == reader]
        wide = sub.pivot(index="lesion_id", columns="condition", values=["score", "call"]).dropna()
        if wide.empty:
            continue
        y = frame.groupby("lesion_id")["truth"].first().reindex(wide.index).to_numpy()
        if (y == 1).sum() < 2 or (y == 0).sum() < 2:
            continue
        scores = np.column_stack([wide[("score", "unaided")], wide[("score", "aided")]]).astype(float)
        dc = delong_covariance(y, scores)
        diff = float(dc.aucs[1] - dc.aucs[0])
        se = float(np.sqrt(max(dc.covariance[0, 0] + dc.covariance[1, 1] - 2 * dc.covariance[0, 1], 0.0)))
        stat = diff / se if se > 0 else float("nan")
        p = float(2 * stats.norm.sf(abs(stat))) if se > 0 else float("nan")
        call_u = wide[("call", "unaided")].astype(bool).to_numpy()
        call_a = wide[("call", "aided")].astype(bool).to_numpy()
        d_sens = float(call_a[y == 1].mean() - call_u[y == 1].mean())
        d_spec = float((~call_a[y == 0]).mean() - (~call_u[y == 0]).mean())
        out.append(ReaderComparison(reader, int(len(y)), float(dc.aucs[0]), float(dc.aucs[1]), diff,
                                    diff - z * se, diff + z * se, stat, p, d_sens, d_spec))
    return out


def _mrmc(frame: pd.DataFrame, readers: tuple[str, ...], conf_level: float, cov_method: str,
          notes: list[str]) -> MrmcResult | None:
    if len(readers) < 2:
        notes.append("MRMC analysis skipped: it needs at least 2 readers.")
        return None
    counts = frame.groupby("lesion_id").size()
    complete = counts.index[counts == 2 * len(readers)]
    dropped = frame["lesion_id"].nunique() - len(complete)
    if dropped:
        notes.append(f"MRMC uses the {len(complete)} lesions read by every reader in both conditions "
                     f"({dropped} lesion(s) with incomplete reads left out of the MRMC analysis)")
    data = frame[frame["lesion_id"].isin(complete)]
    y = data.groupby("lesion_id")["truth"].first()
    if (y == 1).sum() < 2 or (y == 0).sum() < 2:
        notes.append("MRMC analysis skipped: fewer than 2 positive or negative fully-read lesions.")
        return None
    return or_hillis(data, truth="truth", rating="score", reader="reader_id", treatment="condition",
                     case="lesion_id", treatments=("aided", "unaided"), readers=readers,
                     cov_method=cov_method, conf_level=conf_level)  # type: ignore[arg-type]
