"""Synthetic two-centre demo cohort whose per-HER2-group distributions follow seed 004's Tables 1 and 2.

The generator is a known probabilistic model (see :mod:`her2mri.cohort._demo_model`): HER2 class, then the
tumour's ER status, then every feature given the (class, ER status) state and the centre. Because of that design the
*true* posterior P(zero / low / positive | observed features) is computed exactly and written as
``true_p_zero``, ``true_p_low`` and ``true_p_positive`` — the best any model can do on this data. Those columns
are simulation truth: never use them as features. ``dfs_months``/``dfs_event`` are outcomes (they depend on the
state and on T/N category) and are not part of the conditioning set.

Centre 2 used other hardware: its ADC values read 0.08 ×10⁻³ mm²/s higher and its EER 0.05 lower.

Image-derived columns (DKI histogram metrics, per-sequence radiomics of two readers and their ICC) are a second
table joined on ``lesion_id``: :func:`make_demo_imaging` (see :mod:`her2mri.cohort._demo_imaging`), shipped as
``demo_imaging.csv`` and ``demo_icc.csv`` next to the cohort (:func:`demo_imaging_path`, :func:`demo_icc_path`).
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from her2mri.cohort import _demo_model as m
from her2mri.cohort._demo_imaging import make_demo_imaging
from her2mri.cohort.model import Cohort
from her2mri.cohort.validate import load_cohort

__all__ = ["DEMO_FEATURES", "DEMO_TARGETS", "demo_cohort_path", "demo_icc_path", "demo_imaging_path",
           "load_demo_cohort", "make_demo_cohort", "make_demo_imaging", "true_posterior"]

DEMO_TARGETS: pd.DataFrame = m.demo_targets()
"""Marginal targets of the generator per HER2 class (seed 004 training-set figures)."""

DEMO_FEATURES: tuple[str, ...] = tuple(
    list(m.CATEGORICAL) + list(m.DISCRETE) + list(m.CONTINUOUS) + ["menopausal_status", "t_category", "center"])
"""The observed features the recorded posterior conditions on."""

true_posterior = m.true_posterior

_MISSING_RATE = {"ki67_percent": 0.04, "adc_min": 0.05, "eer": 0.03, "t2_signal": 0.03, "fgt": 0.03,
                 "bpe": 0.02, "menopausal_status": 0.02}
_SECOND_LESION = 0.06  # P(a multifocal patient contributes two lesions)
_YES_NO = np.array(["yes", "no"], dtype=object)
_COLUMN_ORDER = (
    "patient_id", "lesion_id", "center", "exam_date", "age", "menopausal_status", "her2_ihc", "her2_ihc0_subtype",
    "her2_ish", "her2_ish_ratio", "her2_copy_number", "her2_guideline", "er_percent", "pr_percent", "ki67_percent",
    "histologic_grade", "histologic_type", "t_category", "n_category", "fgt", "bpe", "lesion_type", "lesion_number",
    "laterality", "quadrant", "tumor_size_mm", "mass_shape", "mass_margin", "mass_internal_enhancement",
    "nme_distribution", "nme_internal_enhancement", "t2_signal", "intratumoral_edema", "peritumoral_edema",
    "tic_type", "axillary_adenopathy", "adjacent_vessel_sign", "nipple_retraction", "skin_retraction",
    "pectoralis_invasion", "birads_category", "eer", "adc_min", "dfs_months", "dfs_event", "true_p_zero",
    "true_p_low", "true_p_positive",
)
_PATIENT_LEVEL = ("age", "lesion_number", "laterality", "n_category", "er_percent", "pr_percent", "ki67_percent")


def _draw(table: np.ndarray, state: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One category index per row from per-state probability rows."""
    cum = np.cumsum(table[state], axis=1)
    u = rng.random(state.size)[:, None]
    return np.minimum((u > cum).sum(axis=1), table.shape[1] - 1)


def _her2_labels(cls: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = cls.size
    ihc = np.full(n, "0", dtype=object)
    sub = np.full(n, np.nan, dtype=object)
    ish = np.full(n, np.nan, dtype=object)
    ratio = np.full(n, np.nan)
    copies = np.full(n, np.nan)
    u = rng.random(n)

    def fill(mask: np.ndarray, r: tuple[float, float], c: tuple[float, float], call: str) -> None:
        k = int(mask.sum())
        ratio[mask] = np.round(rng.uniform(*r, k), 2)
        copies[mask] = np.round(rng.uniform(*c, k), 2)
        ish[mask] = call

    zero, low, pos = cls == 0, cls == 1, cls == 2
    sub[zero] = np.where(rng.random(int(zero.sum())) < 0.4, "ultralow", "null")
    done = rng.random(n) < 0.10
    fill(zero & done, (1.0, 1.8), (1.5, 3.8), "negative")
    ihc[low & (u < 0.6)] = "1+"
    fill(low & (u < 0.6) & done, (1.0, 1.8), (1.5, 3.8), "negative")
    low2 = low & (u >= 0.6)
    ihc[low2] = "2+"
    v = rng.random(n)
    fill(low2 & (v < 0.80), (1.0, 1.8), (1.5, 3.8), "negative")             # group 5
    fill(low2 & (v >= 0.80) & (v < 0.92), (1.2, 1.9), (4.0, 5.9), "negative")  # group 4
    fill(low2 & (v >= 0.92), (2.0, 2.6), (2.5, 3.9), "negative")             # group 2
    ihc[pos & (u < 0.7)] = "3+"
    fill(pos & (u < 0.7) & (rng.random(n) < 0.3), (2.2, 8.0), (4.5, 20.0), "positive")
    pos2 = pos & (u >= 0.7)
    ihc[pos2] = "2+"
    fill(pos2 & (v < 0.85), (2.2, 6.0), (4.5, 15.0), "positive")             # group 1
    fill(pos2 & (v >= 0.85), (1.4, 1.95), (6.0, 8.0), "positive")            # group 3
    return {"her2_ihc": ihc, "her2_ihc0_subtype": sub, "her2_ish": ish, "her2_ish_ratio": ratio,
            "her2_copy_number": copies}


def _survival(state: np.ndarray, n_cat: np.ndarray, t_cat: np.ndarray, rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray]:
    state_effect = np.array([0.1, 0.8, 0.0, 0.7, 0.3, 0.6])
    n_effect = {"N0": 0.0, "N1": 0.5, "N2": 0.9, "N3": 1.2}
    t_effect = {"T1": 0.0, "T2": 0.25, "T3": 0.5, "T4": 0.8}
    log_hazard = (np.log(0.0025) + state_effect[state] + np.array([n_effect[x] for x in n_cat])
                  + np.array([t_effect[x] for x in t_cat]))
    event_time = rng.exponential(1.0 / np.exp(log_hazard))
    censor = rng.uniform(12.0, 96.0, state.size)
    return np.round(np.minimum(event_time, censor), 1), (event_time <= censor).astype(int)


def _center_table(n_lesions: int, center: str, rng: np.random.Generator) -> pd.DataFrame:
    n_pat = n_lesions
    state = rng.choice(m.N_STATES, size=n_pat, p=m.STATE_PRIOR / m.STATE_PRIOR.sum())
    centers = np.full(n_pat, center, dtype=object)
    patient: dict[str, np.ndarray] = {}
    for name in ("lesion_number", "laterality", "n_category"):
        levels, table = m.CATEGORICAL[name]
        patient[name] = np.asarray(levels, dtype=object)[_draw(table, state, rng)]
    for name, (levels, table) in m.DISCRETE.items():
        patient[name] = levels[_draw(table, state, rng)]
    patient["age"] = m.CONTINUOUS["age"].sample(state, centers, rng)
    two = (patient["lesion_number"] == "multiple") & (rng.random(n_pat) < _SECOND_LESION)
    count = 1 + two.astype(int)
    keep = int(np.searchsorted(np.cumsum(count), n_lesions)) + 1
    count = count[:keep]
    count[-1] -= int(count.sum() - n_lesions)
    patient_index = np.repeat(np.arange(keep), count)
    order = np.concatenate([np.arange(c) for c in count]) + 1
    s = state[patient_index]
    cls = m.STATE_CLASS[s]
    n = s.size
    c = centers[patient_index]
    prefix = "C1" if center == "center1" else ("C2" if center == "center2" else center)
    pid = np.array([f"{prefix}-{i + 1:04d}" for i in range(keep)], dtype=object)[patient_index]
    out: dict[str, np.ndarray] = {
        "patient_id": pid,
        "lesion_id": np.array([f"{p}-L{k}" for p, k in zip(pid, order, strict=True)], dtype=object),
        "center": c,
    }
    for name, values in patient.items():
        out[name] = values[patient_index]
    age = out["age"]
    out["menopausal_status"] = np.where(rng.random(n) < 1 / (1 + np.exp(-(age - 52.0) / 2.0)), "post", "pre")
    start = np.datetime64("2016-01-01") if center == "center1" else np.datetime64("2018-01-01")
    days = rng.integers(0, 365 * 5, keep)[patient_index]
    out["exam_date"] = np.array([str(start + int(d)) for d in days], dtype=object)
    out.update(_her2_labels(cls, rng))
    out["her2_guideline"] = np.full(n, "2018", dtype=object)
    for name, (levels, table) in m.CATEGORICAL.items():
        if name in patient:
            continue
        values = np.asarray(levels, dtype=object)[_draw(table, s, rng)]
        if name in {"intratumoral_edema", "peritumoral_edema", "adjacent_vessel_sign", "axillary_adenopathy",
                    "nipple_retraction", "skin_retraction", "pectoralis_invasion"}:
            values = np.where(values == "1", "yes", "no").astype(object)
        out[name] = values
    for name in ("tumor_size_mm", "eer", "adc_min"):
        out[name] = m.CONTINUOUS[name].sample(s, c, rng)
    size = out["tumor_size_mm"]
    out["t_category"] = np.select([size <= 20, size <= 50], ["T1", "T2"], "T3").astype(object)
    lesion_type = out["lesion_type"]
    for name in m.MASS_ONLY:
        out[name] = np.where(lesion_type == "nme", np.nan, out[name]).astype(object)
    for name in m.NME_ONLY:
        out[name] = np.where(lesion_type == "mass", np.nan, out[name]).astype(object)
    first = np.r_[True, patient_index[1:] != patient_index[:-1]]
    months, event = _survival(s[first], out["n_category"][first], out["t_category"][first], rng)
    out["dfs_months"] = months[patient_index]
    out["dfs_event"] = event[patient_index]
    frame = pd.DataFrame(out)
    for name, rate in _MISSING_RATE.items():
        mask = rng.random(n) < rate
        frame[name] = frame[name].astype(object if frame[name].dtype == object else float)
        frame.loc[mask, name] = np.nan
    return frame


def make_demo_cohort(n_center1: int = 720, n_center2: int = 300, seed: int = 2026) -> pd.DataFrame:
    """Simulate the two-centre demo cohort (raw contract table, one row per lesion).

    Parameters
    ----------
    n_center1, n_center2
        Lesions per centre (a few patients contribute two lesions).
    seed
        Seed of the ``numpy.random.Generator``; the same seed gives the same table.

    Returns
    -------
    pandas.DataFrame
        Contract columns plus ``dfs_months``, ``dfs_event`` and the true posteriors ``true_p_zero``,
        ``true_p_low``, ``true_p_positive`` of the observed features (simulation truth, never features).
    """
    for name, value in (("n_center1", n_center1), ("n_center2", n_center2)):
        if not isinstance(value, int | np.integer) or value < 0:
            message = f"The '{name}' parameter of make_demo_cohort must be a non-negative integer. Got {value!r} instead."
            raise ValueError(message)
    rng = np.random.default_rng(seed)
    parts = [_center_table(k, c, rng) for k, c in ((n_center1, "center1"), (n_center2, "center2")) if k > 0]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(_COLUMN_ORDER))
    posterior = m.true_posterior(frame) if len(frame) else np.zeros((0, 3))
    frame["true_p_zero"] = np.round(posterior[:, 0], 6)
    frame["true_p_low"] = np.round(posterior[:, 1], 6)
    frame["true_p_positive"] = np.round(1.0 - frame["true_p_zero"] - frame["true_p_low"], 6)  # rows sum to 1
    for name in ("age", "tumor_size_mm", "er_percent", "pr_percent", "ki67_percent"):
        frame[name] = frame[name].astype("Int64")
    return frame.loc[:, list(_COLUMN_ORDER)]


def demo_cohort_path() -> Path:
    """Path of the shipped default demo cohort (``make_demo_cohort()`` written as CSV)."""
    return Path(str(resources.files("her2mri") / "data" / "demo_cohort.csv"))


def demo_imaging_path() -> Path:
    """Path of the shipped demo imaging table (``make_demo_imaging(make_demo_cohort())[0]`` as CSV)."""
    return Path(str(resources.files("her2mri") / "data" / "demo_imaging.csv"))


def demo_icc_path() -> Path:
    """Path of the shipped two-reader ICC table of the demo imaging features (columns ``feature``, ``icc``, …)."""
    return Path(str(resources.files("her2mri") / "data" / "demo_icc.csv"))


@lru_cache(maxsize=1)
def _load_default() -> Cohort:
    return load_cohort(demo_cohort_path())


def load_demo_cohort() -> Cohort:
    """The shipped demo cohort, validated (derived labels appended); each call returns its own frame copy."""
    cohort = _load_default()
    return replace(cohort, frame=cohort.frame.copy())
