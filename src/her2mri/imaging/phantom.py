"""Synthetic multiparametric breast MRI phantoms for demos, tests and benchmarks.

Each case is a small volume (default 48×48×16 voxels of 1×1×3 mm) with one ellipsoidal lesion whose texture,
diffusion (D_app, K_app) and kinetics (EER, curve type) depend on the lesion's HER2 class:

=========  ======  =====  ====  ===========  =================
class      D_app   K_app  EER   curve type   T2 texture SD
=========  ======  =====  ====  ===========  =================
zero       1.00    0.95   0.70  persistent   40
low        0.90    1.05   1.00  plateau      55
positive   1.20    0.75   1.40  washout      75
=========  ======  =====  ====  ===========  =================

(D_app in ×10⁻³ mm²/s; binary-only "negative" lesions and unknown classes use the "low" parameters.) Values
jitter per lesion. Sequences: T2 (``t2``), DWI at b 0/800/1400/2000 s/mm² written one file per b-value
(``dwi``), DCE with 8 phases at 0 (pre-contrast), 60, …, 420 s written as one 4-D NIfTI (``dce``). Two
readers' masks differ slightly: reader 2 dilates reader 1's mask by one voxel in-plane on one side of the
lesion and erodes it on the other. :func:`make_phantom_cases` writes the files and a manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from scipy import ndimage

from her2mri._typing import PathLike
from her2mri.exceptions import ImagingError

__all__ = ["PHANTOM_B_VALUES", "PHANTOM_TIMES_S", "PhantomCases", "make_phantom_cases", "phantom_volumes"]

PHANTOM_B_VALUES = (0.0, 800.0, 1400.0, 2000.0)
PHANTOM_TIMES_S = (0.0, 60.0, 120.0, 180.0, 240.0, 300.0, 360.0, 420.0)
READERS = ("reader1", "reader2")
CLASS_PARAMETERS = {
    "zero": {"d": 1.00, "k": 0.95, "eer": 0.70, "late": 0.20, "tic": "persistent", "texture": 40.0},
    "low": {"d": 0.90, "k": 1.05, "eer": 1.00, "late": 0.0, "tic": "plateau", "texture": 55.0},
    "positive": {"d": 1.20, "k": 0.75, "eer": 1.40, "late": -0.20, "tic": "washout", "texture": 75.0},
}


@dataclass(frozen=True)
class PhantomCases:
    """Where the phantom files went: the manifest, the truth table and the output folder."""

    manifest: Path
    truth: pd.DataFrame
    directory: Path


def _params(category: object, rng: np.random.Generator) -> dict[str, float | str]:
    base = CLASS_PARAMETERS.get(str(category), CLASS_PARAMETERS["low"])
    d = float(base["d"]) * float(rng.uniform(0.95, 1.05))
    k = float(base["k"]) * float(rng.uniform(0.95, 1.05))
    k = min(k, 0.95 * 3.0 / (2.0 * d))
    return {
        "d": d,
        "k": k,
        "eer": float(base["eer"]) * float(rng.uniform(0.95, 1.05)),
        "late": float(base["late"]),
        "tic": str(base["tic"]),
        "texture": float(base["texture"]),
    }


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: tuple[float, ...]) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    sd = float(field.std())
    return field / sd if sd > 0 else field


def phantom_volumes(
    category: object,
    *,
    seed: int | np.random.Generator = 0,
    shape: tuple[int, int, int] = (16, 48, 48),
) -> dict[str, object]:
    """Arrays of one phantom case (z, y, x): ``t2``, ``dwi`` (n_b, …), ``dce`` (n_t, …), ``masks`` per reader, truth."""
    rng = np.random.default_rng(seed)
    p = _params(category, rng)
    nz, ny, nx = shape
    zz, yy, xx = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    centre = np.array([nz / 2 - 0.5, ny / 2 - 0.5, nx / 2 - 0.5]) + rng.uniform(-1.5, 1.5, 3) * [0.3, 1, 1]
    radii = np.array([rng.uniform(2.2, 3.2), rng.uniform(7.0, 10.0), rng.uniform(7.0, 10.0)])
    radii[0] = min(radii[0], nz / 2 - 1)
    radii[1:] = np.minimum(radii[1:], min(ny, nx) / 2 - 3)
    dist = (
        ((zz - centre[0]) / radii[0]) ** 2
        + ((yy - centre[1]) / radii[1]) ** 2
        + ((xx - centre[2]) / radii[2]) ** 2
    )
    lesion = dist <= 1.0
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = ndimage.generate_binary_structure(2, 1)
    right = xx >= centre[2]
    dilated = ndimage.binary_dilation(lesion, structure)
    eroded = ndimage.binary_erosion(lesion, structure)
    reader2 = np.where(right, dilated, eroded) | (lesion & ~right & ~eroded & (yy < centre[1]))
    texture = _smooth_noise(rng, shape, (0.6, 1.2, 1.2))
    tissue = _smooth_noise(rng, shape, (0.8, 3.0, 3.0))

    t2 = 320.0 + 50.0 * tissue
    t2 = np.where(lesion, 520.0 + p["texture"] * texture, t2)
    t2 = np.abs(t2 + rng.normal(0.0, 8.0, shape))

    d_map = np.where(lesion, p["d"] + 0.05 * texture, 1.9 + 0.1 * tissue)
    k_map = np.where(lesion, p["k"] + 0.04 * texture, 0.45 + 0.05 * tissue)
    d_map = np.clip(d_map, 0.2, 3.0)
    k_map = np.clip(k_map, 0.0, 0.95 * 3.0 / (2.0 * d_map))
    s0 = np.where(lesion, 1000.0, 800.0 + 40.0 * tissue)
    dwi = []
    for b in np.asarray(PHANTOM_B_VALUES) / 1000.0:
        signal = s0 * np.exp(-b * d_map + b**2 * d_map**2 * k_map / 6.0)
        dwi.append(np.abs(signal + rng.normal(0.0, 5.0, shape)))

    times = np.asarray(PHANTOM_TIMES_S)
    pre = np.where(lesion, 250.0, 200.0 + 15.0 * tissue)
    gain = np.where(lesion, 1.0 + 0.08 * texture, 1.0)
    dce = []
    for t in times:
        if t <= 0:
            relative = 0.0
        elif t <= 120.0:
            relative = (1.0 - np.exp(-t / 40.0)) / (1.0 - np.exp(-120.0 / 40.0))
        else:
            relative = 1.0
        lesion_signal = pre * (1.0 + p["eer"] * relative * gain)
        if t > 120.0:
            lesion_signal = lesion_signal * (1.0 + p["late"] * (t - 120.0) / (times[-1] - 120.0))
        background = pre * (1.0 + 0.15 * min(t, 300.0) / 300.0)
        phase = np.where(lesion, lesion_signal, background)
        dce.append(np.abs(phase + rng.normal(0.0, 3.0, shape)))
    return {
        "t2": t2,
        "dwi": np.stack(dwi),
        "dce": np.stack(dce),
        "masks": {READERS[0]: lesion.astype(np.uint8), READERS[1]: reader2.astype(np.uint8)},
        "truth": {
            "true_d_app": p["d"],
            "true_k_app": p["k"],
            "true_eer": p["eer"],
            "true_tic_type": p["tic"],
        },
    }


def _image(array: np.ndarray, spacing: tuple[float, float, float]) -> sitk.Image:
    image = sitk.GetImageFromArray(np.ascontiguousarray(array, dtype=np.float32))
    image.SetSpacing(spacing)
    image.SetOrigin((-24.0, -24.0, -24.0))
    return image


def make_phantom_cases(
    lesions: pd.DataFrame | int,
    out_dir: PathLike,
    *,
    seed: int = 2026,
    shape: tuple[int, int, int] = (16, 48, 48),
    spacing_mm: tuple[float, float, float] = (1.0, 1.0, 3.0),
) -> PhantomCases:
    """Write phantom cases for ``lesions`` (a frame with ``lesion_id``, ``patient_id``, ``her2_category``, or a
    number of cases with classes cycling zero/low/positive) under ``out_dir``; return the manifest path.

    ``spacing_mm`` is (x, y, z). Case ``i`` uses the seed sequence ``[seed, i]``, so any subset is reproducible.
    """
    if isinstance(lesions, int):
        if lesions < 1:
            msg = f"make_phantom_cases: got n={lesions}; accepted: at least 1 case."
            raise ImagingError(msg)
        classes = ("zero", "low", "positive")
        lesions = pd.DataFrame(
            {
                "patient_id": [f"P{i + 1:04d}" for i in range(lesions)],
                "lesion_id": [f"P{i + 1:04d}-L1" for i in range(lesions)],
                "her2_category": [classes[i % 3] for i in range(lesions)],
            }
        )
    missing = [c for c in ("patient_id", "her2_category") if c not in lesions.columns]
    if missing:
        msg = f"make_phantom_cases: lesion table lacks {', '.join(missing)}; accepted: patient_id, lesion_id, her2_category."
        raise ImagingError(msg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    truth: list[dict[str, object]] = []
    for index, record in enumerate(lesions.reset_index(drop=True).to_dict("records")):
        patient_id = str(record["patient_id"])
        lesion_id = str(record.get("lesion_id", patient_id) or patient_id)
        volumes = phantom_volumes(
            record["her2_category"], seed=np.random.default_rng([seed, index]), shape=shape
        )
        folder_name = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in lesion_id)
        folder = out / "cases" / folder_name
        folder.mkdir(parents=True, exist_ok=True)
        rel = Path("cases") / folder_name
        sitk.WriteImage(_image(volumes["t2"], spacing_mm), str(folder / "t2.nii.gz"), True)
        for b, array in zip(PHANTOM_B_VALUES, volumes["dwi"], strict=True):
            sitk.WriteImage(_image(array, spacing_mm), str(folder / f"dwi_b{int(b)}.nrrd"), True)
        phases = [_image(a, spacing_mm) for a in volumes["dce"]]
        sitk.WriteImage(sitk.JoinSeries(phases), str(folder / "dce.nii.gz"), True)
        for reader, mask in volumes["masks"].items():
            mask_image = sitk.GetImageFromArray(mask)
            mask_image.CopyInformation(phases[0])
            sitk.WriteImage(mask_image, str(folder / f"mask_{reader}.nii.gz"), True)
            mask_rel = str(rel / f"mask_{reader}.nii.gz")
            base = {"patient_id": patient_id, "lesion_id": lesion_id, "reader": reader, "mask": mask_rel}
            rows.append(
                {**base, "sequence": "t2", "image": str(rel / "t2.nii.gz"), "b_value": "", "time_s": ""}
            )
            for b in PHANTOM_B_VALUES:
                rows.append(
                    {
                        **base,
                        "sequence": "dwi",
                        "image": str(rel / f"dwi_b{int(b)}.nrrd"),
                        "b_value": f"{b:g}",
                        "time_s": "",
                    }
                )
            rows.append(
                {
                    **base,
                    "sequence": "dce",
                    "image": str(rel / "dce.nii.gz"),
                    "b_value": "",
                    "time_s": ";".join(f"{t:g}" for t in PHANTOM_TIMES_S),
                }
            )
        truth.append(
            {
                "patient_id": patient_id,
                "lesion_id": lesion_id,
                "her2_category": record["her2_category"],
                **volumes["truth"],
            }
        )
    columns = ["patient_id", "lesion_id", "sequence", "image", "mask", "reader", "b_value", "time_s"]
    manifest = out / "manifest.csv"
    pd.DataFrame(rows, columns=columns).to_csv(manifest, index=False)
    truth_frame = pd.DataFrame(truth)
    truth_frame.to_csv(out / "truth.csv", index=False)
    return PhantomCases(manifest=manifest, truth=truth_frame, directory=out)
