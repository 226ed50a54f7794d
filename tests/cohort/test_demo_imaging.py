"""The demo imaging table: shipped files are the default instance, determinism, class effects of seeds 001/002."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from her2mri.cohort import make_demo_cohort
from her2mri.cohort._demo_imaging import RADIOMICS_FEATURES, SEQUENCES, demo_her2_class
from her2mri.cohort.demo import demo_cohort_path, demo_icc_path, demo_imaging_path, make_demo_imaging


@pytest.fixture(scope="module")
def large() -> tuple[pd.DataFrame, pd.DataFrame]:
    cohort = make_demo_cohort(n_center1=5000, n_center2=2000, seed=3)
    imaging, _ = make_demo_imaging(cohort, seed=3)
    return cohort, imaging


def test_shipped_imaging_tables_are_the_default_instance() -> None:
    raw = pd.read_csv(demo_cohort_path())
    imaging, icc = make_demo_imaging(raw)
    pd.testing.assert_frame_equal(pd.read_csv(demo_imaging_path()), imaging, check_dtype=False, atol=1e-9)
    pd.testing.assert_frame_equal(pd.read_csv(demo_icc_path()), icc, check_dtype=False, atol=1e-9)
    assert list(imaging["lesion_id"]) == list(raw["lesion_id"].astype(str))


def test_make_demo_imaging_is_deterministic_and_named_for_the_contract() -> None:
    cohort = make_demo_cohort(n_center1=60, n_center2=30, seed=4)
    first, icc1 = make_demo_imaging(cohort, seed=4)
    second, icc2 = make_demo_imaging(cohort, seed=4)
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(icc1, icc2)
    radiomics = [c for c in first.columns if "__" in c]
    assert len(radiomics) == len(SEQUENCES) * len(RADIOMICS_FEATURES)
    assert {c.split("__")[0] for c in radiomics} == set(SEQUENCES)
    for prefix in ("adc", "d_app", "k_app"):
        assert {f"{prefix}_{s}" for s in ("mean", "median", "p5", "p95")} <= set(first.columns)


def test_dki_effects_follow_seed_002(large: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    cohort, imaging = large
    cls = demo_her2_class(cohort)
    nme = cohort["lesion_type"].isin(["nme", "mass_with_nme"]).to_numpy()
    center1 = (cohort["center"] == "center1").to_numpy()

    def auc(column: str, where: np.ndarray) -> float:  # HER2-low (1) against HER2-positive (2)
        keep = where & (cls >= 1) & center1
        return float(roc_auc_score(cls[keep] == 1, imaging[column].to_numpy()[keep]))

    # NME-related lesions: low has lower ADC / D_app and higher K_app than positive, AUC 0.67-0.80 as published
    assert 0.65 < 1 - auc("adc_mean", nme) < 0.82
    assert 0.65 < 1 - auc("d_app_mean", nme) < 0.82
    assert 0.68 < auc("k_app_mean", nme) < 0.85
    # masses: a smaller difference
    assert abs(auc("k_app_mean", ~nme) - 0.5) < abs(auc("k_app_mean", nme) - 0.5)


def test_radiomics_effects_follow_seed_001(large: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    cohort, imaging = large
    ihc2 = (cohort["her2_ihc"].astype(str) == "2+").to_numpy()
    fish = demo_her2_class(cohort)[ihc2] == 2

    def best(sequence: str) -> float:
        values = [roc_auc_score(fish, imaging[f"{sequence}__{f}"].to_numpy()[ihc2]) for f in RADIOMICS_FEATURES]
        return max(max(values), 1 - min(values))

    strength = {s: best(s) for s in SEQUENCES}
    assert strength["t2"] < strength["dce_late"]  # T2 weakest, late DCE strongest, as in seed 001
    assert 0.6 < strength["dce_late"] < 0.85


def test_icc_table_spans_the_filter_threshold() -> None:
    icc = pd.read_csv(demo_icc_path())
    radiomics = icc[icc["feature"].str.contains("__")]
    assert (radiomics["icc"] < 0.75).sum() >= 8
    assert (radiomics["icc"] > 0.75).sum() >= 16
    assert (icc["n"] > 300).all()  # reader 2 re-segmented about a third of the 1,020 lesions
