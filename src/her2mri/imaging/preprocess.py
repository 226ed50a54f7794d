"""Image preprocessing as pure functions: N4 bias-field correction, intensity normalisation, resampling.

Each function returns a new image and never modifies its input. :func:`preprocess_image` applies the steps
chosen in :class:`PreprocessSettings` in a fixed order (N4 → normalisation → resampling) and returns the list
of :class:`PreprocessStep` records that goes into the provenance of every extracted case.

Preprocessing is applied to the images radiomics is computed on. ADC, D_app/K_app and DCE kinetics are
computed on the raw signals, because normalisation would change their values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import SimpleITK as sitk
from pydantic import BaseModel, ConfigDict, Field

from her2mri.exceptions import ImagingError

__all__ = [
    "PreprocessSettings",
    "PreprocessStep",
    "n4_bias_correction",
    "normalize_rescale",
    "normalize_zscore",
    "preprocess_image",
    "resample_isotropic",
]


class PreprocessSettings(BaseModel):
    """Which preprocessing steps run before radiomics (defaults follow seed 001: N4, rescale 0–2000)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n4_bias_correction: bool = True
    n4_shrink_factor: int = Field(2, ge=1, le=8)
    n4_iterations: tuple[int, ...] = (50, 50, 30)
    normalization: Literal["none", "zscore", "rescale"] = "rescale"
    zscore_region: Literal["mask", "body"] = "body"
    rescale_range: tuple[float, float] = (0.0, 2000.0)
    resample_spacing_mm: float | None = None


@dataclass(frozen=True)
class PreprocessStep:
    """One applied preprocessing step and its parameters (for provenance)."""

    name: str
    parameters: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "parameters": dict(self.parameters)}


def _body_mask(image: sitk.Image) -> sitk.Image:
    """Otsu foreground (the body) of an image, as uint8."""
    otsu = sitk.OtsuThreshold(sitk.Cast(image, sitk.sitkFloat32), 0, 1, 128)
    return sitk.Cast(otsu, sitk.sitkUInt8)


def n4_bias_correction(
    image: sitk.Image,
    *,
    mask: sitk.Image | None = None,
    shrink_factor: int = 2,
    iterations: tuple[int, ...] = (50, 50, 30),
) -> sitk.Image:
    """N4 bias-field correction (SimpleITK ``N4BiasFieldCorrectionImageFilter``).

    The bias field is estimated on a grid shrunk by ``shrink_factor`` within ``mask`` (default: the Otsu body
    mask) and applied to the full-resolution image.
    """
    source = sitk.Cast(image, sitk.sitkFloat32)
    array = sitk.GetArrayViewFromImage(source)
    if float(np.min(array)) < 0:
        source = source - float(np.min(array))
    fit_mask = mask if mask is not None else _body_mask(source)
    fit_mask = sitk.Cast(fit_mask > 0, sitk.sitkUInt8)
    if not np.any(sitk.GetArrayViewFromImage(fit_mask)):
        fit_mask = sitk.Cast(source == source, sitk.sitkUInt8)
    shrink = [shrink_factor if s // shrink_factor >= 4 else 1 for s in source.GetSize()]
    small = sitk.Shrink(source, shrink)
    small_mask = sitk.Shrink(fit_mask, shrink)
    corrector = sitk.N4BiasFieldCorrectionImageFilter()
    corrector.SetMaximumNumberOfIterations([int(i) for i in iterations])
    corrector.Execute(small, small_mask)
    log_field = corrector.GetLogBiasFieldAsImage(source)
    corrected = source / sitk.Exp(log_field)
    return sitk.Cast(corrected, sitk.sitkFloat64)


def normalize_zscore(image: sitk.Image, region: sitk.Image | None = None) -> sitk.Image:
    """Z-score intensities using mean and SD within ``region`` (a mask; default the Otsu body mask)."""
    array = sitk.GetArrayFromImage(image).astype(np.float64)
    region = region if region is not None else _body_mask(image)
    inside = sitk.GetArrayViewFromImage(region) != 0
    values = array[inside]
    if values.size < 2 or float(np.std(values)) == 0.0:
        msg = (
            f"Cannot z-score normalise: the normalisation region has {values.size} voxels and SD "
            f"{float(np.std(values)) if values.size else float('nan')}; accepted: at least 2 voxels with varying "
            "intensity. Use zscore_region='body' or normalization='rescale'."
        )
        raise ImagingError(msg)
    result = sitk.GetImageFromArray((array - values.mean()) / values.std())
    result.CopyInformation(image)
    return result


def normalize_rescale(image: sitk.Image, output_range: tuple[float, float] = (0.0, 2000.0)) -> sitk.Image:
    """Linearly rescale intensities to ``output_range`` (seed 001 used 0–2000, as Slicer's rescale filter)."""
    low, high = output_range
    return sitk.RescaleIntensity(sitk.Cast(image, sitk.sitkFloat64), float(low), float(high))


def resample_isotropic(
    image: sitk.Image,
    spacing_mm: float = 1.0,
    *,
    is_mask: bool = False,
) -> sitk.Image:
    """Resample onto an isotropic grid covering the same extent.

    Images use B-spline interpolation, masks (``is_mask=True``) nearest neighbour.
    """
    old_spacing = np.asarray(image.GetSpacing(), dtype=float)
    old_size = np.asarray(image.GetSize(), dtype=float)
    new_size = [max(1, int(round(n))) for n in old_size * old_spacing / spacing_mm]
    resampler = sitk.ResampleImageFilter()
    resampler.SetOutputSpacing([float(spacing_mm)] * image.GetDimension())
    resampler.SetSize(new_size)
    resampler.SetOutputOrigin(image.GetOrigin())
    resampler.SetOutputDirection(image.GetDirection())
    resampler.SetInterpolator(sitk.sitkNearestNeighbor if is_mask else sitk.sitkBSpline)
    resampler.SetDefaultPixelValue(0)
    return resampler.Execute(image)


def preprocess_image(
    image: sitk.Image,
    mask: sitk.Image,
    settings: PreprocessSettings,
) -> tuple[sitk.Image, sitk.Image, list[PreprocessStep]]:
    """Apply the chosen steps in order N4 → normalisation → resampling; return image, mask and the record."""
    steps: list[PreprocessStep] = []
    if settings.n4_bias_correction:
        image = n4_bias_correction(
            image, shrink_factor=settings.n4_shrink_factor, iterations=settings.n4_iterations
        )
        steps.append(
            PreprocessStep(
                "n4_bias_correction",
                {"shrink_factor": settings.n4_shrink_factor, "iterations": list(settings.n4_iterations)},
            )
        )
    if settings.normalization == "zscore":
        region = mask if settings.zscore_region == "mask" else None
        image = normalize_zscore(image, region)
        steps.append(PreprocessStep("normalize_zscore", {"region": settings.zscore_region}))
    elif settings.normalization == "rescale":
        image = normalize_rescale(image, settings.rescale_range)
        steps.append(PreprocessStep("normalize_rescale", {"output_range": list(settings.rescale_range)}))
    if settings.resample_spacing_mm is not None:
        image = resample_isotropic(image, settings.resample_spacing_mm)
        mask = resample_isotropic(mask, settings.resample_spacing_mm, is_mask=True)
        steps.append(
            PreprocessStep(
                "resample_isotropic",
                {"spacing_mm": settings.resample_spacing_mm, "image": "bspline", "mask": "nearest"},
            )
        )
    return image, mask, steps
