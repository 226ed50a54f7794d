"""Optional PDF output through headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from her2mri.report.pdf import chromium_path, html_to_pdf


@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="Chromium not installed")
def test_html_to_pdf_prints_report(fixture_report: tuple[Path, str], tmp_path: Path) -> None:
    pdf = html_to_pdf(fixture_report[0], tmp_path / "report.pdf")
    head = pdf.read_bytes()[:5]
    assert head == b"%PDF-"
    assert pdf.stat().st_size > 50_000
