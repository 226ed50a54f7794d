"""The generative model behind the demo cohort, with its exact posterior.

HER2 class (zero / low / positive) is drawn first, then a latent subtype within the class (zero and low:
luminal-A-like, luminal-B-like, triple-negative; positive: luminal-HER2, HER2-enriched). The eight
(class, latent) pairs are the model's *states*. Every observed feature is drawn independently given the state
(and, for ADC and EER, the centre, whose scanner shifts them). Hence

    P(class | x) ∝ Σ_{latent ∈ class} π(state) Π_f p_f(x_f | state, centre),

a finite sum computed exactly; missing values drop their factor (marginalised), structurally empty
descriptors carry no factor because ``lesion_type`` already does. Continuous values are stored rounded and their
likelihood is the probability of the rounding bin, so the posterior is exact for the stored table.
Menopausal status depends on age only and T category is a function of size, so neither adds a factor.
Class-conditional targets come from seed 004 (training-set columns of Tables 1 and 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special

from her2mri.cohort.vocabulary import COLUMNS, NOT_APPLICABLE, normalise_token

CLASSES = ("zero", "low", "positive")
STATES = ("zero_luminal_a", "zero_luminal_b", "zero_triple_negative", "low_luminal_a", "low_luminal_b",
          "low_triple_negative", "positive_luminal_her2", "positive_her2_enriched")
BASE_CLASS = np.array([0, 0, 0, 1, 1, 1, 2, 2])
CLASS_PRIOR = np.array([0.195, 0.610, 0.195])
LATENT_PRIOR = np.array([0.25, 0.49, 0.26, 0.37, 0.47, 0.16, 0.523, 0.477])
EXTENT_BY_CLASS = np.array([0.3, 0.45, 0.8])
"""P(extensive phenotype | class): a per-patient latent through which alone HER2 class acts on the 'extent'
signs (multifocality, NME component, edema, vessel sign, adenopathy, associated signs). The signs are therefore
correlated, redundant evidence, as in real reads, instead of independent votes."""
PAPER_N = np.array([125.0, 369.0, 128.0])
PAPER_N_NEGATIVE = 485.0
"""Lesions per class in seed 004's training set (weights of the fit and the tests' sampling tolerance)."""
N_STATES = 16  # state index = 2 * (class × subtype index) + extent
STATE_BASE = np.repeat(np.arange(8), 2)
STATE_EXTENT = np.tile([0, 1], 8)
STATE_CLASS = BASE_CLASS[STATE_BASE]
_E = EXTENT_BY_CLASS[STATE_CLASS]
STATE_PRIOR = (CLASS_PRIOR[BASE_CLASS] * LATENT_PRIOR)[STATE_BASE] * np.where(STATE_EXTENT == 1, _E, 1 - _E)
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


def _by_class(*rows: tuple[float, ...]) -> np.ndarray:
    """Per-class probability rows (zero, low, positive) → per-state table (8, L), each row normalised."""
    table = np.asarray(rows, dtype=float)
    table = table / table.sum(axis=1, keepdims=True)
    return table[STATE_CLASS]


def _extent_line(targets: tuple[float, float, float]) -> tuple[float, float]:
    """P(sign | extent) = b0 + b1·extent fitted (weighted least squares) to the class targets.

    The class marginal is then b0 + b1·P(extent | class), within about one paper standard error of each target.
    """
    x = np.c_[np.ones(3), EXTENT_BY_CLASS]
    w = np.sqrt(PAPER_N)
    b0, b1 = np.linalg.lstsq(x * w[:, None], np.asarray(targets) * w, rcond=None)[0]
    return float(b0), float(b1)


def _extent_binary(targets: tuple[float, float, float]) -> np.ndarray:
    """(16, 2) table of a binary sign that depends on HER2 class only through the extent latent."""
    b0, b1 = _extent_line(targets)
    p = np.clip(b0 + b1 * STATE_EXTENT, 0.005, 0.995)
    return np.stack([p, 1 - p], axis=1)


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
        tables[var] = (levels, _by_class(*zip(*(_col(var, p) for p in paper), strict=True)))

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
    single = _extent_binary(_col("lesion_number", "Multifocal or multicentric"))
    tables["lesion_number"] = (("single", "multiple"), single[:, ::-1].copy())
    fat = _col("fgt", "Fatty or scattered")
    tables["fgt"] = (("a", "b", "c", "d"), _by_class(*(_split(f, 1, 3) + _split(1 - f, 3, 1) for f in fat)))
    low_bpe = _col("bpe", "Minimal or mild")
    tables["bpe"] = (("minimal", "mild", "moderate", "marked"),
                     _by_class(*(_split(b, 45, 55) + _split(1 - b, 7, 3) for b in low_bpe)))
    mass = _col("lesion_type", "Mass (incl. mass with NME)")
    with_nme = _col("lesion_type", "Mass with NME, among masses")
    m_state = np.asarray(mass)[STATE_CLASS]
    w_state = _extent_binary(with_nme)[:, 0]
    tables["lesion_type"] = (("mass", "mass_with_nme", "nme"),
                             np.stack([m_state * (1 - w_state), m_state * w_state, 1 - m_state], axis=1))
    round_oval = _col("mass_shape", "Round or oval")
    tables["mass_shape"] = (("oval", "round", "irregular"), _by_class(*(_split(r, 6, 4) + [1 - r] for r in round_oval)))
    circ = _col("mass_margin", "Circumscribed")
    tables["mass_margin"] = (("circumscribed", "irregular", "spiculated"),
                             _by_class(*([c] + _split(1 - c, 6, 4) for c in circ)))
    tables["nme_distribution"] = (("focal", "linear", "segmental", "regional", "multiple_regions", "diffuse"),
                                  _by_class((.35, .15, .25, .15, .05, .05), (.30, .15, .30, .15, .05, .05),
                                            (.20, .10, .40, .15, .10, .05)))
    tables["nme_internal_enhancement"] = (("homogeneous", "heterogeneous", "clumped", "clustered_ring"),
                                          _by_class((.15, .50, .25, .10), (.10, .50, .30, .10), (.05, .45, .30, .20)))
    for var, lvl in (("intratumoral_edema", "Present"), ("peritumoral_edema", "Present"),
                     ("adjacent_vessel_sign", "Positive"), ("axillary_adenopathy", "Yes")):
        tables[var] = (("1", "0"), _extent_binary(_col(var, lvl)))
    b0, b1 = _extent_line(_col("accompanying_signs", "Yes"))
    signs = np.array([_solve_signs(b0), _solve_signs(b0 + b1)])[STATE_EXTENT]
    for var, factor in (("nipple_retraction", 1.0), ("skin_retraction", 1.0), ("pectoralis_invasion", 1 / 3)):
        tables[var] = (("1", "0"), np.stack([signs * factor, 1 - signs * factor], axis=1))
    return tables


CATEGORICAL = _categorical_tables()
MASS_ONLY = ("mass_shape", "mass_margin", "mass_internal_enhancement")
NME_ONLY = ("nme_distribution", "nme_internal_enhancement")

# ---- pathology percentages: discrete grids, parameters per state -----------------------------------------
_POS_LEVELS = np.array([1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95], dtype=float)
_HIGH_SHAPE = np.array([0, 0, 0, 1, 1, 2, 3, 4, 6, 9, 10, 8], dtype=float)   # strong expression
_BROAD_SHAPE = np.array([0, 0, 0, 1, 1, 2, 3, 4, 6, 8, 9, 7], dtype=float)   # weaker, broader expression
_LOW_PART = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype=float)


def _percent_table(p_zero: np.ndarray, p_low: np.ndarray, shapes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Grid 0 + positive levels; per state: P(0), P(1–10 | >0) and the shape above 10."""
    levels = np.concatenate([[0.0], _POS_LEVELS])
    table = np.zeros((8, levels.size))
    for s in range(8):
        high = shapes[s] / shapes[s].sum()
        low = _LOW_PART / _LOW_PART.sum()
        table[s, 0] = p_zero[s]
        table[s, 1:] = (1 - p_zero[s]) * (p_low[s] * low + (1 - p_low[s]) * high)
    return levels, table[STATE_BASE]


#                     zA    zB    zTN   lA    lB    lTN   pLH   pHE
_ER = _percent_table(np.array([0, .03, 1, 0, .03, 1, .12, 1]), np.array([.01, .04, 0, .01, .04, 0, .08, 0]),
                     [_HIGH_SHAPE, _BROAD_SHAPE, _HIGH_SHAPE, _HIGH_SHAPE, _BROAD_SHAPE, _HIGH_SHAPE,
                      _BROAD_SHAPE, _HIGH_SHAPE])
_PR = _percent_table(np.array([.03, .15, 1, .03, .15, 1, .25, 1]), np.array([.03, .35, 0, .03, .35, 0, .30, 0]),
                     [_HIGH_SHAPE, _BROAD_SHAPE, _BROAD_SHAPE, _HIGH_SHAPE, _BROAD_SHAPE, _BROAD_SHAPE,
                      _BROAD_SHAPE, _BROAD_SHAPE])
_KI_LEVELS = np.array([1, 3, 5, 8, 10, 12, 15, 18, 20, 25, 30, 35, 40, 50, 60, 70, 80, 90], dtype=float)
_KI_LOW_SHAPE = np.array([1, 2, 4, 4, 5, 4, 4, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype=float)
_KI_MID_SHAPE = np.array([0, 0, 0, 0, 0, 0, 0, 0, 6, 6, 6, 5, 4, 3, 2, 1, .5, .5], dtype=float)
_KI_HOT_SHAPE = np.array([0, 0, 0, 0, 0, 0, 0, 0, 6, 6, 6, 5, 4, 3, 2.5, 1.5, .5, .5], dtype=float)
_KI_HIGH = np.array([.08, .96, .92, .08, .96, .90, .86, .925])


def _ki_table() -> tuple[np.ndarray, np.ndarray]:
    table = np.zeros((8, _KI_LEVELS.size))
    hot = {2, 5, 7}
    for s in range(8):
        high = (_KI_HOT_SHAPE if s in hot else _KI_MID_SHAPE)
        table[s] = (1 - _KI_HIGH[s]) * _KI_LOW_SHAPE / _KI_LOW_SHAPE.sum() + _KI_HIGH[s] * high / high.sum()
    return _KI_LEVELS, table[STATE_BASE]


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
        """(n, 16) log P(stored value | state, centre); 0 where the value is missing."""
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


_S = STATE_CLASS
CONTINUOUS = {
    "age": BinnedNormal(np.array([53.71, 53.26, 53.64])[_S], np.array([10.62, 11.62, 10.99])[_S], 1.0,
                        floor=22.0, ceiling=90.0),
    "tumor_size_mm": BinnedNormal(np.log(np.array([20.0, 22.0, 24.5]))[_S], np.array([0.388, 0.49, 0.339])[_S],
                                  1.0, log=True, floor=3.0),
    "eer": BinnedNormal(np.array([0.59, 0.65, 0.62])[_S], np.array([0.125, 0.141, 0.13])[_S], 0.01,
                        shift=EER_SHIFT),
    "adc_min": BinnedNormal(np.array([1.005, 0.945, 1.0])[_S], np.array([0.165, 0.155, 0.163])[_S], 0.01,
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
    """(n, 16) log P(observed features | state) for a demo-style frame (raw or validated)."""
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

