"""Inline SVG and display helpers for the form page (no external assets)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from her2mri.bundle.schema import InputSchema
from her2mri.web.schemas import ContributionPublic, TaskPublic

__all__ = ["display_value", "waterfall_svg"]

_WIDTH = 700
_LABEL_W = 270
_PLOT_W = 340
_VALUE_X = _WIDTH - 4
_ROW_H = 24
_TOP = 30
_MAX_ROWS = 10


def display_value(schema: InputSchema, feature: str, value: Any) -> str:
    """Human text of an input value: level labels, yes/no, numbers with units, 'unknown' for missing."""
    if value is None:
        return "unknown"
    if feature not in schema:
        return str(value)
    spec = schema.get(feature)
    if spec.kind == "binary":
        return "yes" if float(value) == 1.0 else "no"
    if spec.kind == "numeric":
        unit = f" {spec.unit}" if spec.unit else ""
        return f"{float(value):.4g}{unit}"
    if value == "not_applicable":
        return "n/a"
    return spec.level_label(str(value))


def _fmt(value: float) -> str:
    sign = "+" if value >= 0 else "\u2212"
    digits = 3 if 0 < abs(value) < 0.01 else 2
    return f"{sign}{abs(value):.{digits}f}"


def waterfall_svg(task: TaskPublic, schema: InputSchema) -> str:
    """SHAP waterfall of one task: from the model's average output to this case's output, largest
    contributions first (the rest summed into one row). Red pushes towards the task's positive label."""
    if not task.contributions or task.base_value is None:
        return ""
    items: list[ContributionPublic] = [c for c in task.contributions if c.contribution != 0.0]
    shown = items[:_MAX_ROWS]
    rest = items[_MAX_ROWS:]
    rows: list[tuple[str, float]] = [
        (f"{c.feature.replace('_', ' ')} = {display_value(schema, c.feature, c.value)}", c.contribution)
        for c in shown
    ]
    if rest:
        rows.append((f"{len(rest)} other inputs", sum(c.contribution for c in rest)))
    base = task.base_value
    final = base + sum(v for _, v in rows)
    cumulative = [base]
    for _, v in rows:
        cumulative.append(cumulative[-1] + v)
    lo, hi = min(cumulative), max(cumulative)
    span = hi - lo or 1.0
    lo, hi = lo - 0.05 * span, hi + 0.05 * span

    def x(value: float) -> float:
        return _LABEL_W + (value - lo) / (hi - lo) * _PLOT_W

    height = _TOP + _ROW_H * len(rows) + 40
    scale = "log-odds" if task.explanation_scale == "log_odds" else "probability"
    parts = [
        f'<svg class="waterfall" role="img" viewBox="0 0 {_WIDTH} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="Contributions to {escape(task.title)}">',
        f'<text x="{_LABEL_W}" y="16" class="axis">Contribution to {escape(task.positive_label)} ({scale}); '
        f"red raises, blue lowers</text>",
    ]
    start = base
    for k, (label, value) in enumerate(rows):
        y = _TOP + k * _ROW_H
        end = start + value
        x0, x1 = sorted((x(start), x(end)))
        colour = "#c0392b" if value > 0 else "#2471a3"
        parts.append(f'<text x="{_LABEL_W - 8}" y="{y + 16}" text-anchor="end" class="lbl">{escape(label)}</text>')
        parts.append(
            f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 1.5):.1f}" height="{_ROW_H - 6}" fill="{colour}">'
            f"<title>{escape(label)}: {_fmt(value)}</title></rect>"
        )
        parts.append(f'<text x="{_VALUE_X}" y="{y + 16}" text-anchor="end" class="val">{_fmt(value)}</text>')
        start = end
    bottom = _TOP + _ROW_H * len(rows)
    for value, text in ((base, f"average {base:.2f}"), (final, f"this case {final:.2f}")):
        xv = x(value)
        parts.append(f'<line x1="{xv:.1f}" y1="{_TOP - 4}" x2="{xv:.1f}" y2="{bottom + 4}" class="ref"/>')
        anchor = "end" if value == min(base, final) else "start"
        parts.append(f'<text x="{xv:.1f}" y="{bottom + 20 + (14 if value == final else 0)}" '
                     f'text-anchor="{anchor}" class="axis">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def contribution_summary(contributions: Sequence[ContributionPublic], k: int = 3) -> str:
    """``"ki67 percent +0.21; er status −0.15"`` for the ``k`` largest contributions."""
    chosen = [c for c in contributions if c.contribution != 0.0][:k]
    return "; ".join(f"{c.feature.replace('_', ' ')} {_fmt(c.contribution)}" for c in chosen)
