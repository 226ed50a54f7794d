"""Synthetic phantoms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from her2mri.imaging import make_phantom_cases, phantom_volumes, read_manifest


def test_phantom_volumes_same_seed_same_arrays() -> None:
    a = phantom_volumes("positive", seed=3)
    b = phantom_volumes("positive", seed=3)
    np.testing.assert_array_equal(a["dce"], b["dce"])
    assert a["t2"].shape == (16, 48, 48)
    assert a["dwi"].shape == (4, 16, 48, 48)
    assert a["dce"].shape == (8, 16, 48, 48)


def test_phantom_volumes_readers_differ_slightly() -> None:
    masks = phantom_volumes("low", seed=1)["masks"]
    r1, r2 = masks["reader1"].astype(bool), masks["reader2"].astype(bool)
    dice = 2 * (r1 & r2).sum() / (r1.sum() + r2.sum())
    assert 0.75 < dice < 0.99


def test_phantom_classes_drive_kinetics_and_diffusion() -> None:
    zero = phantom_volumes("zero", seed=2)["truth"]
    positive = phantom_volumes("positive", seed=2)["truth"]
    assert zero["true_tic_type"] == "persistent"
    assert positive["true_tic_type"] == "washout"
    assert positive["true_eer"] > zero["true_eer"]
    assert positive["true_d_app"] > zero["true_d_app"]


def test_make_phantom_cases_from_cohort_frame_writes_valid_manifest(tmp_path: Path) -> None:
    lesions = pd.DataFrame(
        {"patient_id": ["A", "B"], "lesion_id": ["A-1", "B-1"], "her2_category": ["zero", "positive"]}
    )
    cases = make_phantom_cases(lesions, tmp_path)
    manifest = read_manifest(cases.manifest)
    assert manifest.readers == ("reader1", "reader2")
    assert len(manifest.cases) == 4
    assert manifest.cases[0].get("dwi").values == (0.0, 800.0, 1400.0, 2000.0)
    assert manifest.cases[0].get("dce").is_4d
    assert list(cases.truth["her2_category"]) == ["zero", "positive"]
