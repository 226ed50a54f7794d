"""The ``her2mri reader-study`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from her2mri.cli.main import app
from her2mri.readers import simulate_reads


@pytest.fixture
def study_files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(8)
    n = 120
    ihc = rng.choice(["0", "1+", "3+"], size=n, p=[0.3, 0.4, 0.3])
    cohort = pd.DataFrame({"patient_id": [f"P{i:03d}" for i in range(n)],
                           "lesion_id": [f"L{i:03d}" for i in range(n)], "her2_ihc": ihc})
    cohort_path = tmp_path / "cohort.csv"
    cohort.to_csv(cohort_path, index=False)
    reads = simulate_reads(cohort, (ihc == "3+").astype(float), n_readers=4, seed=4)
    reads_path = tmp_path / "reads.csv"
    reads.to_csv(reads_path, index=False)
    return reads_path, cohort_path


def test_reader_study_cli_writes_json_and_csv(study_files: tuple[Path, Path], tmp_path: Path) -> None:
    pytest.importorskip("her2mri.cohort.demo")  # load_cohort is importable once the cohort package is complete
    reads_path, cohort_path = study_files
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["reader-study", str(reads_path), "--cohort", str(cohort_path),
                                      "--out", str(out), "--task", "positive_vs_negative"])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "reader_study.json").read_text())
    assert doc["task"] == "positive_vs_negative"
    assert doc["mrmc"]["summary"]["comparison"] == "aided - unaided"
    table = pd.read_csv(out / "per_reader.csv")
    assert len(table) == 8
    assert "MRMC" in result.output


def test_reader_study_cli_bad_reads_exit_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "reads.csv"
    pd.DataFrame({"reader_id": ["R1"], "lesion_id": ["L1"], "condition": ["with AI"], "score": [0.3]}).to_csv(
        bad, index=False)
    result = CliRunner().invoke(app, ["reader-study", str(bad), "--cohort", str(tmp_path / "c.csv"),
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "unknown reading condition" in result.output
    assert "Traceback" not in result.output


def test_reader_study_cli_unknown_task_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["reader-study", str(tmp_path / "r.csv"), "--cohort", str(tmp_path / "c.csv"),
                                      "--out", str(tmp_path / "o"), "--task", "her2_low"])
    assert result.exit_code == 2
    assert "accepted: positive_vs_negative" in result.output
