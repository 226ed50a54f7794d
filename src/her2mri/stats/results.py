"""Frozen result dataclasses returned by every statistic in :mod:`her2mri.stats`.

Every class renders itself as data, never as HTML (the report layer does that):

* ``.to_dict()`` gives a JSON-safe ``dict`` (numpy scalars and arrays become Python floats/ints/lists;
  ``nan`` and ``±inf`` become ``None`` because JSON has no such numbers);
* ``.to_frame()`` gives a tidy :class:`pandas.DataFrame` (one row per estimate, per threshold, per term …).

Field names follow the project vocabulary: ``estimate, statistic, df, pvalue, ci_low, ci_high, conf_level,
method, n``. Classes that hold arrays use ``eq=False`` (element-wise array equality has no single truth value).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from her2mri.stats._checks import StatsInputError

__all__ = [
    "AucResult",
    "BootstrapResult",
    "CalibrationCurveResult",
    "CalibrationResult",
    "ClinicalImpactResult",
    "CoxResult",
    "DecisionCurveResult",
    "DelongMatrixResult",
    "DelongTestResult",
    "DiagnosticResult",
    "EstimateWithCI",
    "HosmerLemeshowResult",
    "IccForm",
    "IccResult",
    "KaplanMeierResult",
    "KappaResult",
    "LogisticResult",
    "OptimismResult",
    "ProportionResult",
    "RocCurveResult",
    "Table1Result",
    "TestResult",
    "ThresholdResult",
]


def json_safe(value: Any) -> Any:
    """Convert numpy/pandas values to JSON-safe Python objects (non-finite floats → None)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return [json_safe(r) for r in value.to_dict(orient="records")]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if value is None or isinstance(value, str | int):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_safe({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    return str(value)


class _ResultMixin:
    """Shared ``to_dict`` / ``to_frame`` behaviour."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every field (nan/inf → ``None``)."""
        return {f.name: json_safe(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy frame of the scalar fields."""
        row = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if np.ndim(getattr(self, f.name)) == 0 and not dataclasses.is_dataclass(getattr(self, f.name))
        }
        return pd.DataFrame([row])


@dataclass(frozen=True)
class TestResult(_ResultMixin):
    """A classical hypothesis test (R's ``htest``): statistic, degrees of freedom and p-value."""

    __test__ = False  # not a pytest test class

    statistic: float
    pvalue: float
    method: str
    df: float | tuple[float, ...] | None = None
    n: int | None = None
    estimate: float | None = None

    def __iter__(self):  # type: ignore[no-untyped-def]
        """Unpack as ``statistic, pvalue`` (scipy habit)."""
        return iter((self.statistic, self.pvalue))

    def to_frame(self) -> pd.DataFrame:
        df = self.df if not isinstance(self.df, tuple) else ", ".join(f"{d:g}" for d in self.df)
        return pd.DataFrame(
            [{"method": self.method, "statistic": self.statistic, "df": df, "pvalue": self.pvalue,
              "estimate": self.estimate, "n": self.n}]
        )


@dataclass(frozen=True)
class EstimateWithCI(_ResultMixin):
    """A point estimate with its confidence interval; ``n`` is the denominator it was computed on."""

    estimate: float
    ci_low: float
    ci_high: float
    method: str
    n: int
    conf_level: float = 0.95


@dataclass(frozen=True)
class ProportionResult(_ResultMixin):
    """A binomial proportion ``x / n`` with its confidence interval (Wilson or Clopper–Pearson)."""

    estimate: float
    ci_low: float
    ci_high: float
    x: int
    n: int
    conf_level: float
    method: str


@dataclass(frozen=True)
class AucResult(_ResultMixin):
    """ROC AUC with its DeLong variance and normal-theory confidence interval (pROC ``ci.auc``)."""

    estimate: float
    variance: float
    ci_low: float
    ci_high: float
    n_pos: int
    n_neg: int
    conf_level: float
    method: str
    direction: str = ">"

    @property
    def n(self) -> int:
        return self.n_pos + self.n_neg


@dataclass(frozen=True, eq=False)
class RocCurveResult(_ResultMixin):
    """ROC curve points, ordered from the strictest threshold (``+inf``: nothing positive) to ``-inf``."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float
    direction: str = ">"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"threshold": self.thresholds, "fpr": self.fpr, "tpr": self.tpr,
                             "sensitivity": self.tpr, "specificity": 1.0 - self.fpr})


@dataclass(frozen=True)
class DelongTestResult(_ResultMixin):
    """DeLong comparison of two AUCs (paired z test, or unpaired Welch t with Satterthwaite ``df``)."""

    statistic: float
    pvalue: float
    estimate1: float
    estimate2: float
    difference: float
    ci_low: float
    ci_high: float
    method: str
    df: float | None = None
    conf_level: float = 0.95
    paired: bool = True


@dataclass(frozen=True, eq=False)
class DelongMatrixResult(_ResultMixin):
    """Pairwise paired-DeLong p-values between K models on the same cases (symmetric, diagonal = 1)."""

    names: tuple[str, ...]
    pvalues: np.ndarray
    pvalues_adjusted: np.ndarray
    aucs: np.ndarray
    correction: str = "none"
    covariance: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))

    def to_frame(self) -> pd.DataFrame:
        """Long format: one row per unordered pair (model1, model2)."""
        rows = []
        k = len(self.names)
        for i in range(k):
            for j in range(i + 1, k):
                rows.append({"model1": self.names[i], "model2": self.names[j], "auc1": self.aucs[i],
                             "auc2": self.aucs[j], "pvalue": self.pvalues[i, j],
                             "pvalue_adjusted": self.pvalues_adjusted[i, j], "correction": self.correction})
        return pd.DataFrame(rows)

    def matrix(self, *, adjusted: bool = True) -> pd.DataFrame:
        """Square labelled p-value matrix."""
        values = self.pvalues_adjusted if adjusted else self.pvalues
        return pd.DataFrame(values, index=list(self.names), columns=list(self.names))


@dataclass(frozen=True)
class ThresholdResult(_ResultMixin):
    """An operating point: threshold with its sensitivity, specificity and Youden index (J = se + sp − 1)."""

    threshold: float
    sensitivity: float
    specificity: float
    youden: float
    direction: str = ">"


@dataclass(frozen=True, eq=False)
class BootstrapResult(_ResultMixin):
    """Bootstrap confidence interval; ``distribution`` holds the finite resampled statistics."""

    estimate: float
    ci_low: float
    ci_high: float
    n_resamples: int
    method: str
    distribution: np.ndarray
    conf_level: float = 0.95
    ci_method: str = "percentile"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict without the (long) distribution; its length is kept as ``n_valid``."""
        out = {f.name: json_safe(getattr(self, f.name)) for f in dataclasses.fields(self)
               if f.name != "distribution"}
        out["n_valid"] = int(self.distribution.size)
        return out


@dataclass(frozen=True)
class DiagnosticResult(_ResultMixin):
    """Sensitivity, specificity, accuracy, PPV and NPV at a fixed threshold (positive: score >= threshold)."""

    sensitivity: EstimateWithCI
    specificity: EstimateWithCI
    accuracy: EstimateWithCI
    ppv: EstimateWithCI
    npv: EstimateWithCI
    tp: int
    fp: int
    tn: int
    fn: int
    threshold: float
    direction: str = ">"

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for name in ("sensitivity", "specificity", "accuracy", "ppv", "npv"):
            e: EstimateWithCI = getattr(self, name)
            rows.append({"metric": name, "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high,
                         "method": e.method, "n": e.n, "conf_level": e.conf_level})
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class CalibrationResult(_ResultMixin):
    """Calibration summary (rms ``val.prob`` quantities plus calibration-in-the-large)."""

    intercept: float
    slope: float
    calibration_in_the_large: float
    brier: float
    emax: float
    e90: float
    eavg: float
    c_index: float
    n: int
    dxy: float = float("nan")
    r2_nagelkerke: float = float("nan")


@dataclass(frozen=True, eq=False)
class CalibrationCurveResult(_ResultMixin):
    """Points of a calibration curve: mean predicted vs observed event rate (``counts`` per point)."""

    predicted: np.ndarray
    observed: np.ndarray
    counts: np.ndarray
    method: str = "binned"
    ci_low: np.ndarray = field(default_factory=lambda: np.empty(0))
    ci_high: np.ndarray = field(default_factory=lambda: np.empty(0))

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"predicted": self.predicted, "observed": self.observed, "counts": self.counts})
        if self.ci_low.size == frame.shape[0]:
            frame["ci_low"] = self.ci_low
            frame["ci_high"] = self.ci_high
        return frame


@dataclass(frozen=True, eq=False)
class HosmerLemeshowResult(_ResultMixin):
    """Hosmer–Lemeshow goodness-of-fit test with the per-group table."""

    statistic: float
    df: float
    pvalue: float
    n_groups: int
    observed: np.ndarray
    expected: np.ndarray
    counts: np.ndarray
    method: str = "Hosmer-Lemeshow"
    n: int = 0


@dataclass(frozen=True, eq=False)
class OptimismResult(_ResultMixin):
    """Harrell's bootstrap optimism correction: ``corrected = apparent − mean optimism`` per metric."""

    metrics: tuple[str, ...]
    apparent: np.ndarray
    optimism: np.ndarray
    corrected: np.ndarray
    n_resamples: int
    n: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"metric": list(self.metrics), "apparent": self.apparent,
                             "optimism": self.optimism, "corrected": self.corrected})

    def get(self, metric: str) -> float:
        """Optimism-corrected value of ``metric`` ("auc", "slope" or "brier")."""
        if metric not in self.metrics:
            msg = f"Unknown metric {metric!r}; accepted: {', '.join(self.metrics)}."
            raise StatsInputError(msg)
        return float(self.corrected[self.metrics.index(metric)])


@dataclass(frozen=True, eq=False)
class DecisionCurveResult(_ResultMixin):
    """Decision curve: net benefit of the model, treat-all and treat-none over a threshold grid."""

    thresholds: np.ndarray
    net_benefit: np.ndarray
    net_benefit_all: np.ndarray
    net_benefit_none: np.ndarray
    interventions_avoided: np.ndarray
    best_range: tuple[float, float] | None
    optimal_threshold: float | None
    prevalence: float = float("nan")
    n: int = 0
    band_low: np.ndarray = field(default_factory=lambda: np.empty(0))
    band_high: np.ndarray = field(default_factory=lambda: np.empty(0))

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"threshold": self.thresholds, "net_benefit": self.net_benefit,
                              "net_benefit_all": self.net_benefit_all, "net_benefit_none": self.net_benefit_none,
                              "interventions_avoided": self.interventions_avoided})
        if self.band_low.size == frame.shape[0]:
            frame["band_low"] = self.band_low
            frame["band_high"] = self.band_high
        return frame


@dataclass(frozen=True, eq=False)
class ClinicalImpactResult(_ResultMixin):
    """Clinical-impact curve: number called high risk, and with the event, per ``population`` people."""

    thresholds: np.ndarray
    n_high_risk: np.ndarray
    n_high_risk_with_event: np.ndarray
    population: int
    n: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"threshold": self.thresholds, "n_high_risk": self.n_high_risk,
                             "n_high_risk_with_event": self.n_high_risk_with_event})


@dataclass(frozen=True, eq=False)
class Table1Result(_ResultMixin):
    """Table 1: one row per variable (continuous) or per level (categorical), test used per variable."""

    table: pd.DataFrame
    group: str
    groups: tuple[str, ...]
    footnotes: tuple[str, ...]
    correction: str

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "groups": list(self.groups), "correction": self.correction,
                "footnotes": list(self.footnotes), "rows": json_safe(self.table)}


@dataclass(frozen=True)
class IccForm(_ResultMixin):
    """One Shrout–Fleiss ICC form with its F test and confidence interval."""

    type: str
    description: str
    estimate: float
    statistic: float
    df1: float
    df2: float
    pvalue: float
    ci_low: float
    ci_high: float
    conf_level: float = 0.95


@dataclass(frozen=True)
class IccResult(_ResultMixin):
    """All six Shrout–Fleiss ICC forms (psych::ICC order: ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k)."""

    forms: tuple[IccForm, ...]
    n: int
    k: int
    default: str = "ICC2"

    def get(self, name: str) -> IccForm:
        """The form named ``name`` (e.g. ``"ICC2"`` = ICC(2,1); ``"ICC(2,1)"`` and ``"ICC3k"`` also accepted)."""
        aliases = {"ICC(1,1)": "ICC1", "ICC(2,1)": "ICC2", "ICC(3,1)": "ICC3", "ICC(1,K)": "ICC1k",
                   "ICC(2,K)": "ICC2k", "ICC(3,K)": "ICC3k"}
        key = aliases.get(name.upper(), name)
        for form in self.forms:
            if form.type.lower() == key.lower():
                return form
        msg = (f"ICC form {name!r} not found; accepted: {', '.join(f.type for f in self.forms)} "
               "(or ICC(1,1) … ICC(3,k)).")
        raise StatsInputError(msg)

    @property
    def estimate(self) -> float:
        """The default form's estimate (ICC(2,1))."""
        return self.get(self.default).estimate

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame([dataclasses.asdict(f) for f in self.forms])
        frame["n"] = self.n
        frame["k"] = self.k
        return frame


@dataclass(frozen=True)
class KappaResult(_ResultMixin):
    """Cohen's kappa (unweighted, linear or quadratic weights) with its asymptotic CI (psych::cohen.kappa)."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    weights: str
    n: int
    conf_level: float
    method: str
    observed_agreement: float = float("nan")
    expected_agreement: float = float("nan")


@dataclass(frozen=True, eq=False)
class LogisticResult(_ResultMixin):
    """Multivariable logistic regression: Wald inference per term, odds ratios with Wald CIs."""

    terms: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    z: np.ndarray
    pvalue: np.ndarray
    odds_ratio: np.ndarray
    or_ci_low: np.ndarray
    or_ci_high: np.ndarray
    n: int
    n_events: int
    aic: float
    conf_level: float = 0.95
    reference_levels: Mapping[str, str] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"term": list(self.terms), "coef": self.coef, "se": self.se, "z": self.z,
                             "pvalue": self.pvalue, "odds_ratio": self.odds_ratio,
                             "or_ci_low": self.or_ci_low, "or_ci_high": self.or_ci_high})


@dataclass(frozen=True, eq=False)
class KaplanMeierResult(_ResultMixin):
    """Kaplan–Meier estimate at each distinct event/censoring time, Greenwood SE and log-scale CI."""

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    survival: np.ndarray
    std_err: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    conf_level: float
    conf_type: str
    n: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.time, "n_risk": self.n_risk, "n_event": self.n_event,
                             "n_censor": self.n_censor, "survival": self.survival, "std_err": self.std_err,
                             "ci_low": self.ci_low, "ci_high": self.ci_high})

    def at(self, times: np.ndarray | list[float] | float) -> pd.DataFrame:
        """Survival and CI at ``times`` (step function, right-continuous: R ``summary(fit, times=)``)."""
        t = np.atleast_1d(np.asarray(times, dtype=float))
        idx = np.searchsorted(self.time, t, side="right") - 1
        surv = np.where(idx >= 0, self.survival[np.maximum(idx, 0)], 1.0)
        lo = np.where(idx >= 0, self.ci_low[np.maximum(idx, 0)], 1.0)
        hi = np.where(idx >= 0, self.ci_high[np.maximum(idx, 0)], 1.0)
        return pd.DataFrame({"time": t, "survival": surv, "ci_low": lo, "ci_high": hi})


@dataclass(frozen=True)
class CoxResult(_ResultMixin):
    """Univariable Cox proportional-hazards fit: hazard ratio per unit, Wald CI and p, Harrell's C."""

    hazard_ratio: float
    ci_low: float
    ci_high: float
    pvalue: float
    coef: float
    se: float
    statistic: float
    concordance: float
    n: int
    n_events: int
    conf_level: float = 0.95
    ties: str = "efron"
    method: str = "Cox proportional hazards (Wald)"

    @property
    def estimate(self) -> float:
        return self.hazard_ratio
