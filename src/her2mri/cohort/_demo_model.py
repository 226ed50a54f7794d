"""The generative model behind the demo cohort, with its exact posterior.

HER2 class (zero / low / positive) is drawn first, then the tumour's ER status within the class (ER-positive:
luminal-like, ER ≥ 1 %; ER-negative: triple-negative for HER2-zero/low, HER2-enriched for HER2-positive). The six
(class, ER status) pairs are the model's *states*. ER and PR percentages depend on the state (so they are
correlated, and luminal-HER2 tumours differ from HER2-enriched ones); every other feature is drawn independently
given the class (and, for ADC and EER, the centre, whose scanner shifts them). Hence

    P(class | x) ∝ Σ_{ER status} π(state) Π_f p_f(x_f | state, centre),

a finite sum computed exactly; missing values drop their factor (marginalised), structurally empty
descriptors carry no factor because ``lesion_type`` already does. Continuous values are stored rounded and their
likelihood is the probability of the rounding bin, so the posterior is exact for the stored table.
Menopausal status depends on age only and T category is a function of size, so neither adds a factor.

Class-conditional targets come from seed 004 (training-set columns of Tables 1 and 2). HER2 class changes a
variable only where seed 004 reported a difference (:data:`EVIDENCE`); elsewhere the classes share the pooled
value, which is within the paper's sampling error of each class's figure. Continuous variables have one standard
deviation for all classes. The HER2 evidence therefore sits in about twenty variables, each with a log-likelihood
ratio that is linear in its indicator coding (or in the value, log size), as in the published analyses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special

from her2mri.cohort.vocabulary import COLUMNS, NOT_APPLICABLE, normalise_token

CLASSES = ("zero", "low", "positive")
STATES = ("zero_er_positive", "zero_er_negative", "low_er_positive", "low_er_negative", "positive_er_positive",
          "positive_er_negative")
BASE_CLASS = np.array([0, 0, 1, 1, 2, 2])
STATE_ER = np.array([1, 0, 1, 0, 1, 0])
CLASS_PRIOR = np.array([0.195, 0.610, 0.195])
ER_POSITIVE = np.array([0.704, 0.829, 0.461])
"""P(ER ≥ 1 % | class), seed 004 Table 2; the ER-negative states carry ER = PR = 0."""
LATENT_PRIOR = np.where(STATE_ER == 1, ER_POSITIVE[BASE_CLASS], 1 - ER_POSITIVE[BASE_CLASS])
PAPER_N = np.array([125.0, 369.0, 128.0])
PAPER_N_NEGATIVE = 485.0
"""Lesions per class in seed 004's training set (weights of the fit and the tests' sampling tolerance)."""
N_STATES = 6
STATE_CLASS = BASE_CLASS
STATE_PRIOR = CLASS_PRIOR[BASE_CLASS] * LATENT_PRIOR
CENTERS = ("center1", "center2")
ADC_SHIFT = {"center1": 0.0, "center2": 0.08}
EER_SHIFT = {"center1": 0.0, "center2": -0.05}

# ---- class-conditional targets (zero, low, positive): seed 004 Tables 2 and 1, training set ----------------
# Each row: variable, paper level, contract levels it covers, zero, low, positive.
_TARGET_ROWS: list[tuple[str, str, tuple[str, ...], float, float, float]] = [
    ("histologic_grade", "I", ("1",), 0.024, 0.073, 0.023),
    ("histologic_grade", "II", ("2",), 0.616, 0.648, 0.570),
    ("histologic_grade", "III", ("3",), 0.360, 0.279, 0.407),
    ("n_category", "N0", ("N0",), 0.648, 0.558, 0.615),
    ("n_category", "N1", ("N1",), 0.304, 0.379, 0.357),
    ("n_category", "N2", ("N2",), 0.024, 0.041, 0.023),
    ("n_category", "N3", ("N3",), 0.024, 0.022, 0.005),
    ("histologic_type", "IDC", ("idc",), 0.704, 0.767, 0.773),
    ("histologic_type", "IDC + DCIS", ("idc_dcis",), 0.120, 0.130, 0.156),
    ("histologic_type", "ILC", ("ilc",), 0.040, 0.030, 0.016),
    ("histologic_type", "Mucinous", ("mucinous",), 0.032, 0.019, 0.005),
    ("histologic_type", "Other", ("other",), 0.104, 0.054, 0.050),
    ("fgt", "Fatty or scattered", ("a", "b"), 0.160, 0.117, 0.141),
    ("fgt", "Heterogeneous or extreme", ("c", "d"), 0.840, 0.883, 0.859),
    ("bpe", "Minimal or mild", ("minimal", "mild"), 0.888, 0.870, 0.891),
    ("bpe", "Moderate or marked", ("moderate", "marked"), 0.112, 0.130, 0.109),
    ("lesion_number", "Single", ("single",), 0.776, 0.645, 0.461),
    ("lesion_number", "Multifocal or multicentric", ("multiple",), 0.224, 0.355, 0.539),
    ("laterality", "Left", ("left",), 0.520, 0.518, 0.445),
    ("laterality", "Right", ("right",), 0.480, 0.482, 0.555),
    ("quadrant", "Upper left", ("upper_outer",), 0.384, 0.306, 0.195),
    ("quadrant", "Lower left", ("lower_outer",), 0.112, 0.111, 0.125),
    ("quadrant", "Upper right", ("upper_inner",), 0.288, 0.279, 0.336),
    ("quadrant", "Lower right", ("lower_inner",), 0.112, 0.090, 0.125),
    ("quadrant", "Areola and central", ("central",), 0.104, 0.214, 0.219),
    ("t2_signal", "Hyperintensity", ("hyper",), 0.096, 0.122, 0.125),
    ("t2_signal", "Slightly high", ("slightly_high",), 0.776, 0.753, 0.789),
    ("t2_signal", "Isointensity", ("iso",), 0.104, 0.095, 0.063),
    ("t2_signal", "Hypointensity", ("hypo",), 0.024, 0.030, 0.023),
    ("intratumoral_edema", "Present", ("1",), 0.304, 0.287, 0.406),
    ("peritumoral_edema", "Present", ("1",), 0.344, 0.317, 0.500),
    ("lesion_type", "Mass (incl. mass with NME)", ("mass", "mass_with_nme"), 0.960, 0.960, 0.950),
    ("lesion_type", "Mass with NME, among masses", ("mass_with_nme",), 0.088, 0.144, 0.289),
    ("mass_shape", "Round or oval", ("oval", "round"), 0.432, 0.236, 0.336),
    ("mass_shape", "Irregular", ("irregular",), 0.568, 0.764, 0.664),
    ("mass_margin", "Circumscribed", ("circumscribed",), 0.048, 0.011, 0.008),
    ("mass_margin", "Irregular or spiculated", ("irregular", "spiculated"), 0.952, 0.989, 0.992),
    ("mass_internal_enhancement", "Homogeneous", ("homogeneous",), 0.056, 0.030, 0.008),
    ("mass_internal_enhancement", "Heterogeneous", ("heterogeneous",), 0.864, 0.938, 0.961),
    ("mass_internal_enhancement", "Rim", ("rim",), 0.080, 0.032, 0.031),
    ("tic_type", "Wash-in", ("persistent",), 0.008, 0.016, 0.008),
    ("tic_type", "Plateau", ("plateau",), 0.320, 0.258, 0.227),
    ("tic_type", "Wash-out", ("washout",), 0.672, 0.726, 0.765),
    ("adjacent_vessel_sign", "Positive", ("1",), 0.312, 0.325, 0.484),
    ("axillary_adenopathy", "Yes", ("1",), 0.248, 0.358, 0.484),
    ("accompanying_signs", "Yes", ("1",), 0.184, 0.285, 0.430),
    ("birads_category", "4", ("4",), 0.424, 0.436, 0.430),
    ("birads_category", "5", ("5",), 0.576, 0.564, 0.570),
    ("er_status", "Positive ≥1%", ("positive",), 0.704, 0.829, 0.461),
    ("pr_status", "Positive ≥1%", ("positive",), 0.664, 0.767, 0.391),
    ("hr_status", "Positive", ("positive",), 0.736, 0.840, 0.523),
    ("ki67_status", "High (≥20%)", ("high",), 0.752, 0.634, 0.891),
    ("t_category", "T1", ("T1",), 0.520, 0.428, 0.328),
    ("menopausal_status", "Postmenopausal", ("post",), 0.568, 0.537, 0.578),
]
# Seed 004 Table 1 (training set), HER2-negative column, for the rows it reports.
_TABLE1_NEGATIVE = {
    ("histologic_grade", "III"): 0.297, ("lesion_number", "Multifocal or multicentric"): 0.301,
    ("intratumoral_edema", "Present"): 0.282, ("peritumoral_edema", "Present"): 0.328,
    ("lesion_type", "Mass with NME, among masses"): 0.128, ("mass_shape", "Round or oval"): 0.285,
    ("adjacent_vessel_sign", "Positive"): 0.330, ("axillary_adenopathy", "Yes"): 0.315,
    ("accompanying_signs", "Yes"): 0.227, ("er_status", "Positive ≥1%"): 0.802,
    ("pr_status", "Positive ≥1%"): 0.744, ("hr_status", "Positive"): 0.827, ("ki67_status", "High (≥20%)"): 0.660,
    ("t_category", "T1"): 0.460, ("tic_type", "Wash-out"): 0.713, ("menopausal_status", "Postmenopausal"): 0.551,
}
# Continuous targets: variable, statistic, zero, low, positive (centre 1, i.e. before any scanner shift).
_CONTINUOUS_TARGETS = [
    ("age", "mean", 53.71, 53.26, 53.64),
    ("tumor_size_mm", "median", 20.0, 22.0, 24.5),
    ("eer", "median", 0.60, 0.65, 0.62),
    ("adc_min", "median", 1.00, 0.94, 1.00),
]


def demo_targets() -> pd.DataFrame:
    """The generator's marginal targets per HER2 class (proportions, or a mean/median for continuous rows)."""
    rows = [{"variable": v, "level": lvl, "levels": "|".join(cov), "statistic": "proportion",
             "zero": z, "low": lo, "positive": p, "negative": _TABLE1_NEGATIVE.get((v, lvl), np.nan),
             "source": "seed 004 Tables 1-2, training set"}
            for v, lvl, cov, z, lo, p in _TARGET_ROWS]
    rows += [{"variable": v, "level": "", "levels": "", "statistic": s, "zero": z, "low": lo, "positive": p,
              "negative": np.nan, "source": "seed 004 Tables 1-2, training set"}
             for v, s, z, lo, p in _CONTINUOUS_TARGETS]
    return pd.DataFrame(rows)


EVIDENCE: dict[str, str] = {
    "histologic_grade": "positive", "tumor_size_mm": "positive", "ki67_percent": "positive",
    "pr_percent": "positive", "intratumoral_edema": "positive", "peritumoral_edema": "positive",
    "adjacent_vessel_sign": "positive", "axillary_adenopathy": "positive", "accompanying_signs": "positive",
    "lesion_type": "positive", "lesion_number": "both", "er_percent": "both", "mass_shape": "low",
    "eer": "low", "adc_min": "both", "quadrant": "both",
}
"""Where seed 004 found a difference (FDR-adjusted p ≤ 0.05, training set): ``positive`` — HER2-positive vs
negative only; ``low`` — HER2-low vs zero only; ``both``. Two additions whose published values are too far apart for
one common value: quadrant (upper-outer 38 % / 31 % / 20 %, central 10 % / 21 % / 22 %) and ADCmin for HER2-positive
(p = 0.09). Every variable not listed
(age, N category, histologic type, laterality, T2 signal, TIC, BI-RADS, margin, internal enhancement, FGT, BPE, NME descriptors) is
drawn independently of HER2 class at its pooled proportion. Differences the paper did not find significant are
treated as sampling noise, so the generator's HER2 evidence sits where the published evidence is."""


def _with_evidence(table: np.ndarray, variable: str) -> np.ndarray:
    """(3, L) class rows → rows that differ only as ``EVIDENCE[variable]`` says (others pooled, seed 004 weights).

    ``positive``: zero and low share their pooled (HER2-negative) row. ``low``: HER2-positive takes the negative
    row. Not listed: every class takes the pooled row of all three.
    """
    table = np.asarray(table, dtype=float)
    kind = EVIDENCE.get(variable, "none")
    negative = PAPER_N[:2] @ table[:2] / PAPER_N[:2].sum()
    if kind == "both":
        return table
    if kind == "positive":
        return np.stack([negative, negative, table[2]])
    if kind == "low":
        return np.stack([table[0], table[1], negative])
    return np.tile(PAPER_N @ table / PAPER_N.sum(), (3, 1))


def _by_class(variable: str, *rows: tuple[float, ...]) -> np.ndarray:
    """Per-class probability rows (zero, low, positive) → per-state table (6, L), each row normalised."""
    table = np.asarray(rows, dtype=float)
    table = table / table.sum(axis=1, keepdims=True)
    return _with_evidence(table, variable)[STATE_CLASS]


def _class_binary(variable: str, targets: tuple[float, float, float]) -> np.ndarray:
    """(6, 2) table of a binary sign with the class targets as its per-class probability of "present"."""
    t = np.asarray(targets, dtype=float)
    p = _with_evidence(np.c_[t, 1 - t], variable)[:, 0]
    return np.stack([p[STATE_CLASS], 1 - p[STATE_CLASS]], axis=1)


def _split(p: float, *ratios: float) -> list[float]:
    total = sum(ratios)
    return [p * r / total for r in ratios]


def _solve_signs(target: float) -> float:
    """Per-sign probability a such that P(any of nipple, skin, pectoralis) = target (pectoralis at a/3)."""
    return float(optimize.brentq(lambda a: 1 - (1 - a) ** 2 * (1 - a / 3) - target, 1e-6, 0.99))


_T = {(v, lvl): (z, lo, p) for v, lvl, _, z, lo, p in _TARGET_ROWS}


def _col(var: str, lvl: str) -> tuple[float, float, float]:
    return _T[(var, lvl)]


def _categorical_tables() -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    tables: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}

    def simple(var: str, levels: tuple[str, ...], paper: tuple[str, ...]) -> None:
        tables[var] = (levels, _by_class(var, *zip(*(_col(var, p) for p in paper), strict=True)))

    simple("histologic_grade", ("1", "2", "3"), ("I", "II", "III"))
    simple("n_category", ("N0", "N1", "N2", "N3"), ("N0", "N1", "N2", "N3"))
    simple("histologic_type", ("idc", "idc_dcis", "ilc", "mucinous", "other"),
           ("IDC", "IDC + DCIS", "ILC", "Mucinous", "Other"))
    simple("laterality", ("left", "right"), ("Left", "Right"))
    simple("quadrant", ("upper_outer", "lower_outer", "upper_inner", "lower_inner", "central"),
           ("Upper left", "Lower left", "Upper right", "Lower right", "Areola and central"))
    simple("t2_signal", ("hyper", "slightly_high", "iso", "hypo"),
           ("Hyperintensity", "Slightly high", "Isointensity", "Hypointensity"))
    simple("tic_type", ("persistent", "plateau", "washout"), ("Wash-in", "Plateau", "Wash-out"))
    simple("birads_category", ("4", "5"), ("4", "5"))
    simple("mass_internal_enhancement", ("homogeneous", "heterogeneous", "rim"), ("Homogeneous", "Heterogeneous", "Rim"))
    single = _class_binary("lesion_number", _col("lesion_number", "Multifocal or multicentric"))
    tables["lesion_number"] = (("single", "multiple"), single[:, ::-1].copy())
    fat = _col("fgt", "Fatty or scattered")
    tables["fgt"] = (("a", "b", "c", "d"), _by_class("fgt", *(_split(f, 1, 3) + _split(1 - f, 3, 1) for f in fat)))
    low_bpe = _col("bpe", "Minimal or mild")
    tables["bpe"] = (("minimal", "mild", "moderate", "marked"),
                     _by_class("bpe", *(_split(b, 45, 55) + _split(1 - b, 7, 3) for b in low_bpe)))
    mass = _col("lesion_type", "Mass (incl. mass with NME)")
    with_nme = _col("lesion_type", "Mass with NME, among masses")
    m_state = np.full(N_STATES, PAPER_N @ np.asarray(mass) / PAPER_N.sum())
    w_state = _class_binary("lesion_type", with_nme)[:, 0]
    tables["lesion_type"] = (("mass", "mass_with_nme", "nme"),
                             np.stack([m_state * (1 - w_state), m_state * w_state, 1 - m_state], axis=1))
    round_oval = _col("mass_shape", "Round or oval")
    tables["mass_shape"] = (("oval", "round", "irregular"), _by_class("mass_shape", *(_split(r, 6, 4) + [1 - r] for r in round_oval)))
    circ = _col("mass_margin", "Circumscribed")
    tables["mass_margin"] = (("circumscribed", "irregular", "spiculated"),
                             _by_class("mass_margin", *([c] + _split(1 - c, 6, 4) for c in circ)))
    tables["nme_distribution"] = (("focal", "linear", "segmental", "regional", "multiple_regions", "diffuse"),
                                  _by_class("nme_distribution", (.35, .15, .25, .15, .05, .05), (.30, .15, .30, .15, .05, .05),
                                            (.20, .10, .40, .15, .10, .05)))
    tables["nme_internal_enhancement"] = (("homogeneous", "heterogeneous", "clumped", "clustered_ring"),
                                          _by_class("nme_internal_enhancement", (.15, .50, .25, .10), (.10, .50, .30, .10), (.05, .45, .30, .20)))
    for var, lvl in (("intratumoral_edema", "Present"), ("peritumoral_edema", "Present"),
                     ("adjacent_vessel_sign", "Positive"), ("axillary_adenopathy", "Yes")):
        tables[var] = (("1", "0"), _class_binary(var, _col(var, lvl)))
    accompanying = _class_binary("accompanying_signs", _col("accompanying_signs", "Yes"))[[0, 2, 4]]
    signs = np.array([_solve_signs(t) for t in accompanying[:, 0]])[STATE_CLASS]
    for var, factor in (("nipple_retraction", 1.0), ("skin_retraction", 1.0), ("pectoralis_invasion", 1 / 3)):
        tables[var] = (("1", "0"), np.stack([signs * factor, 1 - signs * factor], axis=1))
    return tables


CATEGORICAL = _categorical_tables()
MASS_ONLY = ("mass_shape", "mass_margin", "mass_internal_enhancement")
NME_ONLY = ("nme_distribution", "nme_internal_enhancement")

# ---- pathology percentages: discrete grids given (class, ER status) ---------------------------------------
# Within the ER-positive states the classes differ only in P(level 1–10 %) (and, for PR, P(0)); above 10 % the
# shape is common, so the evidence of a percentage is carried by its 0 / 1–10 / >10 band.
_POS_LEVELS = np.array([1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95], dtype=float)
_HIGH_SHAPE = np.array([0, 0, 0, 1, 1, 2, 3, 4, 6, 9, 10, 8], dtype=float)   # strong expression
_BROAD_SHAPE = np.array([0, 0, 0, 1, 1, 2, 3, 4, 6, 8, 9, 7], dtype=float)   # weaker, broader expression
_LOW_PART = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype=float)


def _percent_table(p_zero: np.ndarray, p_low: np.ndarray, shape: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid 0 + positive levels; per state: P(0), P(1–10 | >0) and the common shape above 10."""
    levels = np.concatenate([[0.0], _POS_LEVELS])
    table = np.zeros((N_STATES, levels.size))
    high, low = shape / shape.sum(), _LOW_PART / _LOW_PART.sum()
    for s in range(N_STATES):
        table[s, 0] = p_zero[s]
        table[s, 1:] = (1 - p_zero[s]) * (p_low[s] * low + (1 - p_low[s]) * high)
    return levels, table


_PR_GIVEN_ER = np.array([0.664, 0.767, 0.391]) / ER_POSITIVE  # P(PR ≥ 1 % | class, ER-positive)
#                     z+    z-    l+    l-    p+    p-
_ER = _percent_table(np.array([0, 1, 0, 1, 0, 1.0]), np.array([.03, 0, .03, 0, .08, 0]), _HIGH_SHAPE)
_PR = _percent_table(np.where(STATE_ER == 1, 1 - _PR_GIVEN_ER[BASE_CLASS], 1.0),
                     np.array([.20, 0, .20, 0, .30, 0]), _BROAD_SHAPE)
_KI_LEVELS = np.array([1, 3, 5, 8, 10, 12, 15, 18, 20, 25, 30, 35, 40, 50, 60, 70, 80, 90], dtype=float)
_KI_LOW_SHAPE = np.array([1, 2, 4, 4, 5, 4, 4, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype=float)
_KI_HIGH_SHAPE = np.array([0, 0, 0, 0, 0, 0, 0, 0, 6, 6, 6, 5, 4, 3, 2, 1, .5, .5], dtype=float)
_KI_HIGH = _with_evidence(np.c_[[0.752, 0.634, 0.891], [0.248, 0.366, 0.109]], "ki67_percent")[:, 0]
"""P(Ki-67 ≥ 20 % | class), seed 004 Table 2; Ki-67 depends on the HER2 class only."""


def _ki_table() -> tuple[np.ndarray, np.ndarray]:
    p = _KI_HIGH[STATE_CLASS][:, None]
    return _KI_LEVELS, (1 - p) * _KI_LOW_SHAPE / _KI_LOW_SHAPE.sum() + p * _KI_HIGH_SHAPE / _KI_HIGH_SHAPE.sum()


DISCRETE = {"er_percent": _ER, "pr_percent": _PR, "ki67_percent": _ki_table()}


@dataclass(frozen=True)
class BinnedNormal:
    """A normal (or log-normal) feature stored rounded to ``step`` and clipped to ``[floor, ceiling]``.

    Its likelihood is the probability of the stored value's bin (the end bins are open-ended).
    """

    mean: np.ndarray
    sd: np.ndarray
    step: float
    log: bool = False
    floor: float | None = None
    ceiling: float | None = None
    shift: dict[str, float] | None = None

    def sample(self, state: np.ndarray, center: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        mu = self.mean[state] + self._shift(center)
        z = rng.normal(mu, self.sd[state])
        x = np.exp(z) if self.log else z
        value = np.round(x / self.step) * self.step
        value = np.clip(value, self.floor if self.floor is not None else -np.inf,
                        self.ceiling if self.ceiling is not None else np.inf)
        return np.round(value, 6)

    def _shift(self, center: np.ndarray) -> np.ndarray:
        if not self.shift:
            return np.zeros(center.size)
        return np.array([self.shift.get(str(c), 0.0) for c in center])

    def log_likelihood(self, value: np.ndarray, center: np.ndarray) -> np.ndarray:
        """(n, 6) log P(stored value | state, centre); 0 where the value is missing."""
        v = value[:, None]
        lo, hi = v - self.step / 2, v + self.step / 2
        if self.floor is not None:
            lo = np.where(v <= self.floor, 0.0 if self.log else -np.inf, lo)
        if self.ceiling is not None:
            hi = np.where(v >= self.ceiling, np.inf, hi)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                lo, hi = np.log(lo), np.log(hi)
        mu = self.mean[None, :] + self._shift(center)[:, None]
        sd = self.sd[None, :]
        a, b = (lo - mu) / sd, (hi - mu) / sd
        # Φ(b) − Φ(a) computed on the side of the smaller tail, for accuracy far from the mean
        upper = a > 0
        p = np.where(upper, special.ndtr(-a) - special.ndtr(-b), special.ndtr(b) - special.ndtr(a))
        out = np.log(np.maximum(p, 1e-300))
        out[~np.isfinite(value)] = 0.0
        return out


def _class_means(variable: str, means: list[float] | np.ndarray) -> np.ndarray:
    """Per-state means from per-class targets, equal where ``EVIDENCE`` has no difference."""
    return _with_evidence(np.asarray(means, dtype=float)[:, None], variable)[STATE_CLASS, 0]


CONTINUOUS = {
    "age": BinnedNormal(np.full(N_STATES, 53.4), np.full(N_STATES, 11.3), 1.0,
                        floor=22.0, ceiling=90.0),
    "tumor_size_mm": BinnedNormal(_class_means("tumor_size_mm", np.log([20.0, 22.0, 24.5])), np.full(N_STATES, 0.42),
                                  1.0, log=True, floor=3.0),
    "eer": BinnedNormal(_class_means("eer", [0.59, 0.65, 0.62]), np.full(N_STATES, 0.135), 0.01,
                        shift=EER_SHIFT),
    "adc_min": BinnedNormal(_class_means("adc_min", [1.005, 0.945, 1.0]), np.full(N_STATES, 0.16), 0.01,
                            shift=ADC_SHIFT),
}


def _codes(column: pd.Series, levels: tuple[str, ...], name: str) -> np.ndarray:
    """Index of each value in ``levels`` (-1 where missing or structurally empty)."""
    spec = COLUMNS.get(name)
    index = {lvl: i for i, lvl in enumerate(levels)}

    def code(value: object) -> int:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return -1
        token = normalise_token(value)
        if token == NOT_APPLICABLE:
            return -1
        canon = spec.canonical(token) if spec is not None else token
        return index.get(canon if canon is not None else token, -1)

    return np.array([code(v) for v in column.to_numpy(dtype=object)], dtype=int)


def log_likelihood(frame: pd.DataFrame) -> np.ndarray:
    """(n, 6) log P(observed features | state) for a demo-style frame (raw or validated)."""
    n = len(frame)
    center = frame["center"].astype(str).to_numpy() if "center" in frame.columns else np.full(n, "center1")
    ll = np.zeros((n, N_STATES))
    for name, (levels, table) in CATEGORICAL.items():
        if name not in frame.columns:
            continue
        codes = _codes(frame[name], levels, name)
        seen = codes >= 0
        ll[seen] += np.log(table[:, codes[seen]].T)
    for name, (levels, table) in DISCRETE.items():
        if name not in frame.columns:
            continue
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(float)
        idx = np.searchsorted(levels, values)
        seen = np.isfinite(values)
        idx = np.clip(idx, 0, levels.size - 1)
        ll[seen] += np.log(np.maximum(table[:, idx[seen]].T, 1e-300))
    for name, dist in CONTINUOUS.items():
        if name in frame.columns:
            ll += dist.log_likelihood(pd.to_numeric(frame[name], errors="coerce").to_numpy(float), center)
    return ll


def true_posterior(frame: pd.DataFrame) -> np.ndarray:
    """Exact P(zero), P(low), P(positive) given each row's observed features (n, 3)."""
    joint = log_likelihood(frame) + np.log(STATE_PRIOR)[None, :]
    joint -= joint.max(axis=1, keepdims=True)
    weight = np.exp(joint)
    by_class = np.stack([weight[:, STATE_CLASS == k].sum(axis=1) for k in range(3)], axis=1)
    return by_class / by_class.sum(axis=1, keepdims=True)
