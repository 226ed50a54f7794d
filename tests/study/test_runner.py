"""Study runner on a small synthetic cohort: every design, predictions, grouping, reproducibility, failures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2mri.exceptions import TaskError
from her2mri.study import StudyStepError, config_from_dict, run_study, stages, strip_volatile
from tests.study.synthetic import make_cohort

from .conftest import fast_config


def _run(tmp_path: Path, cohort: Path, name: str = "out", **overrides: object):
    config = config_from_dict(fast_config(cohort, **overrides))
    return run_study(config, tmp_path / name)


def _check_predictions(result, out: Path) -> None:
    predictions = pd.read_csv(out / "predictions.csv", dtype={"lesion_id": str, "patient_id": str})
    document = json.loads((out / "results.json").read_text())
    for set_name, info in document["cohort"]["sets"].items():
        for task in document["tasks"]:
            for model in document["tasks"][task]["models"]:
                rows = predictions[(predictions["set"] == set_name) & (predictions["task"] == task)
                                   & (predictions["model"] == model)]
                assert len(rows) == info["n_lesions"]
                assert rows["lesion_id"].is_unique
                assert rows["score"].between(0, 1).all()


def test_run_study_split_writes_outputs_and_no_patient_overlap(tmp_path: Path, cohort_csv: Path) -> None:
    result = _run(tmp_path, cohort_csv)
    out = tmp_path / "out"
    assert result.status == "complete"
    for name in ("results.json", "predictions.csv", "run.log"):
        assert (out / name).is_file()
    assert (out / "model").is_dir()
    document = result.document
    assert document["design"]["sets"] == ["train", "internal"]
    predictions = result.predictions
    train = set(predictions.loc[predictions["set"] == "train", "patient_id"])
    internal = set(predictions.loc[predictions["set"] == "internal", "patient_id"])
    assert not train & internal
    _check_predictions(result, out)
    block = document["tasks"]["positive_vs_negative"]
    model = block["models"]["lr"]
    assert model["threshold_rule"] == "youden_on_training"
    internal_metrics = model["sets"]["internal"]
    for key in ("auc", "auc_bootstrap", "sensitivity", "specificity", "accuracy", "ppv", "npv"):
        assert internal_metrics[key]["ci_low"] <= internal_metrics[key]["estimate"] <= internal_metrics[key]["ci_high"]
    assert "optimal_dca_threshold" in internal_metrics
    assert block["delong"]["internal"]["models"] == ["lr", "dt"]
    assert set(block["true_posterior_auc"]) == {"train", "internal"}
    three = document["three_class"]["sets"]["internal"]
    assert np.asarray(three["confusion_matrix"]).sum() == three["n"]
    probabilities = predictions.loc[predictions["task"] == "three_class", ["p_zero", "p_low", "p_positive"]]
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert document["conformal"]["sets"]["internal"]["coverage"] is not None


def test_run_study_external_several_centres_each_evaluated(tmp_path: Path, cohort_csv: Path) -> None:
    design = {"kind": "external", "external_centers": ["center2", "center3"], "internal_test_size": 0.3,
              "inner_splits": 3}
    result = _run(tmp_path, cohort_csv, design=design)
    sets = result.document["design"]["sets"]
    assert sets == ["train", "internal", "external:center2", "external:center3"]
    metrics = result.document["tasks"]["positive_vs_negative"]["models"]["lr"]["sets"]
    assert metrics["external:center2"]["n"] != metrics["external:center3"]["n"]
    assert "auc" in metrics["external:center3"]
    centers = result.predictions.groupby("set")["center"].unique()
    assert list(centers["external:center3"]) == ["center3"]
    assert "center1" in set(centers["train"])
    assert "center3" not in set(centers["train"])
    assert result.document["drift"]["sets"].keys() == {"external:center2", "external:center3"}
    _check_predictions(result, tmp_path / "out")


@pytest.mark.parametrize("kind", ["cv", "nested_cv"])
def test_run_study_cross_validation_designs(tmp_path: Path, cohort_csv: Path, kind: str) -> None:
    design = {"kind": kind, "n_splits": 3, "n_repeats": 1, "inner_splits": 3}
    result = _run(tmp_path, cohort_csv, design=design,
                  tasks=["positive_vs_negative"], models=[{"name": "lr", "classifier": "lr", "grid": {"C": [0.1, 1]}}])
    cv = result.predictions[result.predictions["set"] == "cv"]
    assert len(cv) == 240
    assert cv["fold"].notna().all()
    assert result.document["tasks"]["positive_vs_negative"]["models"]["lr"]["sets"]["cv"]["auc"]["estimate"] > 0.5


def test_run_study_split_column_design(tmp_path: Path) -> None:
    frame = make_cohort(n=200, seed=3)
    frame["split"] = np.where(np.arange(200) % 4 == 0, "test", "train")
    path = tmp_path / "cohort.csv"
    frame.to_csv(path, index=False)
    result = _run(tmp_path, path, design={"kind": "column", "column": "split", "inner_splits": 3},
                  tasks=["positive_vs_negative"])
    assert result.document["cohort"]["sets"]["test"]["n_lesions"] == 50
    assert set(result.predictions["set"]) == {"train", "test"}


def test_run_study_same_seed_identical_results(tmp_path: Path, cohort_csv: Path) -> None:
    first = _run(tmp_path, cohort_csv, name="a", tasks=["positive_vs_negative", "low_vs_zero"])
    second = _run(tmp_path, cohort_csv, name="b", tasks=["positive_vs_negative", "low_vs_zero"])
    assert strip_volatile(first.document) == strip_volatile(second.document)
    a = (tmp_path / "a" / "predictions.csv").read_text()
    assert a == (tmp_path / "b" / "predictions.csv").read_text()
    bundle_a, bundle_b = tmp_path / "a" / "model", tmp_path / "b" / "model"
    names = sorted(p.relative_to(bundle_a).as_posix() for p in bundle_a.rglob("*") if p.is_file())
    assert names
    assert names == sorted(p.relative_to(bundle_b).as_posix() for p in bundle_b.rglob("*") if p.is_file())
    for name in names:  # byte-identical bundle files: no wall-clock value, no memory address
        assert (bundle_a / name).read_bytes() == (bundle_b / name).read_bytes(), name


def test_run_study_failure_keeps_finished_steps(tmp_path: Path, cohort_csv: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(context: object) -> str:
        message = "survival data corrupted"
        raise RuntimeError(message)

    monkeypatch.setattr(stages, "step_survival", broken)
    with pytest.raises(StudyStepError, match="step 'survival' failed") as info:
        _run(tmp_path, cohort_csv, tasks=["positive_vs_negative"])
    assert info.value.step == "survival"
    assert isinstance(info.value.__cause__, RuntimeError)
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    assert document["status"] == "failed"
    assert document["failed_step"] == "survival"
    assert document["steps"]["evaluation"]["status"] != "failed"
    assert document["tasks"]["positive_vs_negative"]["models"]["lr"]["sets"]["internal"]["auc"]["estimate"] > 0
    assert "survival" in (tmp_path / "out" / "run.log").read_text()


def test_run_study_binary_only_cohort_refuses_low_vs_zero(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    make_cohort(n=120, seed=5, binary_only=True).to_csv(path, index=False)
    config = config_from_dict(fast_config(path, tasks=["positive_vs_negative", "low_vs_zero"]))
    with pytest.raises(TaskError, match="low_vs_zero.*binary-only"):
        run_study(config, tmp_path / "out")
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    assert document["failed_step"] == "tasks"


def test_run_study_binary_only_cohort_runs_positive_vs_negative(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    make_cohort(n=160, seed=5, binary_only=True).to_csv(path, index=False)
    result = _run(tmp_path, path, tasks=["positive_vs_negative"])
    assert result.document["tasks"]["positive_vs_negative"]["counts"]["internal"]["negative"] > 0
    assert result.document["three_class"] is None


def test_run_study_harmonisation_reports_with_and_without(tmp_path: Path, cohort_csv: Path) -> None:
    design = {"kind": "external", "external_centers": ["center2"], "internal_test_size": None, "inner_splits": 3}
    result = _run(tmp_path, cohort_csv, design=design, tasks=["positive_vs_negative"],
                  models=[{"name": "lr", "classifier": "lr", "tuning": False}],
                  preprocessing={"harmonize": {"by": "center", "use_unlabelled_external": True}})
    block = result.document["harmonisation"]["tasks"]["positive_vs_negative"]["sets"]["external:center2"]
    assert {"with_combat", "without_combat", "delong_pvalue"} <= set(block)


def test_run_study_parallel_jobs_same_results_as_sequential(tmp_path: Path, cohort_csv: Path) -> None:
    sequential = _run(tmp_path, cohort_csv, name="one", n_jobs=1)
    parallel = _run(tmp_path, cohort_csv, name="two", n_jobs=2)
    assert strip_volatile(sequential.document)["tasks"] == strip_volatile(parallel.document)["tasks"]
    a = (tmp_path / "one" / "predictions.csv").read_text()
    assert a == (tmp_path / "two" / "predictions.csv").read_text()
