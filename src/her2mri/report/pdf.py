"""Optional PDF output: print the HTML report with headless Chromium (``--print-to-pdf``)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from her2mri.exceptions import Her2MriError

__all__ = ["PdfError", "chromium_path", "html_to_pdf"]

_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


class PdfError(Her2MriError, ValueError):
    """The PDF could not be printed (no Chromium, or Chromium failed)."""


def chromium_path() -> str | None:
    """Path of a usable Chromium binary, or None."""
    for candidate in _CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return shutil.which("chromium")


def html_to_pdf(html: str | Path, pdf: str | Path, *, timeout_s: float = 120.0) -> Path:
    """Print ``html`` to ``pdf`` with headless Chromium (A4, the report's print stylesheet); return the PDF path."""
    binary = chromium_path()
    if binary is None:
        message = (
            "PDF output needs Chromium: none found at /usr/bin/chromium (or on PATH). Install Debian's chromium "
            "('make browser'), or open report.html in a browser and print to PDF."
        )
        raise PdfError(message)
    source, target = Path(html).resolve(), Path(pdf).resolve()
    with tempfile.TemporaryDirectory(prefix="her2mri-chromium-") as profile:
        command = [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
            "--no-pdf-header-footer", f"--print-to-pdf={target}", source.as_uri(),
        ]
        try:
            completed = subprocess.run(command, capture_output=True, timeout=timeout_s, check=False)  # noqa: S603
        except subprocess.TimeoutExpired as exc:
            message = f"Chromium did not finish printing '{source}' within {timeout_s:.0f} s. Retry, or print from a browser."
            raise PdfError(message) from exc
    if completed.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        tail = completed.stderr.decode(errors="replace")[-400:]
        message = f"Chromium failed to print '{source}' to PDF (exit code {completed.returncode}): {tail}"
        raise PdfError(message)
    return target
