"""CLI commands of the report area: ``her2mri report DIR [--out FILE] [--pdf]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from her2mri.cli._common import console, user_errors


def report(
    study_dir: Annotated[
        Path, typer.Argument(help="Study output directory holding results.json (from 'her2mri study run').")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="HTML file to write (default: STUDY_DIR/report.html).")
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also print a PDF next to the HTML with headless Chromium.")] = False,
) -> None:
    """Re-render the study report (one self-contained HTML file) from a study directory."""
    with user_errors():
        from her2mri.report import render_report

        if not study_dir.is_dir():
            message = (
                f"Study directory '{study_dir}' does not exist or is not a directory. "
                "Pass the --out directory of 'her2mri study run' or 'her2mri demo'."
            )
            raise FileNotFoundError(message)
        path = render_report(study_dir, out=out, pdf=pdf)
        console.print(f"Report written to {path}")
        if pdf:
            console.print(f"PDF written to {path.with_suffix('.pdf')}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("report")(report)
