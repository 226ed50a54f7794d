"""The models step on the cross-validation designs: what is evaluated, what is shared, where it runs.

Timings are measured by benchmarks/bench_wide.py; these tests check behaviour only (what each outer fold fits,
how many selector fits a unit makes, identical results at any number of workers and on a Dask cluster).
"""

from __future__ import annotations

import json
import os
import signal
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from her2mri.study import config_from_dict, fitting, modelling, run_study, stages

from .conftest import fast_config


def _cv_config(cohort: Path, **overrides: object) -> dict:
    config = fast_config(
        cohort,
        tasks={"names": ["positive_vs_negative"]},
        design={"kind": "cv", "n_splits": 3, "n_repeats": 2, "inner_splits": 3},
        models=[
            {"name": "lr", "classifier": "lr", "grid": {"C": [0.001, 10.0]},
             "selectors": [{"method": "correlation", "params": {"threshold": 0.9}}]},
            {"name": "svm", "classifier": "svm", "grid": {"estimator__C": [0.1, 1.0]},
             "selectors": [{"method": "correlation", "params": {"threshold": 0.9}}]},
        ],
        statistics={"n_bootstrap": 20, "optimism_resamples": 0},  # no refits outside the models step
        conformal=None,
        survival={"enabled": False},
    )
    config.update(overrides)
    return config


def _run(tmp_path: Path, cohort: Path, name: str, **kwargs: object):
    scheduler = kwargs.pop("scheduler", None)
    return run_study(config_from_dict(_cv_config(cohort, **kwargs)), tmp_path / name, scheduler=scheduler)


def test_cv_design_evaluates_the_tuned_model_it_saves(tmp_path: Path, cohort_csv: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, dict]] = []
    original = modelling.fit_fixed

    def spy(*args: object, **kwargs: object):
        seen.append((kwargs["family"], dict(kwargs["params"])))
        return original(*args, **kwargs)

    monkeypatch.setattr(modelling, "fit_fixed", spy)
    result = _run(tmp_path, cohort_csv, "cv")
    models = result.document["tasks"]["positive_vs_negative"]["models"]
    tuned = {name: entry["hyperparameters"]["tuned"] for name, entry in models.items()}
    assert len(seen) == 2 * 6  # two models x (3 folds x 2 repeats)
    assert {json.dumps(p, sort_keys=True) for f, p in seen if f == "lr"} == {json.dumps(tuned["lr"], sort_keys=True)}
    assert {json.dumps(p, sort_keys=True) for f, p in seen if f == "svm"} == {json.dumps(tuned["svm"], sort_keys=True)}
    cv = models["lr"]["sets"]["cv"]
    spread = cv["per_repeat_auc"]
    assert len(spread["values"]) == 2
    assert spread["min"] <= spread["mean"] <= spread["max"]
    assert spread["sd"] is not None
    slopes = cv["per_repeat_calibration_slope"]
    assert len(slopes["values"]) == 2
    assert slopes["min"] <= slopes["mean"] <= slopes["max"]
    svm_oof = np.asarray(result.predictions.query("model == 'svm' and set == 'train'")["score"])
    assert np.all((svm_oof >= 0) & (svm_oof <= 1))


def test_selection_is_fitted_once_per_fold_for_all_models_and_grid_points(
        tmp_path: Path, cohort_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from her2mri.features.filters import CorrelationFilter

    calls = [0]
    original = CorrelationFilter._select

    def counting(self, *args: object, **kwargs: object):
        calls[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CorrelationFilter, "_select", counting)
    _run(tmp_path, cohort_csv, "count", design={"kind": "split", "inner_splits": 3})
    # one task, two models of two grid points each, sharing selection: 3 inner folds + 1 final fit
    assert calls[0] == 4


def test_cv_results_identical_at_any_worker_count_and_on_a_dask_cluster(tmp_path: Path, cohort_csv: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    one = _run(tmp_path, cohort_csv, "one")
    two = _run(tmp_path, cohort_csv, "two", n_jobs=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        dask = _run(tmp_path, cohort_csv, "dask", scheduler=client)
    columns = ["set", "task", "model", "lesion_id", "score"]
    for other in (two, dask):
        pd.testing.assert_frame_equal(one.predictions[columns], other.predictions[columns])
        for name, entry in one.document["tasks"]["positive_vs_negative"]["models"].items():
            twin = other.document["tasks"]["positive_vs_negative"]["models"][name]
            assert entry["sets"]["cv"]["auc"] == twin["sets"]["cv"]["auc"]
            assert entry["sets"]["cv"]["per_repeat_auc"] == twin["sets"]["cv"]["per_repeat_auc"]
    assert "Dask cluster" in dask.document["steps"]["models"]["status"]


def test_interrupted_run_is_marked_interrupted_not_running(tmp_path: Path, cohort_csv: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def terminated(context: object) -> str:
        os.kill(os.getpid(), signal.SIGTERM)
        return "unreachable"

    monkeypatch.setattr(stages, "step_table1", terminated)
    with pytest.raises(BaseException, match="signal"):
        run_study(config_from_dict(fast_config(cohort_csv)), tmp_path / "killed")
    document = json.loads((tmp_path / "killed" / "results.json").read_text())
    assert document["status"] == "interrupted"
    assert document["failed_step"] == "table1"
    assert document["steps"]["cohort"]["status"] != "interrupted"
    assert signal.getsignal(signal.SIGTERM) is not None

    def keyboard(context: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(stages, "step_table1", keyboard)
    with pytest.raises(KeyboardInterrupt):
        run_study(config_from_dict(fast_config(cohort_csv)), tmp_path / "ctrl_c")
    assert json.loads((tmp_path / "ctrl_c" / "results.json").read_text())["status"] == "interrupted"


def test_pandas_performance_warnings_are_not_study_warnings(tmp_path: Path, cohort_csv: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    original = stages.step_table1

    def noisy(context: object) -> str:
        warnings.warn("DataFrame is highly fragmented", pd.errors.PerformanceWarning, stacklevel=1)
        warnings.warn("a real study warning", UserWarning, stacklevel=1)
        return original(context)

    monkeypatch.setattr(stages, "step_table1", noisy)
    result = run_study(config_from_dict(fast_config(cohort_csv)), tmp_path / "warn")
    text = " ".join(result.document["warnings"])
    assert "a real study warning" in text
    assert "fragmented" not in text


def test_cli_does_not_claim_a_report_it_did_not_write(tmp_path: Path, cohort_csv: Path) -> None:
    import yaml

    from her2mri.cli.main import app

    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(fast_config(cohort_csv)), encoding="utf-8")
    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["study", "run", str(path), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "Results written" in result.output
    assert "report.html" not in result.output
    assert "results.json" in result.output


def test_shared_selection_cache_lives_for_one_unit() -> None:
    assert fitting._cache() is None
    with fitting.shared_selection():
        assert fitting._cache() == {}
    assert fitting._cache() is None


def test_report_flags_calibration_slope_outside_range_and_describes_cv(tmp_path: Path, cohort_csv: Path) -> None:
    from her2mri.report import render_report

    _run(tmp_path, cohort_csv, "flag")
    out = tmp_path / "flag"
    document = json.loads((out / "results.json").read_text())
    models = document["tasks"]["positive_vs_negative"]["models"]
    models["lr"]["sets"]["cv"]["calibration"]["slope"] = 0.47
    models["svm"]["sets"]["cv"]["calibration"]["slope"] = 1.0
    (out / "results.json").write_text(json.dumps(document), encoding="utf-8")
    html = render_report(out).read_text(encoding="utf-8")
    assert html.count("slope outside 0.7–1.3") >= 1, "flag missing"
    assert "overfitted" in html
    assert "refitted in every outer fold" in html
    assert "per-repeat AUCs" in html


def test_nested_cv_units_run_together_with_identical_results(tmp_path: Path, cohort_csv: Path) -> None:
    design = {"kind": "nested_cv", "n_splits": 3, "n_repeats": 1, "inner_splits": 3}
    one = _run(tmp_path, cohort_csv, "nested_one", design=design)
    two = _run(tmp_path, cohort_csv, "nested_two", design=design, n_jobs=2)
    columns = ["set", "task", "model", "lesion_id", "score"]
    pd.testing.assert_frame_equal(one.predictions[columns], two.predictions[columns])


def test_untuned_cv_model_takes_its_training_oof_from_the_outer_folds(tmp_path: Path, cohort_csv: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """An untuned model under ``cv``: no inner cross-validation of the identical model; the first repeat's
    outer-fold scores are its training out-of-fold scores (threshold, model choice)."""
    from her2mri.study.runner import StudyContext

    calls = [0]
    original = fitting._oof

    def spy(*args: object, **kwargs: object):
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(fitting, "_oof", spy)
    config = _cv_config(cohort_csv, models=[{"name": "lr", "classifier": "lr", "tuning": False}])
    context = StudyContext(config=config_from_dict(config), out_dir=None)
    context.document = {"provenance": {}, "cohort": {}, "design": {}, "tasks": {}, "warnings": []}
    for step in ("cohort", "tasks", "design", "models"):
        getattr(stages, f"step_{step}")(context)
    assert calls[0] == 0
    state = context.tasks["positive_vs_negative"]
    plan = context.design
    model = state.models["lr"]
    first = np.asarray(state.folds["lr"]["per_repeat"])[0]
    rows = plan.train[state.mask[plan.train]]
    position = {row: i for i, row in enumerate(plan.train)}
    expected = first[[position[r] for r in rows]]
    np.testing.assert_allclose(model.oof_scores, expected)
    assert np.all(np.isfinite(model.oof_scores))
    assert 0.5 < model.cv_auc <= 1.0
