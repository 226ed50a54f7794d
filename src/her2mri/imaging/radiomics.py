"""Radiomics through PyRadiomics, configured with snake_case settings.

:class:`RadiomicsSettings` is the validated, snake_case form of PyRadiomics' parameter file. This module is the
only place where PyRadiomics' camelCase names appear: :meth:`RadiomicsSettings.to_pyradiomics` translates our
settings and :meth:`RadiomicsSettings.from_pyradiomics` reads PyRadiomics' (e.g. the
``diagnostics_Configuration_Settings`` of a baseline). Defaults follow seed 001: 1 mm isotropic resampling
(B-spline), original + LoG (σ 1–5 mm) + wavelet images, all feature classes, PyRadiomics' default bin width 25.

:func:`extract_radiomics` returns feature values keyed ``<sequence>__<feature>`` and PyRadiomics'
``diagnostics_*`` entries separately (provenance, never feature columns).

Pixel type before resampling (``RadiomicsSettings.pixel_type``). PyRadiomics resamples an image in its own
pixel type: an int16 MRI stays int16, so every B-spline-interpolated value is cut to an integer before
the features — and before the LoG / wavelet filters, whose high-pass bands then carry that quantisation
noise. her2mri reads images as float64 by default and so resamples the signal itself. On PyRadiomics'
breast1 case (int16, 0.66 × 0.66 × 2.1 mm resampled to 1 mm; original + LoG + wavelet, all classes) 842 of
1,316 features differ beyond 1e-6: first-order mean by 0.35 %, original-image features by at most 0.8 %, but
high-pass wavelet GLSZM features by up to 120×, because there the integer rounding, not the anatomy,
decides the zones. We keep float64 as the default
(values closer to the underlying signal, no dependence on how the scanner stored the intensities: the same
image stored as int16 or float32 gives the same features) and offer ``pixel_type: as_stored`` for results
identical to a plain PyRadiomics run (tested to 1e-6 on breast1 with resampling on). With N4 or intensity
normalisation on, images are floating point before they reach PyRadiomics and the setting has no effect.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import SimpleITK as sitk
from pydantic import BaseModel, ConfigDict, Field

from her2mri.exceptions import ImagingError

__all__ = ["FEATURE_CLASSES", "IMAGE_TYPES", "RadiomicsResult", "RadiomicsSettings", "extract_radiomics"]

FEATURE_CLASSES = ("firstorder", "shape", "glcm", "glrlm", "glszm", "gldm", "ngtdm")
IMAGE_TYPES = {
    "original": "Original",
    "log": "LoG",
    "wavelet": "Wavelet",
    "square": "Square",
    "square_root": "SquareRoot",
    "logarithm": "Logarithm",
    "exponential": "Exponential",
    "gradient": "Gradient",
    "lbp2d": "LBP2D",
    "lbp3d": "LBP3D",
}
_INTERPOLATORS = {
    "bspline": "sitkBSpline",
    "linear": "sitkLinear",
    "nearest": "sitkNearestNeighbor",
    "gaussian": "sitkGaussian",
    "lanczos": "sitkLanczosWindowedSinc",
}
# snake_case setting -> PyRadiomics name (general settings)
_SETTING_NAMES = {
    "bin_width": "binWidth",
    "bin_count": "binCount",
    "resampled_spacing_mm": "resampledPixelSpacing",
    "interpolator": "interpolator",
    "pad_distance": "padDistance",
    "normalize": "normalize",
    "normalize_scale": "normalizeScale",
    "remove_outliers": "removeOutliers",
    "label": "label",
    "minimum_roi_dimensions": "minimumROIDimensions",
    "minimum_roi_size": "minimumROISize",
    "pre_crop": "preCrop",
    "force_2d": "force2D",
    "force_2d_dimension": "force2Ddimension",
    "distances": "distances",
    "resegment_range": "resegmentRange",
    "resegment_mode": "resegmentMode",
    "voxel_array_shift": "voxelArrayShift",
    "gldm_a": "gldm_a",
    "weighting_norm": "weightingNorm",
    "symmetrical_glcm": "symmetricalGLCM",
    "geometry_tolerance": "geometryTolerance",
    "correct_mask": "correctMask",
    "additional_info": "additionalInfo",
}


class RadiomicsSettings(BaseModel):
    """PyRadiomics settings in snake_case (validated; unknown keys are errors).

    ``pixel_type`` is her2mri's own setting (not passed to PyRadiomics): the pixel type in which radiomics
    input images are read, and so resampled. ``"float64"`` (default) casts every image to 64-bit float when
    it is read, so B-spline resampling and the LoG / wavelet filters work on unrounded values.
    ``"as_stored"`` keeps the file's pixel type, which is what PyRadiomics does when it reads a file itself:
    an int16 image is resampled to int16, i.e. every interpolated value is truncated to an integer and
    B-spline overshoot beyond the type's range is clipped. See the module docstring for why float64 is the
    default; ``as_stored`` reproduces PyRadiomics' own results exactly.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    image_types: tuple[Literal[tuple(IMAGE_TYPES)], ...] = ("original", "log", "wavelet")  # type: ignore[valid-type]
    log_sigma_mm: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 5.0)
    wavelet: str = "coif1"
    feature_classes: dict[Literal[FEATURE_CLASSES], tuple[str, ...] | None] = Field(  # type: ignore[valid-type]
        default_factory=lambda: dict.fromkeys(FEATURE_CLASSES)
    )
    bin_width: float | None = Field(25.0, gt=0)
    bin_count: int | None = Field(None, ge=2)
    resampled_spacing_mm: tuple[float, float, float] | None = (1.0, 1.0, 1.0)
    interpolator: Literal[tuple(_INTERPOLATORS)] | None = "bspline"  # type: ignore[valid-type]
    pad_distance: int = Field(5, ge=0)
    normalize: bool = False
    normalize_scale: float = Field(1.0, gt=0)
    remove_outliers: float | None = None
    label: int = 1
    minimum_roi_dimensions: int = Field(2, ge=1, le=3)
    minimum_roi_size: int | None = None
    pre_crop: bool = False
    force_2d: bool = False
    force_2d_dimension: int = Field(0, ge=0, le=2)
    distances: tuple[int, ...] = (1,)
    resegment_range: tuple[float, ...] | None = None
    resegment_mode: Literal["absolute", "relative", "sigma"] = "absolute"
    voxel_array_shift: int = 0
    gldm_a: int = Field(0, ge=0)
    weighting_norm: Literal["manhattan", "euclidean", "infinity", "no_weighting"] | None = None
    symmetrical_glcm: bool = True
    geometry_tolerance: float | None = None
    correct_mask: bool = False
    additional_info: bool = True
    pixel_type: Literal["float64", "as_stored"] = "float64"

    def to_pyradiomics(self) -> dict[str, Any]:
        """PyRadiomics parameter dictionary (``setting``, ``imageType``, ``featureClass``)."""
        setting: dict[str, Any] = {}
        for name, target in _SETTING_NAMES.items():
            value = getattr(self, name)
            if name == "bin_count" and value is None:
                continue
            if name == "bin_width" and (value is None or self.bin_count is not None):
                continue
            if name == "interpolator" and value is not None:
                value = _INTERPOLATORS[value]
            if name in ("resampled_spacing_mm", "distances", "resegment_range") and value is not None:
                value = [float(v) if name != "distances" else int(v) for v in value]
            if value is None and name in ("geometry_tolerance", "minimum_roi_size", "remove_outliers"):
                continue
            setting[target] = value
        if self.resegment_range is None:
            setting.pop("resegmentMode", None)
        image_type: dict[str, dict[str, Any]] = {}
        for kind in self.image_types:
            params: dict[str, Any] = {}
            if kind == "log":
                params["sigma"] = [float(s) for s in self.log_sigma_mm]
            if kind == "wavelet":
                params["wavelet"] = self.wavelet
            image_type[IMAGE_TYPES[kind]] = params
        feature_class = {
            name: (list(features) if features else []) for name, features in self.feature_classes.items()
        }
        return {"setting": setting, "imageType": image_type, "featureClass": feature_class}

    @classmethod
    def from_pyradiomics(
        cls,
        setting: dict[str, Any],
        *,
        image_types: dict[str, dict[str, Any]] | None = None,
        feature_classes: dict[str, list[str] | None] | None = None,
    ) -> RadiomicsSettings:
        """Build settings from PyRadiomics' names (e.g. a baseline's ``diagnostics_Configuration_Settings``).

        PyRadiomics' ``None`` for the interpolator means "no resampling"; keys outside our schema raise.
        """
        reverse = {v: k for k, v in _SETTING_NAMES.items()}
        reverse_interp = {v: k for k, v in _INTERPOLATORS.items()}
        values: dict[str, Any] = {}
        for key, value in setting.items():
            if key not in reverse:
                msg = f"PyRadiomics setting {key!r} is not supported; accepted: {', '.join(sorted(reverse))}."
                raise ImagingError(msg)
            name = reverse[key]
            if name == "interpolator" and value is not None:
                value = reverse_interp.get(value, value)
            values[name] = value
        values.setdefault("resampled_spacing_mm", None)
        if image_types is not None:
            reverse_types = {v: k for k, v in IMAGE_TYPES.items()}
            values["image_types"] = tuple(reverse_types[t] for t in image_types)
            for kind, params in image_types.items():
                if kind == "LoG" and "sigma" in params:
                    values["log_sigma_mm"] = tuple(params["sigma"])
                if kind == "Wavelet" and "wavelet" in params:
                    values["wavelet"] = params["wavelet"]
        if feature_classes is not None:
            values["feature_classes"] = {k: (tuple(v) if v else None) for k, v in feature_classes.items()}
        return cls(**values)


@dataclass(frozen=True)
class RadiomicsResult:
    """Feature values (``<sequence>__<feature>``) and PyRadiomics diagnostics of one image and mask."""

    sequence: str
    features: dict[str, float]
    diagnostics: dict[str, str]


def _quiet_pyradiomics() -> None:
    logging.getLogger("radiomics").setLevel(logging.ERROR)
    logging.getLogger("radiomics.glcm").setLevel(logging.ERROR)


_EXTRACTORS: dict[str, Any] = {}


def _extractor(settings: RadiomicsSettings) -> Any:
    """A configured PyRadiomics extractor, cached per settings (building one validates a schema: ~30 ms)."""
    key = settings.model_dump_json()
    cached = _EXTRACTORS.get(key)
    if cached is not None:
        return cached
    _quiet_pyradiomics()
    from radiomics import featureextractor

    params = settings.to_pyradiomics()
    extractor = featureextractor.RadiomicsFeatureExtractor(**params["setting"])
    extractor.disableAllImageTypes()
    for kind, kind_params in params["imageType"].items():
        extractor.enableImageTypeByName(kind, customArgs=kind_params)
    extractor.disableAllFeatures()
    for name, features in params["featureClass"].items():
        if features:
            extractor.enableFeaturesByName(**{name: features})
        else:
            extractor.enableFeatureClassByName(name)
    _EXTRACTORS.clear()
    _EXTRACTORS[key] = extractor
    return extractor


def _diagnostic_text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return repr(value.tolist())
    return str(value)


def extract_radiomics(
    image: sitk.Image,
    mask: sitk.Image,
    settings: RadiomicsSettings | None = None,
    *,
    sequence: str = "image",
) -> RadiomicsResult:
    """Run PyRadiomics on one image and mask. Feature keys are ``<sequence>__<pyradiomics name>``.

    PyRadiomics' own errors (e.g. an ROI too small for the settings) are re-raised as
    :class:`her2mri.exceptions.ImagingError` naming the sequence.
    """
    cfg = settings or RadiomicsSettings()
    extractor = _extractor(cfg)
    if mask.GetPixelID() != sitk.sitkUInt8:
        mask = sitk.Cast(mask, sitk.sitkUInt8)
    if cfg.label != 1:
        mask = mask * cfg.label
    try:
        raw = extractor.execute(image, mask, label=cfg.label)
    except (ValueError, RuntimeError, IndexError) as exc:
        msg = f"PyRadiomics failed on sequence '{sequence}': {exc}. Check the mask size and the settings."
        raise ImagingError(msg) from exc
    features: dict[str, float] = {}
    diagnostics: dict[str, str] = {}
    for key, value in raw.items():
        if key.startswith("diagnostics_"):
            diagnostics[key] = _diagnostic_text(value)
        else:
            features[f"{sequence}__{key}"] = float(value)
    return RadiomicsResult(sequence=sequence, features=features, diagnostics=diagnostics)
