"""CLI: her2mri extract and her2mri demo-images."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from her2mri.cli.main import app

runner = CliRunner()


def test_cli_demo_images_then_extract_writes_tables(tmp_path: Path, light_yaml: Path) -> None:
    demo = tmp_path / "demo"
    result = runner.invoke(app, ["demo-images", "--n", "2", "--out", str(demo)])
    assert result.exit_code == 0, result.output
    assert (demo / "manifest.csv").exists()
    out = tmp_path / "features.csv"
    result = runner.invoke(
        app,
        ["extract", str(demo / "manifest.csv"), "--out", str(out), "--params", str(light_yaml), "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert "2 lesions" in result.output
    table = pd.read_csv(out)
    assert len(table) == 2
    assert "adc_mean" in table.columns
    assert (tmp_path / "features.readers.csv").exists()
    assert (tmp_path / "features.failures.csv").exists()
    again = runner.invoke(
        app,
        [
            "extract",
            str(demo / "manifest.csv"),
            "--out",
            str(out),
            "--params",
            str(light_yaml),
            "--reader",
            "reader2",
            "-q",
        ],
    )
    assert again.exit_code == 0
    assert "4 reused" in again.output
    assert "reader 'reader2'" in again.output


def test_cli_extract_bad_manifest_exits_2_without_traceback(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    pd.DataFrame({"patient_id": ["P1"], "image": ["x.nii"]}).to_csv(manifest, index=False)
    result = runner.invoke(app, ["extract", str(manifest), "--out", str(tmp_path / "f.csv")])
    assert result.exit_code == 2
    assert "lacks column" in result.output
    assert "Traceback" not in result.output


def test_cli_extract_failing_case_strict_exits_1(tmp_path: Path, light_yaml: Path) -> None:
    """An empty b_value fails its cases only: tables are written, exit 0 (1 with --strict)."""
    demo = tmp_path / "demo"
    assert runner.invoke(app, ["demo-images", "--n", "2", "--out", str(demo)]).exit_code == 0
    frame = pd.read_csv(demo / "manifest.csv", dtype=str, keep_default_na=False)
    first = frame["lesion_id"].iloc[0]
    frame.loc[(frame["lesion_id"] == first) & (frame["b_value"] == "800"), "b_value"] = ""
    frame.to_csv(demo / "manifest.csv", index=False)
    args = [
        "extract",
        str(demo / "manifest.csv"),
        "--out",
        str(tmp_path / "f.csv"),
        "--params",
        str(light_yaml),
        "-q",
    ]
    lenient = runner.invoke(app, args)
    assert lenient.exit_code == 0, lenient.output
    assert "2 case(s) failed" in lenient.output
    assert "column 'b_value': empty" in lenient.output
    assert list(pd.read_csv(tmp_path / "f.csv")["lesion_id"]) == [frame["lesion_id"].iloc[-1]]
    strict = runner.invoke(app, [*args, "--strict"])
    assert strict.exit_code == 1
