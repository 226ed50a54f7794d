"""Image-derived columns of the demo cohort: DKI histogram metrics and per-sequence radiomics, two readers.

A second, lesion-level table joined to the demo cohort on ``lesion_id`` (``cohort.features`` in a study
configuration), generated from each lesion's HER2 class, lesion type and centre with class effects of the size
seeds 001 and 002 report:

* **DKI histogram** (seed 002): ADC, D_app (×10⁻³ mm²/s) and K_app (unitless) mean, median, 5th and 95th
  percentiles, plus K_app entropy. HER2-low has lower ADC / D_app and higher K_app than HER2-positive; the
  difference is clear in NME-related lesions (non-mass or mass with NME: single-parameter AUC about 0.7–0.8, as
  the paper's 0.666–0.786) and small in masses (not significant there in the paper). K_app is also a little higher
  in HER2-low than in HER2-zero. Centre 2's scanner reads ADC and D_app 0.08 higher, as in the cohort table.
* **Radiomics** (seed 001): eight PyRadiomics-named features for each of T2 (``t2__``), DWI b1000 (``dwi__``),
  early DCE (``dce_early__``) and late DCE (``dce_late__``). HER2-positive (hence FISH-positive within IHC 2+)
  shifts three features per sequence by 0.50 (T2), 0.80 (DWI, early DCE) and 0.95 (late DCE) units (the true
  value's SD is about 1.2–1.4, before reader error), the paper's ordering of single-sequence performance (T2
  weakest, late DCE strongest); a shared heterogeneity factor makes features collinear, so the correlation filter
  has work to do.
* **Two readers**: every value is a reader's measurement of the lesion's true value with a feature-specific
  measurement error. Reader 1 segmented every lesion (the table's values); reader 2 re-segmented a random 35 % of
  lesions, as in seed 001, and :data:`demo_icc` holds the per-feature ICC(2,1) of the two readers
  (:func:`her2mri.imaging.feature_icc`). ICCs span 0.44–0.97, so seed 001's ICC > 0.75 filter removes some
  features, two of them informative.

The cohort's ``true_p_*`` columns are the posterior given the *cohort table's* features only; these columns add
HER2 evidence, so a model using them can exceed that reference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["RADIOMICS_FEATURES", "SEQUENCES", "demo_her2_class", "make_demo_imaging"]

SEQUENCES = ("t2", "dwi", "dce_early", "dce_late")
RADIOMICS_FEATURES = (
    "original_firstorder_Mean", "original_firstorder_Entropy", "original_firstorder_Skewness",
    "original_firstorder_90Percentile", "original_glcm_Contrast", "original_glcm_Correlation",
    "original_glrlm_RunEntropy", "original_glszm_ZoneEntropy",
)
# (location, scale) of each radiomics feature's reported values
_SCALE = {
    "original_firstorder_Mean": (420.0, 90.0), "original_firstorder_Entropy": (4.2, 0.45),
    "original_firstorder_Skewness": (0.35, 0.4), "original_firstorder_90Percentile": (640.0, 120.0),
    "original_glcm_Contrast": (22.0, 6.0), "original_glcm_Correlation": (0.42, 0.09),
    "original_glrlm_RunEntropy": (4.9, 0.35), "original_glszm_ZoneEntropy": (6.1, 0.4),
}
_EFFECT = {"t2": 0.50, "dwi": 0.80, "dce_early": 0.80, "dce_late": 0.95}
"""HER2-positive shift (in SD of the true value) of the three informative features of each sequence."""
_INFORMATIVE = {"t2": (0, 4, 7), "dwi": (0, 1, 5), "dce_early": (1, 3, 4), "dce_late": (0, 3, 6)}
_ICC = (0.97, 0.92, 0.88, 0.83, 0.79, 0.70, 0.58, 0.45)
"""Target reliabilities; each sequence uses them in its own order (two informative features fall below 0.75)."""
_DKI_ICC = {"adc": 0.88, "d_app": 0.84, "k_app": 0.82}
_ADC_SHIFT = {"center1": 0.0, "center2": 0.08}


def demo_her2_class(frame: pd.DataFrame) -> np.ndarray:
    """HER2 class index (0 zero, 1 low, 2 positive) of each row of the raw demo cohort (IHC, then ISH for 2+)."""
    ihc = frame["her2_ihc"].astype(str).str.strip().to_numpy()
    ish = frame["her2_ish"].astype(str).str.strip().str.lower().to_numpy()
    return np.select([ihc == "3+", (ihc == "2+") & (ish == "positive"), np.isin(ihc, ["1+", "2+"])], [2, 2, 1], 0)


def _reader(true: np.ndarray, icc: float, rng: np.random.Generator, sd: float) -> np.ndarray:
    """A reader's measurement of ``true`` (SD ``sd``) with error giving the target ICC."""
    noise_sd = sd * np.sqrt(1.0 / icc - 1.0)
    return true + rng.normal(0.0, noise_sd, true.size)


def make_demo_imaging(frame: pd.DataFrame, seed: int = 2026) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo imaging table (reader 1, one row per lesion) and the two-reader ICC table.

    ``frame`` is the raw demo cohort (:func:`her2mri.cohort.make_demo_cohort`); the same frame and seed give the
    same tables.
    """
    from her2mri.imaging.reproducibility import feature_icc

    rng = np.random.default_rng(seed)
    n = len(frame)
    cls = demo_her2_class(frame)
    nme = frame["lesion_type"].astype(str).isin(["nme", "mass_with_nme"]).to_numpy()
    shift = frame["center"].astype(str).map(_ADC_SHIFT).fillna(0.0).to_numpy()
    out: dict[str, np.ndarray] = {"lesion_id": frame["lesion_id"].astype(str).to_numpy()}
    second = rng.random(n) < 0.35
    reader2: dict[str, np.ndarray] = {}

    # ---- DKI histogram -----------------------------------------------------------------------------------
    adc_base = np.array([1.00, 0.97, 1.02])[cls] + nme * np.array([0.03, 0.00, 0.08])[cls]
    adc = adc_base + shift + rng.normal(0.0, 0.13, n)
    d_app = 1.45 * (adc - shift) + shift + rng.normal(0.0, 0.08, n)
    k_app = np.array([0.78, 0.83, 0.79])[cls] + nme * np.array([0.00, 0.01, -0.03])[cls] + rng.normal(0.0, 0.07, n)
    offsets = {"mean": (0.0, 0.0), "median": (-0.02, 0.02), "p5": (-0.30, 0.05), "p95": (0.38, 0.06)}
    for prefix, true, sd, k_scale in (("adc", adc, 0.13, 1.0), ("d_app", d_app, 0.2, 1.4), ("k_app", k_app, 0.07, 0.4)):
        for suffix, (offset, jitter) in offsets.items():
            value = true + offset * k_scale + rng.normal(0.0, jitter * k_scale, n)
            name = f"{prefix}_{suffix}"
            out[name] = np.round(_reader(value, _DKI_ICC[prefix], rng, sd), 3)
            reader2[name] = np.round(_reader(value, _DKI_ICC[prefix], rng, sd), 3)
    entropy = 3.1 + 2.0 * (k_app - 0.8) + rng.normal(0.0, 0.12, n)
    out["k_app_entropy"] = np.round(_reader(entropy, 0.8, rng, 0.2), 3)
    reader2["k_app_entropy"] = np.round(_reader(entropy, 0.8, rng, 0.2), 3)

    # ---- radiomics -----------------------------------------------------------------------------------------
    heterogeneity = rng.normal(0.0, 1.0, n)
    positive = (cls == 2).astype(float)
    for s_index, sequence in enumerate(SEQUENCES):
        order = np.roll(np.arange(len(_ICC)), 2 * s_index + 1)
        sequence_factor = rng.normal(0.0, 1.0, n)
        for f_index, feature in enumerate(RADIOMICS_FEATURES):
            effect = _EFFECT[sequence] if f_index in _INFORMATIVE[sequence] else 0.0
            loading = 0.6 if f_index % 2 == 0 else 0.3
            true = effect * positive + loading * heterogeneity + 0.5 * sequence_factor + rng.normal(0.0, 1.0, n)
            sd = float(np.sqrt(loading**2 + 0.25 + 1.0))
            icc = _ICC[order[f_index]]
            location, scale = _SCALE[feature]
            name = f"{sequence}__{feature}"
            out[name] = np.round(location + scale * _reader(true, icc, rng, sd), 4)
            reader2[name] = np.round(location + scale * _reader(true, icc, rng, sd), 4)

    table = pd.DataFrame(out)
    ids = frame[["patient_id", "lesion_id"]].astype(str).reset_index(drop=True)
    first = pd.concat([ids, table.drop(columns="lesion_id")], axis=1).assign(reader="reader1")
    other = pd.concat([ids, pd.DataFrame(reader2)], axis=1).assign(reader="reader2")
    long = pd.concat([first.loc[second], other.loc[second]], ignore_index=True)
    icc = feature_icc(long).to_frame()
    icc = icc[["feature", "sequence", "estimate", "ci_low", "ci_high", "n"]].rename(columns={"estimate": "icc"})
    icc[["icc", "ci_low", "ci_high"]] = icc[["icc", "ci_low", "ci_high"]].round(4)
    return table, icc.reset_index(drop=True)
