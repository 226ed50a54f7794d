"""Imaging part of the demo study: stratified lesions, phantom mpMRI, features, reader ICC table, summary.json."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from her2mri.exceptions import ImagingError
from her2mri.imaging import run_imaging_demo, select_demo_lesions
from her2mri.imaging.demo_study import class_order_check


@pytest.fixture(scope="module")
def cohort_frame() -> pd.DataFrame:
    classes = ["zero"] * 10 + ["low"] * 30 + ["positive"] * 12 + [None] * 3
    return pd.DataFrame(
        {
            "patient_id": [f"P{i:03d}" for i in range(len(classes))],
            "lesion_id": [f"P{i:03d}-L1" for i in range(len(classes))],
            "her2_category": classes,
        }
    )


@pytest.fixture(scope="module")
def demo(cohort_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("imaging-demo")
    return run_imaging_demo(cohort_frame, out, n_cases=6, workers=2, seed=11)


def test_select_demo_lesions_balanced_classes_same_seed_same_lesions(cohort_frame: pd.DataFrame) -> None:
    first = select_demo_lesions(cohort_frame, 7, seed=3)
    again = select_demo_lesions(cohort_frame, 7, seed=3)
    other = select_demo_lesions(cohort_frame, 7, seed=4)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    assert first["her2_category"].value_counts().to_dict() == {"zero": 3, "low": 2, "positive": 2}
    assert first["lesion_id"].is_unique


def test_select_demo_lesions_small_class_exhausted_rest_goes_to_others() -> None:
    frame = pd.DataFrame(
        {"patient_id": list("abcdefgh"), "her2_category": ["zero"] + ["low"] * 4 + ["positive"] * 3}
    )
    chosen = select_demo_lesions(frame, 7, seed=0)
    assert chosen["her2_category"].value_counts().to_dict() == {"zero": 1, "low": 3, "positive": 3}
    assert list(chosen["lesion_id"]) == list(chosen["patient_id"])


def test_select_demo_lesions_bad_count_or_columns_raise(cohort_frame: pd.DataFrame) -> None:
    with pytest.raises(ImagingError, match="n_cases=2"):
        select_demo_lesions(cohort_frame, 2)
    with pytest.raises(ImagingError, match="n_cases=100"):
        select_demo_lesions(cohort_frame, 100)
    with pytest.raises(ImagingError, match="lacks her2_category"):
        select_demo_lesions(cohort_frame.drop(columns="her2_category"), 6)


def test_run_imaging_demo_writes_every_output_file(demo) -> None:
    out = demo.directory
    for name in (
        "manifest.csv",
        "truth.csv",
        "features.csv",
        "features.readers.csv",
        "features.icc.csv",
        "features.failures.csv",
        "features.provenance.json",
        "summary.json",
    ):
        assert (out / name).is_file(), name
    manifest = pd.read_csv(out / "manifest.csv")
    assert set(manifest["reader"]) == {"reader1", "reader2"}
    assert set(manifest["sequence"]) == {"t2", "dwi", "dce"}
    features = pd.read_csv(out / "features.csv")
    assert len(features) == 6
    assert {"adc_mean", "k_app_mean", "eer", "t2__original_glcm_Contrast", "dce3__original_firstorder_Mean"} <= set(
        features.columns
    )
    assert not any(c.startswith(("t2__log", "t2__wavelet")) for c in features.columns)
    assert pd.read_csv(out / "features.failures.csv").empty


def test_run_imaging_demo_icc_table_and_filter(demo) -> None:
    icc = pd.read_csv(demo.directory / "features.icc.csv")
    assert list(icc.columns) == ["feature", "sequence", "estimate", "ci_low", "ci_high", "pvalue", "n", "k", "method", "note"]
    assert (icc["n"] == 6).all()
    assert (icc["k"] == 2).all()
    assert icc["method"].str.startswith("ICC(2,1): two-way random, absolute agreement, single rater").all()
    kept = set(icc.loc[icc["estimate"] > 0.75, "feature"])
    assert set(demo.reproducible) == kept
    assert 0 < len(kept) < len(icc)
    assert {"adc_median", "eer", "ser"} <= kept


def test_run_imaging_demo_summary_counts_and_class_order(demo) -> None:
    summary = json.loads((demo.directory / "summary.json").read_text(encoding="utf-8"))
    assert summary == demo.to_dict()
    assert summary["n_cases"] == 6
    assert summary["n_reader_cases"] == 12
    assert summary["classes"] == {"zero": 2, "low": 2, "positive": 2}
    assert summary["n_features"] == summary["n_quantitative"] + summary["n_radiomics"]
    icc = summary["icc"]
    assert icc["form"] == "ICC2"
    assert icc["threshold"] == 0.75
    assert icc["n_reproducible"] == len(summary["reproducible_features"])
    assert sum(icc["bands"].values()) == icc["n_estimable"]
    assert icc["top"][0]["estimate"] >= icc["bottom"][0]["estimate"]
    assert set(summary["class_means"]) == {"zero", "low", "positive"}
    for column in ("adc_mean", "eer", "k_app_mean"):
        assert summary["class_means"]["low"][column] is not None
        assert summary["class_order_check"][column]["matches"], column
    assert summary["class_order_check"]["adc_mean"]["expected_order"] == ["low", "zero", "positive"]
    assert summary["class_order_check"]["eer"]["expected_order"] == ["zero", "low", "positive"]
    assert summary["settings"]["demo"]["radiomics"]["image_types"] == ["original"]
    assert set(summary["timing_s"]) == {"phantoms", "extraction", "total"}  # recorded, never compared


def test_class_order_check_swapped_means_do_not_match() -> None:
    means = {
        "zero": {"n": 2, "adc_mean": 0.87, "eer": 1.4, "k_app_mean": 0.95},
        "low": {"n": 2, "adc_mean": 0.78, "eer": 1.0, "k_app_mean": 1.05},
        "positive": {"n": 2, "adc_mean": 1.05, "eer": 0.7, "k_app_mean": 0.75},
    }
    checks = class_order_check(means)
    assert checks["adc_mean"]["matches"]
    assert not checks["eer"]["matches"]
    assert checks["eer"]["observed_order"] == ["positive", "low", "zero"]


def test_run_imaging_demo_rerun_same_seed_same_features(demo, cohort_frame: pd.DataFrame, tmp_path: Path) -> None:
    again = run_imaging_demo(cohort_frame, tmp_path, n_cases=6, workers=1, seed=11)
    pd.testing.assert_frame_equal(again.features, demo.features)
