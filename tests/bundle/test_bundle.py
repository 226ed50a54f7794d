"""Tests of her2mri.bundle: building, predicting, validating cases, OOD, nomograms, conformal sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from her2mri.bundle import BUNDLE_FORMAT_VERSION, ModelBundle, TaskModel, build_bundle
from her2mri.bundle.ood import check_ood
from her2mri.exceptions import BundleError, CohortError
from her2mri.models.tasks import compose_three_class


def test_build_bundle_records_schema_summary_and_versions(bundle: ModelBundle, factory) -> None:
    assert bundle.hierarchy == "positive_first"
    assert bundle.format_version == BUNDLE_FORMAT_VERSION
    assert set(bundle.schema.names) == set(factory.INPUTS)
    shape = bundle.schema.get("mass_shape")
    assert shape.kind == "categorical"
    assert shape.applies_to == "mass"
    assert "irregular" in shape.values
    adc = bundle.schema.get("adc_min")
    assert adc.unit == "×10⁻³ mm²/s"
    assert adc.plausible is not None
    summary = bundle.training_summary.numeric["ki67_percent"]
    assert summary.min <= summary.p1 <= summary.mean <= summary.p99 <= summary.max
    assert summary.n_missing > 0
    assert "not_applicable" in bundle.training_summary.categorical["mass_shape"]
    assert {"her2mri", "scikit-learn", "numpy"} <= set(bundle.versions)
    assert len(bundle.background) == 60
    assert "research use only" in bundle.card.lower()
    assert "not a medical device" in bundle.card.lower()


def test_bundle_predict_three_class_composes_task_probabilities(bundle: ModelBundle, cases: pd.DataFrame) -> None:
    table = bundle.predict(cases)
    assert len(table) == len(cases)
    assert list(table["lesion_id"]) == list(cases["lesion_id"])
    P = table[["p_zero", "p_low", "p_positive"]].to_numpy()
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    expected = compose_three_class(
        table["p_positive_vs_negative"].to_numpy(), table["p_low_vs_zero"].to_numpy(), "positive_first"
    )
    np.testing.assert_allclose(P, expected)
    for column in ("call", "call_positive_vs_negative", "call_low_vs_zero", "top_contributions_positive_vs_negative",
                   "out_of_distribution", "ood_reasons", "imputed", "prediction_set"):
        assert column in table.columns


def test_bundle_predict_calls_follow_thresholds_in_order(bundle: ModelBundle, cases: pd.DataFrame) -> None:
    table = bundle.predict(cases)
    first = bundle.task_models["positive_vs_negative"]
    second = bundle.task_models["low_vs_zero"]
    for _, row in table.iterrows():
        if row["p_positive_vs_negative"] >= first.threshold:
            assert row["call"] == "positive"
        else:
            assert row["call"] == ("low" if row["p_low_vs_zero"] >= second.threshold else "zero")


def test_bundle_predict_lists_top_contributions_with_signs(bundle: ModelBundle, cases: pd.DataFrame) -> None:
    table = bundle.predict(cases, top_k=2)
    text = table.loc[0, "top_contributions_positive_vs_negative"]
    parts = text.split("; ")
    assert len(parts) == 2
    name, value = parts[0].rsplit(" ", 1)
    assert name in bundle.schema.names
    assert value[0] in "+\u2212"


def test_bundle_predict_gives_conformal_sets(bundle: ModelBundle, cases: pd.DataFrame) -> None:
    table = bundle.predict(cases)
    for value in table["prediction_set"]:
        assert value.startswith("{")
        assert value.endswith("}")


def test_bundle_predict_accepts_spellings_and_fills_structural_emptiness(bundle, cases) -> None:
    raw = cases.astype(object).copy()
    raw.loc[0, "lesion_type"] = "Non-mass enhancement"
    raw.loc[0, ["mass_shape", "mass_margin"]] = ""
    raw.loc[0, "nme_distribution"] = "Segmental"
    raw.loc[1, "peritumoral_edema"] = "YES"
    raw.loc[1, "tic_type"] = "Type III"
    result = bundle.predict_cases(raw)
    assert result.cases.loc[0, "lesion_type"] == "nme"
    assert result.cases.loc[0, "mass_shape"] == "not_applicable"
    assert result.cases.loc[0, "nme_distribution"] == "segmental"
    assert result.cases.loc[1, "peritumoral_edema"] == 1.0
    assert result.cases.loc[1, "tic_type"] == "washout"


def test_bundle_predict_rejects_bad_cases_listing_every_problem(bundle, cases) -> None:
    raw = cases.astype(object).drop(columns=["eer"])
    raw.loc[1, "lesion_type"] = "mass"
    raw.loc[1, "mass_shape"] = "triangular"
    raw.loc[2, "ki67_percent"] = 140
    raw.loc[3, "age"] = "old"
    with pytest.raises(CohortError) as info:
        bundle.predict(raw)
    text = str(info.value)
    assert "'eer'" in text
    assert "required column is missing" in text
    assert "Column 'mass_shape', row 2: unknown value; got 'triangular'; accepted: oval, round, irregular" in text
    assert "row 3" in text
    assert "plausible range" in text
    assert "'old'" in text
    assert len(info.value.issues) == 4


def test_bundle_predict_rejects_mass_descriptor_on_pure_nme(bundle, cases) -> None:
    raw = cases.astype(object).copy()
    raw.loc[0, "lesion_type"] = "nme"
    raw.loc[0, "mass_shape"] = "oval"
    with pytest.raises(CohortError, match="mass descriptor was given for a lesion of type 'nme'"):
        bundle.predict(raw)


def test_bundle_predict_flags_out_of_distribution_inputs(bundle, cases) -> None:
    raw = cases.copy()
    top = bundle.training_summary.numeric["tumor_size_mm"].max
    raw.loc[0, "tumor_size_mm"] = min(top + 20, 249)
    table = bundle.predict(raw)
    assert bool(table.loc[0, "out_of_distribution"])
    assert "tumor_size_mm" in table.loc[0, "ood_reasons"]
    assert not table.loc[1:, "out_of_distribution"].any()


def test_check_ood_reports_unseen_level(bundle) -> None:
    frame = pd.DataFrame({"t2_signal": ["iso", "unheard"]})
    reasons = check_ood(frame, bundle.training_summary)
    assert reasons[0] == []
    assert "not seen in training" in reasons[1][0]


def test_bundle_predict_reports_imputed_inputs(bundle, cases) -> None:
    raw = cases.copy()
    raw.loc[0, "ki67_percent"] = np.nan
    table = bundle.predict(raw)
    assert "ki67_percent" in table.loc[0, "imputed"]


def test_nomogram_probability_matches_logistic_model(bundle, cases) -> None:
    result = bundle.predict_cases(cases)
    lr = result.table["p_positive_vs_negative"].to_numpy()
    for i in range(len(cases)):
        score = result.nomogram[i]["positive_vs_negative"]
        assert score["probability"] == pytest.approx(lr[i], rel=1e-9)
        assert all(-1e-9 <= p <= 100 + 1e-9 for p in score["points"].values())
    term_max = max(
        max(list(t.levels.values()) + list(t.grid_points))
        for t in bundle.nomograms["positive_vs_negative"].terms
    )
    assert term_max == pytest.approx(100.0)
    assert bundle.nomograms["low_vs_zero"].model_name == "lr"


def test_build_bundle_rejects_incomplete_hierarchy(bundle, factory) -> None:
    only = {"positive_vs_negative": bundle.task_models["positive_vs_negative"]}
    with pytest.raises(BundleError, match="needs task models for positive_vs_negative, low_vs_zero"):
        build_bundle(task_models=only, hierarchy="positive_first", training_frame=factory.training_frame(),
                     config={}, metrics={})


def test_single_task_bundle_predicts_positive_probability(bundle, factory, cases) -> None:
    tm = bundle.task_models["positive_vs_negative"]
    single = build_bundle(task_models={tm.task: tm}, hierarchy=None, training_frame=factory.training_frame(),
                          config={}, metrics={}, background_size=20)
    table = single.predict(cases)
    assert table["p_zero"].isna().all()
    np.testing.assert_allclose(table["p_positive"], table["p_positive_vs_negative"])
    assert set(table["call"]) <= {"positive", "negative"}
    assert table["prediction_set"].isna().all()


def test_task_model_meta_is_json_safe(bundle) -> None:
    import json

    tm: TaskModel = bundle.task_models["low_vs_zero"]
    assert json.loads(json.dumps(tm.meta()))["positive_label"] == "low"


def test_bundle_predict_derives_empty_receptor_status_from_percent(bundle, cases) -> None:
    raw = cases.astype(object).drop(columns=["er_status"])
    raw["er_percent"] = [0.0, 80.0, np.nan, 5.0, 0.0]
    result = bundle.predict_cases(raw)
    assert list(result.cases["er_status"].iloc[:2]) == ["negative", "positive"]
    assert pd.isna(result.cases["er_status"].iloc[2])
    given = cases.astype(object).copy()
    given["er_percent"] = 0.0
    given.loc[0, "er_status"] = "positive"
    assert bundle.predict_cases(given).cases.loc[0, "er_status"] == "positive"
