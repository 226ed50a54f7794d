"""The study report: one self-contained HTML file (optionally PDF) from a study output directory."""

from her2mri.report.html import render_report
from her2mri.report.nomogram import Nomogram, build_nomogram, draw_nomogram

__all__ = ["Nomogram", "build_nomogram", "draw_nomogram", "render_report"]
