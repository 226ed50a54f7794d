"""A small synthetic two-centre cohort for study tests (seeded; written as a CSV in a temporary folder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def make_cohort(n: int = 240, seed: int = 7, *, binary_only: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    patients = [f"P{i:04d}" for i in range(n)]
    latent = rng.normal(size=n)
    ki67 = np.clip(20 + 12 * latent + rng.normal(0, 8, n), 1, 95)
    adc = np.clip(1.0 - 0.12 * latent + rng.normal(0, 0.1, n), 0.5, 1.8)
    size = np.clip(22 + 6 * latent + rng.normal(0, 6, n), 5, 80)
    lp_pos = -1.0 + 1.4 * latent
    lp_low = 0.3 + 1.2 * (adc < 1.0) - 0.05 * (size - 22)
    p_pos = 1 / (1 + np.exp(-lp_pos))
    p_low = (1 - p_pos) / (1 + np.exp(-lp_low))
    p_zero = 1 - p_pos - p_low
    u = rng.uniform(size=n)
    category = np.where(u < p_pos, "positive", np.where(u < p_pos + p_low, "low", "zero"))
    ihc = np.where(category == "positive", "3+", np.where(category == "low", rng.choice(["1+", "2+"], n), "0"))
    ish = np.where((ihc == "2+"), "negative", "")
    lesion_type = rng.choice(["mass", "nme"], n, p=[0.8, 0.2])
    frame = pd.DataFrame({
        "patient_id": patients, "lesion_id": [f"{p}-L1" for p in patients],
        "center": np.where(np.arange(n) < int(n * 0.7), "center1", "center2"),
        "her2_ihc": ihc, "her2_ish": ish,
        "age": np.round(rng.normal(52, 10, n)), "ki67_percent": np.round(ki67, 1),
        "er_status": np.where(rng.uniform(size=n) < 0.7 - 0.2 * (category == "positive"), "positive", "negative"),
        "tumor_size_mm": np.round(size, 1), "adc_mean": np.round(adc, 3),
        "lesion_type": lesion_type,
        "mass_shape": np.where(lesion_type == "mass", rng.choice(["oval", "round", "irregular"], n), ""),
        "peritumoral_edema": rng.choice(["yes", "no"], n),
        "dfs_months": np.round(rng.exponential(60, n), 1), "dfs_event": (rng.uniform(size=n) < 0.2).astype(int),
        "true_p_zero": p_zero, "true_p_low": p_low, "true_p_positive": p_pos,
    })
    if binary_only:
        frame = frame.drop(columns=["her2_ihc", "her2_ish", "true_p_zero", "true_p_low", "true_p_positive"])
        frame["her2_status"] = np.where(category == "positive", "positive", "negative")
    return frame


def write_cohort(folder: Path, **kwargs: object) -> Path:
    path = folder / "cohort.csv"
    make_cohort(**kwargs).to_csv(path, index=False)  # type: ignore[arg-type]
    return path
