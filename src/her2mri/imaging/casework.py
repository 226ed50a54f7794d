"""Extraction of one case (a lesion as segmented by one reader): quantitative DWI/DCE features and radiomics.

:func:`extract_case` loads the case's files, checks geometry, fits ADC and DKI on the raw DWI signal,
computes DCE kinetics on the raw DCE series, then preprocesses each radiomics sequence and runs PyRadiomics.
It returns a :class:`CaseResult` with one flat feature dictionary, the PyRadiomics diagnostics and the
case's provenance (preprocessing steps, skipped sequences, conventions used).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from her2mri.exceptions import ImagingError
from her2mri.imaging.dce import ROI_COLUMNS, dce_kinetics
from her2mri.imaging.dwi import AdcModel, KurtosisModel
from her2mri.imaging.histogram import HISTOGRAM_METRICS, adc_minimum, roi_histogram
from her2mri.imaging.io import check_image_mask, load_mask, load_series, load_series_volume, load_volume
from her2mri.imaging.manifest import CaseSpec, SeriesSpec
from her2mri.imaging.preprocess import preprocess_image
from her2mri.imaging.radiomics import extract_radiomics
from her2mri.imaging.settings import ExtractionSettings

__all__ = ["QUANTITATIVE_COLUMNS", "CaseResult", "extract_case"]

QUANTITATIVE_COLUMNS: tuple[str, ...] = (
    "adc_min",
    *(f"adc_{m}" for m in HISTOGRAM_METRICS),
    *(f"d_app_{m}" for m in HISTOGRAM_METRICS),
    *(f"k_app_{m}" for m in HISTOGRAM_METRICS),
    "eer",
    "ser",
    "tic_type",
    "initial_enhancement",
    *ROI_COLUMNS,
)
_DWI_B_RE = re.compile(r"^dwi_b(\d+(?:\.\d+)?)$")
_DCE_RE = re.compile(r"^dce(\d+)$")


@dataclass(frozen=True)
class CaseResult:
    """Features (flat, contract column names), PyRadiomics diagnostics per sequence and provenance of one case."""

    features: dict[str, object]
    diagnostics: dict[str, dict[str, str]] = field(default_factory=dict)
    provenance: dict[str, object] = field(default_factory=dict)


@dataclass
class _LoadedSeries:
    volumes: list[sitk.Image]
    mask: sitk.Image
    values: tuple[float, ...]


def _load_series(spec: SeriesSpec, where: str) -> _LoadedSeries:
    volumes = load_series(spec.images[0] if spec.is_4d else list(spec.images), n_expected=len(spec.values))
    mask = load_mask(spec.masks[0])
    for index, volume in enumerate(volumes):
        check_image_mask(
            volume, mask, name=f"{where} {spec.sequence} volume {index} ({spec.values[index]:g})"
        )
    return _LoadedSeries(volumes, mask, spec.values)


def _stack(volumes: list[sitk.Image]) -> np.ndarray:
    return np.stack([sitk.GetArrayFromImage(v) for v in volumes]).astype(np.float64)


def _diffusion_features(
    series: _LoadedSeries, settings: ExtractionSettings, prov: dict[str, object]
) -> dict[str, object]:
    cfg = settings.diffusion
    lesion = sitk.GetArrayFromImage(series.mask) != 0
    signal = np.moveaxis(_stack(series.volumes), 0, -1)
    b_all = np.asarray(series.values, dtype=float)
    features: dict[str, object] = {}
    adc_b = cfg.adc_b_values if cfg.adc_b_values is not None else tuple(b_all.tolist())
    index = []
    for b in adc_b:
        hits = np.flatnonzero(np.isclose(b_all, b))
        if hits.size == 0:
            msg = (
                f"DWI series has b-values {b_all.tolist()} but ADC needs b = {list(adc_b)}; accepted: a series "
                "containing them. Set diffusion.adc_b_values in the settings to b-values the series has."
            )
            raise ImagingError(msg)
        index.append(int(hits[0]))
    adc = AdcModel(b_all[index], method=cfg.adc_method).fit(signal[..., index], lesion)
    hist = roi_histogram(adc.adc, lesion, bin_width=cfg.entropy_bin_width)
    minimum = adc_minimum(adc.adc, lesion, roi_size=cfg.adc_min_roi_size)
    features["adc_min"] = minimum.estimate
    features.update(hist.to_dict("adc"))
    prov["adc"] = {"b_values": list(adc.b_values), "method": adc.method, "adc_min_method": minimum.method}
    if cfg.kurtosis and np.unique(b_all).size >= 3:
        dki = KurtosisModel(b_all, method=cfg.kurtosis_method).fit(signal, lesion)
        features.update(roi_histogram(dki.d_app, lesion, bin_width=cfg.entropy_bin_width).to_dict("d_app"))
        features.update(roi_histogram(dki.k_app, lesion, bin_width=cfg.entropy_bin_width).to_dict("k_app"))
        prov["dki"] = {"b_values": list(dki.b_values), "method": dki.method, "iterations": dki.n_iterations}
    return features


def _dce_features(
    series: _LoadedSeries, settings: ExtractionSettings, prov: dict[str, object]
) -> dict[str, object]:
    lesion = sitk.GetArrayFromImage(series.mask) != 0
    result = dce_kinetics(_stack(series.volumes), series.values, lesion, settings.dce)
    prov["dce"] = {"convention": result.convention, "roi_voxels": result.n, "curve": list(result.curve)}
    return {**result.features(), **result.roi_record()}


def _series_volume(spec: SeriesSpec, index: int, dtype: str = "float64") -> sitk.Image:
    """One volume of a series without reading the others (a 3-D file, or one volume of a 4-D file)."""
    if not spec.is_4d:
        return load_volume(spec.images[index], dtype=dtype)
    return load_series_volume(spec.images[0], index, n_expected=len(spec.values), dtype=dtype)


def _radiomics_input(
    name: str, case: CaseSpec, loaded: dict[str, _LoadedSeries], where: str, dtype: str = "float64"
) -> tuple[sitk.Image, sitk.Image] | None:
    """The image and mask a radiomics sequence name refers to, or None if the case lacks it."""
    match_b = _DWI_B_RE.match(name)
    match_dce = _DCE_RE.match(name)
    if match_b or match_dce:
        series_name = "dwi" if match_b else "dce"
        spec = case.get(series_name)
        if spec is None:
            return None
        values = np.asarray(spec.values, dtype=float)
        if match_b:
            hits = np.flatnonzero(np.isclose(values, float(match_b.group(1))))
            if hits.size == 0:
                return None
            index = int(hits[0])
        else:
            order = np.argsort(values, kind="stable")
            n_pre = int(np.count_nonzero(values <= 0)) or 1
            position = n_pre - 1 + int(match_dce.group(1))
            if position >= len(order):
                return None
            index = int(order[position])
        if series_name in loaded:
            series = loaded[series_name]
            image = series.volumes[index] if dtype == "float64" else _series_volume(spec, index, dtype)
            return image, series.mask
        image = _series_volume(spec, index, dtype)
        mask = load_mask(spec.masks[0] if spec.is_4d else spec.masks[index])
        check_image_mask(image, mask, name=f"{where} {name}")
        return image, mask
    spec = case.get(name)
    if spec is None or name in ("dwi", "dce"):
        return None
    image = load_volume(spec.images[0], dtype=dtype)
    mask = load_mask(spec.masks[0])
    check_image_mask(image, mask, name=f"{where} {name} image '{spec.images[0]}'")
    return image, mask


def extract_case(case: CaseSpec, settings: ExtractionSettings) -> CaseResult:
    """All features of one case. Raises :class:`ImagingError` (naming the case) when the case is unusable."""
    where = f"case patient '{case.patient_id}', lesion '{case.lesion_id}', reader '{case.reader}'"
    try:
        return _extract(case, settings, where)
    except ImagingError as exc:
        msg = f"{where}: {exc}"
        raise ImagingError(msg) from exc


def _extract(case: CaseSpec, settings: ExtractionSettings, where: str) -> CaseResult:
    if case.problems:
        raise ImagingError("; ".join(case.problems))
    provenance: dict[str, object] = {"settings_sha256": settings.sha256()}
    features: dict[str, object] = {}
    loaded: dict[str, _LoadedSeries] = {}
    if settings.quantitative:
        for name in ("dwi", "dce"):
            spec = case.get(name)
            if spec is not None:
                loaded[name] = _load_series(spec, where)
        missing = []
        if "dwi" in loaded:
            features.update(_diffusion_features(loaded["dwi"], settings, provenance))
        else:
            missing.append("dwi")
        if "dce" in loaded:
            features.update(_dce_features(loaded["dce"], settings, provenance))
        else:
            missing.append("dce")
        provenance["quantitative_missing"] = missing
    diagnostics: dict[str, dict[str, str]] = {}
    skipped = []
    steps_record: dict[str, list[dict[str, object]]] = {}
    for name in settings.sequences:
        found = _radiomics_input(name, case, loaded, where, settings.radiomics.pixel_type)
        if found is None:
            skipped.append(name)
            continue
        image, mask = found
        image, mask, steps = preprocess_image(image, mask, settings.preprocess)
        steps_record[name] = [s.to_dict() for s in steps]
        result = extract_radiomics(image, mask, settings.radiomics, sequence=name)
        features.update(result.features)
        diagnostics[name] = result.diagnostics
    provenance["preprocess"] = steps_record
    provenance["skipped_sequences"] = skipped
    return CaseResult(features=features, diagnostics=diagnostics, provenance=provenance)
