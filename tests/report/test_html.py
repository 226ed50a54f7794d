"""The HTML report: every section and figure present, well-formed, self-contained; absent data never crashes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from her2mri.report import render_report
from her2mri.report.blocks import ReportSectionError
from her2mri.report.html import SECTION_ORDER

from .conftest import check_html

SECTION_IDS = [
    "summary", "cohort-flow", "table1", "roc", "metrics", "delong", "calibration", "decision-curves", "shap",
    "nomogram", "odds-ratios", "survival", "three-class", "subgroups", "conformal", "reader-study", "harmonisation",
    "methods", "tripod", "provenance", "warnings",
]
TASKS = ("positive_vs_negative", "low_vs_zero")
SETS = ("train", "internal", "external:center2")


def _expected_figures() -> list[str]:
    names = ["flow", "km-positive_vs_negative", "harmonisation", *[f"confusion-{s}" for s in SETS]]
    for task in TASKS:
        names += [f"{kind}-{task}-{s}" for kind in ("roc", "delong", "calibration", "dca") for s in SETS]
        names += [f"shap-beeswarm-{task}", f"shap-bar-{task}", f"nomogram-{task}", f"forest-{task}"]
        names += [f"shap-waterfall-{task}-{tag}" for tag in ("highest", "lowest", "median")]
    return names


def test_render_report_fixture_has_every_section(fixture_report: tuple[Path, str]) -> None:
    path, html = fixture_report
    assert path.name == "report.html"
    found = check_html(html)
    for sid in SECTION_IDS:
        assert sid in found.ids, sid
    assert "Not computed in this run" not in html


def test_render_report_fixture_has_every_figure_and_table(fixture_report: tuple[Path, str]) -> None:
    found = check_html(fixture_report[1])
    missing = sorted(set(_expected_figures()) - set(found.figures))
    assert not missing
    for table in ("metrics-positive_vs_negative", "metrics-low_vs_zero", "odds-ratios-low_vs_zero", "tripod-table",
                  "subgroups-positive_vs_negative", "conformal-table", "reader-table", "three-class-table",
                  "table1-low_vs_zero", "flow-table", "drift-table"):
        assert table in found.tables, table


def test_render_report_fixture_structure_is_strict(fixture_report: tuple[Path, str]) -> None:
    found = check_html(fixture_report[1])
    assert found.problems == []
    assert found.images, "no images"
    assert all(src.startswith("data:image/") for src in found.images)


def test_render_report_metrics_use_journal_formats(fixture_report: tuple[Path, str]) -> None:
    html = fixture_report[1]
    assert "Table 3. Performance of the models" in html
    assert "Table 4. Performance of the models" in html
    assert "AUC (bootstrap 95% CI)" in html
    assert "(0." in html  # CI "0.81 (0.76–0.86)"
    assert "–0." in html
    assert "<0.001" not in html  # escaped in HTML
    assert "&lt;0.001" in html
    assert "nan" not in check_html(html).text


def test_render_report_table1_reads_class_keyed_columns(fixture_report: tuple[Path, str]) -> None:
    html = fixture_report[1]
    start = html.index('data-table="table1-low_vs_zero"')
    body = html[start:html.index("</table>", start)]
    assert "Positive (n = " in body
    assert body.count("(") > 40  # "n (%)" and "median (IQR)" cells are filled, not em dashes


def test_render_report_minimal_results_omits_sections_with_reason(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(json.dumps({"schema_version": 1}), encoding="utf-8")
    path = render_report(tmp_path, out=tmp_path / "out" / "r.html")
    html = path.read_text(encoding="utf-8")
    found = check_html(html)
    assert found.problems == []
    for sid in SECTION_IDS:
        assert sid in found.ids
    assert html.count("Not computed in this run") >= 12


def test_render_report_malformed_section_data_does_not_crash(tmp_path: Path, fixture_study: Path) -> None:
    study = tmp_path / "study"
    shutil.copytree(fixture_study, study)
    results = json.loads((study / "results.json").read_text(encoding="utf-8"))
    task = results["tasks"]["positive_vs_negative"]
    task["nomogram"] = {"intercept": 0.0, "terms": [{"feature": "x", "kind": "spline"}]}
    task["delong"] = {"internal": {"models": ["lr", "svm"], "pvalues": "broken"}}
    task["models"]["lr"]["sets"]["internal"]["roc_curve"] = {"fpr": [0, None], "tpr": "x"}
    results["three_class"] = {"sets": {"internal": {"confusion_matrix": [[1, 2], [3]]}}}
    results["cohort"]["flow"] = "not a list"
    results["schema_version"] = 2
    (study / "results.json").write_text(json.dumps(results), encoding="utf-8")
    (study / "predictions.csv").unlink()
    for shap_file in study.glob("shap_*.csv"):
        shap_file.unlink()
    with pytest.raises(ReportSectionError) as caught:
        render_report(study)
    assert {"Nomogram", "Three-class results"} <= {title for title, _ in caught.value.failed}
    html = caught.value.path.read_text(encoding="utf-8")
    found = check_html(html)
    assert found.problems == []
    assert set(SECTION_IDS) <= set(found.ids)
    assert "schema_version 2" in html
    assert html.count('class="section-error"') >= 2  # each failed section shows its error where it would be
    assert "spline" in html


def test_render_report_failed_run_shows_status(tmp_path: Path) -> None:
    document = {"schema_version": 1, "status": "failed", "failed_step": "cohort",
                "error": "FileNotFoundError: cohort.csv does not exist.", "config": {"name": "broken study"}}
    (tmp_path / "results.json").write_text(json.dumps(document), encoding="utf-8")
    html = render_report(tmp_path).read_text(encoding="utf-8")
    assert "failed at step" in html
    assert "cohort.csv does not exist" in html
    assert check_html(html).problems == []


def test_render_report_missing_directory_raises_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="results.json not found"):
        render_report(tmp_path / "nowhere")


def test_section_order_ids_are_unique() -> None:
    ids = [sid for sid, _, _ in SECTION_ORDER]
    assert len(ids) == len(set(ids))
