"""``her2mri report DIR`` re-renders a study directory."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from her2mri.cli.main import app

from .conftest import check_html


def test_report_cli_writes_html(tmp_path: Path) -> None:
    study = tmp_path / "study"
    study.mkdir()
    (study / "results.json").write_text(json.dumps({"schema_version": 1, "config": {"name": "cli study"}}), encoding="utf-8")
    result = CliRunner().invoke(app, ["report", str(study)])
    assert result.exit_code == 0, result.output
    assert "Report written to" in result.output
    html = (study / "report.html").read_text(encoding="utf-8")
    assert "cli study" in html
    assert check_html(html).problems == []


def test_report_cli_out_option_writes_elsewhere(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(json.dumps({"schema_version": 1}), encoding="utf-8")
    out = tmp_path / "sub" / "paper.html"
    result = CliRunner().invoke(app, ["report", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file()


def test_report_cli_missing_directory_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(tmp_path / "absent")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_report_cli_directory_without_results_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "results.json not found" in result.output
