"""``her2mri report DIR`` re-renders a study directory."""

from __future__ import annotations

from pathlib import Path

from conftest import check_html
from typer.testing import CliRunner

from her2mri.cli.main import app


def test_report_cli_writes_html(fixture_study: Path, tmp_path: Path) -> None:
    out = tmp_path / "again.html"
    result = CliRunner().invoke(app, ["report", str(fixture_study), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Report written to" in result.output
    assert check_html(out.read_text(encoding="utf-8")).problems == []


def test_report_cli_missing_directory_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(tmp_path / "absent")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_report_cli_directory_without_results_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "results.json not found" in result.output
