"""The report on a real study directory written by the study engine (tiny two-centre demo cohort)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from her2mri.report import render_report

from .conftest import check_html

COMPUTED = ["summary", "cohort-flow", "table1", "roc", "metrics", "delong", "calibration", "decision-curves", "shap",
            "survival", "three-class", "subgroups", "conformal", "methods", "tripod", "provenance", "warnings"]


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from her2mri.cohort.demo import make_demo_cohort
    from her2mri.study import config_from_dict, run_study

    root = tmp_path_factory.mktemp("real-study")
    cohort = root / "cohort.csv"
    make_demo_cohort(n_center1=220, n_center2=90, seed=5).to_csv(cohort, index=False)
    config = {
        "schema_version": 1, "name": "tiny two-centre study", "seed": 11, "cohort": {"path": str(cohort)},
        "tasks": {"names": ["positive_vs_negative", "low_vs_zero"], "three_class": {"hierarchy": "positive_first"}},
        "design": {"kind": "external", "external_centers": ["center2"], "internal_test_size": 0.3, "inner_splits": 3},
        "models": [{"name": "lr", "classifier": "lr", "grid": {"C": [0.1, 1.0]}},
                   {"name": "dt", "classifier": "dt", "tuning": False}],
        "statistics": {"n_bootstrap": 20},
        "interpretability": {"shap": True},
        "report": {"enabled": False},
    }
    out = root / "out"
    try:
        run_study(config_from_dict(config), out)
    except Exception:  # noqa: BLE001 - a failed run still leaves results.json, which the report must render
        if not (out / "results.json").is_file():
            raise
    return out


@pytest.fixture(scope="module")
def rendered(study_dir: Path) -> str:
    return render_report(study_dir, out=study_dir / "again.html").read_text(encoding="utf-8")


def test_report_on_study_output_is_well_formed(rendered: str) -> None:
    found = check_html(rendered)
    assert found.problems == []
    assert all(src.startswith("data:image/") for src in found.images)


def test_report_on_study_output_fills_every_computed_section(study_dir: Path, rendered: str) -> None:
    document = json.loads((study_dir / "results.json").read_text(encoding="utf-8"))
    if document.get("status") != "complete":
        pytest.fail(f"study engine did not complete: {document.get('failed_step')}: {document.get('error')}")
    found = check_html(rendered)
    assert set(COMPUTED) <= set(found.ids)
    for task in ("positive_vs_negative", "low_vs_zero"):
        assert f"roc-{task}-external:center2" in found.figures
        assert f"metrics-{task}" in found.tables
        assert f"table1-{task}" in found.tables
        assert f"shap-beeswarm-{task}" in found.figures
    assert any(name.startswith("km-") for name in found.figures)
    assert "confusion-external:center2" in found.figures
    for sid in COMPUTED:
        start = rendered.index(f'id="{sid}"')
        end = rendered.find("</section>", start)
        assert "Not computed in this run" not in rendered[start:end], sid


def test_study_explains_every_evaluation_lesion_of_every_model(study_dir: Path, rendered: str) -> None:
    import re

    import pandas as pd

    document = json.loads((study_dir / "results.json").read_text(encoding="utf-8"))
    if document.get("status") != "complete":
        pytest.fail(f"study engine did not complete: {document.get('failed_step')}: {document.get('error')}")
    for block in document["tasks"].values():
        shap = block["shap"]
        assert shap["is_complete"]
        assert shap["n_explained"] == shap["n_requested"] > 0
        assert set(shap["models"]) == {"lr", "dt"}
        for model, summary in shap["models"].items():
            frame = pd.read_csv(study_dir / summary["file"])
            assert len(frame) == summary["n_requested"] == shap["n_requested"], model
            assert set(frame["set"]) == set(shap["sets"])
    captions = re.findall(r"(\w+): contributions for lesion (\S+) \((highest|lowest|median) output\)", rendered)
    lesions_per_task: dict[str, set[str]] = {}
    for task_label, lesion, _tag in dict.fromkeys(captions):  # a caption may appear twice (alt text)
        lesions_per_task.setdefault(task_label, set()).add(lesion)
    assert len(lesions_per_task) == 2
    assert all(len(lesions) == 3 for lesions in lesions_per_task.values())  # highest, lowest, median: distinct
    assert "Coverage: all" in rendered
