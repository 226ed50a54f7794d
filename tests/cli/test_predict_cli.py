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


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def _predict(path, cases_path, out, *extra):
    return _invoke("predict", "--model", str(path), str(cases_path), "--out", str(out), *extra)


@pytest.mark.parametrize("separator", [";", "\t"])
def test_predict_cli_sniffs_semicolon_and_tab(saved, tmp_path, separator) -> None:
    bundle, path, cases, _ = saved
    cases_path = tmp_path / "cases.txt"
    cases.to_csv(cases_path, index=False, sep=separator)
    out = tmp_path / "p.csv"
    result = _predict(path, cases_path, out)
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    assert written["p_positive"].to_numpy() == pytest.approx(bundle.predict(cases)["p_positive"].to_numpy())


def test_predict_cli_merged_header_gets_a_separator_hint(saved, tmp_path) -> None:
    _, path, cases, _ = saved
    cases_path = tmp_path / "cases.csv"
    cases.to_csv(cases_path, index=False, sep="|")
    result = _predict(path, cases_path, tmp_path / "p.csv")
    assert result.exit_code == 2
    assert "separated by '|'" in result.output
    assert result.output.count("missing") < 3


def test_predict_cli_header_only_and_empty_rows_are_clear_errors(saved, tmp_path) -> None:
    _, path, cases, _ = saved
    header_only = tmp_path / "header.csv"
    cases.iloc[:0].to_csv(header_only, index=False)
    result = _predict(path, header_only, tmp_path / "p.csv")
    assert result.exit_code == 2
    assert "no data rows" in result.output
    blank = tmp_path / "blank.csv"
    text = cases.iloc[:2].to_csv(index=False)
    blank.write_text(text + "," * (cases.shape[1] - 1) + "\n")
    result = _predict(path, blank, tmp_path / "p.csv")
    assert result.exit_code == 2
    assert "Row 3: row is empty" in result.output
    assert not (tmp_path / "p.csv").exists()


def test_predict_cli_infinite_value_names_row_and_column(saved, tmp_path) -> None:
    _, path, cases, _ = saved
    bad = cases.astype(object)
    bad.loc[1, "age"] = "inf"
    bad.loc[2, "tumor_size_mm"] = "-Infinity"
    bad_path = tmp_path / "inf.csv"
    bad.to_csv(bad_path, index=False)
    result = _predict(path, bad_path, tmp_path / "p.csv")
    assert result.exit_code == 2
    assert "Column 'age', row 2: infinite numbers are not accepted" in result.output
    assert "Column 'tumor_size_mm', row 3" in result.output


def test_predict_cli_workbook_with_several_sheets_needs_sheet(saved, tmp_path) -> None:
    bundle, path, cases, _ = saved
    book = tmp_path / "cases.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame({"note": ["not cases"]}).to_excel(writer, sheet_name="readme", index=False)
        cases.to_excel(writer, sheet_name="lesions", index=False)
    result = _predict(path, book, tmp_path / "p.csv")
    assert result.exit_code == 2
    assert "has 2 sheets" in result.output
    assert "'readme', 'lesions'" in result.output
    result = _predict(path, book, tmp_path / "p.csv", "--sheet", "lesions")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "p.csv")) == len(cases)


@pytest.mark.parametrize("kind", ["folder", "below-file", "suffix"])
def test_predict_cli_bad_out_refused_before_work(saved, tmp_path, kind, monkeypatch) -> None:
    _, path, _, cases_path = saved
    import her2mri.bundle

    def no_work(*args, **kwargs):
        message = "the bundle was loaded before --out was checked"
        raise AssertionError(message)

    monkeypatch.setattr(her2mri.bundle, "load_bundle", no_work)
    (tmp_path / "afile.csv").write_text("x\n")
    out = {"folder": tmp_path, "below-file": tmp_path / "afile.csv" / "p.csv", "suffix": tmp_path / "p.json"}[kind]
    result = _predict(path, cases_path, out)
    assert result.exit_code == 2, result.output
    assert "--out" in result.output
    assert "Traceback" not in result.output


def test_serve_blank_token_is_an_error(saved) -> None:
    _, path, _, _ = saved
    result = _invoke("serve", "--model", str(path), "--token", " ")
    assert result.exit_code == 2
    assert "token is blank" in result.output


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
