"""Image I/O and the geometry / empty-mask / NaN checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from her2mri.exceptions import ImagingError
from her2mri.imaging import check_image_mask, load_mask, load_series, load_volume, save_volume


def _image(array: np.ndarray, spacing=(1.0, 1.0, 3.0), origin=(0.0, 0.0, 0.0)) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    return image


@pytest.fixture
def pair() -> tuple[sitk.Image, sitk.Image]:
    image = _image(np.random.default_rng(1).normal(100, 10, (4, 8, 8)))
    mask_array = np.zeros((4, 8, 8), dtype=np.uint8)
    mask_array[1:3, 2:6, 2:6] = 1
    return image, _image(mask_array)


def test_check_image_mask_matching_pair_passes(pair) -> None:
    check_image_mask(*pair)


def test_check_image_mask_size_mismatch_raises(pair) -> None:
    image, _ = pair
    mask = _image(np.ones((4, 8, 7), dtype=np.uint8))
    with pytest.raises(ImagingError, match=r"Geometry mismatch.*size"):
        check_image_mask(image, mask, name="t2")


def test_check_image_mask_spacing_mismatch_raises(pair) -> None:
    image, mask = pair
    mask.SetSpacing((1.0, 1.0, 2.5))
    with pytest.raises(ImagingError, match="spacing"):
        check_image_mask(image, mask)


def test_check_image_mask_origin_within_tolerance_passes_beyond_raises(pair) -> None:
    image, mask = pair
    mask.SetOrigin((0.001, 0.0, 0.0))
    check_image_mask(image, mask)
    mask.SetOrigin((0.5, 0.0, 0.0))
    with pytest.raises(ImagingError, match="origin"):
        check_image_mask(image, mask)


def test_check_image_mask_direction_mismatch_raises(pair) -> None:
    image, mask = pair
    mask.SetDirection((1, 0, 0, 0, -1, 0, 0, 0, 1))
    with pytest.raises(ImagingError, match="direction"):
        check_image_mask(image, mask)


def test_check_image_mask_empty_mask_raises(pair) -> None:
    image, _ = pair
    with pytest.raises(ImagingError, match="empty"):
        check_image_mask(image, _image(np.zeros((4, 8, 8), dtype=np.uint8)))


def test_check_image_mask_nan_in_image_raises(pair) -> None:
    image, mask = pair
    array = sitk.GetArrayFromImage(image)
    array[0, 0, 0] = np.nan
    bad = sitk.GetImageFromArray(array)
    bad.CopyInformation(image)
    with pytest.raises(ImagingError, match="NaN"):
        check_image_mask(bad, mask)


def test_load_volume_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ImagingError, match="does not exist"):
        load_volume(tmp_path / "nope.nii.gz")


def test_load_series_4d_file_splits_volumes(tmp_path: Path) -> None:
    vols = [_image(np.full((3, 4, 5), float(i), dtype=np.float32)) for i in range(4)]
    path = save_volume(sitk.JoinSeries(vols), tmp_path / "dwi.nii.gz")
    series = load_series(path, n_expected=4)
    assert len(series) == 4
    assert sitk.GetArrayFromImage(series[2]).mean() == pytest.approx(2.0)
    with pytest.raises(ImagingError, match="holds 4 volumes"):
        load_series(path, n_expected=3)
    with pytest.raises(ImagingError, match="4-D"):
        load_volume(path)


def test_load_volume_dicom_series_folder(tmp_path: Path) -> None:
    array = np.arange(3 * 6 * 7, dtype=np.int16).reshape(3, 6, 7)
    image = _image(array)
    folder = tmp_path / "dicom"
    folder.mkdir()
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for z in range(array.shape[0]):
        slice_image = image[:, :, z]
        slice_image.SetMetaData("0020|000e", "1.2.826.0.1.3680043.2.1125.1")
        slice_image.SetMetaData(
            "0020|0032", "\\".join(map(str, image.TransformIndexToPhysicalPoint((0, 0, z))))
        )
        slice_image.SetMetaData("0020|0013", str(z))
        slice_image.SetMetaData("0008|0060", "MR")
        writer.SetFileName(str(folder / f"slice{z:03d}.dcm"))
        writer.Execute(slice_image)
    loaded = load_volume(folder)
    assert loaded.GetSize() == (7, 6, 3)
    np.testing.assert_allclose(sitk.GetArrayFromImage(loaded), array)


def test_load_mask_label_selects_value(tmp_path: Path) -> None:
    array = np.zeros((2, 3, 3), dtype=np.uint8)
    array[0, 0, 0] = 1
    array[1, 1, 1] = 2
    path = save_volume(_image(array), tmp_path / "m.nrrd")
    assert sitk.GetArrayFromImage(load_mask(path)).sum() == 2
    assert sitk.GetArrayFromImage(load_mask(path, label=2))[1, 1, 1] == 1


def _nifti_with_nan_and_inf(path: Path, *, four_d: bool = False) -> Path:
    array = np.full((4, 5, 6), 100.0, dtype=np.float32)
    array[1, 2, 3] = np.nan  # (z, y, x): voxel index (x, y, z) = (3, 2, 1)
    array[2, 2, 2] = np.inf
    volume = _image(array)
    image = sitk.JoinSeries([_image(np.full((4, 5, 6), 50.0, dtype=np.float32)), volume]) if four_d else volume
    return save_volume(image, path)


def test_load_volume_nifti_nan_and_inf_voxels_raise_naming_file_and_counts(tmp_path: Path) -> None:
    path = _nifti_with_nan_and_inf(tmp_path / "t2.nii.gz")
    with pytest.raises(ImagingError, match=r"t2\.nii\.gz' holds 1 NaN and 1 infinite.*\(3, 2, 1\)") as info:
        load_volume(path)
    assert "accepted: finite intensities" in str(info.value)
    with pytest.raises(ImagingError, match="holds 1 NaN and 1 infinite"):
        load_mask(path)


def test_load_series_4d_nifti_with_nan_voxel_raises_naming_volume(tmp_path: Path) -> None:
    path = _nifti_with_nan_and_inf(tmp_path / "dce.nii", four_d=True)
    with pytest.raises(ImagingError, match=r"volume\) \(3, 2, 1, 1\)"):
        load_series(path, n_expected=2)


def test_load_volume_finite_float_and_integer_nifti_read_unchanged(tmp_path: Path) -> None:
    floats = np.random.default_rng(0).normal(100, 10, (3, 4, 5)).astype(np.float32)
    integers = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    for name, array in (("f.nii.gz", floats), ("i.nii", integers)):
        loaded = load_volume(save_volume(_image(array), tmp_path / name))
        np.testing.assert_array_equal(sitk.GetArrayFromImage(loaded), array.astype(np.float64))


def test_check_image_mask_nrrd_keeps_nan_and_check_rejects(tmp_path: Path, pair) -> None:
    _, mask = pair
    array = np.full((4, 8, 8), 100.0)
    array[0, 0, 0] = np.nan
    image = load_volume(save_volume(_image(array), tmp_path / "t2.nrrd"))
    with pytest.raises(ImagingError, match="holds 1 NaN or infinite"):
        check_image_mask(image, mask, name="t2")
