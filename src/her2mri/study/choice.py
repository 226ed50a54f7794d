"""Which fitted model a task reports: a rule applied to training out-of-fold (OOF) scores only.

Rules (``selection.rule``):

``simplest`` (default)
    Start from the simplest model (the order of :data:`COMPLEXITY`, e.g. logistic regression before trees,
    kernels, networks and ensembles; models of one family keep the configuration's order). Every more complex
    model is compared with it by the paired DeLong test on the same OOF scores, Holm-adjusted over those
    comparisons. If some are significantly better (adjusted p < ``alpha`` and a higher AUC), the simplest of them
    becomes the reference and the step repeats with the models more complex than it; otherwise the reference is
    chosen. A more flexible model therefore wins only when its advantage is beyond the noise of the comparison.
``one_se``
    The first model in the configuration's order whose OOF AUC is within one DeLong standard error of the
    highest.
``best``
    The highest OOF AUC. Differences of 0.002–0.005 are common between families on a few hundred lesions and
    are mostly noise; this rule chases them (kept for comparison and for the papers that used it).

Every rule records the OOF AUC of each model, its margin over the chosen one and the DeLong p-value of the
comparison with the chosen one, so results.json says why the model was chosen (:class:`ModelChoice`).

Why written here: the decision is a few lines over :func:`her2mri.stats.delong_covariance` (the project's
R-checked DeLong) and :func:`her2mri.stats.p_adjust`; no library offers this rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as sps

from her2mri.exceptions import ConfigError

__all__ = ["COMPLEXITY", "RULES", "ModelChoice", "choose_model", "complexity_order"]

COMPLEXITY: tuple[str, ...] = ("lr", "dt", "knn", "svm", "mlp", "rf", "gbdt")
"""Classifier families from the simplest (fewest effective parameters, additive on the logit) to the most flexible."""

RULES = ("simplest", "one_se", "best")


@dataclass(frozen=True)
class ModelChoice:
    """The chosen model, the rule, a one-line reason and the evidence per model."""

    chosen: str
    rule: str
    reason: str
    alpha: float | None = None
    order: tuple[str, ...] = ()
    comparisons: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    steps: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"chosen": self.chosen, "rule": self.rule, "reason": self.reason, "alpha": self.alpha,
                "order": list(self.order), "comparisons": [dict(c) for c in self.comparisons],
                "steps": [dict(s) for s in self.steps]}


def complexity_order(names: Sequence[str], families: Mapping[str, str]) -> list[str]:
    """``names`` sorted from the simplest family to the most flexible (stable within a family)."""
    rank = {family: index for index, family in enumerate(COMPLEXITY)}
    return sorted(names, key=lambda name: rank.get(families.get(name, ""), len(COMPLEXITY)))


def _paired(aucs: np.ndarray, cov: np.ndarray, i: int, j: int) -> tuple[float, float]:
    """AUC_i − AUC_j and its two-sided paired DeLong p-value."""
    diff = float(aucs[i] - aucs[j])
    var = float(cov[i, i] + cov[j, j] - 2 * cov[i, j])
    if var <= 0:
        return diff, (1.0 if diff == 0 else 0.0)
    return diff, float(2 * sps.norm.sf(abs(diff) / np.sqrt(var)))


def _holm(pvalues: list[float]) -> list[float]:
    from her2mri.stats import p_adjust

    return [float(p) for p in p_adjust(np.asarray(pvalues, dtype=float), method="holm")] if pvalues else []


def choose_model(
    y: Any,
    oof: Mapping[str, Any],
    families: Mapping[str, str] | None = None,
    *,
    rule: str = "simplest",
    alpha: float = 0.05,
    configured: str | None = None,
) -> ModelChoice:
    """Choose among the models whose training OOF scores are ``oof`` (name → scores, configuration order).

    ``families`` maps each name to its classifier family (for the complexity order; unknown families sort
    last). ``configured`` (``selection.model``) overrides every rule but its evidence is still recorded.
    """
    if rule not in RULES:
        message = f"selection.rule: got {rule!r}; accepted: {', '.join(RULES)}."
        raise ConfigError(message)
    if not 0.0 < alpha < 1.0:
        message = f"selection.alpha: got {alpha!r}; accepted: a level between 0 and 1 (exclusive), e.g. 0.05."
        raise ConfigError(message)
    names = list(oof)
    if not names:
        message = "choose_model: no model to choose from (oof is empty); accepted: at least one name → scores."
        raise ConfigError(message)
    if configured is not None and configured not in names:
        message = f"selection.model: got {configured!r}; accepted: one of the models {names}."
        raise ConfigError(message)
    families = dict(families or {})
    order = complexity_order(names, families) if rule == "simplest" else names
    y = np.asarray(y, dtype=int)
    mat = np.vstack([np.asarray(oof[name], dtype=float) for name in names])
    usable = len(np.unique(y)) == 2 and mat.shape[1] == y.size and bool(np.all(np.isfinite(mat)))
    if not usable:
        chosen = configured or order[0]
        reason = ("configured (selection.model)" if configured else
                  "first model in order (training out-of-fold scores unusable: one class or missing scores)")
        return ModelChoice(chosen=chosen, rule="configured" if configured else rule, reason=reason,
                           alpha=alpha if rule == "simplest" else None, order=tuple(order))
    from her2mri.stats import delong_covariance

    aucs, cov = delong_covariance(y, mat)
    index = {name: i for i, name in enumerate(names)}
    steps: list[dict[str, Any]] = []
    if configured is not None:
        chosen, used, reason = configured, "configured", "configured (selection.model)"
    elif rule == "best":
        chosen = names[int(np.argmax(aucs))]
        used, reason = rule, "highest training out-of-fold AUC"
    elif rule == "one_se":
        best = int(np.argmax(aucs))
        se = float(np.sqrt(max(cov[best, best], 0.0)))
        chosen = next(name for name in names if aucs[index[name]] >= aucs[best] - se)
        used = rule
        reason = f"first listed model within one standard error ({se:.3f}) of the highest training out-of-fold AUC"
    else:
        used = rule
        reference = order[0]
        while True:
            later = order[order.index(reference) + 1:]
            if not later:
                break
            tests = [_paired(aucs, cov, index[name], index[reference]) for name in later]
            adjusted = _holm([p for _, p in tests])
            steps.append({"reference": reference, "candidates": [
                {"model": name, "margin": diff, "p_value": p, "p_holm": q}
                for name, (diff, p), q in zip(later, tests, adjusted, strict=True)]})
            better = [name for name, (diff, _), q in zip(later, tests, adjusted, strict=True) if diff > 0 and q < alpha]
            if not better:
                break
            reference = better[0]
        chosen = reference
        if chosen == order[0]:
            reason = (f"simplest model ({chosen}); no more complex model beat it on training out-of-fold AUC "
                      f"(paired DeLong, Holm-adjusted p < {alpha:g})")
        else:
            reason = (f"{chosen} beat the simpler models on training out-of-fold AUC beyond noise (paired DeLong, "
                      f"Holm-adjusted p < {alpha:g})")
    comparisons = []
    for name in names:
        diff, p = _paired(aucs, cov, index[name], index[chosen])
        comparisons.append({"model": name, "family": families.get(name), "oof_auc": float(aucs[index[name]]),
                            "oof_auc_se": float(np.sqrt(max(cov[index[name], index[name]], 0.0))),
                            "margin_vs_chosen": diff, "p_vs_chosen": None if name == chosen else p})
    return ModelChoice(chosen=chosen, rule=used, reason=reason, alpha=alpha if used == "simplest" else None,
                       order=tuple(order), comparisons=tuple(comparisons), steps=tuple(steps))
