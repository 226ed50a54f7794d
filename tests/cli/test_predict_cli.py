"""Tests of ``her2mri predict``: round trip in a fresh process, bad input, tampered and incompatible bundles."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from her2mri.cli.main import app

from ..bundle import bundle_factory


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    factory = bundle_factory
    bundle = factory.build_test_bundle()
    root = tmp_path_factory.mktemp("predict_cli")
    path = factory.save_bundle(bundle, root / "model")
    cases = factory.example_cases(8)
    cases_path = root / "cases.csv"
    cases.to_csv(cases_path, index=False)
    return bundle, path, cases, cases_path


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    code = "from her2mri.cli.main import app; app()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300)


def test_predict_cli_fresh_process_matches_in_memory_bundle(saved, tmp_path) -> None:
    bundle, path, cases, cases_path = saved
    out = tmp_path / "predictions.csv"
    proc = _run_cli("predict", "--model", str(path), str(cases_path), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "8 lesion(s) predicted" in proc.stdout
    written = pd.read_csv(out, keep_default_na=False, na_values=[""], float_precision="round_trip")
    expected = bundle.predict(cases)
    for column in ("p_zero", "p_low", "p_positive", "p_positive_vs_negative", "p_low_vs_zero"):
        pd.testing.assert_series_equal(written[column], expected[column], check_exact=True, check_names=False)
    for column in ("call", "top_contributions_positive_vs_negative", "prediction_set"):
        assert list(written[column]) == list(expected[column])
    assert list(written["lesion_id"]) == list(cases["lesion_id"])


def test_predict_cli_bad_input_exits_2_with_every_problem(saved, tmp_path) -> None:
    _, path, cases, _ = saved
    bad = cases.astype(object).drop(columns=["age"])
    bad.loc[0, "tic_type"] = "sideways"
    bad.loc[1, "ki67_percent"] = "lots"
    bad_path = tmp_path / "bad.csv"
    bad.to_csv(bad_path, index=False)
    result = CliRunner().invoke(app, ["predict", "--model", str(path), str(bad_path), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    text = result.output
    assert "Traceback" not in text
    assert "Column 'age': required column is missing" in text
    assert "Column 'tic_type', row 1: unknown value; got 'sideways'; accepted: persistent, plateau, washout" in text
    assert "Column 'ki67_percent', row 2: not a number" in text
    assert not (tmp_path / "o.csv").exists()


def test_predict_cli_tampered_bundle_is_refused(saved, tmp_path) -> None:
    import shutil

    _, path, _, cases_path = saved
    target = tmp_path / "model"
    shutil.copytree(path, target)
    card = target / "model_card.md"
    data = bytearray(card.read_bytes())
    data[10] = ord("X") if data[10] != ord("X") else ord("Y")
    card.write_bytes(bytes(data))
    result = CliRunner().invoke(app, ["predict", "--model", str(target), str(cases_path), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    assert "integrity check failed for 'model_card.md'" in result.output
    assert "Traceback" not in result.output


def test_predict_cli_incompatible_version_is_refused(saved, tmp_path) -> None:
    import shutil

    _, path, _, cases_path = saved
    target = tmp_path / "model"
    shutil.copytree(path, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["her2mri_version"] = "97.0.0"
    (target / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(app, ["predict", "--model", str(target), str(cases_path)])
    assert result.exit_code == 2
    assert "incompatible major version" in result.output


def test_predict_cli_explain_writes_every_lesion_and_input(saved, tmp_path) -> None:
    import numpy as np

    bundle, path, cases, cases_path = saved
    out, shap_out = tmp_path / "p.csv", tmp_path / "shap.csv"
    result = CliRunner().invoke(
        app, ["predict", "--model", str(path), str(cases_path), "--out", str(out), "--explain", str(shap_out)]
    )
    assert result.exit_code == 0, result.output
    assert "SHAP contributions written" in result.output
    table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    shap = pd.read_csv(shap_out, keep_default_na=False, na_values=[""])
    assert list(shap.columns) == ["lesion_id", "task", "model", "method", "scale", "base_value", "feature", "value",
                                  "contribution"]
    for task, tm in bundle.task_models.items():
        part = shap[shap["task"] == task]
        assert len(part) == len(cases) * len(tm.input_columns)  # every lesion, every input
        totals = part.groupby("lesion_id", sort=False).agg(base=("base_value", "first"), s=("contribution", "sum"))
        output = totals["base"] + totals["s"]
        p = table.set_index("lesion_id").loc[totals.index.astype(table["lesion_id"].dtype), f"p_{task}"].to_numpy()
        scale = part["scale"].iloc[0]
        expected = np.log(p / (1 - p)) if scale == "log_odds" else p
        np.testing.assert_allclose(output.to_numpy(), expected, rtol=0, atol=1e-6)
