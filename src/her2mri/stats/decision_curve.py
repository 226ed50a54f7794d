"""Decision-curve analysis: net benefit, treat-all / treat-none, interventions avoided, clinical impact.

Definitions (Vickers & Elkin, Med Decis Making 2006; Vickers, van Calster & Steyerberg, Diagn Progn Res 2019)
-------------------------------------------------------------------------------------------------------------
At threshold probability ``t`` a case is called positive when ``p >= t`` (the project's R reference uses
``>=``; some code uses ``>``, which differs only where a prediction equals a grid value):

* ``NB_model(t) = TP/n − FP/n · t/(1 − t)``
* ``NB_all(t) = π − (1 − π) · t/(1 − t)`` (treat all; π = prevalence), ``NB_none(t) = 0``
* net interventions avoided per 100 = ``(NB_model − NB_all) / (t/(1 − t)) · 100``.

Net benefit needs **calibrated probabilities**; class outputs (e.g. k-NN votes with k = 1) have no decision
curve. The pipeline is organised as named steps (risks → counts → net benefit → summaries), as in dcurves.

``optimal_threshold`` is **seed 004's own quantity** ("the probability threshold that yielded the highest net
benefit in the DCA", Table 3 of that paper), not a concept of Vickers' decision-curve analysis, where the
threshold expresses the clinician's or patient's preference and is not optimised from data. Read literally,
"highest net benefit" is attained near ``t = 0`` for almost every model (net benefit falls with ``t``), so the
default ``optimal_rule="max_advantage"`` returns the threshold where the model's net benefit exceeds the better
of treat-all and treat-none by the largest margin; ``optimal_rule="max_net_benefit"`` gives the literal reading.
Report it, if at all, labelled as the seed study's quantity.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from her2mri._typing import SeedLike
from her2mri.stats._checks import (
    StatsInputError,
    as_binary,
    as_float_1d,
    check_conf_level,
    check_count,
    check_param,
    check_same_length,
)
from her2mri.stats.bootstrap import resample_counts
from her2mri.stats.results import ClinicalImpactResult, DecisionCurveResult

__all__ = ["clinical_impact", "decision_curve", "net_benefit", "optimal_threshold"]

DEFAULT_THRESHOLDS = np.round(np.arange(1, 100) / 100.0, 2)


def _risks(y_true: Any, p: Any, thresholds: Any, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = as_binary(y_true, where)
    prob = as_float_1d(p, "p", where)
    check_same_length(where, y_true=y, p=prob)
    if np.any((prob < 0) | (prob > 1)):
        msg = f"{where}: 'p' must hold probabilities in [0, 1]; net benefit needs calibrated probabilities."
        raise StatsInputError(msg)
    t = DEFAULT_THRESHOLDS.copy() if thresholds is None else as_float_1d(thresholds, "thresholds", where)
    if t.size == 0 or np.any((t <= 0) | (t >= 1)):
        msg = f"{where}: 'thresholds' must lie strictly between 0 and 1; got {t[:5]}."
        raise StatsInputError(msg)
    return y, prob, t


def _counts(y: np.ndarray, prob: np.ndarray, t: np.ndarray, w: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """TP, FP and n per threshold; with a count matrix ``w (B, n)`` per resample (B, T)."""
    call = (prob[:, None] >= t[None, :]).astype(np.float64)
    pos = (y == 1).astype(np.float64)
    if w is None:
        return pos @ call, (1 - pos) @ call, np.float64(y.size)
    wf = w.astype(np.float64)
    return wf @ (call * pos[:, None]), wf @ (call * (1 - pos)[:, None]), wf.sum(axis=1)[:, None]


def _net_benefit(tp: np.ndarray, fp: np.ndarray, n: Any, t: np.ndarray) -> np.ndarray:
    return tp / n - fp / n * (t / (1 - t))


def net_benefit(y_true: Any, p: Any, thresholds: Any = None) -> np.ndarray:
    """Net benefit of the model at each threshold (``p >= t`` positive)."""
    y, prob, t = _risks(y_true, p, thresholds, "net_benefit")
    tp, fp, n = _counts(y, prob, t)
    return _net_benefit(tp, fp, n, t)


def _best_range(t: np.ndarray, beats: np.ndarray) -> tuple[float, float] | None:
    """Longest run of consecutive grid thresholds where the model beats both defaults."""
    best: tuple[int, int] | None = None
    start = None
    for i, ok in enumerate(np.append(beats, False)):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            if best is None or (i - start) > (best[1] - best[0] + 1):
                best = (start, i - 1)
            start = None
    return None if best is None else (float(t[best[0]]), float(t[best[1]]))


def optimal_threshold(thresholds: np.ndarray, nb_model: np.ndarray, nb_all: np.ndarray, *,
                      rule: Literal["max_advantage", "max_net_benefit"] = "max_advantage") -> float | None:
    """Seed 004's "optimal DCA threshold" (see the module docstring); ``None`` if the model never helps."""
    where = "optimal_threshold"
    check_param("rule", rule, ("max_advantage", "max_net_benefit"), where)
    thresholds = as_float_1d(thresholds, "thresholds", where)
    nb_model = as_float_1d(nb_model, "nb_model", where, allow_nan=True)
    nb_all = as_float_1d(nb_all, "nb_all", where, allow_nan=True)
    check_same_length(where, thresholds=thresholds, nb_model=nb_model, nb_all=nb_all)
    with np.errstate(invalid="ignore"):
        advantage = nb_model - np.maximum(nb_all, 0.0)
    if not np.any(advantage > 0):
        return None
    if rule == "max_net_benefit":
        return float(thresholds[int(np.nanargmax(nb_model))])
    return float(thresholds[int(np.nanargmax(advantage))])


def decision_curve(y_true: Any, p: Any, *, thresholds: Any = None, n_resamples: int = 0,
                   conf_level: float = 0.95, groups: Any = None, random_state: SeedLike = None,
                   optimal_rule: Literal["max_advantage", "max_net_benefit"] = "max_advantage",
                   ) -> DecisionCurveResult:
    """Decision curve of probabilities ``p`` over a threshold grid (default 0.01, 0.02, …, 0.99).

    Returns net benefit of the model, treat-all and treat-none, net interventions avoided per 100,
    ``best_range`` (the longest run of grid thresholds where the model beats both defaults, ``None`` if
    none) and ``optimal_threshold`` (seed 004's quantity; see module docstring). ``n_resamples > 0`` adds a
    percentile bootstrap band (stratified by class, patient-grouped with ``groups``) for the model's curve,
    computed for all thresholds and resamples at once.

    R equivalent: ``dcurves::dca(y ~ p, thresholds = …)`` / rmda ``decision_curve`` (with ``p >= t``).
    """
    where = "decision_curve"
    check_param("optimal_rule", optimal_rule, ("max_advantage", "max_net_benefit"), where)
    conf_level = check_conf_level(conf_level, where)
    n_resamples = check_count(n_resamples, "n_resamples", where, minimum=0)
    y, prob, t = _risks(y_true, p, thresholds, where)
    tp, fp, n = _counts(y, prob, t)
    nb = _net_benefit(tp, fp, n, t)
    prevalence = float(y.mean())
    nb_all = prevalence - (1 - prevalence) * t / (1 - t)
    avoided = (nb - nb_all) / (t / (1 - t)) * 100.0
    beats = (nb > nb_all) & (nb > 0)
    band_low = band_high = np.empty(0)
    if n_resamples > 0:
        w = resample_counts(y, n_resamples=int(n_resamples), groups=groups, stratify=True,
                            random_state=random_state)
        tpb, fpb, nb_n = _counts(y, prob, t, w)
        dist = _net_benefit(tpb, fpb, nb_n, t)
        alpha = 1 - conf_level
        band_low, band_high = np.quantile(dist, [alpha / 2, 1 - alpha / 2], axis=0)
    return DecisionCurveResult(thresholds=t, net_benefit=nb, net_benefit_all=nb_all,
                               net_benefit_none=np.zeros_like(t), interventions_avoided=avoided,
                               best_range=_best_range(t, beats),
                               optimal_threshold=optimal_threshold(t, nb, nb_all, rule=optimal_rule),
                               prevalence=prevalence, n=int(y.size), band_low=band_low, band_high=band_high)


def clinical_impact(y_true: Any, p: Any, *, thresholds: Any = None, population: int = 1000) -> ClinicalImpactResult:
    """Clinical-impact curve: per ``population`` people, how many are called high risk (``p >= t``) and how
    many of those have the event (Kerr et al.; rmda ``plot_clinical_impact``)."""
    where = "clinical_impact"
    population = check_count(population, "population", where)
    y, prob, t = _risks(y_true, p, thresholds, where)
    tp, fp, n = _counts(y, prob, t)
    return ClinicalImpactResult(thresholds=t, n_high_risk=(tp + fp) / n * population,
                                n_high_risk_with_event=tp / n * population, population=int(population),
                                n=int(y.size))
