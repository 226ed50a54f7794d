"""Every example configuration runs on the demo cohort and its paper's outputs appear in results and report.

Settings are reduced to keep the suite quick: a demo cohort of 540 lesions generated like the shipped one (with
its imaging and ICC tables), 20 bootstrap resamples (optimism: 5, seed 004 only), no SHAP, 3 inner folds, 3 outer folds, no tuning, and the
default model list cut to two; ``benchmarks/bench_examples.py`` times the examples with their full settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from her2mri.cohort.demo import make_demo_cohort, make_demo_imaging
from her2mri.study import config_from_dict, run_study
from her2mri.study.config import read_yaml
from tests.report.conftest import check_html

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CORE_SECTIONS = ("summary", "cohort-flow", "table1", "roc", "metrics", "calibration", "decision-curves", "methods",
                 "tripod", "provenance")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("demo")
    cohort = make_demo_cohort(n_center1=380, n_center2=160, seed=7)
    imaging, icc = make_demo_imaging(cohort, seed=7)
    paths = {"cohort": folder / "demo_cohort.csv", "imaging": folder / "demo_imaging.csv", "icc": folder / "demo_icc.csv"}
    cohort.to_csv(paths["cohort"], index=False)
    imaging.to_csv(paths["imaging"], index=False)
    icc.to_csv(paths["icc"], index=False)
    return paths


def _reduced(path: Path, demo: dict[str, Path]) -> dict[str, Any]:
    data = read_yaml(path.read_text(encoding="utf-8"))
    data["cohort"]["path"] = str(demo["cohort"])
    if "features" in data["cohort"]:
        data["cohort"]["features"]["path"] = str(demo["imaging"])
    data["statistics"] = {**data.get("statistics", {}), "n_bootstrap": 20,
                          "optimism_resamples": 5 if path.stem.startswith("seed004") else 0}
    data["interpretability"] = {"shap": False}
    data["report"] = {"enabled": True}
    data["n_jobs"] = 1
    design = data.setdefault("design", {})
    design["inner_splits"] = 3
    if design.get("kind") in ("cv", "nested_cv"):
        design["n_splits"] = 3
    models = data.get("models") or [m.model_dump() for m in config_from_dict(data, base=EXAMPLES).models][::5]
    for model in models:
        for step in model.get("selectors") or []:
            if step["method"] == "reliability":
                step["params"] = {**step["params"], "icc": str(demo["icc"])}
    data["models"] = [{**model, "tuning": False} for model in models]
    return data


def _run(path: Path, tmp_path: Path, demo: dict[str, Path]) -> tuple[dict[str, Any], str]:
    result = run_study(config_from_dict(_reduced(path, demo), source=path.name, base=EXAMPLES), tmp_path / "out")
    assert result.status == "complete"
    document = result.document
    for block in document["tasks"].values():
        assert block["best_model"] in block["models"]
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    report = check_html(html)
    assert report.problems == []
    for section in CORE_SECTIONS:
        assert section in report.ids, f"{path.stem}: section {section!r} missing from the report"
    assert 'class="section-error"' not in html
    return document, html


def _aucs(document: dict[str, Any], task: str, set_name: str) -> dict[str, float]:
    return {name: model["sets"][set_name]["auc"]["estimate"]
            for name, model in document["tasks"][task]["models"].items()}


@pytest.mark.slow
def test_minimal_example(tmp_path: Path, demo: dict[str, Path]) -> None:
    document, html = _run(EXAMPLES / "minimal.yaml", tmp_path, demo)
    assert "not configured: add tasks.three_class" in html
    assert "binary-only cohort?" not in html


@pytest.mark.slow
def test_seed000_example_zero_first_machine_learning(tmp_path: Path, demo: dict[str, Path]) -> None:
    document, html = _run(EXAMPLES / "seed000_birads_ml.yaml", tmp_path, demo)
    assert set(document["tasks"]) == {"zero_vs_nonzero", "low_vs_positive"}
    assert set(document["tasks"]["zero_vs_nonzero"]["models"]) == {"dt", "svm", "knn", "ann"}
    assert document["three_class"]["hierarchy"] == "zero_first"
    assert "three-class-table" in html


@pytest.mark.slow
def test_seed001_example_builds_the_papers_model_families(tmp_path: Path, demo: dict[str, Path]) -> None:
    document, html = _run(EXAMPLES / "seed001_ihc2_fish_radiomics.yaml", tmp_path, demo)
    task = document["tasks"]["fish_ihc2"]
    assert set(task["models"]) == {"t2_radiomics", "dwi_radiomics", "dce_early_radiomics", "dce_late_radiomics",
                                   "mpmri_radiomics", "clinical_imaging", "combined"}
    columns = document["feature_columns"]
    assert len(columns["t2_radiomics"]) == 8
    assert all(c.startswith("t2__") for c in columns["t2_radiomics"])
    assert len(columns["mpmri_radiomics"]) == 32
    # the two-reader ICC filter (ICC > 0.75) ran inside the pipeline: no unreliable feature is selected
    icc = document["config"]["models"][0]["selectors"][0]["params"]["icc"]
    unreliable = {name for name, value in icc.items() if value <= 0.75}
    assert unreliable
    for name, model in task["models"].items():
        chosen = {f["name"].split("__", 1)[-1] if f["name"].count("__") > 1 else f["name"]
                  for f in model["selected_features"]}
        assert not {c for c in chosen if c in unreliable}, name
    aucs = _aucs(document, "fish_ihc2", "cv")
    assert aucs["mpmri_radiomics"] > aucs["t2_radiomics"]  # combining sequences beats the weakest sequence
    assert len(task["delong"]["cv"]["models"]) == 7
    assert "delong-fish_ihc2-cv" in html


@pytest.mark.slow
def test_seed002_example_builds_dki_models_and_lesion_type_subgroups(tmp_path: Path, demo: dict[str, Path]) -> None:
    document, html = _run(EXAMPLES / "seed002_dki_low_vs_zero.yaml", tmp_path, demo)
    for task in ("low_vs_zero", "low_vs_positive"):
        models = document["tasks"][task]["models"]
        assert {"combined_adc", "combined_d", "combined_k", "combined_all", "qualitative_mri"} <= set(models)
        levels = {row["level"] for row in document["tasks"][task]["subgroups"]["rows"]}
        assert {"mass", "nme"} <= levels
    columns = document["feature_columns"]
    assert set(columns["combined_k"]) == {"k_app_mean", "k_app_median", "k_app_p5", "k_app_p95", "k_app_entropy"}
    assert document["tasks"]["low_vs_zero"]["logistic"] is not None  # odds-ratio table of the LR model
    assert "subgroups-low_vs_zero" in html
    assert document["table1_three_group"]  # zero / low / positive side by side


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["nme", "mass"])
def test_seed002_subgroup_examples_fit_within_lesion_type(tmp_path: Path, demo: dict[str, Path], kind: str) -> None:
    data = _reduced(EXAMPLES / f"seed002_dki_{kind}.yaml", demo)
    data["tasks"] = ["low_vs_positive"]
    data["models"] = [m for m in data["models"] if m["name"] in ("combined_k", "combined_all")]
    result = run_study(config_from_dict(data, base=EXAMPLES), tmp_path / "out")
    assert result.status == "complete"
    flow = result.document["cohort"]["flow"]
    excluded = next(step for step in flow if step["step"] == "lesion types excluded")
    assert excluded["excluded"] > 0


@pytest.mark.slow
def test_seed003_example_survival_hazard_ratio_is_between_score_groups(tmp_path: Path, demo: dict[str, Path]) -> None:
    document, html = _run(EXAMPLES / "seed003_rf_shap_external.yaml", tmp_path, demo)
    survival = document["tasks"]["positive_vs_negative"]["survival"]
    external = survival["sets"]["external:center2"]
    assert external["cox"]["covariate"].startswith("high vs low")
    assert external["cox"]["hazard_ratio"] < 20  # a group HR, not the per-unit HR of a 0–1 score
    assert "survival-positive_vs_negative" in html
    # every lesion of the external set is from one centre: stated, not silently empty
    notes = " ".join(document["tasks"]["positive_vs_negative"]["subgroups"]["notes"])
    assert "same center" in notes
    rf = document["tasks"]["positive_vs_negative"]["models"]["rf"]["hyperparameters"]["estimator"]
    assert "n_estimators" in rf  # the fitted forest's parameters, not its base tree's


@pytest.mark.slow
def test_seed004_example_two_centre_nomogram(tmp_path: Path, demo: dict[str, Path]) -> None:
    document, html = _run(EXAMPLES / "seed004_two_centre_nomogram.yaml", tmp_path, demo)
    assert set(document["table1_by_set"]["sets"]) == {"train", "internal", "external:center2"}
    assert "table1-by-set" in html
    assert document["tasks"]["positive_vs_negative"]["nomogram"]
    assert document["conformal"]["sets"]
    extra = document["tasks"]["positive_vs_negative"]["chosen_model_statistics"]
    assert extra["sets"]["internal"]["hosmer_lemeshow"]["df"] > 0
    assert len(extra["sets"]["internal"]["decision_curve"]["band_low"]) == len(
        extra["sets"]["internal"]["decision_curve"]["thresholds"])
    for name in ("hosmer-lemeshow", "optimism", "auc-bootstrap-positive_vs_negative"):
        assert name in html
