"""Reading images and masks (NIfTI, NRRD, DICOM series) and checking that they can be used together.

Everything goes through SimpleITK. A DICOM series is given as a directory and read with
``ImageSeriesReader``. Four-dimensional files (multi-b DWI, DCE time series) are split into a list of 3-D
volumes with :func:`load_series`. Every problem raises :class:`her2mri.exceptions.ImagingError` naming the
file and what to do.

NaN and ±inf voxels: SimpleITK reads NIfTI through nifticlib, which silently replaces every non-finite value
of a floating-point NIfTI file by 0, so a corrupt voxel would look like a dark voxel and change every feature
of the sequence. Before SimpleITK reads a floating-point NIfTI file, its stored voxel values are therefore
checked with nibabel (the reference NIfTI reader); a file holding NaN or ±inf raises an ``ImagingError``
naming the file, the counts and the first bad voxel index. Other formats (NRRD, MetaImage, DICOM) keep
non-finite values, and :func:`check_image` rejects them after reading. Integer NIfTI files cannot hold NaN
and are not read twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from her2mri._typing import PathLike
from her2mri.exceptions import ImagingError

__all__ = [
    "GeometryTolerance",
    "check_image",
    "check_image_mask",
    "check_nifti_finite",
    "load_mask",
    "load_series",
    "load_series_volume",
    "load_volume",
    "save_volume",
]

IMAGE_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd", ".dcm")
_NIFTI_SUFFIXES = (".nii", ".nii.gz", ".hdr", ".img", ".img.gz")


@dataclass(frozen=True)
class GeometryTolerance:
    """Tolerances when comparing the geometry of an image and its mask.

    ``spacing`` and ``origin`` are absolute tolerances in mm, ``direction`` an absolute tolerance on the
    direction-cosine matrix entries.
    """

    spacing: float = 1e-3
    origin: float = 1e-2
    direction: float = 1e-4


def _read_dicom_directory(path: Path) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    series_ids = reader.GetGDCMSeriesIDs(str(path))
    if not series_ids:
        msg = (
            f"Directory '{path}' holds no DICOM series; expected a folder of DICOM slices of one series, or a "
            "NIfTI/NRRD file. Point the manifest at the series folder or the image file."
        )
        raise ImagingError(msg)
    if len(series_ids) > 1:
        msg = (
            f"Directory '{path}' holds {len(series_ids)} DICOM series ({', '.join(series_ids)}); accepted: "
            "exactly one series per folder. Split the series into separate folders."
        )
        raise ImagingError(msg)
    files = reader.GetGDCMSeriesFileNames(str(path), series_ids[0])
    reader.SetFileNames(files)
    return reader.Execute()


def check_nifti_finite(path: PathLike) -> None:
    """Raise if a floating-point NIfTI file stores NaN or ±inf voxels (SimpleITK would read them as 0).

    The stored (unscaled) values are read with nibabel; files of integer type are not read (they cannot
    hold NaN). Files nibabel cannot parse are left to SimpleITK, whose read error is reported instead.
    """
    import nibabel

    path = Path(path)
    try:
        image = nibabel.load(str(path))
        dtype = image.header.get_data_dtype()
    except Exception:  # noqa: BLE001 - unreadable here: SimpleITK's own read error names the problem
        return
    if dtype.kind not in "fc":
        return
    proxy = image.dataobj
    raw = np.asanyarray(proxy.get_unscaled() if hasattr(proxy, "get_unscaled") else proxy)
    bad = ~np.isfinite(raw)
    if not bad.any():
        return
    n_nan = int(np.count_nonzero(np.isnan(raw)))
    n_inf = int(np.count_nonzero(bad)) - n_nan
    first = tuple(int(i) for i in np.argwhere(bad.T)[0][::-1])  # first in storage order (x fastest)
    where = f"voxel index (x, y, z{', volume' if len(first) > 3 else ''}) {first}"
    msg = (
        f"Image file '{path}' holds {n_nan} NaN and {n_inf} infinite voxel value(s) (first at {where}); "
        "accepted: finite intensities (SimpleITK would silently read them as 0). Re-export the image or "
        "replace the corrupt voxels."
    )
    raise ImagingError(msg)


def _is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(_NIFTI_SUFFIXES)


def _read_any(path: PathLike) -> sitk.Image:
    path = Path(path)
    if not path.exists():
        msg = f"Image file '{path}' does not exist. Check the path in the manifest (relative paths are resolved against the manifest's folder)."
        raise ImagingError(msg)
    if path.is_dir():
        return _read_dicom_directory(path)
    if _is_nifti(path):
        check_nifti_finite(path)
    try:
        return sitk.ReadImage(str(path))
    except RuntimeError as exc:
        msg = (
            f"Cannot read image '{path}': {str(exc).strip().splitlines()[-1] if str(exc).strip() else exc}. "
            f"Accepted: NIfTI, NRRD, MetaImage files or a DICOM series folder."
        )
        raise ImagingError(msg) from exc


PIXEL_TYPES = ("float64", "float32", "as_stored")


def _check_dtype(dtype: str) -> None:
    if dtype not in PIXEL_TYPES:
        msg = f"Pixel type dtype={dtype!r} is not supported; accepted: {', '.join(PIXEL_TYPES)}."
        raise ImagingError(msg)


def _cast(image: sitk.Image, dtype: str) -> sitk.Image:
    if dtype == "as_stored":
        return image
    return sitk.Cast(image, sitk.sitkFloat64 if dtype == "float64" else sitk.sitkFloat32)


def load_volume(path: PathLike, *, dtype: str = "float64") -> sitk.Image:
    """Read one 3-D image (file or DICOM series folder) as a SimpleITK image of pixel type ``dtype``.

    ``dtype`` is ``"float64"`` (default), ``"float32"`` or ``"as_stored"`` (the file's own pixel type, e.g.
    int16, as PyRadiomics gets it when it reads the file itself). A 4-D file with a single volume is accepted
    and squeezed; a true 4-D file raises (use :func:`load_series`).
    """
    _check_dtype(dtype)
    image = _read_any(path)
    if image.GetNumberOfComponentsPerPixel() != 1:
        msg = f"Image '{path}' has {image.GetNumberOfComponentsPerPixel()} components per voxel; accepted: scalar images."
        raise ImagingError(msg)
    if image.GetDimension() == 4:
        volumes = _split_4d(image)
        if len(volumes) != 1:
            msg = (
                f"Image '{path}' is 4-D with {len(volumes)} volumes where one 3-D volume was expected. "
                "For DWI/DCE series give the b-values or times (manifest columns b_value / time_s) so the file is "
                "read as a series."
            )
            raise ImagingError(msg)
        image = volumes[0]
    if image.GetDimension() == 2:
        image = sitk.JoinSeries([image])
    return _cast(image, dtype)


def load_mask(path: PathLike, *, label: int | None = None) -> sitk.Image:
    """Read a lesion mask as a ``uint8`` image with 1 inside the lesion.

    With ``label`` given, voxels equal to that label form the mask; otherwise every non-zero voxel does.
    """
    image = _read_any(path)
    if image.GetDimension() == 2:
        image = sitk.JoinSeries([image])
    if image.GetDimension() != 3:
        msg = f"Mask '{path}' is {image.GetDimension()}-D; accepted: one 3-D label image."
        raise ImagingError(msg)
    array = sitk.GetArrayFromImage(image)
    binary = (array == label) if label is not None else (array != 0)
    mask = sitk.GetImageFromArray(binary.astype(np.uint8))
    mask.CopyInformation(image)
    return mask


def _split_4d(image: sitk.Image) -> list[sitk.Image]:
    size = list(image.GetSize())
    n = size[3]
    volumes = []
    for index in range(n):
        extractor = sitk.ExtractImageFilter()
        extractor.SetSize([*size[:3], 0])
        extractor.SetIndex([0, 0, 0, index])
        volumes.append(extractor.Execute(image))
    return volumes


def load_series(paths: list[PathLike] | PathLike, *, n_expected: int | None = None) -> list[sitk.Image]:
    """Read a DWI or DCE series: either one 4-D file or a list of 3-D files (one per b-value or phase).

    ``n_expected`` (the number of b-values or time points given in the manifest) is checked against the
    number of volumes found.
    """
    if isinstance(paths, (str, Path)):
        image = _read_any(paths)
        volumes = _split_4d(image) if image.GetDimension() == 4 else [image]
        source = str(paths)
    else:
        volumes = [load_volume(p) for p in paths]
        source = ", ".join(str(p) for p in paths)
    volumes = [sitk.Cast(v, sitk.sitkFloat64) for v in volumes]
    if n_expected is not None and len(volumes) != n_expected:
        msg = (
            f"Series '{source}' holds {len(volumes)} volumes but the manifest lists {n_expected} b-values/times. "
            "List one value per volume, separated by ';' (e.g. '0;800;1400;2000')."
        )
        raise ImagingError(msg)
    reference = volumes[0]
    for index, volume in enumerate(volumes[1:], start=1):
        if volume.GetSize() != reference.GetSize():
            msg = (
                f"Series '{source}': volume {index} has size {volume.GetSize()} but volume 0 has "
                f"{reference.GetSize()}; accepted: volumes of one grid. Resample the series onto one grid."
            )
            raise ImagingError(msg)
    return volumes


def load_series_volume(
    path: PathLike, index: int, *, n_expected: int | None = None, dtype: str = "float64"
) -> sitk.Image:
    """Volume ``index`` (0-based) of a 4-D file, read without converting the other volumes.

    ``dtype`` as in :func:`load_volume`.
    """
    _check_dtype(dtype)
    image = _read_any(path)
    n = image.GetSize()[3] if image.GetDimension() == 4 else 1
    if n_expected is not None and n != n_expected:
        msg = (
            f"Series '{path}' holds {n} volumes but the manifest lists {n_expected} b-values/times. "
            "List one value per volume, separated by ';' (e.g. '0;800;1400;2000')."
        )
        raise ImagingError(msg)
    if image.GetDimension() != 4:
        return _cast(image, dtype)
    size = list(image.GetSize())
    volume = sitk.Extract(image, [*size[:3], 0], [0, 0, 0, int(index)])
    return _cast(volume, dtype)


def save_volume(image: sitk.Image, path: PathLike) -> Path:
    """Write an image; the format follows the suffix (``.nii.gz``, ``.nrrd`` …). Parent folders are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), True)
    return path


def check_image(image: sitk.Image, *, name: str = "image") -> None:
    """Raise if the image holds NaN or infinite values."""
    array = sitk.GetArrayViewFromImage(image)
    n_bad = int(np.count_nonzero(~np.isfinite(array)))
    if n_bad:
        msg = (
            f"{name} holds {n_bad} NaN or infinite voxel values; accepted: finite intensities. Re-export the image "
            "or mask out the corrupt region."
        )
        raise ImagingError(msg)


def check_image_mask(
    image: sitk.Image,
    mask: sitk.Image,
    *,
    name: str = "image",
    tolerance: GeometryTolerance | None = None,
) -> None:
    """Raise an :class:`ImagingError` unless ``mask`` lies on the grid of ``image`` and is non-empty.

    Checks size exactly, spacing, origin and direction within ``tolerance``, a non-empty mask and finite
    image values inside the mask.
    """
    tol = tolerance or GeometryTolerance()
    problems = []
    if image.GetSize() != mask.GetSize():
        problems.append(f"size image {image.GetSize()} vs mask {mask.GetSize()}")
    else:
        spacing = np.subtract(image.GetSpacing(), mask.GetSpacing())
        if np.any(np.abs(spacing) > tol.spacing):
            problems.append(
                f"spacing image {image.GetSpacing()} vs mask {mask.GetSpacing()} (tolerance {tol.spacing} mm)"
            )
        origin = np.subtract(image.GetOrigin(), mask.GetOrigin())
        if np.any(np.abs(origin) > tol.origin):
            problems.append(
                f"origin image {image.GetOrigin()} vs mask {mask.GetOrigin()} (tolerance {tol.origin} mm)"
            )
        direction = np.subtract(image.GetDirection(), mask.GetDirection())
        if np.any(np.abs(direction) > tol.direction):
            problems.append(f"direction image {image.GetDirection()} vs mask {mask.GetDirection()}")
    if problems:
        msg = (
            f"Geometry mismatch between {name} and its mask: {'; '.join(problems)}. Accepted: the mask on the "
            "image's grid. Resample the mask onto the image (nearest neighbour) or fix the export."
        )
        raise ImagingError(msg)
    mask_array = sitk.GetArrayViewFromImage(mask) != 0
    if not mask_array.any():
        msg = f"Mask of {name} is empty (no lesion voxel); accepted: at least one non-zero voxel. Check the label value and the file."
        raise ImagingError(msg)
    check_image(image, name=name)
