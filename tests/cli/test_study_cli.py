"""CLI: her2mri study validate-config / study run / demo --help."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from her2mri.cli.main import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "study"))

from tests.study.synthetic import make_cohort  # noqa: E402

runner = CliRunner()


def test_study_validate_config_reports_line_of_unknown_key(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text("cohort: {path: c.csv}\ntasks: [positive_vs_negative]\nreprot: {enabled: false}\n")
    result = runner.invoke(app, ["study", "validate-config", str(path)])
    assert result.exit_code == 2
    assert "line 3" in result.output
    assert "reprot" in result.output


def test_study_run_writes_results_folder(tmp_path: Path) -> None:
    make_cohort(n=160, seed=2).to_csv(tmp_path / "cohort.csv", index=False)
    config = {
        "schema_version": 1, "cohort": {"path": "cohort.csv"}, "tasks": ["positive_vs_negative"],
        "design": {"kind": "split", "inner_splits": 3}, "models": [{"name": "lr", "classifier": "lr", "tuning": False}],
        "statistics": {"n_bootstrap": 20}, "interpretability": {"shap": False}, "report": {"enabled": False},
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(config))
    result = runner.invoke(app, ["study", "run", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "results.json").is_file()
    assert (tmp_path / "out" / "predictions.csv").is_file()


def test_study_run_missing_cohort_exits_with_message(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text("cohort: {path: missing.csv}\ntasks: [positive_vs_negative]\nreport: {enabled: false}\n")
    result = runner.invoke(app, ["study", "run", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 2
    assert "missing.csv" in result.output


def test_demo_help_lists_fast_option() -> None:
    result = runner.invoke(app, ["demo", "--help"])
    assert result.exit_code == 0
    assert "--fast" in result.output
