"""Multi-reader multi-case (MRMC) analysis: Obuchowski–Rockette ANOVA with Hillis degrees of freedom.

The figure of merit is the empirical (Wilcoxon, trapezoidal) ROC AUC of every reader × treatment pair. Its
error variance ``Var`` and the three error covariances ``Cov1`` (same reader, different treatments), ``Cov2``
(different readers, same treatment) and ``Cov3`` (different readers, different treatments) are estimated by
the case jackknife (default, as in OR-DBM MRMC and R ``MRMCaov::mrmc(cov = jackknife)``) or by DeLong's
structural components (``MRMCaov::mrmc(cov = DeLong)``).

Three analyses are reported (Hillis 2007; Hillis, Berbaum & Metz 2008):

* **RRRC** (random readers, random cases): ``F = MS(T) / [MS(T×R) + J·max(Cov2 − Cov3, 0)]`` with
  Hillis' ``ddf = [MS(T×R) + J·max(Cov2 − Cov3, 0)]² / {MS(T×R)² / ((I−1)(J−1))}``.
* **FRRC** (fixed readers, random cases): ``χ² = (I−1)·MS(T) / [Var − Cov1 + (J−1)·max(Cov2 − Cov3, 0)]``,
  plus reader-specific treatment differences (z tests).
* **RRFC** (random readers, fixed cases): ``F = MS(T) / MS(T×R)`` on ``(I−1, (I−1)(J−1))`` df.

With jackknife covariances the RRRC test equals the Dorfman–Berbaum–Metz analysis with Hillis ddf
(Hillis et al. 2008), so no separate DBM routine is needed. Treatment differences are reported as
``treatment[a] − treatment[b]`` for ``a`` listed before ``b`` (R ``MRMCaov``'s "1 - 2").

References: Obuchowski & Rockette, Commun Stat Simul Comput 1995;24:285–308. Hillis, Stat Med
2007;26:596–619. Hillis, Berbaum & Metz, Acad Radiol 2008;15:647–661. DeLong, DeLong & Clarke-Pearson,
Biometrics 1988;44:837–845.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from her2mri.exceptions import FitError
from her2mri.stats.results import json_safe
from her2mri.stats.roc import _fast_delong

__all__ = [
    "DelongCovariance",
    "MrmcAnalysis",
    "MrmcDifference",
    "MrmcResult",
    "MrmcTreatmentEstimate",
    "auc_wald_interval",
    "delong_covariance",
    "or_hillis",
]

CovMethod = Literal["jackknife", "delong"]


# ----------------------------------------------------------------------------------------------------------
# AUC kernels
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DelongCovariance:
    """Empirical AUCs of several score vectors on the same cases and their DeLong covariance matrix.

    ``v10`` (positives × scores) and ``v01`` (negatives × scores) are the structural components (placements);
    ``covariance = S10/m + S01/n`` with sample covariances over cases (denominators m−1, n−1), as in pROC.
    """

    aucs: np.ndarray
    covariance: np.ndarray
    v10: np.ndarray
    v01: np.ndarray
    n_pos: int
    n_neg: int


def delong_covariance(y_true: Any, scores: Any) -> DelongCovariance:
    """AUC (ties count ½) and DeLong covariance for one or more score columns sharing the same cases.

    ``y_true`` is 0/1 (1 = positive); ``scores`` is a vector or an ``(n_cases, n_scores)`` array, higher meaning
    more likely positive. Uses the midrank algorithm of Sun & Xu (2014).
    """
    y = np.asarray(y_true).astype(int).ravel()
    s = np.asarray(scores, dtype=float)
    if s.ndim == 1:
        s = s[:, None]
    if s.shape[0] != y.shape[0]:
        msg = f"scores have {s.shape[0]} rows but y_true has {y.shape[0]}; pass one score per case."
        raise FitError(msg)
    if not np.all(np.isfinite(s)):
        msg = "scores contain NaN or infinite values; remove or impute them before computing AUCs."
        raise FitError(msg)
    m, n = int((y == 1).sum()), int((y == 0).sum())
    if m < 2 or n < 2:
        msg = f"AUC variance needs at least 2 positive and 2 negative cases; got {m} positive and {n} negative."
        raise FitError(msg)
    aucs, covariance, v10, v01 = _fast_delong(y, s.T)
    return DelongCovariance(aucs=aucs, covariance=covariance, v10=v10.T, v01=v01.T, n_pos=m, n_neg=n)


def auc_wald_interval(y_true: Any, scores: Any, z: float) -> tuple[float, float, float, float]:
    """AUC, its DeLong Wald interval ``AUC ± z·SE`` clipped to [0, 1], and its DeLong variance.

    All NaN when there are fewer than two positives or two negatives (a per-reader or per-subgroup row that
    cannot carry an AUC).
    """
    y = np.asarray(y_true).astype(int).ravel()
    if (y == 1).sum() < 2 or (y == 0).sum() < 2:
        return (float("nan"),) * 4
    dc = delong_covariance(y, scores)
    auc, var = float(dc.aucs[0]), float(dc.covariance[0, 0])
    half = z * np.sqrt(max(var, 0.0))
    return auc, max(0.0, auc - half), min(1.0, auc + half), var


def _jackknife_covariance(dc: DelongCovariance) -> np.ndarray:
    """Case-jackknife covariance of the AUCs, using the exact leave-one-out identity on placements.

    Leaving out positive ``i`` gives ``(m·AUC − V10_i)/(m − 1)``; leaving out negative ``j`` gives
    ``(n·AUC − V01_j)/(n − 1)``. Covariance = (K−1)/K · Σ_k (θ_(k) − θ̄)(θ_(k) − θ̄)ᵀ over all K = m + n cases.
    """
    m, n = dc.n_pos, dc.n_neg
    loo = np.vstack([(m * dc.aucs - dc.v10) / (m - 1), (n * dc.aucs - dc.v01) / (n - 1)])
    k = m + n
    centred = loo - loo.mean(axis=0)
    return (k - 1) / k * centred.T @ centred


# ----------------------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MrmcDifference:
    """One treatment difference (``comparison`` reads "a - b"); ``statistic`` is t (df finite) or z."""

    comparison: str
    estimate: float
    se: float
    statistic: float
    df: float
    pvalue: float
    ci_low: float
    ci_high: float
    reader: str | None = None


@dataclass(frozen=True)
class MrmcTreatmentEstimate:
    """Reader-averaged figure of merit of one treatment with its CI (df = inf means a normal interval)."""

    treatment: str
    estimate: float
    se: float
    df: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class MrmcAnalysis:
    """Global test and intervals for one design: ``"rrrc"``, ``"frrc"`` or ``"rrfc"``.

    ``statistic`` is F (RRRC, RRFC) or χ² (FRRC, ``df`` = inf); ``df1`` numerator df, ``df`` denominator df.
    """

    design: str
    statistic: float
    df1: float
    df: float
    pvalue: float
    denominator: float
    differences: tuple[MrmcDifference, ...]
    treatments: tuple[MrmcTreatmentEstimate, ...]
    reader_differences: tuple[MrmcDifference, ...] = ()


@dataclass(frozen=True)
class MrmcResult:
    """Obuchowski–Rockette MRMC analysis (see the module docstring for formulas).

    ``foms`` is the treatment × reader AUC table; ``var``, ``cov1``, ``cov2``, ``cov3`` the OR error
    (co)variances; ``var_r`` and ``var_tr`` the reader and treatment×reader variance components; ``analyses``
    maps design name to :class:`MrmcAnalysis` (only designs that the data support: RRRC and RRFC need ≥ 2
    readers, every test needs ≥ 2 treatments). ``estimate`` / ``ci_low`` / ``ci_high`` / ``pvalue`` / ``df``
    repeat the RRRC first difference (``treatments[0] − treatments[1]``) when available, else NaN.
    """

    treatments: tuple[str, ...]
    readers: tuple[str, ...]
    foms: pd.DataFrame
    ms_t: float
    ms_r: float
    ms_tr: float
    var: float
    cov1: float
    cov2: float
    cov3: float
    var_r: float
    var_tr: float
    analyses: dict[str, MrmcAnalysis]
    n: int
    n_pos: int
    n_neg: int
    conf_level: float
    cov_method: str
    method: str = "Obuchowski-Rockette with Hillis ddf, empirical AUC"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def _first(self, name: str) -> float:
        rrrc = self.analyses.get("rrrc")
        if rrrc is None or not rrrc.differences:
            return float("nan")
        return float(getattr(rrrc.differences[0], name))

    @property
    def estimate(self) -> float:
        return self._first("estimate")

    @property
    def ci_low(self) -> float:
        return self._first("ci_low")

    @property
    def ci_high(self) -> float:
        return self._first("ci_high")

    @property
    def pvalue(self) -> float:
        return self._first("pvalue")

    @property
    def df(self) -> float:
        return self._first("df")

    def to_frame(self) -> pd.DataFrame:
        """One row per design × comparison / treatment / reader difference."""
        rows: list[dict[str, Any]] = []
        for design, analysis in self.analyses.items():
            rows.append({"design": design, "kind": "global", "term": "treatment", "estimate": np.nan,
                         "se": np.nan, "statistic": analysis.statistic, "df": analysis.df,
                         "pvalue": analysis.pvalue, "ci_low": np.nan, "ci_high": np.nan})
            for d in (*analysis.differences, *analysis.reader_differences):
                term = d.comparison if d.reader is None else f"{d.reader}: {d.comparison}"
                rows.append({"design": design, "kind": "difference", "term": term, "estimate": d.estimate,
                             "se": d.se, "statistic": d.statistic, "df": d.df, "pvalue": d.pvalue,
                             "ci_low": d.ci_low, "ci_high": d.ci_high})
            for t in analysis.treatments:
                rows.append({"design": design, "kind": "treatment", "term": t.treatment, "estimate": t.estimate,
                             "se": t.se, "statistic": np.nan, "df": t.df, "pvalue": np.nan,
                             "ci_low": t.ci_low, "ci_high": t.ci_high})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (NaN and inf become ``None``)."""
        out: dict[str, Any] = {
            "method": self.method, "cov_method": self.cov_method, "conf_level": self.conf_level,
            "treatments": list(self.treatments), "readers": list(self.readers),
            "n": self.n, "n_pos": self.n_pos, "n_neg": self.n_neg,
            "foms": {t: {r: json_safe(self.foms.loc[t, r]) for r in self.readers} for t in self.treatments},
            "anova": {"ms_t": json_safe(self.ms_t), "ms_r": json_safe(self.ms_r), "ms_tr": json_safe(self.ms_tr)},
            "variance_components": {k: json_safe(getattr(self, k))
                                    for k in ("var", "cov1", "cov2", "cov3", "var_r", "var_tr")},
            "analyses": {k: json_safe(asdict(v)) for k, v in self.analyses.items()},
            "notes": list(self.notes),
        }
        return out


# ----------------------------------------------------------------------------------------------------------
# Input handling
# ----------------------------------------------------------------------------------------------------------


def _from_frame(
    frame: pd.DataFrame, truth: str, rating: str, reader: str, treatment: str, case: str
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    missing = [c for c in (truth, rating, reader, treatment, case) if c not in frame.columns]
    if missing:
        msg = (f"MRMC data frame lacks column(s) {missing}; got columns {list(frame.columns)}. "
               "Name the columns with the truth=, rating=, reader=, treatment= and case= arguments.")
        raise FitError(msg)
    data = frame[[truth, rating, reader, treatment, case]].copy()
    for col in (reader, treatment, case):
        data[col] = data[col].astype(str)
    dup = data.duplicated([reader, treatment, case])
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0]) + 1
        msg = (f"MRMC data row {row}: reader/treatment/case combination appears twice; each reader reads each "
               "case once per treatment. Remove duplicated reads.")
        raise FitError(msg)
    treatments = tuple(pd.unique(data[treatment]))
    readers = tuple(pd.unique(data[reader]))
    cases = tuple(pd.unique(data[case]))
    wide = data.pivot(index=case, columns=[treatment, reader], values=rating)
    full = pd.MultiIndex.from_product([treatments, readers])
    wide = wide.reindex(index=list(cases), columns=full)
    if wide.isna().to_numpy().any():
        n_missing = int(wide.isna().to_numpy().sum())
        msg = (f"MRMC data are not fully crossed: {n_missing} reader × treatment × case ratings are missing "
               "or NaN. The factorial OR analysis needs every reader to rate every case under every treatment.")
        raise FitError(msg)
    case_truth = data.groupby(case, sort=False)[truth].agg(["min", "max"]).reindex(list(cases))
    if (case_truth["min"] != case_truth["max"]).any():
        bad = case_truth.index[case_truth["min"] != case_truth["max"]][0]
        msg = f"MRMC case '{bad}' has conflicting truth values across reads; truth is a property of the case."
        raise FitError(msg)
    y = case_truth["min"].to_numpy()
    scores = wide.to_numpy(dtype=float).T.reshape(len(treatments), len(readers), len(cases))
    return scores, y, tuple(map(str, treatments)), tuple(map(str, readers))


def _check_truth(y: np.ndarray) -> np.ndarray:
    try:
        values = set(pd.unique(pd.Series(y.ravel(), dtype=object)).tolist())
    except TypeError:
        values = {"<unhashable>"}
    if not all(isinstance(v, int | float | np.integer | np.floating | np.bool_) and v in (0, 1) for v in values):
        msg = f"MRMC truth must be 0/1 (1 = positive case); got values {sorted(values, key=str)}."
        raise FitError(msg)
    return y.astype(int)


# ----------------------------------------------------------------------------------------------------------
# Analysis
# ----------------------------------------------------------------------------------------------------------


def or_hillis(
    data: pd.DataFrame | np.ndarray,
    y_true: Any = None,
    *,
    truth: str = "truth",
    rating: str = "rating",
    reader: str = "reader",
    treatment: str = "treatment",
    case: str = "case",
    treatments: Sequence[str] | None = None,
    readers: Sequence[str] | None = None,
    cov_method: CovMethod = "jackknife",
    conf_level: float = 0.95,
) -> MrmcResult:
    """Obuchowski–Rockette MRMC analysis of empirical AUCs with Hillis (2007) denominator df.

    ``data`` is either a long data frame (one row per reader × treatment × case, columns named by ``truth``,
    ``rating``, ``reader``, ``treatment``, ``case`` — the layout of R ``MRMCaov::VanDyke``) or an array of
    ratings shaped ``(treatments, readers, cases)`` with ``y_true`` the 0/1 case truth. ``treatments`` /
    ``readers`` name (and for frames, order) the levels; differences are ``treatments[a] − treatments[b]``.

    ``cov_method="jackknife"`` (R ``MRMCaov::mrmc(cov = jackknife)``, OR-DBM MRMC) or ``"delong"``
    (``cov = DeLong``). Returns :class:`MrmcResult` with RRRC, FRRC and RRFC analyses.
    """
    ok_level = isinstance(conf_level, float | int) and not isinstance(conf_level, bool)
    if not ok_level or not 0.0 < conf_level < 1.0:
        msg = f"The 'conf_level' parameter of or_hillis must be in (0, 1). Got {conf_level!r} instead."
        raise FitError(msg)
    if not isinstance(cov_method, str) or cov_method not in ("jackknife", "delong"):
        msg = f"The 'cov_method' parameter of or_hillis must be 'jackknife' or 'delong'. Got {cov_method!r} instead."
        raise FitError(msg)
    if isinstance(data, pd.DataFrame):
        frame = data
        if treatments is not None:
            order = [str(t) for t in treatments]
            frame = frame[frame[treatment].astype(str).isin(order)].copy()
            frame[treatment] = pd.Categorical(frame[treatment].astype(str), categories=order, ordered=True)
            frame = frame.sort_values(treatment, kind="stable")
            frame[treatment] = frame[treatment].astype(str)
        scores, y, trt_names, rdr_names = _named(_from_frame, frame, truth, rating, reader, treatment, case)
        if readers is not None:
            idx = [rdr_names.index(str(r)) for r in readers]
            scores, rdr_names = scores[:, idx, :], tuple(str(r) for r in readers)
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scores = np.asarray(data, dtype=float)
        except (TypeError, ValueError) as exc:
            msg = (f"or_hillis: 'data' must be a long data frame or an array of numeric ratings shaped "
                   f"(treatments, readers, cases); got input that cannot be read as numbers ({exc}).")
            raise FitError(msg) from None
        if scores.ndim != 3:
            msg = f"or_hillis: rating array 'data' must be shaped (treatments, readers, cases); got shape {scores.shape}."
            raise FitError(msg)
        if y_true is None:
            msg = "or_hillis with an array of ratings needs y_true (0/1 truth per case)."
            raise FitError(msg)
        y = np.asarray(y_true, dtype=object).ravel()
        if y.shape[0] != scores.shape[2]:
            msg = f"y_true has {y.shape[0]} cases but the rating array has {scores.shape[2]}."
            raise FitError(msg)
        trt_names = tuple(map(str, treatments)) if treatments is not None else tuple(
            f"trt{i + 1}" for i in range(scores.shape[0]))
        rdr_names = tuple(map(str, readers)) if readers is not None else tuple(
            f"rdr{j + 1}" for j in range(scores.shape[1]))
    y = _named(_check_truth, np.asarray(y))
    return _named(_analyse, scores, y, trt_names, rdr_names, cov_method, conf_level)


def _named(func: Any, *args: Any) -> Any:
    """Call an internal step of or_hillis; its FitError messages say they come from or_hillis."""
    try:
        return func(*args)
    except FitError as exc:
        if str(exc).startswith("or_hillis"):
            raise
        msg = f"or_hillis: {exc}"
        raise FitError(msg) from None


def _analyse(scores: np.ndarray, y: np.ndarray, trt_names: tuple[str, ...], rdr_names: tuple[str, ...],
             cov_method: str, conf_level: float) -> MrmcResult:
    n_t, n_r, n_k = scores.shape
    flat = scores.reshape(n_t * n_r, n_k).T  # cases × (treatment-major, reader-minor)
    dc = delong_covariance(y, flat)
    cov = dc.covariance if cov_method == "delong" else _jackknife_covariance(dc)
    theta = dc.aucs.reshape(n_t, n_r)
    trt_idx = np.repeat(np.arange(n_t), n_r)
    rdr_idx = np.tile(np.arange(n_r), n_t)
    same_t = trt_idx[:, None] == trt_idx[None, :]
    same_r = rdr_idx[:, None] == rdr_idx[None, :]

    def _mean(mask: np.ndarray) -> float:
        return float(cov[mask].mean()) if mask.any() else 0.0

    var = float(np.diag(cov).mean())
    cov1 = _mean(~same_t & same_r)
    cov2 = _mean(same_t & ~same_r)
    cov3 = _mean(~same_t & ~same_r)

    grand = theta.mean()
    t_means, r_means = theta.mean(axis=1), theta.mean(axis=0)
    ms_t = n_r * float(((t_means - grand) ** 2).sum()) / (n_t - 1) if n_t > 1 else float("nan")
    ms_r = n_t * float(((r_means - grand) ** 2).sum()) / (n_r - 1) if n_r > 1 else float("nan")
    resid = theta - t_means[:, None] - r_means[None, :] + grand
    ms_tr = float((resid**2).sum()) / ((n_t - 1) * (n_r - 1)) if n_t > 1 and n_r > 1 else float("nan")
    # method-of-moments components as in R MRMCaov (Hillis 2014 marginal-mean framework)
    var_tr = ms_tr - var + cov1 + (cov2 - cov3) if n_t > 1 else float("nan")
    if n_r > 1:
        var_r = (ms_r - ms_tr) / n_t - cov1 + cov3 if n_t > 1 else ms_r - var + cov2
    else:
        var_r = float("nan")

    # per-treatment quantities
    ms_r_i = theta.var(axis=1, ddof=1) if n_r > 1 else np.full(n_t, np.nan)
    cov2_i = np.array([_mean(same_t & ~same_r & (trt_idx[:, None] == i)) for i in range(n_t)])
    var_i = np.array([float(np.diag(cov)[trt_idx == i].mean()) for i in range(n_t)])

    alpha = 1.0 - conf_level
    pairs = [(a, b) for a in range(n_t) for b in range(a + 1, n_t)]
    notes: list[str] = []
    analyses: dict[str, MrmcAnalysis] = {}

    if n_r > 1:
        den = ms_tr + n_r * max(cov2 - cov3, 0.0) if n_t > 1 else float("nan")
        ddf = den**2 / (ms_tr**2 / ((n_t - 1) * (n_r - 1))) if n_t > 1 and ms_tr > 0 else float("inf")
        se_d = np.sqrt(2.0 / n_r * den) if n_t > 1 else float("nan")
        diffs = tuple(_diff(f"{trt_names[a]} - {trt_names[b]}", t_means[a] - t_means[b], se_d, ddf, alpha)
                      for a, b in pairs)
        trts = []
        for i in range(n_t):
            d_i = ms_r_i[i] + n_r * max(cov2_i[i], 0.0)
            df_i = d_i**2 / (ms_r_i[i] ** 2 / (n_r - 1)) if ms_r_i[i] > 0 else float("inf")
            trts.append(_trt(trt_names[i], t_means[i], np.sqrt(d_i / n_r), df_i, alpha))
        if n_t > 1:
            f_stat = ms_t / den
            analyses["rrrc"] = MrmcAnalysis("rrrc", f_stat, n_t - 1, ddf, _f_sf(f_stat, n_t - 1, ddf), den,
                                            diffs, tuple(trts))
            rrfc_df = float((n_t - 1) * (n_r - 1))
            f_rrfc = ms_t / ms_tr if ms_tr > 0 else float("inf")
            se_fc = np.sqrt(2.0 * ms_tr / n_r)
            analyses["rrfc"] = MrmcAnalysis(
                "rrfc", f_rrfc, n_t - 1, rrfc_df, _f_sf(f_rrfc, n_t - 1, rrfc_df), ms_tr,
                tuple(_diff(f"{trt_names[a]} - {trt_names[b]}", t_means[a] - t_means[b], se_fc, rrfc_df, alpha)
                      for a, b in pairs),
                tuple(_trt(trt_names[i], t_means[i], np.sqrt(ms_r_i[i] / n_r), float(n_r - 1), alpha)
                      for i in range(n_t)))
        if n_r < 4:
            notes.append(f"Only {n_r} readers: the random-reader (RRRC) test has few denominator degrees of "
                         "freedom and little power; a proper MRMC study needs at least 4-5 readers.")
    else:
        notes.append("A single reader: only the fixed-reader (FRRC) analysis is available.")

    if n_t > 1:
        den_fc = var - cov1 + (n_r - 1) * max(cov2 - cov3, 0.0)
        chi2 = (n_t - 1) * ms_t / den_fc
        se_fr = np.sqrt(2.0 * den_fc / n_r)
        diffs_fr = tuple(_diff(f"{trt_names[a]} - {trt_names[b]}", t_means[a] - t_means[b], se_fr, np.inf, alpha)
                         for a, b in pairs)
        reader_diffs = []
        for j in range(n_r):
            for a, b in pairs:
                ia, ib = a * n_r + j, b * n_r + j
                se_j = np.sqrt(cov[ia, ia] + cov[ib, ib] - 2 * cov[ia, ib])
                reader_diffs.append(_diff(f"{trt_names[a]} - {trt_names[b]}", theta[a, j] - theta[b, j], se_j,
                                          np.inf, alpha, reader=rdr_names[j]))
        trts_fr = tuple(_trt(trt_names[i], t_means[i], np.sqrt((var_i[i] + (n_r - 1) * max(cov2_i[i], 0.0)) / n_r),
                             np.inf, alpha) for i in range(n_t))
        analyses["frrc"] = MrmcAnalysis("frrc", chi2, n_t - 1, np.inf, float(stats.chi2.sf(chi2, n_t - 1)),
                                        den_fc, diffs_fr, trts_fr, tuple(reader_diffs))
    else:
        notes.append("A single treatment: no treatment comparison is possible.")

    foms = pd.DataFrame(theta, index=list(trt_names), columns=list(rdr_names))
    return MrmcResult(
        treatments=trt_names, readers=rdr_names, foms=foms, ms_t=ms_t, ms_r=ms_r, ms_tr=ms_tr, var=var,
        cov1=cov1, cov2=cov2, cov3=cov3, var_r=var_r, var_tr=var_tr, analyses=analyses, n=int(n_k),
        n_pos=dc.n_pos, n_neg=dc.n_neg, conf_level=conf_level, cov_method=cov_method, notes=tuple(notes))


def _f_sf(f_stat: float, df1: float, df2: float) -> float:
    if not np.isfinite(f_stat):
        return 0.0
    if np.isinf(df2):
        return float(stats.chi2.sf(f_stat * df1, df1))
    return float(stats.f.sf(f_stat, df1, df2))


def _crit(alpha: float, df: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2)) if np.isinf(df) else float(stats.t.ppf(1 - alpha / 2, df))


def _diff(label: str, est: float, se: float, df: float, alpha: float, reader: str | None = None) -> MrmcDifference:
    stat = est / se if se > 0 else float("nan")
    if np.isnan(stat):
        p = float("nan")
    elif np.isinf(df):
        p = float(2 * stats.norm.sf(abs(stat)))
    else:
        p = float(2 * stats.t.sf(abs(stat), df))
    half = _crit(alpha, df) * se
    return MrmcDifference(label, float(est), float(se), float(stat), float(df), p, float(est - half),
                         float(est + half), reader)


def _trt(name: str, est: float, se: float, df: float, alpha: float) -> MrmcTreatmentEstimate:
    half = _crit(alpha, df) * se
    return MrmcTreatmentEstimate(name, float(est), float(se), float(df), float(est - half), float(min(est + half, 1.0)))
