"""The report contract: a study that turns every section on renders with no section error, every section in the
table of contents has content or states why not, and a section that fails is a visible error and a non-zero step
status (the study's report step fails and ``her2mri report`` exits non-zero)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from her2mri.cohort.demo import make_demo_cohort
from her2mri.readers.simulate import simulate_reads
from her2mri.report.blocks import load_study
from her2mri.report.html import build_sections
from her2mri.study import config_from_dict, run_study
from tests.report.conftest import check_html


@pytest.fixture(scope="module")
def full_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("contract")
    cohort = make_demo_cohort(n_center1=300, n_center2=140, seed=11)
    cohort.to_csv(folder / "cohort.csv", index=False)
    external = cohort[cohort["center"] == "center2"].reset_index(drop=True)
    positive = ((external["her2_ihc"].astype(str) == "3+")
                | (external["her2_ish"].astype(str).str.lower() == "positive")).astype(float).to_numpy()
    reads = simulate_reads(external, positive, n_readers=3, seed=5)
    reads.to_csv(folder / "reads.csv", index=False)
    config = config_from_dict({
        "schema_version": 1, "name": "every section", "seed": 5,
        "cohort": {"path": str(folder / "cohort.csv")},
        "tasks": {"names": ["positive_vs_negative", "low_vs_zero"], "three_class": {"hierarchy": "positive_first"}},
        "design": {"kind": "external", "external_centers": ["center2"], "internal_test_size": 0.3, "inner_splits": 3},
        "models": [
            {"name": "lr", "classifier": "lr", "tuning": False,
             "selectors": [{"method": "univariate", "params": {"alpha": 0.1}}]},
            {"name": "rf", "classifier": "rf", "tuning": False},
        ],
        "preprocessing": {"harmonize": {"by": "center"}},
        "statistics": {"n_bootstrap": 20, "optimism_resamples": 5},
        "interpretability": {"shap": True, "time_budget_s": 5, "max_background": 20},
        "survival": {"enabled": True},
        "subgroups": {"columns": ["lesion_type", "center"]},
        "conformal": {"alpha": 0.1},
        "reader_study": {"reads": str(folder / "reads.csv"), "task": "positive_vs_negative"},
    })
    result = run_study(config, folder / "study")
    assert result.status == "complete"
    return folder / "study"


@pytest.fixture(scope="module")
def sections(full_study: Path) -> list:
    return build_sections(load_study(full_study))


def test_every_section_renders_without_error(full_study: Path, sections: list) -> None:
    errors = [(s.title, s.error) for s in sections if s.error]
    assert errors == []
    html = (full_study / "report.html").read_text(encoding="utf-8")
    assert check_html(html).problems == []
    assert 'class="section-error"' not in html


def test_every_listed_section_has_content_or_says_why_not(sections: list) -> None:
    for section in sections:
        assert section.blocks or section.missing, f"section {section.id!r} is empty and does not say why"
    shown = {s.id for s in sections if s.blocks}
    assert {"table1", "metrics", "calibration", "decision-curves", "survival", "three-class", "subgroups",
            "conformal", "reader-study", "harmonisation"} <= shown


def test_full_study_shows_each_computed_statistic(full_study: Path) -> None:
    html = (full_study / "report.html").read_text(encoding="utf-8")
    for name in ("auc-bootstrap-positive_vs_negative", "table1-three-internal", "table1-by-set", "hosmer-lemeshow",
                 "optimism", "dca-band-positive_vs_negative-internal", "impact-positive_vs_negative-internal",
                 "reader-table", "reader-comparisons", "reader-kappa", "combat-comparison",
                 "subgroup-tests-positive_vs_negative", "survival-positive_vs_negative"):
        assert name in html, name
    results = json.loads((full_study / "results.json").read_text(encoding="utf-8"))
    external = results["tasks"]["positive_vs_negative"]["survival"]["sets"]["external:center2"]
    if "cox" in external:  # the HR compares the two score groups of the log-rank test
        assert external["cox"]["covariate"].startswith("high vs low")
        assert external["cox"]["hazard_ratio"] < 50


def test_failed_section_is_visible_and_a_nonzero_status(full_study: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from her2mri.cli.main import app

    study = tmp_path / "study"
    shutil.copytree(full_study, study)
    path = study / "results.json"
    results = json.loads(path.read_text(encoding="utf-8"))
    results["reader_study"]["per_reader"] = [{"reader_id": "R1", "auc": "not a number", "n": object.__name__}]
    results["reader_study"]["comparisons"] = "broken"
    results["three_class"]["sets"] = {"internal": {"confusion_matrix": [[1, 2], [3]]}}
    path.write_text(json.dumps(results), encoding="utf-8")
    outcome = CliRunner().invoke(app, ["report", str(study)])
    assert outcome.exit_code != 0
    assert "Three-class results" in outcome.output
    html = (study / "report.html").read_text(encoding="utf-8")  # written all the same, with the error shown
    assert 'class="section-error"' in html
    assert "(error)" in html  # flagged in the table of contents too
    assert check_html(html).problems == []
