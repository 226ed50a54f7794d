"""Diagnostic accuracy at a fixed threshold: sensitivity, specificity, accuracy, PPV, NPV with CIs.

The threshold must be fixed beforehand — on the training data (e.g. :func:`her2mri.stats.youden_threshold`)
— and applied unchanged to validation data. A case is called positive when ``score >= threshold``
(``score <= threshold`` for ``direction="<"``), the convention of the project's R reference and of pROC's
midpoint thresholds.

Confidence intervals
--------------------
* ``"wilson"``: Wilson score interval without continuity correction, R ``prop.test(x, n, correct = FALSE)``.
* ``"clopper_pearson"``: exact interval from beta quantiles, R ``binom.test(x, n)$conf.int``.
* ``n_resamples > 0`` adds percentile bootstrap CIs (stratified by class, patient-grouped when ``groups`` is
  given) computed for all five metrics at once from one count matrix; these then replace the binomial CIs
  and the ``method`` of each estimate says so. Bootstrap CIs respect clustering of lesions within patients,
  binomial ones do not.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from her2mri._typing import SeedLike
from her2mri.stats._checks import (
    StatsInputError,
    _to_float,
    as_binary,
    as_float_1d,
    as_float_scalar,
    as_groups,
    check_conf_level,
    check_count,
    check_direction,
    check_param,
    check_same_length,
)
from her2mri.stats.bootstrap import resample_counts
from her2mri.stats.results import DiagnosticResult, EstimateWithCI, ProportionResult

__all__ = ["diagnostic_metrics", "proportion_ci", "wilson_interval"]

CiMethod = Literal["wilson", "clopper_pearson"]


def _bounds(x: int, n: int, method: str, conf_level: float) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    alpha = 1 - conf_level
    if method == "clopper_pearson":
        lo = 0.0 if x == 0 else float(sps.beta.ppf(alpha / 2, x, n - x + 1))
        hi = 1.0 if x == n else float(sps.beta.ppf(1 - alpha / 2, x + 1, n - x))
        return lo, hi
    _, lo, hi = wilson_interval(x, n, float(sps.norm.ppf(1 - alpha / 2)))
    return lo, hi


def wilson_interval(x: int, n: int, z: float) -> tuple[float, float, float]:
    """Proportion ``x / n`` with its Wilson score interval at normal quantile ``z`` (all NaN when ``n == 0``).

    The interval of :func:`proportion_ci` (``method="wilson"``, R's ``prop.test(correct = FALSE)``), for per-row
    tables (readers, subgroups) where empty cells are expected and carry NaN instead of an error.
    """
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    p = x / n
    den = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    lo = 0.0 if x == 0 else float(max(0.0, centre - half))
    hi = 1.0 if x == n else float(min(1.0, centre + half))
    return p, lo, hi


def proportion_ci(x: int, n: int, *, method: CiMethod = "wilson", conf_level: float = 0.95) -> ProportionResult:
    """Binomial proportion ``x / n`` with a Wilson or Clopper–Pearson confidence interval.

    R equivalents: ``prop.test(x, n, correct = FALSE)$conf.int`` (Wilson) and ``binom.test(x, n)$conf.int``
    (Clopper–Pearson). Both are exact matches, including the ``x = 0`` and ``x = n`` edges.
    """
    where = "proportion_ci"
    check_param("method", method, ("wilson", "clopper_pearson"), where)
    conf_level = check_conf_level(conf_level, where)
    xf, nf = _to_float(x), _to_float(n)
    if not (np.isfinite(xf) and np.isfinite(nf) and xf.is_integer() and nf.is_integer() and nf >= 1
            and 0 <= xf <= nf):
        msg = (f"{where}: 'x' and 'n' must be integers with 0 <= x <= n and n >= 1; got x={x!r}, n={n!r}. "
               "Pass the count of successes and the number of trials.")
        raise StatsInputError(msg)
    x, n = int(xf), int(nf)
    lo, hi = _bounds(x, n, method, conf_level)
    return ProportionResult(estimate=x / n, ci_low=lo, ci_high=hi, x=int(x), n=int(n), conf_level=conf_level,
                            method=method)


def _rates(tp: np.ndarray, fp: np.ndarray, tn: np.ndarray, fn: np.ndarray) -> dict[str, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"sensitivity": tp / (tp + fn), "specificity": tn / (tn + fp),
                "accuracy": (tp + tn) / (tp + fp + tn + fn), "ppv": tp / (tp + fp), "npv": tn / (tn + fn)}


def diagnostic_metrics(y_true: Any, y_score: Any, threshold: float, *, ci_method: CiMethod = "wilson",
                       conf_level: float = 0.95, n_resamples: int = 0, groups: Any = None,
                       random_state: SeedLike = None, direction: str = ">") -> DiagnosticResult:
    """Sensitivity, specificity, accuracy, PPV and NPV at a threshold fixed on training data.

    Positive call: ``score >= threshold`` (``<=`` for ``direction="<"``). Each metric is an
    :class:`EstimateWithCI` whose ``n`` is its denominator (positives, negatives, all, called positive,
    called negative). A metric with a zero denominator is ``nan``. ``y_score`` may also be 0/1 calls with
    ``threshold=0.5``. A threshold of ``-inf`` (pROC's first ROC point, chosen by Youden's J when no cut-off
    beats calling every case positive) calls every case positive; ``+inf`` calls none.

    R equivalent: ``epiR::epi.tests`` (Clopper–Pearson) or per-metric ``binom.test``/``prop.test``.
    """
    where = "diagnostic_metrics"
    check_param("ci_method", ci_method, ("wilson", "clopper_pearson"), where)
    check_direction(direction, where)
    conf_level = check_conf_level(conf_level, where)
    y = as_binary(y_true, where)
    s = as_float_1d(y_score, "y_score", where)
    check_same_length(where, y_true=y, y_score=s)
    threshold = as_float_scalar(threshold, "threshold", where)
    n_resamples = check_count(n_resamples, "n_resamples", where, minimum=0)
    if groups is not None:
        groups = as_groups(groups, y.size, where)
    call = s >= threshold if direction == ">" else s <= threshold
    pos = y == 1
    tp, fp = int(np.sum(call & pos)), int(np.sum(call & ~pos))
    tn, fn = int(np.sum(~call & ~pos)), int(np.sum(~call & pos))
    counts = {"sensitivity": (tp, tp + fn), "specificity": (tn, tn + fp), "accuracy": (tp + tn, y.size),
              "ppv": (tp, tp + fp), "npv": (tn, tn + fn)}
    boot: dict[str, tuple[float, float]] = {}
    if n_resamples > 0:
        w = resample_counts(y, n_resamples=int(n_resamples), groups=groups, stratify=True,
                            random_state=random_state).astype(np.float64)
        cells = {name: w @ (mask.astype(np.float64))
                 for name, mask in (("tp", call & pos), ("fp", call & ~pos), ("tn", ~call & ~pos),
                                    ("fn", ~call & pos))}
        rates = _rates(cells["tp"], cells["fp"], cells["tn"], cells["fn"])
        alpha = 1 - conf_level
        for name, dist in rates.items():
            dist = dist[np.isfinite(dist)]
            if dist.size:
                lo, hi = np.quantile(dist, [alpha / 2, 1 - alpha / 2])
                boot[name] = (float(lo), float(hi))
            else:
                boot[name] = (float("nan"), float("nan"))
    out: dict[str, EstimateWithCI] = {}
    for name, (x, n) in counts.items():
        est = x / n if n else float("nan")
        if n_resamples > 0:
            lo, hi = boot[name]
            method = ("patient-grouped " if groups is not None else "") + f"bootstrap percentile ({n_resamples})"
        else:
            lo, hi = _bounds(x, n, ci_method, conf_level)
            method = ci_method
        out[name] = EstimateWithCI(estimate=float(est), ci_low=lo, ci_high=hi, method=method, n=int(n),
                                   conf_level=conf_level)
    return DiagnosticResult(**out, tp=tp, fp=fp, tn=tn, fn=fn, threshold=float(threshold), direction=direction)
