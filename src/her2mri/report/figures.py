"""Report figures drawn with matplotlib (Agg backend) and returned as ``data:image/svg+xml;base64,`` URIs.

Embedding each figure as a data URI inside an ``<img>`` keeps the report one self-contained file and avoids the
element ids matplotlib writes into SVG from clashing between figures.  Every function takes plain arrays and
labels (already read from results.json) and returns the URI string.
"""

from __future__ import annotations

import base64
import io
import textwrap
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LinearSegmentedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = [
    "PALETTE",
    "calibration_figure",
    "confusion_figure",
    "decision_curve_figure",
    "delong_heatmap",
    "figure_to_uri",
    "flow_figure",
    "forest_figure",
    "harmonisation_figure",
    "km_figure",
    "roc_figure",
    "shap_bar_figure",
    "shap_beeswarm_figure",
    "shap_dependence_figure",
    "shap_waterfall_figure",
]

# Okabe–Ito colour-blind-safe palette
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

_RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",
    "svg.hashsalt": "her2mri",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
}


def figure_to_uri(fig: Figure) -> str:
    """Serialise a figure to a base64 SVG data URI and close it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None}, dpi=200)
    plt.close(fig)
    payload = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/svg+xml;base64,{payload}"


def _figure(width: float, height: float) -> tuple[Figure, plt.Axes]:
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(width, height))
    return fig, ax


def _style() -> plt.rc_context:
    return plt.rc_context(_RC)


def roc_figure(curves: Sequence[tuple[str, Sequence[float], Sequence[float]]], title: str) -> str:
    """ROC curves; ``curves`` holds ``(legend label incl. AUC, fpr, tpr)``."""
    with _style():
        fig, ax = plt.subplots(figsize=(4.6, 4.2))
        for i, (label, fpr, tpr) in enumerate(curves):
            ax.step(fpr, tpr, where="post", color=PALETTE[i % len(PALETTE)], lw=1.6, label=label)
        ax.plot([0, 1], [0, 1], ls="--", color="0.6", lw=0.8)
        ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), xlabel="1 − specificity", ylabel="Sensitivity", title=title)
        ax.set_aspect("equal")
        ax.legend(loc="lower right", frameon=False)
        return figure_to_uri(fig)


def calibration_figure(
    curves: Sequence[tuple[str, Sequence[float], Sequence[float]]], title: str
) -> str:
    """Binned calibration curves; ``curves`` holds ``(legend label, mean predicted, observed fraction)``."""
    with _style():
        fig, ax = plt.subplots(figsize=(4.6, 4.2))
        for i, (label, pred, obs) in enumerate(curves):
            ax.plot(pred, obs, marker="o", ms=3, lw=1.4, color=PALETTE[i % len(PALETTE)], label=label)
        ax.plot([0, 1], [0, 1], ls="--", color="0.5", lw=0.8, label="Ideal")
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="Predicted probability", ylabel="Observed proportion", title=title)
        ax.set_aspect("equal")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False, fontsize=7.5, ncol=1)
        return figure_to_uri(fig)


def decision_curve_figure(
    thresholds: Sequence[float],
    curves: Sequence[tuple[str, Sequence[float]]],
    net_benefit_all: Sequence[float],
    title: str,
) -> str:
    """Net benefit of each model against treat-all and treat-none."""
    with _style():
        fig, ax = plt.subplots(figsize=(5.2, 4.0))
        thr = np.asarray(thresholds, dtype=float)
        nb_all = np.asarray(net_benefit_all, dtype=float)
        ymax = 0.05
        for i, (label, nb) in enumerate(curves):
            nb_arr = np.asarray(nb, dtype=float)
            ax.plot(thr, nb_arr, lw=1.5, color=PALETTE[i % len(PALETTE)], label=label)
            ymax = max(ymax, float(np.nanmax(nb_arr)))
        ax.plot(thr, nb_all, color="0.55", lw=1.2, label="Treat all")
        ax.axhline(0, color="black", lw=1.0, label="Treat none")
        ymax = max(ymax, float(np.nanmax(nb_all)))
        ax.set(xlim=(0, 1), ylim=(-0.05, ymax * 1.1), xlabel="Threshold probability", ylabel="Net benefit", title=title)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False, fontsize=7.5, ncol=3)
        return figure_to_uri(fig)


def decision_band_figure(
    thresholds: Sequence[float], net_benefit: Sequence[float], band_low: Sequence[float], band_high: Sequence[float],
    net_benefit_all: Sequence[float], label: str, title: str,
) -> str:
    """One model's net benefit with its bootstrap band, against treat-all and treat-none."""
    with _style():
        fig, ax = plt.subplots(figsize=(5.2, 4.0))
        thr = np.asarray(thresholds, dtype=float)
        nb = np.asarray(net_benefit, dtype=float)
        lo, hi = np.asarray(band_low, dtype=float), np.asarray(band_high, dtype=float)
        nb_all = np.asarray(net_benefit_all, dtype=float)
        ax.fill_between(thr, lo, hi, color=PALETTE[0], alpha=0.2, lw=0, label="95% bootstrap band")
        ax.plot(thr, nb, lw=1.6, color=PALETTE[0], label=label)
        ax.plot(thr, nb_all, color="0.55", lw=1.2, label="Treat all")
        ax.axhline(0, color="black", lw=1.0, label="Treat none")
        ymax = max(0.05, float(np.nanmax(np.r_[hi, nb, nb_all])))
        ax.set(xlim=(0, 1), ylim=(-0.05, ymax * 1.1), xlabel="Threshold probability", ylabel="Net benefit", title=title)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False, fontsize=7.5, ncol=2)
        return figure_to_uri(fig)


def clinical_impact_figure(
    thresholds: Sequence[float], n_high_risk: Sequence[float], n_with_event: Sequence[float], population: int,
    event_label: str, title: str,
) -> str:
    """Clinical-impact curve: per ``population`` people, the number called high risk and how many have the event."""
    with _style():
        fig, ax = plt.subplots(figsize=(5.2, 4.0))
        thr = np.asarray(thresholds, dtype=float)
        ax.plot(thr, np.asarray(n_high_risk, dtype=float), color=PALETTE[1], lw=1.6, label="Called high risk")
        ax.plot(thr, np.asarray(n_with_event, dtype=float), color=PALETTE[0], lw=1.6, ls="--",
                label=f"Called high risk and {event_label}")
        ax.set(xlim=(0, 1), ylim=(0, population * 1.02), xlabel="Threshold probability",
               ylabel=f"Number per {population:,}", title=title)
        ax.legend(loc="upper right", frameon=False, fontsize=7.5)
        return figure_to_uri(fig)


def delong_heatmap(names: Sequence[str], pvalues: Sequence[Sequence[float | None]], title: str) -> str:
    """Lower-triangular heatmap of pairwise DeLong p-values with the value written in each cell."""
    k = len(names)
    matrix = np.full((k, k), np.nan)
    for i in range(k):
        for j in range(k):
            value = pvalues[i][j]
            if i > j and value is not None:
                matrix[i, j] = float(value)
    cmap = LinearSegmentedColormap.from_list("p", ["#B2182B", "#F4A582", "#F7F7F7", "#D1E5F0"])
    with _style():
        side = max(2.8, 0.5 * k + 1.1)
        fig, ax = plt.subplots(figsize=(side + 0.8, side))
        shown = np.ma.masked_invalid(np.clip(matrix, 1e-4, 1))
        image = ax.imshow(np.log10(shown), cmap=cmap, vmin=-4, vmax=0)
        for i in range(k):
            for j in range(k):
                if i > j and np.isfinite(matrix[i, j]):
                    p = matrix[i, j]
                    text = "<0.001" if p < 0.001 else f"{p:.3f}"
                    red, green, blue, _ = cmap((np.log10(max(p, 1e-4)) + 4) / 4)
                    dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.55
                    ax.text(j, i, text, ha="center", va="center", fontsize=8,
                            color="white" if dark else "black", fontweight="bold" if p < 0.05 else "normal")
        ax.set_xticks(range(k), names, rotation=45, ha="right")
        ax.set_yticks(range(k), names)
        ax.set_xlim(-0.5, k - 1.5 if k > 1 else 0.5)
        ax.set_ylim(k - 0.5, 0.5 if k > 1 else -0.5)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(title)
        bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, ticks=[-4, -3, -2, np.log10(0.05), 0])
        bar.ax.set_yticklabels(["≤0.0001", "0.001", "0.01", "0.05", "1"])
        bar.set_label("DeLong p-value")
        return figure_to_uri(fig)


def confusion_figure(labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str) -> str:
    """Confusion-matrix heatmap (rows: reference standard, columns: predicted), counts and row percentages."""
    cm = np.asarray(matrix, dtype=float)
    row = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, row, out=np.zeros_like(cm), where=row > 0)
    with _style():
        fig, ax = plt.subplots(figsize=(3.9, 3.4))
        ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                ax.text(j, i, f"{int(cm[i, j])}\n({100 * frac[i, j]:.0f}%)", ha="center", va="center", fontsize=8,
                        color="white" if frac[i, j] > 0.6 else "black")
        ax.set_xticks(range(len(labels)), [f"HER2-{x}" for x in labels])
        ax.set_yticks(range(len(labels)), [f"HER2-{x}" for x in labels])
        ax.set(xlabel="Predicted", ylabel="Reference standard", title=title)
        for spine in ax.spines.values():
            spine.set_visible(False)
        return figure_to_uri(fig)


def _feature_colours(values: np.ndarray) -> np.ndarray:
    """Map one feature's values to 0–1 (numeric: rank-scaled 5–95th percentile; categorical: level order)."""
    numeric = np.array([_as_float(v) for v in values])
    if np.isfinite(numeric).sum() >= max(1, int(0.8 * np.sum([v is not None for v in values]))):
        lo, hi = np.nanpercentile(numeric, [5, 95]) if np.isfinite(numeric).any() else (0.0, 1.0)
        span = hi - lo if hi > lo else 1.0
        return np.clip((numeric - lo) / span, 0, 1)
    levels = sorted({str(v) for v in values if v is not None and str(v) != "nan"})
    index = {lev: i for i, lev in enumerate(levels)}
    scale = max(len(levels) - 1, 1)
    return np.array([index[str(v)] / scale if str(v) in index else np.nan for v in values])


def _as_float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def shap_beeswarm_figure(
    features: Sequence[str], shap: Mapping[str, np.ndarray], values: Mapping[str, np.ndarray], xlabel: str, seed: int = 0
) -> str:
    """SHAP summary (beeswarm): one row per feature (most important on top), colour = feature value."""
    rng = np.random.default_rng(seed)
    k = len(features)
    with _style():
        fig, ax = plt.subplots(figsize=(6.0, 0.42 * k + 1.3))
        scatter = None
        for row, feature in enumerate(reversed(features)):
            sv = np.asarray(shap[feature], dtype=float)
            colours = _feature_colours(np.asarray(values.get(feature, np.full(len(sv), np.nan)), dtype=object))
            # density-aware vertical jitter
            hist, edges = np.histogram(sv, bins=40)
            density = hist[np.clip(np.searchsorted(edges, sv, side="right") - 1, 0, len(hist) - 1)] / max(hist.max(), 1)
            y = row + rng.uniform(-1, 1, len(sv)) * 0.38 * density
            missing = ~np.isfinite(colours)
            ax.scatter(sv[missing], y[missing], s=6, color="0.7", lw=0, rasterized=True)
            scatter = ax.scatter(sv[~missing], y[~missing], s=6, c=colours[~missing], cmap="plasma", vmin=0, vmax=1, lw=0,
                                 rasterized=True)
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set_yticks(range(k), [textwrap.shorten(f, 34) for f in reversed(features)])
        ax.set_xlabel(xlabel)
        ax.spines["left"].set_visible(False)
        if scatter is not None:
            bar = fig.colorbar(scatter, ax=ax, fraction=0.04, pad=0.02, ticks=[0, 1])
            bar.ax.set_yticklabels(["Low", "High"])
            bar.set_label("Feature value")
        return figure_to_uri(fig)


def shap_bar_figure(mean_abs: Sequence[tuple[str, float]], xlabel: str) -> str:
    """Mean |SHAP| per feature, largest on top."""
    names = [textwrap.shorten(n, 34) for n, _ in mean_abs]
    vals = [v for _, v in mean_abs]
    with _style():
        fig, ax = plt.subplots(figsize=(4.6, 0.36 * len(vals) + 1.0))
        ax.barh(range(len(vals))[::-1], vals, color=PALETTE[0])
        ax.set_yticks(range(len(vals))[::-1], names)
        ax.set_xlabel(xlabel)
        return figure_to_uri(fig)


def shap_dependence_figure(values: np.ndarray, shap: np.ndarray, xlabel: str, ylabel: str) -> str:
    """SHAP dependence of one continuous input: its value (x) against its contribution (y), one dot per lesion.

    Lesions with the value missing (imputed by the model) are drawn at the left edge in grey.
    """
    x = np.array([_as_float(v) for v in np.asarray(values, dtype=object)])
    y = np.asarray(shap, dtype=float)
    missing = ~np.isfinite(x) & np.isfinite(y)
    shown = np.isfinite(x) & np.isfinite(y)
    with _style():
        fig, ax = plt.subplots(figsize=(4.4, 3.4))
        ax.scatter(x[shown], y[shown], s=8, color=PALETTE[0], alpha=0.6, lw=0, rasterized=True)
        if missing.any():
            left = float(np.nanmin(x[shown])) if shown.any() else 0.0
            ax.scatter(np.full(int(missing.sum()), left), y[missing], s=8, color="0.6", marker="|",
                       label=f"missing ({int(missing.sum())})")
            ax.legend(loc="best", frameon=False, fontsize=7.5)
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_xlabel(textwrap.shorten(xlabel, 48))
        ax.set_ylabel(ylabel)
        return figure_to_uri(fig)


def shap_waterfall_figure(
    base_value: float, contributions: Sequence[tuple[str, float]], title: str, xlabel: str
) -> str:
    """Waterfall of one lesion: from the base value through each feature's contribution to the model output."""
    # smallest at the bottom, largest on top; a lumped "N other features" bar always sits at the bottom
    lumped = [kv for kv in contributions if kv[0].endswith("other features")]
    items = lumped + sorted((kv for kv in contributions if kv not in lumped), key=lambda kv: abs(kv[1]))
    with _style():
        fig, ax = plt.subplots(figsize=(4.8, 0.36 * len(items) + 1.3))
        running = base_value
        lefts = []
        for name, value in items:
            lefts.append((name, running, value))
            running += value
        span = max((abs(v) for _, v in items), default=1.0) or 1.0
        for y, (_name, left, value) in enumerate(lefts):
            colour = "#D55E00" if value > 0 else "#0072B2"
            ax.barh(y, value, left=left, color=colour, height=0.6)
            ax.text(left + value + (0.03 * span if value >= 0 else -0.03 * span), y, f"{value:+.2f}",
                    va="center", ha="left" if value >= 0 else "right", fontsize=7.5)
        ax.axvline(base_value, color="0.5", lw=0.8, ls=":")
        ax.axvline(running, color="0.2", lw=0.8, ls="--")
        ax.set_yticks(range(len(items)), [textwrap.shorten(n, 44) for n, _ in items])
        lo = min([base_value, running] + [left + min(0.0, v) for _, left, v in lefts])
        hi = max([base_value, running] + [left + max(0.0, v) for _, left, v in lefts])
        pad = 0.18 * (hi - lo if hi > lo else 1.0)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(-0.7, len(items) - 0.3)
        ax.set_xlabel(xlabel)
        ax.set_title(f"{title}\nbase value {base_value:.2f} → output {running:.2f}", fontsize=9)
        ax.spines["left"].set_visible(False)
        return figure_to_uri(fig)


def km_figure(
    curves: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    at_risk_times: Sequence[float],
    at_risk: Sequence[tuple[str, Sequence[int]]],
    pvalue_text: str,
    xlabel: str,
    ylabel: str,
) -> str:
    """Kaplan–Meier step curves with the log-rank p and a numbers-at-risk table under the plot."""
    with _style():
        fig = plt.figure(figsize=(5.6, 4.6))
        ax = fig.add_axes((0.14, 0.34, 0.82, 0.6))
        table_ax = fig.add_axes((0.14, 0.04, 0.82, 0.16), sharex=ax)
        for i, (label, times, surv) in enumerate(curves):
            ax.step(times, surv, where="post", color=PALETTE[i % len(PALETTE)], lw=1.6, label=label)
        ax.set(ylim=(0, 1.02), ylabel=ylabel, xlabel=xlabel)
        ax.legend(loc="lower left", frameon=False)
        ax.text(0.98, 0.06, pvalue_text, transform=ax.transAxes, ha="right", fontsize=8.5)
        table_ax.set_title("Number at risk", fontsize=8, loc="left")
        for row, (_label, counts) in enumerate(at_risk):
            for t, c in zip(at_risk_times, counts, strict=False):
                table_ax.text(t, len(at_risk) - 1 - row, str(int(c)), ha="center", va="center", fontsize=7.5,
                              color=PALETTE[row % len(PALETTE)])
        table_ax.set_yticks(range(len(at_risk)), [label for label, _ in reversed(list(at_risk))])
        table_ax.set_ylim(-0.6, len(at_risk) - 0.4)
        table_ax.tick_params(axis="x", labelbottom=False, length=0)
        table_ax.tick_params(axis="y", length=0)
        for spine in table_ax.spines.values():
            spine.set_visible(False)
        if at_risk_times:
            ax.set_xticks(list(at_risk_times))
            ax.set_xlim(min(at_risk_times) - 0.02 * max(at_risk_times), max(at_risk_times) * 1.03)
        return figure_to_uri(fig)


def flow_figure(steps: Sequence[Mapping[str, object]], sets: Sequence[tuple[str, str]]) -> str:
    """Participant flow: one box per step down the middle, exclusions to the right, final sets at the bottom."""
    n_steps = len(steps)
    height = 0.8 * n_steps + 1.1
    with _style():
        fig, ax = plt.subplots(figsize=(7.0, height))
        ax.set_xlim(0, 10)
        ax.set_ylim(-1.65, n_steps - 0.55)
        ax.axis("off")
        box = {"boxstyle": "round,pad=0.35", "fc": "#F2F6FA", "ec": "#34495E", "lw": 0.9}
        exbox = {"boxstyle": "round,pad=0.3", "fc": "#FDF2E9", "ec": "#A04000", "lw": 0.8}
        for i, step in enumerate(steps):
            y = n_steps - 1 - i
            raw = str(step.get("step", ""))
            label = textwrap.fill(raw[:1].upper() + raw[1:], 38) + f"\nn = {step.get('n', '')}"
            ax.text(3.2, y, label, ha="center", va="center", fontsize=7.5, bbox=box)
            if i < n_steps - 1:
                ax.annotate("", xy=(3.2, y - 0.62), xytext=(3.2, y - 0.38),
                            arrowprops={"arrowstyle": "-|>", "color": "#34495E", "lw": 0.9})
            excluded = step.get("excluded") or 0
            if excluded and i > 0:
                reason = textwrap.fill(f"Excluded n = {excluded}: {step.get('reason') or 'not stated'}", 44)
                ax.annotate("", xy=(6.1, y + 0.5), xytext=(3.2, y + 0.5),
                            arrowprops={"arrowstyle": "-|>", "color": "#A04000", "lw": 0.8})
                ax.text(7.9, y + 0.5, reason, ha="center", va="center", fontsize=6.8, bbox=exbox)
        if sets:
            k = len(sets)
            xs = np.linspace(1.3, 8.7, k) if k > 1 else np.array([3.2])
            for x, (name, count) in zip(xs, sets, strict=True):
                ax.annotate("", xy=(x, -0.95), xytext=(3.2, -0.38),
                            arrowprops={"arrowstyle": "-|>", "color": "#34495E", "lw": 0.8})
                ax.text(x, -1.25, f"{textwrap.fill(name, 26)}\n{textwrap.fill(count, 26)}", ha="center", va="center",
                        fontsize=7, bbox=box)
        return figure_to_uri(fig)


def harmonisation_figure(rows: Sequence[tuple[str, Mapping[str, float], Mapping[str, float]]], batch: str) -> str:
    """Per-batch feature means before and after harmonisation, side by side (each feature scaled to its range)."""
    batches = sorted({b for _, before, after in rows for b in (*before, *after)})
    with _style():
        fig, axes = plt.subplots(1, 2, figsize=(7.2, 0.42 * len(rows) + 1.4), sharey=True)
        for ax, which, title in ((axes[0], 1, "Before"), (axes[1], 2, "After")):
            for r, row in enumerate(rows):
                allv = [float(v) for v in (*row[1].values(), *row[2].values())]
                lo, hi = min(allv), max(allv)
                span = hi - lo if hi > lo else 1.0
                for b_i, batch_name in enumerate(batches):
                    value = row[which].get(batch_name)
                    if value is not None:
                        ax.scatter((float(value) - lo) / span, r, color=PALETTE[b_i % len(PALETTE)], s=22,
                                   label=batch_name if r == 0 else None)
            ax.set_title(f"{title} harmonisation")
            ax.set_xlim(-0.1, 1.1)
            ax.set_xlabel("Batch mean (scaled to feature range)")
        axes[0].set_yticks(range(len(rows)), [textwrap.shorten(r[0], 32) for r in rows])
        axes[1].legend(title=batch, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
        return figure_to_uri(fig)


def forest_figure(rows: Sequence[tuple[str, float, float, float]], title: str) -> str:
    """Odds ratios with 95% CIs on a log axis; ``rows`` holds ``(label, or, ci_low, ci_high)``, top to bottom."""
    with _style():
        fig, ax = plt.subplots(figsize=(5.6, 0.3 * len(rows) + 1.0))
        ys = np.arange(len(rows))[::-1]
        for y, (_label, estimate, low, high) in zip(ys, rows, strict=True):
            colour = PALETTE[1] if low > 1 else PALETTE[0] if high < 1 else "0.35"
            ax.plot([low, high], [y, y], color=colour, lw=1.2)
            ax.plot([estimate], [y], marker="s", color=colour, ms=4)
        ax.axvline(1.0, color="0.5", lw=0.8, ls="--")
        ax.set_xscale("log")
        lo = min(r[2] for r in rows)
        hi = max(r[3] for r in rows)
        ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if lo / 1.5 <= t <= hi * 1.5]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set_yticks(ys, [textwrap.shorten(r[0], 40) for r in rows])
        ax.set_xlabel("Odds ratio (95% CI, log scale)")
        ax.set_title(title, fontsize=9)
        ax.spines["left"].set_visible(False)
        return figure_to_uri(fig)
