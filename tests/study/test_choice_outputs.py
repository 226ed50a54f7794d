"""A study run's model choice, odds ratios, nomogram and three-class call, end to end (one fast run)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2mri.bundle import load_bundle
from her2mri.models.three_class import three_class_call
from her2mri.study import config_from_dict, run_study
from her2mri.study.data import load_study_data

from .conftest import fast_config
from .synthetic import make_cohort


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("choice")
    path = tmp / "cohort.csv"
    make_cohort(n=240, seed=7).to_csv(path, index=False)
    config = config_from_dict(fast_config(path))
    return run_study(config, tmp / "out"), path, load_study_data(config.cohort).frame


def test_results_say_why_the_model_was_chosen(run) -> None:
    result, *_ = run
    for block in result.document["tasks"].values():
        choice = block["model_choice"]
        assert choice["rule"] == "simplest"
        assert choice["chosen"] == block["best_model"]
        assert {c["model"] for c in choice["comparisons"]} == {"lr", "dt"}
        other = next(c for c in choice["comparisons"] if c["model"] != choice["chosen"])
        assert other["p_vs_chosen"] is not None
        assert "margin_vs_chosen" in other
        assert choice["steps"][0]["reference"] == "lr"


def test_odds_ratios_are_never_dropped_and_the_refit_is_labelled_and_evaluated(run) -> None:
    result, *_ = run
    for name, block in result.document["tasks"].items():
        logistic = block["logistic"]
        assert logistic["terms"], name
        assert logistic["source"] == "refit"
        assert logistic["method"] in ("maximum likelihood", "Firth penalised likelihood")
        assert set(logistic["evaluation"]) == {"train", "internal"}
        assert logistic["evaluation"]["train"]["apparent"] is True
    # the synthetic cohort has a sparse mass-shape level in HER2-low vs zero: Firth, with the reason recorded
    low = result.document["tasks"]["low_vs_zero"]["logistic"]
    assert low["method"] == "Firth penalised likelihood"
    assert "sparse" in low["firth_reason"]


def test_nomogram_reproduces_the_evaluated_model(run) -> None:
    result, _, frame = run
    bundle = load_bundle(result.out_dir / "model")
    for name in ("positive_vs_negative", "low_vs_zero"):
        spec = result.document["tasks"][name]["nomogram"]
        assert spec["source"] == "evaluated model"
        assert spec["model"] == result.document["tasks"][name]["best_model"]
        tm = bundle.task_models[name]
        sample = frame[list(tm.input_columns)].dropna().head(25)
        lp = np.full(len(sample), float(spec["intercept"]))
        for term in spec["terms"]:
            values = sample[term["feature"]]
            if term["kind"] == "numeric":
                lp += term["coef"] * values.to_numpy(dtype=float)
            else:
                keys = values.map(lambda v: ("yes" if v == 1 else "no") if isinstance(v, float | int) and not isinstance(
                    v, bool) and v in (0, 1) else str(v))
                lp += keys.map(term["levels"]).fillna(0.0).to_numpy(dtype=float)
        expected = np.asarray(tm.pipeline.decision_function(sample), dtype=float)
        np.testing.assert_allclose(lp, expected, atol=1e-8)


def test_report_predictions_and_predict_share_one_three_class_call(run) -> None:
    result, cohort, _ = run
    three = result.document["three_class"]
    assert three["call_rule"] == "thresholds"
    for block in three["sets"].values():
        assert set(block["recall"]) == {"zero", "low", "positive"}
        assert sum(r["n"] for r in block["recall"].values()) == block["n"]
        assert sum(r["correct"] for r in block["recall"].values()) == np.trace(np.array(block["confusion_matrix"]))
    table = result.predictions
    internal = table[(table["task"] == "three_class") & (table["set"] == "internal")]
    frame = pd.read_csv(cohort).set_index("lesion_id").loc[internal["lesion_id"]].reset_index()
    bundle = load_bundle(result.out_dir / "model")
    predicted = bundle.predict(frame, explain_time_budget_s=0.01)
    assert predicted["call"].tolist() == internal["call"].tolist()
    t = three["thresholds"]
    expected = three_class_call(internal["p_positive"], predicted["p_low_vs_zero"], "positive_first",
                                thresholds=(t["positive_vs_negative"], t["low_vs_zero"]))
    assert expected.tolist() == internal["call"].tolist()


def test_argmax_rule_is_configurable(tmp_path: Path, run) -> None:
    _, cohort, _ = run
    config = fast_config(cohort, tasks={"names": ["positive_vs_negative", "low_vs_zero"],
                                        "three_class": {"hierarchy": "positive_first", "call": "argmax"}})
    config.update({"statistics": {"n_bootstrap": 0}, "conformal": None})
    result = run_study(config_from_dict(config), tmp_path / "out", stop_after="three_class")
    assert result.document["three_class"]["call_rule"] == "argmax"
