"""Surrogate molecular subtypes (St Gallen 2011/2013, Maisonneuve 2014, seed 004) with configurable cut-offs.

Every variant returns luminal B (HER2+) for ER/PR-positive HER2-positive tumours rather than dropping them,
treats HER2-low as HER2-negative, and returns ``"unclassifiable"`` with a reason when a needed value is missing.

=================  =================================  ===========================================
variant            luminal A                          luminal B (HER2−)
=================  =================================  ===========================================
st_gallen_2013     HR+, PR ≥ 20%, Ki-67 < 20%         HR+ and (Ki-67 ≥ 20% or PR < 20%)
st_gallen_2011     HR+, Ki-67 < 14%                   HR+, Ki-67 ≥ 14%
maisonneuve_2014   Ki-67 < 14%, or 14–19% and PR≥20%  Ki-67 ≥ 20%, or 14–19% and PR < 20%
seed_004           ER+, PR ≥ 1%, Ki-67 < 20%          ER+ and (Ki-67 ≥ 20% or PR < 1%)
=================  =================================  ===========================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd

from her2mri.exceptions import ConfigError

__all__ = ["SUBTYPE_VARIANTS", "SubtypeOptions", "molecular_subtype"]

SubtypeVariant = Literal["st_gallen_2013", "st_gallen_2011", "maisonneuve_2014", "seed_004"]
SUBTYPE_VARIANTS: tuple[str, ...] = get_args(SubtypeVariant)

_DEFAULTS = {  # variant -> (ki67_cutoff, pr_cutoff, ki67_low_cutoff)
    "st_gallen_2013": (20.0, 20.0, None),
    "st_gallen_2011": (14.0, None, None),
    "maisonneuve_2014": (20.0, 20.0, 14.0),
    "seed_004": (20.0, 1.0, None),
}


@dataclass(frozen=True)
class SubtypeOptions:
    """How to assign surrogate molecular subtypes.

    Parameters
    ----------
    variant
        ``"st_gallen_2013"`` (default), ``"st_gallen_2011"``, ``"maisonneuve_2014"`` or ``"seed_004"``.
    ki67_cutoff
        Ki-67 % at or above which Ki-67 is high (default 20, or 14 for St Gallen 2011). Also the cut-off
        used to derive ``ki67_status`` from ``ki67_percent``.
    pr_cutoff
        PR % required for luminal A (default 20; 1 for seed 004; unused by St Gallen 2011).
    ki67_low_cutoff
        Maisonneuve 2014 only: Ki-67 below this is low whatever PR (default 14).
    """

    variant: SubtypeVariant = "st_gallen_2013"
    ki67_cutoff: float | None = None
    pr_cutoff: float | None = None
    ki67_low_cutoff: float | None = None

    def __post_init__(self) -> None:
        if self.variant not in SUBTYPE_VARIANTS:
            message = (f"The 'variant' parameter of SubtypeOptions must be one of {list(SUBTYPE_VARIANTS)}. "
                       f"Got {self.variant!r} instead.")
            raise ConfigError(message)
        for name in ("ki67_cutoff", "pr_cutoff", "ki67_low_cutoff"):
            value = getattr(self, name)
            if value is not None and not (0.0 < float(value) <= 100.0):
                message = (f"The '{name}' parameter of SubtypeOptions must be a percentage in (0, 100]. "
                           f"Got {value!r} instead.")
                raise ConfigError(message)

    @property
    def resolved_ki67_cutoff(self) -> float:
        return float(self.ki67_cutoff) if self.ki67_cutoff is not None else float(_DEFAULTS[self.variant][0])

    @property
    def resolved_pr_cutoff(self) -> float | None:
        default = _DEFAULTS[self.variant][1]
        if default is None:
            return None
        return float(self.pr_cutoff) if self.pr_cutoff is not None else float(default)

    @property
    def resolved_ki67_low_cutoff(self) -> float | None:
        default = _DEFAULTS[self.variant][2]
        if default is None:
            return None
        return float(self.ki67_low_cutoff) if self.ki67_low_cutoff is not None else float(default)

    def describe(self) -> str:
        text = f"{self.variant} (Ki-67 cut-off {self.resolved_ki67_cutoff:g}%"
        if self.resolved_pr_cutoff is not None:
            text += f", PR cut-off {self.resolved_pr_cutoff:g}%"
        if self.resolved_ki67_low_cutoff is not None:
            text += f", Ki-67 low cut-off {self.resolved_ki67_low_cutoff:g}%"
        return text + ")"


def _series(values: object, n: int | None = None) -> pd.Series:
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    if np.ndim(values) == 0:
        return pd.Series([values] * (n or 1), dtype=object)
    return pd.Series(list(values), dtype=object)  # type: ignore[call-overload]


def molecular_subtype(
    er_status: object,
    pr_status: object,
    her2_category: object,
    *,
    pr_percent: object = None,
    ki67_percent: object = None,
    ki67_status: object = None,
    options: SubtypeOptions | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Surrogate molecular subtype and the reason for ``"unclassifiable"`` ("" when classified).

    Inputs are aligned arrays (or scalars): ``er_status``/``pr_status`` in {"positive","negative",NaN},
    ``her2_category`` in {"zero","low","positive","negative",NaN}, percentages 0–100, ``ki67_status`` in
    {"high","low",NaN} (used only where ``ki67_percent`` is missing). Returns two object arrays.
    """
    options = options or SubtypeOptions()
    sizes = [len(v) for v in (er_status, pr_status, her2_category, pr_percent, ki67_percent, ki67_status)
             if isinstance(v, pd.Series | np.ndarray | list | tuple)]
    n = max(sizes) if sizes else 1
    er = _series(er_status, n)
    pr = _series(pr_status, n)
    her2 = _series(her2_category, n)
    prp = pd.to_numeric(_series(pr_percent, n), errors="coerce").to_numpy(dtype=float)
    kip = pd.to_numeric(_series(ki67_percent, n), errors="coerce").to_numpy(dtype=float)
    kis = _series(ki67_status, n)

    er_pos, er_neg = (er == "positive").to_numpy(), (er == "negative").to_numpy()
    pr_pos, pr_neg = (pr == "positive").to_numpy(), (pr == "negative").to_numpy()
    her2_pos = (her2 == "positive").to_numpy()
    her2_neg = her2.isin(["zero", "low", "negative"]).to_numpy()
    if options.variant == "seed_004":
        lum, non_lum = er_pos, er_neg & pr_neg
        lum_reason = "ER-negative, PR-positive tumours are not defined by the seed_004 variant"
        undefined = er_neg & pr_pos
    else:
        lum, non_lum = er_pos | pr_pos, er_neg & pr_neg
        lum_reason = ""
        undefined = np.zeros(n, dtype=bool)

    ki_cut = options.resolved_ki67_cutoff
    ki_known = np.isfinite(kip)
    ki_high = np.where(ki_known, kip >= ki_cut, (kis == "high").to_numpy())
    ki_low = np.where(ki_known, kip < ki_cut, (kis == "low").to_numpy())
    pr_cut = options.resolved_pr_cutoff
    if pr_cut is not None:
        pr_known = np.isfinite(prp)
        pr_high = np.where(pr_known, prp >= pr_cut, pr_pos & (pr_cut <= 1.0))
        pr_low = np.where(pr_known, prp < pr_cut, pr_neg)
    else:
        pr_high = pr_low = np.zeros(n, dtype=bool)

    if options.variant == "st_gallen_2011":
        lum_a, lum_b = ki_low, ki_high
    elif options.variant == "maisonneuve_2014":
        low_cut = options.resolved_ki67_low_cutoff or 14.0
        very_low = ki_known & (kip < low_cut)
        band = ki_known & (kip >= low_cut) & (kip < ki_cut)
        status_low = ~ki_known & (kis == "low").to_numpy()
        lum_a = very_low | ((band | status_low) & pr_high)
        lum_b = ki_high | (band & pr_low)
    else:
        lum_a = ki_low & pr_high
        lum_b = ki_high | pr_low

    subtype = np.full(n, "unclassifiable", dtype=object)
    reason = np.full(n, "", dtype=object)
    known_her2 = her2_pos | her2_neg
    reason[~known_her2] = "her2_category missing"
    hr_unknown = known_her2 & ~lum & ~non_lum & ~undefined
    reason[hr_unknown] = "er_status/pr_status missing"
    reason[known_her2 & undefined] = lum_reason
    subtype[her2_pos & lum] = "luminal_b_her2_positive"
    subtype[her2_pos & non_lum] = "her2_enriched"
    subtype[her2_neg & non_lum] = "triple_negative"
    neg_lum = her2_neg & lum
    subtype[neg_lum & lum_b] = "luminal_b_her2_negative"
    subtype[neg_lum & lum_a & ~lum_b] = "luminal_a"
    pending = neg_lum & ~lum_a & ~lum_b
    missing_ki = pending & ~ki_known & kis.isna().to_numpy()
    missing_pr = pending & ~np.isfinite(prp)
    reason[pending] = "Ki-67 or PR percentage needed by " + options.variant
    reason[missing_pr] = f"pr_percent missing (needed for the PR {pr_cut:g}% cut-off)" if pr_cut else ""
    reason[missing_ki] = f"ki67_percent missing (needed for the Ki-67 {ki_cut:g}% cut-off)"
    reason[missing_ki & missing_pr] = "ki67_percent and pr_percent missing"
    reason[subtype != "unclassifiable"] = ""
    return subtype, reason
