"""Nomogram of a logistic regression model, computed and drawn the way ``rms::nomogram`` does.

Points: the predictor with the widest effect range (``|coef| × (max − min)`` for a numeric variable, the spread of
level coefficients for a categorical one) spans 0–100 points; every other predictor is scaled by the same
points-per-unit-of-linear-predictor factor.  A lesion's total points map back to the linear predictor

    lp = intercept + Σ min_contribution_j + total_points / scale

and to the probability ``1 / (1 + exp(−lp))``, which the bottom axis shows.  Numeric coefficients must be on the
variables' original units (per mm, per 10⁻³ mm²/s …), as in the study's ``nomogram`` block of results.json.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from her2mri.exceptions import FitError

__all__ = ["Nomogram", "NomogramTerm", "build_nomogram", "draw_nomogram"]


@dataclass(frozen=True)
class NomogramTerm:
    """One predictor: ``kind`` "numeric" (``coef``, ``low``, ``high``) or "categorical" (``levels``: level → coef)."""

    feature: str
    kind: str
    coef: float = 0.0
    low: float = 0.0
    high: float = 0.0
    levels: tuple[tuple[str, float], ...] = ()

    def contribution(self, value: Any) -> float:
        """Contribution of ``value`` to the linear predictor."""
        if self.kind == "numeric":
            return self.coef * float(value)
        table = dict(self.levels)
        if str(value) not in table:
            message = (
                f"Nomogram variable '{self.feature}': got level {value!r}; accepted: "
                f"{', '.join(table)}. Pass one of the model's levels."
            )
            raise FitError(message)
        return table[str(value)]

    @property
    def min_contribution(self) -> float:
        if self.kind == "numeric":
            return min(self.coef * self.low, self.coef * self.high)
        return min(c for _, c in self.levels)

    @property
    def effect_range(self) -> float:
        if self.kind == "numeric":
            return abs(self.coef) * (self.high - self.low)
        values = [c for _, c in self.levels]
        return max(values) - min(values)


@dataclass(frozen=True)
class Nomogram:
    """A points system equivalent to a logistic model's linear predictor."""

    intercept: float
    terms: tuple[NomogramTerm, ...]
    scale: float  # points per unit of linear predictor

    @property
    def lp_at_zero_points(self) -> float:
        return self.intercept + sum(t.min_contribution for t in self.terms)

    @property
    def max_total_points(self) -> float:
        return sum(t.effect_range for t in self.terms) * self.scale

    def term_points(self, term: NomogramTerm, value: Any) -> float:
        """Points of one variable at ``value``."""
        return (term.contribution(value) - term.min_contribution) * self.scale

    def points(self, values: Mapping[str, Any]) -> dict[str, float]:
        """Points per variable for one lesion (``values`` keyed by feature name)."""
        return {t.feature: self.term_points(t, values[t.feature]) for t in self.terms}

    def total_points(self, values: Mapping[str, Any]) -> float:
        return float(sum(self.points(values).values()))

    def linear_predictor(self, values: Mapping[str, Any]) -> float:
        """The model's linear predictor computed directly from the coefficients."""
        return self.intercept + sum(t.contribution(values[t.feature]) for t in self.terms)

    def lp_from_points(self, total: float) -> float:
        return self.lp_at_zero_points + float(total) / self.scale

    def probability_from_points(self, total: float) -> float:
        return 1.0 / (1.0 + math.exp(-self.lp_from_points(total)))

    def points_for_probability(self, p: float) -> float:
        return (math.log(p / (1 - p)) - self.lp_at_zero_points) * self.scale


def build_nomogram(spec: Mapping[str, Any]) -> Nomogram:
    """Build a :class:`Nomogram` from results.json's ``nomogram`` block.

    ``spec = {"intercept": float, "terms": [{"feature", "kind": "numeric", "coef", "range": [lo, hi]} |
    {"feature", "kind": "categorical", "levels": {level: coef} | [{"level", "coef"}]}]}``.
    """
    terms: list[NomogramTerm] = []
    for raw in spec.get("terms") or []:
        feature = str(raw.get("feature"))
        kind = str(raw.get("kind", "numeric"))
        if kind == "numeric":
            lo, hi = (float(v) for v in raw["range"])
            terms.append(NomogramTerm(feature, "numeric", coef=float(raw["coef"]), low=min(lo, hi), high=max(lo, hi)))
        elif kind == "categorical":
            levels = raw.get("levels") or {}
            pairs = (
                [(str(k), float(v)) for k, v in levels.items()]
                if isinstance(levels, Mapping)
                else [(str(d["level"]), float(d["coef"])) for d in levels]
            )
            if len(pairs) < 2:
                pairs = [("reference", 0.0), *pairs] if pairs else pairs
            terms.append(NomogramTerm(feature, "categorical", levels=tuple(pairs)))
        else:
            message = (
                f"Nomogram term '{feature}': got kind {kind!r}; accepted: 'numeric', 'categorical'. "
                "Fix the nomogram block of results.json."
            )
            raise FitError(message)
    widest = max((t.effect_range for t in terms), default=0.0)
    if not terms or widest <= 0 or not math.isfinite(widest):
        message = (
            f"Nomogram: got {len(terms)} terms with a largest effect range of {widest}; accepted: at least one term "
            "with a non-zero, finite coefficient and range. Check the logistic model's coefficients."
        )
        raise FitError(message)
    return Nomogram(intercept=float(spec.get("intercept", 0.0)), terms=tuple(terms), scale=100.0 / widest)


def _nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    from matplotlib.ticker import MaxNLocator

    ticks = MaxNLocator(nbins=n, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    eps = 1e-9 * max(abs(lo), abs(hi), 1.0)
    return [float(t) for t in ticks if lo - eps <= t <= hi + eps]


def _thin(values: list[float], nomogram: Nomogram, term: NomogramTerm) -> list[float]:
    """Keep tick values whose labels do not collide on the points scale (about one point per character)."""
    pairs = sorted(((nomogram.term_points(term, v), v) for v in values), key=lambda pv: pv[0])
    kept: list[tuple[float, float]] = []
    for pos, value in pairs:
        if not kept or pos - kept[-1][0] >= (len(_fmt_tick(kept[-1][1])) + len(_fmt_tick(value))) / 2 + 2.0:
            kept.append((pos, value))
    if len(kept) == 1 and len(pairs) > 1:
        kept.append(pairs[-1])  # a very short axis shows its two ends, staggered
    return [v for _, v in kept]


def _fmt_tick(value: float) -> str:
    text = f"{value:.3g}"
    return text.replace("-", "−")


def draw_nomogram(nomogram: Nomogram, labels: Sequence[str] | None = None, title: str = "") -> str:
    """Draw the nomogram (points axis on top, one axis per variable, total points, probability) → data URI."""
    import matplotlib.pyplot as plt

    from her2mri.report.figures import _RC, figure_to_uri

    names = list(labels) if labels is not None else [t.feature for t in nomogram.terms]
    rows = len(nomogram.terms) + 3
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(7.6, 0.62 * rows + 0.6))
        ax.set_xlim(-38, 104)
        ax.set_ylim(-rows + 0.4, 0.55)
        ax.axis("off")

        def axis_line(y: float, positions: Sequence[float], texts: Sequence[str], label: str, stagger: bool = False) -> None:
            ax.text(-36, y, label, ha="left", va="center", fontsize=8.5, fontweight="bold")
            if positions:
                ax.plot([min(positions), max(positions)], [y, y], color="black", lw=0.9)
            # place each label in the first slot (above, below, higher above) where it does not overlap
            slots = [(0.2, "bottom"), (-0.28, "top"), (0.5, "bottom")]
            right_edge = [-1e9] * len(slots)
            for idx in np.argsort(positions):
                x, text = positions[idx], texts[idx]
                ax.plot([x, x], [y, y + 0.12], color="black", lw=0.8)
                half = 0.6 * len(text) + 0.6
                slot = 0
                if stagger:
                    free = [k for k in range(len(slots)) if x - half > right_edge[k]]
                    slot = free[0] if free else int(np.argmin(right_edge))
                right_edge[slot] = x + half
                offset, va = slots[slot]
                ax.text(x, y + offset, text, ha="center", va=va, fontsize=7)

        # points axis
        ticks = list(range(0, 101, 10))
        axis_line(0, ticks, [str(t) for t in ticks], "Points")
        for t in range(0, 101, 5):
            ax.plot([t, t], [0, 0.06], color="black", lw=0.5)
        for i, (term, name) in enumerate(zip(nomogram.terms, names, strict=True)):
            y = -(i + 1)
            if term.kind == "numeric":
                # pretty values inside the range, as rms::nomogram labels them; the axis line still spans the range
                values = _nice_ticks(term.low, term.high)
                if len(values) < 2:
                    values = [term.low, term.high]
                values = _thin(values, nomogram, term)
                positions = [nomogram.term_points(term, v) for v in values]
                axis_line(y, positions, [_fmt_tick(v) for v in values], name, stagger=True)
                ends = [nomogram.term_points(term, term.low), nomogram.term_points(term, term.high)]
                ax.plot([min(ends), max(ends)], [y, y], color="black", lw=0.9)
            else:
                positions = [nomogram.term_points(term, lev) for lev, _ in term.levels]
                texts = [lev.replace("_", " ") for lev, _ in term.levels]
                axis_line(y, positions, texts, name, stagger=True)
        # total points axis, drawn on the same 0–100 width
        tmax = nomogram.max_total_points
        factor = 100.0 / tmax
        y_total = -(len(nomogram.terms) + 1)
        totals = _nice_ticks(0, tmax, 8)
        axis_line(y_total, [t * factor for t in totals], [_fmt_tick(t) for t in totals], "Total points")
        # probability axis
        y_prob = y_total - 1
        candidates = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99]
        probs = [p for p in candidates if 0 <= nomogram.points_for_probability(p) <= tmax]
        positions = [nomogram.points_for_probability(p) * factor for p in probs]
        keep: list[int] = []
        for j, x in enumerate(positions):
            if not keep or x - positions[keep[-1]] >= 4.5:
                keep.append(j)
        axis_line(y_prob, [positions[j] for j in keep], [f"{probs[j]:g}" for j in keep], "Probability")
        if title:
            ax.set_title(title, fontsize=10, loc="left")
        return figure_to_uri(fig)
