"""``her2mri validate`` and ``her2mri demo-data``: outputs, messages and exit codes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from her2mri.cli.main import app
from her2mri.cohort import demo_cohort_path

runner = CliRunner()
EXAMPLES = Path(__file__).parents[2] / "examples" / "mappings"
DATA = Path(__file__).parents[1] / "cohort" / "data"


def test_validate_demo_cohort_prints_summary_and_writes_output(tmp_path) -> None:
    out = tmp_path / "validated.parquet"
    result = runner.invoke(app, ["validate", str(demo_cohort_path()), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1020 lesions" in result.output
    assert "IHC score × ISH group" in result.output
    assert "luminal_b_her2_negative" in result.output
    frame = pd.read_parquet(out)
    assert {"her2_category", "molecular_subtype", "ish_group"} <= set(frame.columns)


def test_validate_subtype_variant_and_cutoff_options(tmp_path) -> None:
    out = tmp_path / "v.csv"
    result = runner.invoke(app, ["validate", str(demo_cohort_path()), "--subtype-variant", "st_gallen_2011",
                                 "--ki67-cutoff", "14", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "st_gallen_2011 (Ki-67 cut-off 14%" in result.output


def test_validate_with_mapping_reports_binary_only(tmp_path) -> None:
    result = runner.invoke(app, ["validate", str(DATA / "duke_style.csv"), "--mapping",
                                 str(EXAMPLES / "duke_breast_cancer_mri.yaml")])
    assert result.exit_code == 0, result.output
    assert "binary only" in result.output


def test_validate_bad_cohort_exits_2_with_every_problem(tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("patient_id,her2_ihc,adc_min,tic_type\na,4+,0.001,plateau\nb,1+,0.0012,flat\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "3 problem(s)" in result.output
    assert "row 1: not an accepted value" in result.output
    assert "×10⁻³ mm²/s" in result.output
    assert "'flat'" in result.output
    assert "Traceback" not in result.output


def test_validate_missing_file_exits_2(tmp_path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "none.csv")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_validate_unknown_subtype_variant_exits_2() -> None:
    result = runner.invoke(app, ["validate", str(demo_cohort_path()), "--subtype-variant", "nope"])
    assert result.exit_code == 2
    assert "must be one of" in result.output


def test_demo_data_writes_table(tmp_path) -> None:
    out = tmp_path / "demo.xlsx"
    result = runner.invoke(app, ["demo-data", "--n-center1", "30", "--n-center2", "10", "--seed", "3",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_excel(out)
    assert len(frame) == 40
    assert {"true_p_zero", "true_p_low", "true_p_positive"} <= set(frame.columns)


def _demo_rows(tmp_path, n: int = 30):
    from her2mri.cohort import make_demo_cohort

    return make_demo_cohort(n_center1=n, n_center2=0, seed=3)


def test_validate_infinite_age_names_row_and_column(tmp_path) -> None:
    frame = _demo_rows(tmp_path).astype(object)
    frame.loc[4, "age"] = "inf"
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "Column 'age', row 5: infinite numbers are not accepted" in result.output


def test_validate_reads_txt_like_predict(tmp_path) -> None:
    frame = _demo_rows(tmp_path)
    for separator in (",", ";", "\t"):
        path = tmp_path / "c.txt"
        frame.to_csv(path, index=False, sep=separator)
        result = runner.invoke(app, ["validate", str(path)])
        assert result.exit_code == 0, (separator, result.output)


def test_validate_workbook_with_several_sheets_needs_sheet(tmp_path) -> None:
    import pandas as pd

    frame = _demo_rows(tmp_path)
    book = tmp_path / "c.xlsx"
    with pd.ExcelWriter(book) as writer:
        frame.to_excel(writer, sheet_name="cohort", index=False)
        frame.head(2).to_excel(writer, sheet_name="old", index=False)
    result = runner.invoke(app, ["validate", str(book)])
    assert result.exit_code == 2
    assert "'cohort', 'old'" in result.output
    assert runner.invoke(app, ["validate", str(book), "--sheet", "cohort"]).exit_code == 0


def test_validate_header_only_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "c.csv"
    _demo_rows(tmp_path).iloc[:0].to_csv(path, index=False)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "no data rows" in result.output


def test_validate_out_folder_refused_before_work(tmp_path) -> None:
    path = tmp_path / "c.csv"
    _demo_rows(tmp_path).to_csv(path, index=False)
    result = runner.invoke(app, ["validate", str(path), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "is a folder" in result.output
