"""The imaging part of the demonstration study: phantom mpMRI for demo-cohort lesions, features, reader ICC.

:func:`run_imaging_demo` takes the lesions of a cohort, picks ``n_cases`` of them stratified by
``her2_category`` (as equal a share per class as the cohort allows, lesions drawn at random with ``seed``),
writes phantom T2 / multi-b DWI / DCE images with two readers' masks (:func:`make_phantom_cases`), and runs
the ordinary extraction path (manifest → parallel per-case extraction → part files → tables) with the light
settings :data:`DEMO_SETTINGS`: quantitative DWI / DKI / DCE features and radiomics on the original image
only (first order, GLCM and GLSZM) for ``t2``, ``dwi_b800`` and ``dce3`` on the phantom's own grid, no N4.

The two readers' masks give the per-feature ICC table, ICC(2,1) = (MSR − MSE) / (MSR + (k−1)·MSE +
k·(MSC − MSE)/n): two-way random effects, absolute agreement, single rater (McGraw–Wong ICC(A,1)), and the
reproducible-feature filter keeps features with ICC > 0.75 (seed 001).

Files written to ``out_dir``: ``manifest.csv``, ``truth.csv`` and ``cases/`` (the phantoms), ``features.csv``
(reader 1), ``features.readers.csv``, ``features.icc.csv``, ``features.failures.csv``,
``features.diagnostics.csv``, ``features.provenance.json`` and ``summary.json`` (counts, ICC summary, the
kept features, per-class means of ``adc_mean`` / ``eer`` / ``k_app_mean`` / T2 texture and a check that
their order across classes is the order the phantom was built with, settings and timings).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from her2mri._typing import PathLike
from her2mri.exceptions import ImagingError
from her2mri.imaging.extract import extract_features, output_paths
from her2mri.imaging.phantom import CLASS_PARAMETERS, make_phantom_cases
from her2mri.imaging.reproducibility import ICC_FORMS, select_reproducible
from her2mri.imaging.settings import ExtractionSettings, settings_from_dict

__all__ = [
    "DEMO_SETTINGS",
    "ImagingDemoResult",
    "class_order_check",
    "demo_settings",
    "run_imaging_demo",
    "select_demo_lesions",
]

DEMO_SETTINGS: dict[str, Any] = {
    "sequences": ["t2", "dwi_b800", "dce3"],
    "preprocess": {"n4_bias_correction": False},
    "radiomics": {
        "image_types": ["original"],
        "feature_classes": {"firstorder": None, "glcm": None, "glszm": None},
        "resampled_spacing_mm": None,
    },
}
CLASSES = ("zero", "low", "positive")
T2_TEXTURE = "t2__original_firstorder_MeanAbsoluteDeviation"
CLASS_MEAN_COLUMNS = ("adc_mean", "d_app_mean", "k_app_mean", "eer", "ser", T2_TEXTURE)
CHECKED_COLUMNS = ("adc_mean", "eer", "k_app_mean", T2_TEXTURE)
TOP_N = 10


@dataclass(frozen=True)
class ImagingDemoResult:
    """What :func:`run_imaging_demo` produced: tables, the kept features and the written ``summary.json``."""

    directory: Path
    lesions: pd.DataFrame
    features: pd.DataFrame
    icc: pd.DataFrame
    reproducible: tuple[str, ...]
    failures: pd.DataFrame
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The summary (JSON-safe), as written to ``summary.json``."""
        return dict(self.summary)


def demo_settings() -> ExtractionSettings:
    """Validated :data:`DEMO_SETTINGS` (everything not named there is the shipped default)."""
    return settings_from_dict(DEMO_SETTINGS, source="her2mri.imaging.demo_study.DEMO_SETTINGS")


def select_demo_lesions(cohort_frame: pd.DataFrame, n_cases: int, *, seed: int = 2026) -> pd.DataFrame:
    """``n_cases`` lesions stratified by ``her2_category``: equal shares per class where the cohort allows.

    Classes are taken in the order zero, low, positive, then any other class (e.g. "negative"); lesions with
    an unknown class are not eligible. The draw is deterministic given ``seed``. Returns ``patient_id,
    lesion_id, her2_category`` in class order.
    """
    where = "select_demo_lesions"
    missing = [c for c in ("patient_id", "her2_category") if c not in cohort_frame.columns]
    if missing:
        msg = (
            f"{where}: the cohort frame lacks {', '.join(missing)}; accepted: a frame with patient_id, "
            "her2_category (and optionally lesion_id). Pass Cohort.frame from her2mri.cohort.load_cohort."
        )
        raise ImagingError(msg)
    frame = cohort_frame.loc[cohort_frame["her2_category"].notna()].copy()
    frame["patient_id"] = frame["patient_id"].astype(str)
    if "lesion_id" in frame.columns:
        frame["lesion_id"] = frame["lesion_id"].where(frame["lesion_id"].notna(), frame["patient_id"]).astype(str)
    else:
        frame["lesion_id"] = frame["patient_id"]
    frame["her2_category"] = frame["her2_category"].astype(str)
    frame = frame.drop_duplicates("lesion_id")
    present = [c for c in CLASSES if c in set(frame["her2_category"])]
    present += sorted(set(frame["her2_category"]) - set(CLASSES))
    if n_cases < 3 or n_cases > len(frame):
        msg = (
            f"{where}: got n_cases={n_cases}; accepted: 3 to {len(frame)} (lesions with a known HER2 class). "
            "Choose a number in that range."
        )
        raise ImagingError(msg)
    available = {c: int((frame["her2_category"] == c).sum()) for c in present}
    quota = dict.fromkeys(present, 0)
    remaining = n_cases
    while remaining > 0:
        open_classes = [c for c in present if quota[c] < available[c]]
        share = max(1, remaining // len(open_classes))
        for c in open_classes:
            take = min(share, available[c] - quota[c], remaining)
            quota[c] += take
            remaining -= take
            if remaining == 0:
                break
    rng = np.random.default_rng(seed)
    picked = []
    for c in present:
        members = frame.loc[frame["her2_category"] == c].sort_values("lesion_id", kind="mergesort")
        rows = np.sort(rng.choice(len(members), size=quota[c], replace=False))
        picked.append(members.iloc[rows])
    chosen = pd.concat(picked, ignore_index=True)
    return chosen[["patient_id", "lesion_id", "her2_category"]]


def _design_values(adc_b_values: tuple[float, ...] | None) -> dict[str, dict[str, float]]:
    """The phantom's class parameters as the extraction measures them (ADC from the kurtosis signal model)."""
    b_low, b_high = (0.0, 800.0) if not adc_b_values else (min(adc_b_values), max(adc_b_values))
    values = {}
    for name, p in CLASS_PARAMETERS.items():
        d, k = float(p["d"]), float(p["k"])

        def log_signal(b: float, d: float = d, k: float = k) -> float:
            b = b / 1000.0
            return -b * d + b**2 * d**2 * k / 6.0

        adc = (log_signal(b_low) - log_signal(b_high)) / ((b_high - b_low) / 1000.0)
        values[name] = {"adc_mean": adc, "eer": float(p["eer"]), "k_app_mean": k, T2_TEXTURE: float(p["texture"])}
    return values


def class_order_check(
    class_means: dict[str, dict[str, Any]], *, adc_b_values: tuple[float, ...] | None = (0.0, 800.0)
) -> dict[str, dict[str, Any]]:
    """Compare the order of classes by recovered mean ``adc_mean`` / ``eer`` / ``k_app_mean`` and T2 texture
    (mean absolute deviation of the T2 intensities in the lesion) with the phantom's design.

    Returns, per feature, the expected order (ascending, from the phantom's parameters; ADC is the two-point
    ADC the kurtosis model gives at the ADC b-values, T2 texture follows the texture SD), the observed order
    and ``matches``.
    """
    design = _design_values(adc_b_values)
    classes = [c for c in CLASSES if c in class_means and class_means[c].get("n", 0) > 0]
    checks = {}
    for column in CHECKED_COLUMNS:
        observed_values = {c: class_means[c].get(column) for c in classes}
        usable = [c for c in classes if observed_values[c] is not None and math.isfinite(observed_values[c])]
        if not usable:
            continue
        expected = sorted(usable, key=lambda c: design[c][column])
        observed = sorted(usable, key=lambda c: observed_values[c])
        checks[column] = {
            "expected_order": expected,
            "observed_order": observed,
            "design_values": {c: round(design[c][column], 4) for c in usable},
            "matches": len(usable) >= 2 and expected == observed,
        }
    return checks


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _class_means(features: pd.DataFrame, lesions: pd.DataFrame) -> dict[str, dict[str, Any]]:
    merged = features.merge(lesions[["lesion_id", "her2_category"]], on="lesion_id", how="inner")
    columns = [c for c in CLASS_MEAN_COLUMNS if c in merged.columns]
    means: dict[str, dict[str, Any]] = {}
    for category in [c for c in CLASSES if c in set(lesions["her2_category"])] + sorted(
        set(lesions["her2_category"]) - set(CLASSES)
    ):
        group = merged.loc[merged["her2_category"] == category]
        entry: dict[str, Any] = {"n": len(group)}
        for column in columns:
            values = pd.to_numeric(group[column], errors="coerce")
            entry[column] = float(values.mean()) if values.notna().any() else None
            entry[f"{column}_sd"] = float(values.std(ddof=1)) if values.notna().sum() > 1 else None
        if "tic_type" in group.columns:
            entry["tic_type"] = {str(k): int(v) for k, v in group["tic_type"].value_counts().items()}
        means[category] = entry
    return means


def _icc_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    keep = ["feature", "sequence", "estimate", "ci_low", "ci_high", "n"]
    return [_json_safe(r) for r in table[keep].to_dict("records")]


def _icc_summary(icc: pd.DataFrame, settings: ExtractionSettings, kept: tuple[str, ...]) -> dict[str, Any]:
    rules = settings.reproducibility
    estimable = icc.loc[icc["estimate"].notna()].sort_values("estimate", ascending=False, kind="mergesort")
    by_sequence = {}
    for sequence, group in icc.groupby("sequence", sort=True):
        values = group["estimate"].dropna()
        by_sequence[str(sequence)] = {
            "n": len(group),
            "n_estimable": len(values),
            "n_reproducible": int(group["feature"].isin(kept).sum()),
            "median": float(values.median()) if len(values) else None,
        }
    bands = {"poor": (-np.inf, 0.5), "moderate": (0.5, 0.75), "good": (0.75, 0.9), "excellent": (0.9, np.inf)}
    return {
        "form": rules.icc_form,
        "form_label": ICC_FORMS[rules.icc_form],
        "definition": "(MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n)",
        "threshold": rules.threshold,
        "use_ci_low": rules.use_ci_low,
        "n_features": len(icc),
        "n_estimable": len(estimable),
        "n_reproducible": len(kept),
        "n_lesions": int(icc["n"].max()) if len(icc) else 0,
        "k_readers": int(icc["k"].max()) if len(icc) else 0,
        "median": float(estimable["estimate"].median()) if len(estimable) else None,
        "bands": {
            name: int(((estimable["estimate"] >= lo) & (estimable["estimate"] < hi)).sum())
            for name, (lo, hi) in bands.items()
        },
        "by_sequence": by_sequence,
        "top": _icc_rows(estimable.head(TOP_N)),
        "bottom": _icc_rows(estimable.tail(TOP_N).iloc[::-1]),
    }


def run_imaging_demo(
    cohort_frame: pd.DataFrame,
    out_dir: PathLike,
    *,
    n_cases: int = 24,
    workers: int = 2,
    seed: int = 2026,
    progress: bool = False,
) -> ImagingDemoResult:
    """Phantom mpMRI for ``n_cases`` stratified lesions of ``cohort_frame``, features, ICC table, summary.json.

    The part files of an earlier run in ``out_dir`` are removed first (the phantoms depend on the seed and the
    lesions drawn, which the settings hash of the resume cache does not cover).
    """
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = demo_settings()
    lesions = select_demo_lesions(cohort_frame, n_cases, seed=seed)
    cases = make_phantom_cases(lesions, out, seed=seed)
    phantoms_done = time.perf_counter()
    features_path = out / "features.csv"
    paths = output_paths(features_path)
    if paths["parts"].exists():
        shutil.rmtree(paths["parts"])
    result = extract_features(cases.manifest, features_path, settings=settings, workers=workers, progress=progress)
    extracted = time.perf_counter()
    if result.icc is None:
        msg = (
            f"run_imaging_demo: no ICC table for '{out}' ({len(result.failures)} of {2 * len(lesions)} cases "
            f"failed; see {paths['failures']}). Accepted: at least 2 lesions extracted for both readers."
        )
        raise ImagingError(msg)
    rules = settings.reproducibility
    kept = select_reproducible(result.icc, threshold=rules.threshold, use_ci_low=rules.use_ci_low)
    means = _class_means(result.features, lesions)
    feature_columns = [c for c in result.features.columns if c not in ("patient_id", "lesion_id", "reader")]
    numeric = [c for c in feature_columns if pd.api.types.is_numeric_dtype(result.features[c])]
    finished = time.perf_counter()
    summary = {
        "schema_version": 1,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "workers": workers,
        "n_cases": len(lesions),
        "n_reader_cases": 2 * len(lesions),
        "n_failed": len(result.failures),
        "readers": list(result.provenance.get("readers", [])),
        "primary_reader": result.primary_reader,
        "classes": {str(k): int(v) for k, v in lesions["her2_category"].value_counts().items()},
        "n_features": len(feature_columns),
        "n_numeric_features": len(numeric),
        "n_quantitative": len([c for c in feature_columns if "__" not in c]),
        "n_radiomics": len([c for c in feature_columns if "__" in c]),
        "sequences": list(settings.sequences),
        "icc": _icc_summary(result.icc, settings, kept),
        "reproducible_features": list(kept),
        "class_means": means,
        "class_order_check": class_order_check(means, adc_b_values=settings.diffusion.adc_b_values),
        "settings": {"demo": DEMO_SETTINGS, "sha256": settings.sha256(), "full": settings.model_dump(mode="json")},
        "timing_s": {
            "phantoms": round(phantoms_done - started, 3),
            "extraction": round(extracted - phantoms_done, 3),
            "total": round(finished - started, 3),
        },
        "files": {
            "manifest": cases.manifest.name,
            "truth": "truth.csv",
            **{key: path.name for key, path in paths.items() if key != "parts"},
        },
    }
    summary = _json_safe(summary)
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return ImagingDemoResult(
        directory=out,
        lesions=lesions,
        features=result.features,
        icc=result.icc,
        reproducible=kept,
        failures=result.failures,
        summary=summary,
    )
