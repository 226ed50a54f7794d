"""The model card stored with every bundle (Markdown): intended use, training data, performance, limitations."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from her2mri.bundle.ood import TrainingSummary
from her2mri.bundle.schema import InputSchema

__all__ = ["RESEARCH_USE_STATEMENT", "render_model_card"]

RESEARCH_USE_STATEMENT = (
    "For research use only. Not a medical device: not cleared or approved for clinical diagnosis or treatment "
    "decisions. HER2 status must be determined by immunohistochemistry and in-situ hybridisation on tissue."
)


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _metrics_lines(metrics: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            estimate = value.get("estimate")
            if estimate is not None and not isinstance(estimate, Mapping):
                ci = ""
                if value.get("ci_low") is not None and value.get("ci_high") is not None:
                    ci = f" (95% CI {_number(value['ci_low'])}–{_number(value['ci_high'])})"
                lines.append(f"- {key}: {_number(estimate)}{ci}")
            else:
                text = json.dumps(value, default=str, sort_keys=True)
                lines.append(f"- {key}: `{text[:300]}{'…' if len(text) > 300 else ''}`")
        else:
            lines.append(f"- {key}: {_number(value)}")
    return lines


def render_model_card(
    *,
    task_models: Mapping[str, Any],
    hierarchy: str | None,
    schema: InputSchema,
    summary: TrainingSummary,
    metrics: Mapping[str, Any],
    config: Mapping[str, Any],
    versions: Mapping[str, str],
    created: str,
    has_conformal: bool,
) -> str:
    """Markdown model card of a bundle."""
    when = f" {created}" if created else ""
    out = ["# her2mri model card", "", f"Created{when} with her2mri {versions.get('her2mri', '?')}.", ""]
    out += ["## Intended use", "", RESEARCH_USE_STATEMENT, ""]
    out += [
        "The model estimates, for one breast lesion, the probabilities that its HER2 status is zero, low or "
        "positive from radiologist-read MRI descriptors, quantitative MRI values and clinical/pathology "
        "variables. It is meant for research on non-invasive HER2 assessment, on populations similar to the "
        "training cohort.",
        "",
    ]
    out += ["## Models", ""]
    if hierarchy is not None:
        out += [f"Three-class composition: hierarchy `{hierarchy}`.", ""]
    out += ["| task | model | positive | negative | threshold | inputs |", "|---|---|---|---|---|---|"]
    for name, tm in task_models.items():
        out.append(
            f"| {name} | {tm.model_name} | {tm.positive_label} | {tm.negative_label} | "
            f"{tm.threshold:.4g} | {len(tm.input_columns)} |"
        )
    out += ["", "Thresholds were fixed on the training data; calls use `probability >= threshold`.", ""]
    if has_conformal:
        out += ["Conformal prediction sets (class-conditional split conformal) are included.", ""]
    out += ["## Training data", "", f"{summary.n} lesions. Inputs:", ""]
    for spec in schema.columns:
        unit = f" ({spec.unit})" if spec.unit else ""
        if spec.name in summary.numeric:
            s = summary.numeric[spec.name]
            detail = f"range {s.min:.4g}–{s.max:.4g}, mean {s.mean:.4g} (SD {s.sd:.3g}), {s.n_missing} missing"
        else:
            counts = summary.categorical.get(spec.name, {})
            detail = ", ".join(f"{k}: {v}" for k, v in counts.items()) or "no values"
        out.append(f"- `{spec.name}`{unit}: {detail}")
    source = config.get("cohort", {}).get("path") if isinstance(config.get("cohort"), Mapping) else None
    if source:
        out += ["", f"Cohort source: `{source}`."]
    out += ["", "## Performance", ""]
    lines = _metrics_lines(metrics)
    for name, tm in task_models.items():
        if tm.metrics:
            lines += [f"- {name}:"] + ["  " + line for line in _metrics_lines(tm.metrics)]
    out += lines or ["No performance metrics were recorded in this bundle; see the study report."]
    out += [
        "",
        "## Limitations",
        "",
        "- Trained on the cohort summarised above; cases outside its ranges or with unseen categories are "
        "flagged as out of distribution and their predictions are less reliable.",
        "- BI-RADS descriptors are reader-dependent; inter-reader variability is not modelled.",
        "- HER2-low and HER2-zero are defined by IHC scoring, itself subject to inter-observer variability.",
        "- Performance estimates come from the study design recorded in the configuration; external validity on "
        "other scanners, protocols and populations is not established.",
        "- Missing inputs are imputed with training medians/modes, which may bias individual predictions.",
        "",
        "## Software",
        "",
    ]
    out += [f"- {k}: {v}" for k, v in versions.items()]
    return "\n".join(out) + "\n"
