"""Render a study directory into one self-contained HTML report (figures embedded, no external resources)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from pathlib import Path

import jinja2

from her2mri.report import model_sections as ms
from her2mri.report import statistics_sections as st
from her2mri.report import study_sections as ss
from her2mri.report.blocks import ReportSectionError, Section, StudyData, get, load_study, safe_section
from her2mri.report.imaging_section import imaging_section
from her2mri.report.selection_section import (
    model_choice_section,
    selection_path_section,
    selection_screen_section,
)

__all__ = ["SECTION_ORDER", "build_sections", "failed_sections", "render_html", "render_report"]

TEMPLATE_DIR = Path(__file__).parent / "templates"

# (id, title, builder) in reading order; warnings come last and collect the omitted sections' reasons
SECTION_ORDER: tuple[tuple[str, str, Callable[[StudyData], Section | None]], ...] = (
    ("summary", "Summary", ss.summary_section),
    ("cohort-flow", "Cohort flow", ss.cohort_flow_section),
    ("table1", "Table 1: characteristics by HER2 class", st.table1_with_extras),
    ("roc", "ROC curves", ms.roc_section),
    ("metrics", "Diagnostic performance", st.metrics_with_bootstrap),
    ("delong", "Pairwise DeLong tests", ms.delong_section),
    ("model-choice", "Model choice", model_choice_section),
    ("selection-path", "Variable selection: LASSO path", selection_path_section),
    ("selection-screen", "Variable selection: univariable screen", selection_screen_section),
    ("calibration", "Calibration", st.calibration_with_extras),
    ("decision-curves", "Decision curves", st.decision_curves_with_extras),
    ("shap", "Model explanation (SHAP)", ms.shap_section),
    ("nomogram", "Nomogram", ms.nomogram_section),
    ("odds-ratios", "Multivariable logistic model", ms.odds_ratio_section),
    ("survival", "Disease-free survival by model score", ss.survival_section),
    ("three-class", "Three-class results", ss.three_class_section),
    ("subgroups", "Subgroup results", ss.subgroup_section),
    ("conformal", "Conformal prediction sets", ss.conformal_section),
    ("reader-study", "Reader study", ss.reader_section),
    ("harmonisation", "Harmonisation and drift", ss.harmonisation_section),
    ("imaging", "Imaging features and reader reproducibility", imaging_section),
    ("methods", "Methods", ss.methods_section),
    ("tripod", "TRIPOD+AI checklist", ss.tripod_section),
    ("provenance", "Provenance", ss.provenance_section),
)


def build_sections(data: StudyData) -> list[Section]:
    """Build every section; a section whose data is absent or unusable is kept with its ``missing`` reason."""
    built = (safe_section(builder, data, sid, title) for sid, title, builder in SECTION_ORDER)
    sections = [s for s in built if s is not None]  # None: an optional section with nothing to show
    if data.results.get("status") == "failed":
        step = data.results.get("failed_step") or "?"
        for section in sections:
            if section.missing:
                section.missing += f"; the run failed at step '{step}'"
    failed = [f"Section '{s.title}' failed to render: {s.error}" for s in sections if s.error]
    sections.append(safe_section(lambda d: ss.warnings_section(d, failed), data, "warnings", "Warnings and footnotes"))
    return sections


def failed_sections(sections: list[Section]) -> list[tuple[str, str]]:
    """(title, error) of every section that failed to render."""
    return [(s.title, s.error) for s in sections if s.error]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def render_html(data: StudyData, sections: list[Section] | None = None) -> str:
    """The report as an HTML string (``sections``: already built ones, else built here)."""
    from her2mri import __version__

    results = data.results
    title = get(results, "config", "name") or "HER2 status from breast MRI"
    sections = build_sections(data) if sections is None else sections
    context = {
        "title": f"her2mri study report — {title}",
        "study_name": title,
        "created": results.get("created") or "",
        "rendered": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "renderer_version": __version__,
        "sections": sections,
    }
    return _environment().get_template("report.html.j2").render(**context)


def render_report(study_dir: str | Path, *, out: str | Path | None = None, pdf: bool = False) -> Path:
    """Read ``study_dir/results.json`` (+ predictions.csv, shap_<task>.csv) and write one self-contained HTML file.

    Returns the path of the HTML file (``study_dir/report.html`` unless ``out`` is given).  With ``pdf=True`` a PDF
    is printed next to it by headless Chromium when ``/usr/bin/chromium`` exists. When a section fails to render,
    the file is still written (the section shows the error) and :class:`ReportSectionError` is raised after it,
    naming the sections, so a study run's report step and ``her2mri report`` end with a non-zero status.
    """
    data = load_study(study_dir)
    target = Path(out) if out is not None else Path(study_dir) / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    sections = build_sections(data)
    target.write_text(render_html(data, sections), encoding="utf-8")
    if pdf:
        from her2mri.report.pdf import html_to_pdf

        html_to_pdf(target, target.with_suffix(".pdf"))
    failed = failed_sections(sections)
    if failed:
        raise ReportSectionError(target, failed)
    return target
