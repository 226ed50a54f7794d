"""Cohort extraction: end to end on phantoms, failures, resume, local processes and Dask."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from her2mri.imaging import QUANTITATIVE_COLUMNS, extract_features, output_paths, read_manifest
from her2mri.imaging import extract as extract_module


@pytest.fixture(scope="module")
def reference(phantom_dir: Path, light_settings, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("reference") / "features.csv"
    return extract_features(phantom_dir / "manifest.csv", out, settings=light_settings), out


def test_extract_features_phantoms_one_row_per_lesion(reference) -> None:
    result, out = reference
    features = result.features
    assert len(features) == 4
    assert set(features["reader"]) == {"reader1"}
    assert list(features.columns[:3]) == ["patient_id", "lesion_id", "reader"]
    assert set(QUANTITATIVE_COLUMNS) <= set(features.columns)
    radiomics = [c for c in features.columns if "__" in c]
    assert {c.split("__")[0] for c in radiomics} == {"t2", "dwi_b800", "dce3"}
    assert "t2__original_glcm_Contrast" in radiomics
    assert not any("diagnostics" in c for c in features.columns)
    assert len(result.readers) == 8
    assert result.failures.empty
    paths = output_paths(out)
    for key in ("features", "readers", "failures", "diagnostics", "icc", "provenance"):
        assert paths[key].exists(), key
    assert set(result.diagnostics["sequence"]) >= {"t2", "her2mri"}
    assert result.icc is not None
    assert set(result.icc["feature"]) >= {"adc_mean", "t2__original_firstorder_Mean"}
    assert set(features["dce_roi"]) == {"most_enhancing"}
    assert (features["dce_roi_voxels"] >= 5).all()
    assert not {"dce_roi", "dce_roi_voxels"} & set(result.icc["feature"])


def test_extract_features_phantom_truth_is_recovered(reference, phantom_dir: Path) -> None:
    result, _ = reference
    truth = pd.read_csv(phantom_dir / "truth.csv")
    merged = result.features.merge(truth, on=["patient_id", "lesion_id"])
    np.testing.assert_allclose(merged["d_app_median"], merged["true_d_app"], atol=0.08)
    np.testing.assert_allclose(merged["k_app_median"], merged["true_k_app"], atol=0.15)
    assert (merged["tic_type"] == merged["true_tic_type"]).all()
    assert (merged["adc_min"] <= merged["adc_median"]).all()


def test_extract_features_failing_cases_reported_others_kept(
    phantom_dir: Path, light_settings, reference, tmp_path: Path
) -> None:
    """A missing file, a NIfTI holding a NaN and an inf voxel, and an empty b_value each fail their case only."""
    expected, _ = reference
    frame = pd.read_csv(phantom_dir / "manifest.csv", dtype=str, keep_default_na=False)
    lesions = sorted(frame["lesion_id"].unique())
    missing, corrupt, no_b = lesions[:3]
    t2_rows = frame["sequence"] == "t2"
    frame.loc[(frame["lesion_id"] == missing) & t2_rows, "image"] = "missing/t2.nii.gz"
    image = sitk.ReadImage(str(phantom_dir / "cases" / corrupt / "t2.nii.gz"))
    array = sitk.GetArrayFromImage(image)
    array[3, 10, 12] = np.nan
    array[5, 20, 20] = np.inf
    bad = sitk.GetImageFromArray(array)
    bad.CopyInformation(image)
    sitk.WriteImage(bad, str(tmp_path / "t2_nan.nii.gz"))
    frame.loc[(frame["lesion_id"] == corrupt) & t2_rows, "image"] = str(tmp_path / "t2_nan.nii.gz")
    b800_reader1 = (frame["lesion_id"] == no_b) & (frame["reader"] == "reader1") & (frame["b_value"] == "800")
    frame.loc[b800_reader1, "b_value"] = ""
    manifest = phantom_dir / "manifest_broken.csv"
    frame.to_csv(manifest, index=False)
    out = tmp_path / "features.csv"
    result = extract_features(manifest, out, settings=light_settings)
    failures = result.failures.set_index(["lesion_id", "reader"])["message"]
    failed = [(missing, "reader1"), (missing, "reader2"), (corrupt, "reader1"), (corrupt, "reader2"), (no_b, "reader1")]
    assert sorted(failures.index) == sorted(failed)
    assert "missing/t2.nii.gz' does not exist" in failures[(missing, "reader1")]
    assert "t2_nan.nii.gz' holds 1 NaN and 1 infinite voxel value(s)" in failures[(corrupt, "reader1")]
    assert "column 'b_value': empty for sequence 'dwi'" in failures[(no_b, "reader1")]
    assert failures.index.is_unique
    assert list(result.features["lesion_id"]) == [lesions[3]]
    assert sorted(zip(result.readers["lesion_id"], result.readers["reader"], strict=True)) == [
        (no_b, "reader2"), (lesions[3], "reader1"), (lesions[3], "reader2")
    ]
    kept_keys = [(lesions[3], "reader1"), (no_b, "reader2")]
    kept = expected.readers.set_index(["lesion_id", "reader"]).loc[kept_keys]
    got = result.readers.set_index(["lesion_id", "reader"]).loc[kept.index]
    pd.testing.assert_frame_equal(got, kept)
    written = pd.read_csv(output_paths(out)["failures"])
    assert len(written) == 5
    assert set(written.columns) >= {"case", "error_type", "message"}


def test_extract_features_interrupted_then_resumed_gives_identical_table(
    phantom_dir: Path, light_settings, reference, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected, _ = reference
    frame = pd.read_csv(phantom_dir / "manifest.csv", dtype=str, keep_default_na=False)
    manifest = phantom_dir / "manifest_reader1.csv"  # beside the cases: relative paths stay valid
    frame[frame["reader"] == "reader1"].to_csv(manifest, index=False)
    out = tmp_path / "features.parquet"
    original = extract_module.extract_case
    calls = {"n": 0}

    def interrupting(case, settings):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(case, settings)

    monkeypatch.setattr(extract_module, "extract_case", interrupting)
    with pytest.raises(KeyboardInterrupt):
        extract_features(manifest, out, settings=light_settings)
    parts = sorted(output_paths(out)["parts"].glob("*.json"))
    assert len(parts) == 2
    monkeypatch.setattr(extract_module, "extract_case", original)
    resumed = extract_features(manifest, out, settings=light_settings)
    assert resumed.n_cached == 2
    assert resumed.n_computed == 2
    pd.testing.assert_frame_equal(resumed.features, expected.features)
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected.features)


def test_extract_features_other_reader_reuses_parts_changed_settings_do_not(
    phantom_dir: Path, light_settings, reference, tmp_path: Path
) -> None:
    expected, reference_out = reference
    out = tmp_path / "features.csv"
    shutil.copytree(output_paths(reference_out)["parts"], output_paths(out)["parts"])
    manifest = read_manifest(phantom_dir / "manifest.csv")
    first = extract_features(manifest, out, settings=light_settings, reader="reader2")
    assert (first.n_computed, first.n_cached) == (0, 8)
    assert set(first.features["reader"]) == {"reader2"}
    pd.testing.assert_frame_equal(first.readers, expected.readers)
    changed = light_settings.model_copy(update={"quantitative": False, "sequences": ("t2",)})
    second = extract_features(manifest, out, settings=changed)
    assert second.n_cached == 0
    assert second.n_computed == 8
    assert "adc_mean" not in second.features.columns


def test_extract_features_two_processes_equal_serial(
    phantom_dir: Path, light_settings, reference, tmp_path: Path
) -> None:
    expected, _ = reference
    result = extract_features(
        phantom_dir / "manifest.csv", tmp_path / "f.csv", settings=light_settings, workers=2
    )
    pd.testing.assert_frame_equal(result.readers, expected.readers)


def test_extract_features_dask_local_cluster_equals_serial(
    phantom_dir: Path, light_settings, reference, tmp_path: Path
) -> None:
    distributed = pytest.importorskip("dask.distributed")
    expected, _ = reference
    cases = tmp_path / "cases"
    shutil.copytree(phantom_dir, cases)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        result = extract_features(
            cases / "manifest.csv",
            tmp_path / "f.csv",
            settings=light_settings,
            scheduler=cluster.scheduler_address,
        )
    assert result.failures.empty
    pd.testing.assert_frame_equal(result.readers, expected.readers)


def test_extract_features_unknown_reader_raises(phantom_dir: Path, light_settings) -> None:
    from her2mri.exceptions import ImagingError

    with pytest.raises(ImagingError, match="Reader 'nobody'.*accepted: reader1, reader2"):
        extract_features(phantom_dir / "manifest.csv", settings=light_settings, reader="nobody")
