"""The cohort contract as data: every column, its kind, canonical values, accepted spellings and unit.

The web form, the ``predict`` schema checks and the validator are all built from :data:`COLUMNS`. Values are
matched case-insensitively after :func:`normalise_token` (trimmed, lower-cased, runs of spaces and hyphens turned
into ``_``, spaces around ``+`` removed, ``1.0`` read as ``1``). ADC values are always ×10⁻³ mm²/s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "COLUMNS",
    "MISSING_TOKENS",
    "NOT_APPLICABLE",
    "ColumnSpec",
    "DERIVED_COLUMNS",
    "LABEL_COLUMNS",
    "TRUTH_COLUMNS",
    "binary_columns",
    "categorical_columns",
    "histogram_column_spec",
    "is_radiomics_column",
    "normalise_token",
    "numeric_columns",
    "spec_for",
]

NOT_APPLICABLE = "not_applicable"
"""Structural emptiness: a mass descriptor on a pure NME lesion (or the reverse). Never NaN, never imputed."""

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "nd", "not_done", "unknown", "missing", "?"})
"""Spellings read as a missing value (after :func:`normalise_token`)."""

Kind = Literal["id", "categorical", "binary", "numeric", "date", "truth"]
Group = Literal["identification", "pathology", "birads", "quantitative", "followup", "derived", "truth"]

_YES = ("yes", "y", "true", "t", "1", "present", "positive", "pos")
_NO = ("no", "n", "false", "f", "0", "absent", "negative", "neg")
_POS_NEG_ALIASES = {"pos": "positive", "+": "positive", "neg": "negative", "-": "negative"}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the cohort contract.

    ``values`` are the canonical spellings (categorical columns); ``aliases`` maps other accepted spellings
    (already normalised by :func:`normalise_token`) to a canonical value; ``plausible`` is the closed range a
    numeric value must fall in, in ``unit``; ``applies_to`` marks mass-only or NME-only descriptors.
    """

    name: str
    kind: Kind
    group: Group
    values: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    unit: str | None = None
    plausible: tuple[float, float] | None = None
    applies_to: Literal["mass", "nme"] | None = None
    description: str = ""
    aliases: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    required: bool = False

    def accepted_text(self) -> str:
        """Human list of accepted values, used in error messages."""
        if self.kind == "binary":
            return "yes/no (also true/false, 1/0, present/absent, positive/negative)"
        if self.kind == "categorical":
            text = ", ".join(self.values)
            if self.applies_to is not None:
                text += f", {NOT_APPLICABLE} (only where the lesion has no {self.applies_to} component)"
            return text
        if self.kind == "numeric" and self.plausible is not None:
            unit = f" {self.unit}" if self.unit else ""
            return f"a number from {self.plausible[0]:g} to {self.plausible[1]:g}{unit}"
        if self.kind == "numeric":
            return "a number"
        if self.kind == "date":
            return "an ISO 8601 date (YYYY-MM-DD) or a spreadsheet date"
        return "any text"

    def canonical(self, token: str) -> str | None:
        """Canonical value for a normalised token, or ``None`` when it is not an accepted spelling."""
        lookup = _canonical_lookup(self)
        return lookup.get(token)


_LOOKUP_CACHE: dict[str, dict[str, str]] = {}


def _canonical_lookup(spec: ColumnSpec) -> dict[str, str]:
    cached = _LOOKUP_CACHE.get(spec.name)
    if cached is None:
        cached = {normalise_token(v): v for v in spec.values}
        cached.update({normalise_token(k): v for k, v in spec.aliases.items()})
        _LOOKUP_CACHE[spec.name] = cached
    return cached


_SPACES = re.compile(r"[\s\-]+")
_PLUS = re.compile(r"\s*\+\s*")
_INT_FLOAT = re.compile(r"^(-?\d+)\.0+$")


def normalise_token(value: object) -> str:
    """Normalise one raw cell for matching: ``' 2 + '`` → ``'2+'``, ``'Not amplified'`` → ``'not_amplified'``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip().lower()
    text = _PLUS.sub("+", text)
    text = _SPACES.sub("_", text).strip("_") if text not in {"-", "+"} else text
    match = _INT_FLOAT.match(text)
    if match:
        text = match.group(1)
    return text


def _cat(name: str, group: Group, values: tuple[str, ...], description: str, *, aliases: dict[str, str] | None = None,
         labels: dict[str, str] | None = None, applies_to: Literal["mass", "nme"] | None = None,
         required: bool = False) -> ColumnSpec:
    return ColumnSpec(name=name, kind="categorical", group=group, values=values,
                      labels=labels or {v: v.replace("_", " ") for v in values}, applies_to=applies_to,
                      description=description, aliases=aliases or {}, required=required)


def _yn(name: str, description: str, group: Group = "birads") -> ColumnSpec:
    aliases = {t: "1" for t in _YES} | {t: "0" for t in _NO}
    return ColumnSpec(name=name, kind="binary", group=group, values=("1", "0"), labels={"1": "yes", "0": "no"},
                      description=description, aliases=aliases)


def _num(name: str, group: Group, unit: str | None, plausible: tuple[float, float] | None,
         description: str) -> ColumnSpec:
    return ColumnSpec(name=name, kind="numeric", group=group, unit=unit, plausible=plausible,
                      description=description)


ADC_UNIT = "×10⁻³ mm²/s"
_ADC_RANGE = (0.05, 5.0)

_SPECS: list[ColumnSpec] = [
    # identification
    ColumnSpec("patient_id", "id", "identification", description="Patient identifier.", required=True),
    ColumnSpec("lesion_id", "id", "identification", description="Lesion identifier; defaults to patient_id."),
    ColumnSpec("center", "id", "identification", description="Centre (site) that acquired the examination."),
    ColumnSpec("exam_date", "date", "identification", description="Date of the MRI examination."),
    # pathology: labels
    _cat("her2_ihc", "pathology", ("0", "1+", "2+", "3+"), "HER2 immunohistochemistry score (ASCO/CAP 2018).",
         aliases={"0+": "0", "1": "1+", "2": "2+", "3": "3+", "ihc_0": "0", "ihc_1+": "1+", "ihc_2+": "2+",
                  "ihc_3+": "3+"},
         labels={"0": "0", "1+": "1+", "2+": "2+", "3+": "3+"}),
    _cat("her2_ish", "pathology", ("positive", "negative", "equivocal"), "ISH (FISH/DISH/CISH) result.",
         aliases={"amplified": "positive", "not_amplified": "negative", "non_amplified": "negative",
                  "nonamplified": "negative", "unamplified": "negative"} | _POS_NEG_ALIASES),
    _num("her2_ish_ratio", "pathology", "ratio", (0.0, 100.0), "HER2/CEP17 ratio (dual-probe ISH)."),
    _num("her2_copy_number", "pathology", "signals/cell", (0.0, 200.0), "Mean HER2 signals per cell."),
    _cat("her2_ihc0_subtype", "pathology", ("null", "ultralow"),
         "Sub-flag of IHC 0 (DESTINY-Breast06): null = no staining; ultralow = faint staining in ≤10% of cells.",
         aliases={"ultra_low": "ultralow", "ihc_0_ultralow": "ultralow", "ihc0_ultralow": "ultralow",
                  "ihc_0_null": "null", "ihc0_null": "null"}),
    _cat("her2_status", "pathology", ("zero", "low", "positive", "negative"),
         "HER2 status as reported; 'negative' for cohorts that only know the binary status.",
         aliases={"her2_zero": "zero", "her2_0": "zero", "her2_low": "low", "her2_positive": "positive",
                  "her2+": "positive", "her2_negative": "negative", "her2-": "negative"} | _POS_NEG_ALIASES),
    _cat("her2_guideline", "pathology", ("2007", "2013", "2018"), "ASCO/CAP version used to score HER2.",
         aliases={"2023": "2018"}),
    _num("er_percent", "pathology", "%", (0.0, 100.0), "Percentage of ER-stained tumour nuclei (0–100)."),
    _num("pr_percent", "pathology", "%", (0.0, 100.0), "Percentage of PR-stained tumour nuclei (0–100)."),
    _num("ki67_percent", "pathology", "%", (0.0, 100.0), "Ki-67 index (0–100)."),
    _cat("er_status", "pathology", ("positive", "negative"), "ER status (positive at ≥1%).", aliases=_POS_NEG_ALIASES),
    _cat("pr_status", "pathology", ("positive", "negative"), "PR status (positive at ≥1%).", aliases=_POS_NEG_ALIASES),
    _cat("ki67_status", "pathology", ("high", "low"), "Ki-67 status (high at ≥ the study cut-off, default 20%)."),
    _cat("histologic_grade", "pathology", ("1", "2", "3"), "Histologic (Nottingham) grade.",
         aliases={"i": "1", "ii": "2", "iii": "3", "g1": "1", "g2": "2", "g3": "3", "grade_1": "1",
                  "grade_2": "2", "grade_3": "3"}),
    _cat("histologic_type", "pathology", ("idc", "idc_dcis", "ilc", "mucinous", "other"), "Histologic type.",
         aliases={"invasive_ductal_carcinoma": "idc", "nst": "idc", "idc_nst": "idc", "idc+dcis": "idc_dcis",
                  "idc_and_dcis": "idc_dcis", "idc_with_dcis": "idc_dcis", "invasive_lobular_carcinoma": "ilc",
                  "mucinous_carcinoma": "mucinous", "other_types": "other"}),
    _cat("t_category", "pathology", ("T1", "T2", "T3", "T4"), "Primary tumour category (AJCC).",
         aliases={f"{p}{k}{s}": f"T{k}" for k in "1234" for p in ("t", "") for s in ("", "a", "b", "c", "d", "mi")}),
    _cat("n_category", "pathology", ("N0", "N1", "N2", "N3"), "Regional lymph-node category (AJCC).",
         aliases={f"{p}{k}{s}": f"N{k}" for k in "0123" for p in ("n", "") for s in ("", "a", "b", "c", "mi")}),
    _num("age", "pathology", "years", (10.0, 110.0), "Age at diagnosis in years."),
    _cat("menopausal_status", "pathology", ("pre", "post"), "Menopausal status.",
         aliases={"premenopausal": "pre", "postmenopausal": "post", "pre_menopausal": "pre",
                  "post_menopausal": "post"}),
    # BI-RADS descriptors
    _cat("fgt", "birads", ("a", "b", "c", "d"), "Amount of fibroglandular tissue.",
         aliases={"almost_entirely_fat": "a", "fatty": "a", "scattered": "b", "heterogeneous": "c",
                  "extreme": "d"},
         labels={"a": "almost entirely fat", "b": "scattered", "c": "heterogeneous", "d": "extreme"}),
    _cat("bpe", "birads", ("minimal", "mild", "moderate", "marked"), "Background parenchymal enhancement."),
    _cat("bpe_symmetry", "birads", ("symmetric", "asymmetric"), "Symmetry of background enhancement."),
    _cat("lesion_type", "birads", ("focus", "mass", "nme", "mass_with_nme"), "Lesion enhancement type.",
         aliases={"non_mass": "nme", "non_mass_enhancement": "nme", "mass+nme": "mass_with_nme",
                  "mass_and_nme": "mass_with_nme", "mass_nme": "mass_with_nme"}),
    _cat("lesion_number", "birads", ("single", "multiple"), "Single lesion or multifocal/multicentric disease.",
         aliases={"unifocal": "single", "solitary": "single", "multifocal": "multiple", "multicentric": "multiple"}),
    _cat("laterality", "birads", ("left", "right"), "Side of the lesion.", aliases={"l": "left", "r": "right"}),
    _cat("quadrant", "birads", ("upper_outer", "upper_inner", "lower_outer", "lower_inner", "central"),
         "Quadrant of the lesion.",
         aliases={"uoq": "upper_outer", "uiq": "upper_inner", "loq": "lower_outer", "liq": "lower_inner",
                  "subareolar": "central", "retroareolar": "central", "central_area": "central"}),
    _num("tumor_size_mm", "quantitative", "mm", (1.0, 250.0), "Maximum lesion diameter in mm."),
    _cat("mass_shape", "birads", ("oval", "round", "irregular"), "Mass shape.", applies_to="mass",
         aliases={"lobulated": "oval"}),
    _cat("mass_margin", "birads", ("circumscribed", "irregular", "spiculated"), "Mass margin.", applies_to="mass"),
    _cat("mass_internal_enhancement", "birads", ("homogeneous", "heterogeneous", "rim", "dark_internal_septations"),
         "Mass internal enhancement.", applies_to="mass", aliases={"rim_enhancement": "rim"}),
    _cat("nme_distribution", "birads", ("focal", "linear", "segmental", "regional", "multiple_regions", "diffuse"),
         "Non-mass enhancement distribution.", applies_to="nme"),
    _cat("nme_internal_enhancement", "birads", ("homogeneous", "heterogeneous", "clumped", "clustered_ring"),
         "Non-mass internal enhancement pattern.", applies_to="nme"),
    _cat("t2_signal", "birads", ("hyper", "slightly_high", "iso", "hypo", "mixed"), "Signal on T2-weighted images.",
         aliases={"hyperintense": "hyper", "hyperintensity": "hyper", "high": "hyper",
                  "slightly_high_signal": "slightly_high", "isointense": "iso", "isointensity": "iso",
                  "hypointense": "hypo", "hypointensity": "hypo", "low": "hypo"}),
    _yn("t2_intratumoral_hyperintensity", "Intratumoral T2 hyperintensity."),
    _yn("intratumoral_edema", "Intratumoral edema."),
    _yn("peritumoral_edema", "Peritumoral edema."),
    _cat("tic_type", "birads", ("persistent", "plateau", "washout"), "Delayed-phase time–intensity curve type.",
         aliases={"type_1": "persistent", "type_i": "persistent", "wash_in": "persistent", "washin": "persistent",
                  "type_2": "plateau", "type_ii": "plateau", "type_3": "washout", "type_iii": "washout",
                  "wash_out": "washout"}),
    _cat("initial_enhancement", "birads", ("slow", "medium", "fast"), "Initial-phase enhancement."),
    _yn("axillary_adenopathy", "Axillary or internal-mammary adenopathy."),
    _yn("nipple_retraction", "Nipple retraction."),
    _yn("nipple_invasion", "Nipple invasion."),
    _yn("skin_retraction", "Skin retraction."),
    _yn("skin_thickening", "Skin thickening."),
    _yn("skin_invasion", "Skin invasion."),
    _yn("pectoralis_invasion", "Pectoralis muscle invasion."),
    _yn("chest_wall_invasion", "Chest-wall invasion."),
    _yn("architectural_distortion", "Architectural distortion."),
    _yn("adjacent_vessel_sign", "Adjacent vessel sign / increased ipsilateral vascularity."),
    _cat("birads_category", "birads", ("0", "1", "2", "3", "4", "5", "6", "4a", "4b", "4c"),
         "BI-RADS assessment category; 4a/4b/4c are accepted with a warning (not MRI BI-RADS terms).",
         aliases={f"birads_{v}": v for v in ("0", "1", "2", "3", "4", "5", "6", "4a", "4b", "4c")}),
    _cat("birads_version", "birads", ("2013", "2025"), "BI-RADS edition of the read.",
         aliases={"5th": "2013", "5": "2013", "v2025": "2025"}),
    # quantitative
    _num("eer", "quantitative", "fraction", (-0.5, 10.0), "Early enhancement ratio (SI_post − SI_pre)/SI_pre."),
    _num("ser", "quantitative", "ratio", (-1.0, 20.0), "Signal enhancement ratio."),
    _num("adc_min", "quantitative", ADC_UNIT, _ADC_RANGE, "Minimum ADC in ×10⁻³ mm²/s."),
    _num("adc_mean", "quantitative", ADC_UNIT, _ADC_RANGE, "Mean ADC in ×10⁻³ mm²/s."),
    # follow-up
    _num("dfs_months", "followup", "months", (0.0, 600.0), "Disease-free survival time in months."),
    _yn("dfs_event", "1 recurrence or death, 0 censored.", group="followup"),
    # derived
    _num("ish_group", "derived", None, (1.0, 5.0), "ASCO/CAP 2018 dual-probe ISH group (1–5)."),
    _cat("her2_category", "derived", ("zero", "low", "positive", "negative"), "Derived HER2 category."),
    _yn("her2_ultralow", "IHC 0 ultralow flag (1 ultralow, 0 null; NaN when IHC is not 0).", group="derived"),
    _cat("her2_ish_final", "derived", ("positive", "negative"), "Final ISH call by ASCO/CAP 2018."),
    _cat("hr_status", "derived", ("positive", "negative"), "Hormone-receptor status (ER or PR positive)."),
    _yn("er_low", "ER low positive (1–10%).", group="derived"),
    _cat("molecular_subtype", "derived",
         ("luminal_a", "luminal_b_her2_negative", "luminal_b_her2_positive", "her2_enriched", "triple_negative",
          "unclassifiable"), "Surrogate molecular subtype."),
    ColumnSpec("molecular_subtype_reason", "id", "derived", description="Why a lesion is unclassifiable."),
    # simulation truth
    ColumnSpec("true_p_zero", "truth", "truth", unit="probability", plausible=(0.0, 1.0),
               description="Simulation truth: P(zero | observed features). Never a feature."),
    ColumnSpec("true_p_low", "truth", "truth", unit="probability", plausible=(0.0, 1.0),
               description="Simulation truth: P(low | observed features). Never a feature."),
    ColumnSpec("true_p_positive", "truth", "truth", unit="probability", plausible=(0.0, 1.0),
               description="Simulation truth: P(positive | observed features). Never a feature."),
]
COLUMNS: dict[str, ColumnSpec] = {spec.name: spec for spec in _SPECS}
"""The cohort contract: canonical column name → :class:`ColumnSpec`."""

LABEL_COLUMNS = ("her2_ihc", "her2_ish", "her2_ish_ratio", "her2_copy_number", "her2_ihc0_subtype", "her2_status",
                 "her2_guideline")
"""Input columns that define the HER2 label: never use them as features."""
DERIVED_COLUMNS = tuple(name for name, spec in COLUMNS.items() if spec.group == "derived")
TRUTH_COLUMNS = tuple(name for name, spec in COLUMNS.items() if spec.group == "truth")

_HISTOGRAM = re.compile(r"^(adc|d_app|k_app)_([a-z0-9_]+)$")
_LOCATION_SUFFIX = re.compile(r"^(min|max|mean|median|std|sd|p\d{1,2})$")
_RADIOMICS = re.compile(r"^[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*__[A-Za-z0-9_\-.]+$")


def histogram_column_spec(name: str) -> ColumnSpec | None:
    """Spec for a DWI histogram column (``adc_*``, ``d_app_*``, ``k_app_*``) not listed in :data:`COLUMNS`.

    Location and spread metrics of ADC and D_app carry the ADC unit (×10⁻³ mm²/s) and are unit-checked;
    shape metrics (skewness, kurtosis, entropy) and every K_app metric are unitless.
    """
    match = _HISTOGRAM.match(name)
    if match is None:
        return None
    prefix, suffix = match.groups()
    if prefix in {"adc", "d_app"} and _LOCATION_SUFFIX.match(suffix):
        return _num(name, "quantitative", ADC_UNIT, _ADC_RANGE, f"{prefix} histogram {suffix} in ×10⁻³ mm²/s.")
    return _num(name, "quantitative", None, None, f"{prefix} histogram {suffix}.")


def is_radiomics_column(name: str) -> bool:
    """True for ``<sequence>__<pyradiomics feature>`` columns, e.g. ``dce3__original_glcm_Contrast``."""
    return bool(_RADIOMICS.match(name))


def spec_for(name: str) -> ColumnSpec | None:
    """Spec of a known column (including ``adc_*`` histogram columns), else ``None``."""
    spec = COLUMNS.get(name)
    if spec is None:
        spec = histogram_column_spec(name)
    return spec


def categorical_columns(*, include_derived: bool = False) -> tuple[str, ...]:
    """Names of categorical contract columns (input columns only unless ``include_derived``)."""
    return tuple(n for n, s in COLUMNS.items() if s.kind == "categorical"
                 and (include_derived or s.group != "derived"))


def binary_columns(*, include_derived: bool = False) -> tuple[str, ...]:
    """Names of yes/no contract columns (stored as float 1.0/0.0)."""
    return tuple(n for n, s in COLUMNS.items() if s.kind == "binary"
                 and (include_derived or s.group != "derived"))


def numeric_columns(*, include_derived: bool = False) -> tuple[str, ...]:
    """Names of numeric contract columns, excluding simulation-truth columns."""
    return tuple(n for n, s in COLUMNS.items() if s.kind == "numeric" and s.group != "truth"
                 and (include_derived or s.group != "derived"))
