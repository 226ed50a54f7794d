"""ROI histogram metrics of a parameter map (seed 002) and the minimum-ADC ROI value (seed 004).

Metrics (column suffixes): ``mean``, ``median``, ``p5``, ``p95`` (5th/95th percentile, linear
interpolation), ``skewness`` (Fisher–Pearson, biased, as ``scipy.stats.skew``), ``kurtosis`` (Pearson
kurtosis, normal = 3, as PyRadiomics' first-order Kurtosis), ``entropy`` (Shannon entropy in bits of the
histogram with fixed bin width ``bin_width`` anchored at 0, the PyRadiomics binning convention, so values are
comparable across lesions; default 0.05 — i.e. 0.05×10⁻³ mm²/s for ADC and D_app and 0.05 for K_app).

``adc_min`` operationalises seed 004's "average minimum ADC of a small ROI in the darkest part of the lesion":
the lowest mean ADC of a small in-plane square ROI (default 3×3 voxels) that lies inside the lesion (at least
``min_fraction`` of its voxels in the mask, default 2/3); the mean uses only lesion voxels. If the lesion is
too small for any such ROI, the 5th percentile is used and the method string says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage, stats

from her2mri.exceptions import ImagingError

__all__ = ["HistogramResult", "MinimumRoiResult", "adc_minimum", "roi_histogram"]

HISTOGRAM_METRICS = ("mean", "median", "p5", "p95", "skewness", "kurtosis", "entropy")


@dataclass(frozen=True)
class HistogramResult:
    """Histogram metrics of the finite values of a map within an ROI."""

    mean: float
    median: float
    p5: float
    p95: float
    skewness: float
    kurtosis: float
    entropy: float
    n: int
    bin_width: float
    method: str = "roi_histogram"

    def to_dict(self, prefix: str | None = None) -> dict[str, float]:
        """Metrics keyed ``<prefix>_<metric>`` (e.g. ``adc_mean``), or plain metric names without prefix."""
        values = {m: getattr(self, m) for m in HISTOGRAM_METRICS}
        if prefix is None:
            return values
        return {f"{prefix}_{m}": v for m, v in values.items()}

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd

        return pd.DataFrame([asdict(self)])


def _values(values: npt.ArrayLike, mask: npt.ArrayLike | None) -> np.ndarray:
    data = np.asarray(values, dtype=float)
    if mask is not None:
        selector = np.asarray(mask, dtype=bool)
        if selector.shape != data.shape:
            msg = f"roi_histogram: mask shape {selector.shape} does not match map shape {data.shape}; accepted: equal shapes."
            raise ImagingError(msg)
        data = data[selector]
    return data[np.isfinite(data)].ravel()


def roi_histogram(
    values: npt.ArrayLike, mask: npt.ArrayLike | None = None, *, bin_width: float = 0.05
) -> HistogramResult:
    """Histogram metrics of ``values`` (a map) within ``mask``; non-finite values are ignored."""
    data = _values(values, mask)
    if data.size == 0:
        msg = "roi_histogram: no finite value inside the ROI; accepted: at least one fitted voxel. Check the mask and the fit."
        raise ImagingError(msg)
    if bin_width <= 0:
        msg = f"roi_histogram: bin_width must be > 0; got {bin_width}."
        raise ImagingError(msg)
    if data.size > 1 and float(np.ptp(data)) > 0:
        skewness = float(stats.skew(data))
        kurtosis = float(stats.kurtosis(data, fisher=False))
    else:
        skewness, kurtosis = 0.0, 0.0
    bins = np.floor(data / bin_width).astype(np.int64)
    _, counts = np.unique(bins, return_counts=True)
    p = counts / counts.sum()
    entropy = float(-np.sum(p * np.log2(p)))
    return HistogramResult(
        mean=float(np.mean(data)),
        median=float(np.median(data)),
        p5=float(np.percentile(data, 5)),
        p95=float(np.percentile(data, 95)),
        skewness=skewness,
        kurtosis=kurtosis,
        entropy=entropy,
        n=int(data.size),
        bin_width=float(bin_width),
    )


@dataclass(frozen=True)
class MinimumRoiResult:
    """The minimum-ADC ROI value, its ROI size in voxels and how it was obtained."""

    estimate: float
    n: int
    method: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def adc_minimum(
    adc_map: npt.ArrayLike,
    mask: npt.ArrayLike,
    *,
    roi_size: int = 3,
    min_fraction: float = 2.0 / 3.0,
) -> MinimumRoiResult:
    """Lowest mean ADC over small in-plane ROIs inside the lesion (see module docstring).

    ``adc_map`` and ``mask`` are (z, y, x) arrays; ROIs are ``roi_size``×``roi_size`` squares on each slice.
    """
    adc = np.asarray(adc_map, dtype=float)
    inside = np.asarray(mask, dtype=bool) & np.isfinite(adc)
    if not inside.any():
        msg = "adc_minimum: no fitted ADC voxel inside the lesion mask; accepted: at least one. Check the mask and DWI."
        raise ImagingError(msg)
    size = (1, roi_size, roi_size) if adc.ndim == 3 else (roi_size,) * adc.ndim
    weights = inside.astype(float)
    filled = np.where(inside, adc, 0.0)
    count = ndimage.uniform_filter(weights, size=size, mode="constant") * np.prod(size)
    total = ndimage.uniform_filter(filled, size=size, mode="constant") * np.prod(size)
    need = min_fraction * float(np.prod(size))
    eligible = inside & (count >= need - 1e-9)
    if eligible.any():
        means = total[eligible] / count[eligible]
        return MinimumRoiResult(
            float(np.min(means)), int(np.prod(size)), f"min_mean_{roi_size}x{roi_size}_roi"
        )
    values = adc[inside]
    return MinimumRoiResult(float(np.percentile(values, 5)), int(values.size), "p5_fallback")
