"""Derived labels: ASCO/CAP 2018 ISH group and HER2 category, ER-low, HR status, molecular subtype.

ASCO/CAP 2018 dual-probe ISH groups (boundaries belong to the ``≥`` side)::

    group  HER2/CEP17  HER2 copies/cell   IHC 3+     IHC 2+     IHC 0 / 1+
    1      ≥ 2.0       ≥ 4.0              positive   positive   positive
    2      ≥ 2.0       < 4.0              positive   negative   negative
    3      < 2.0       ≥ 6.0              positive   positive   negative
    4      < 2.0       ≥ 4.0 and < 6.0    positive   negative   negative
    5      < 2.0       < 4.0              review     negative   negative

HER2 category: positive = IHC 3+ or final ISH positive; low = IHC 1+ (ISH not positive) or IHC 2+ with final
ISH negative; zero = IHC 0 (ISH not positive); IHC 2+ without a usable ISH result is not derivable (NaN).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from her2mri.cohort.subtype import SubtypeOptions, molecular_subtype

__all__ = [
    "er_low",
    "her2_category",
    "her2_disagreements",
    "her2_ish_final",
    "hr_status",
    "ish_group",
    "molecular_subtype",
    "status_from_percent",
]


def _is_scalar(*values: object) -> bool:
    return all(np.ndim(v) == 0 for v in values)


def _obj(values: object, n: int) -> np.ndarray:
    if np.ndim(values) == 0:
        return np.full(n, values, dtype=object)
    return np.asarray(pd.Series(list(values) if not isinstance(values, pd.Series) else values.to_list(),
                                dtype=object))


def _length(*values: object) -> int:
    return max([len(v) for v in values if np.ndim(v) > 0] or [1])  # type: ignore[arg-type]


def ish_group(ratio: object, copy_number: object) -> float | np.ndarray:
    """ASCO/CAP 2018 dual-probe ISH group (1–5) from HER2/CEP17 ratio and mean HER2 copies per cell.

    Boundary values belong to the ``≥`` side: ratio 2.0 counts as "≥ 2.0", copies 4.0 as "≥ 4.0" and 6.0
    as "≥ 6.0". Returns NaN where either input is missing. Scalars in, scalar out.
    """
    r = pd.to_numeric(pd.Series(np.atleast_1d(np.asarray(ratio, dtype=object))), errors="coerce").to_numpy(float)
    c = pd.to_numeric(pd.Series(np.atleast_1d(np.asarray(copy_number, dtype=object))),
                      errors="coerce").to_numpy(float)
    r, c = np.broadcast_arrays(r, c)
    high_ratio = r >= 2.0
    group = np.select(
        [high_ratio & (c >= 4.0), high_ratio & (c < 4.0), ~high_ratio & (c >= 6.0), ~high_ratio & (c >= 4.0)],
        [1.0, 2.0, 3.0, 4.0], default=5.0)
    group[~(np.isfinite(r) & np.isfinite(c))] = np.nan
    if _is_scalar(ratio, copy_number):
        return float(group[0])
    return group


def her2_ish_final(ihc: object, group: object, ish: object = None) -> object:
    """Final ISH call by ASCO/CAP 2018 ("positive"/"negative"/NaN) given the concurrent IHC score.

    Uses the ISH group where known (see the module table; group 5 with IHC 3+ is discordant → NaN, and groups
    2–4 without an IHC score → NaN); otherwise the reported ``her2_ish`` ("equivocal" → NaN).
    """
    n = _length(ihc, group, ish)
    ihc_a = _obj(ihc, n)
    g = pd.to_numeric(pd.Series(_obj(group, n)), errors="coerce").to_numpy(float)
    ish_a = _obj(ish, n)
    ihc_known = pd.Series(ihc_a).isin(["0", "1+", "2+", "3+"]).to_numpy()
    ihc3 = ihc_a == "3+"
    ihc23 = (ihc_a == "2+") | ihc3
    pos = (g == 1) | ((g == 2) & ihc3) | ((g == 3) & ihc23) | ((g == 4) & ihc3)
    neg = (((g == 2) | (g == 4)) & ihc_known & ~ihc3) | ((g == 3) & ihc_known & ~ihc23) | ((g == 5) & ~ihc3)
    out = np.full(n, np.nan, dtype=object)
    out[pos] = "positive"
    out[neg] = "negative"
    no_group = ~np.isfinite(g)
    out[no_group & (ish_a == "positive")] = "positive"
    out[no_group & (ish_a == "negative")] = "negative"
    if _is_scalar(ihc, group, ish):
        return out[0]
    return out


def her2_category(ihc: object, group: object = None, ish: object = None) -> object:
    """HER2 category ("zero", "low", "positive"; "negative" when only a negative ISH is known; NaN).

    Positive = IHC 3+, or final ISH positive whatever the IHC (ISH group 1; group 3 with IHC 2+; group 2/4
    with IHC 3+). Low = IHC 1+ or IHC 2+ with final ISH negative. Zero = IHC 0 without positive ISH.
    IHC 2+ without a usable ISH result → NaN (not derivable; reported, never guessed).
    """
    n = _length(ihc, group, ish)
    ihc_a = _obj(ihc, n)
    final = np.asarray(her2_ish_final(ihc_a, _obj(group, n), _obj(ish, n)), dtype=object)
    final_pos = final == "positive"
    final_neg = final == "negative"
    ihc_missing = ~pd.Series(ihc_a).isin(["0", "1+", "2+", "3+"]).to_numpy()
    out = np.full(n, np.nan, dtype=object)
    out[ihc_missing & final_neg] = "negative"
    out[ihc_a == "0"] = "zero"
    out[ihc_a == "1+"] = "low"
    out[(ihc_a == "2+") & final_neg] = "low"
    out[(ihc_a == "3+") | final_pos] = "positive"
    if _is_scalar(ihc, group, ish):
        return out[0]
    return out


def status_from_percent(percent: object, cutoff: float = 1.0, *, labels: tuple[str, str] = ("positive", "negative")
                        ) -> np.ndarray:
    """``labels[0]`` where percent ≥ cutoff, ``labels[1]`` below, NaN where missing."""
    p = pd.to_numeric(pd.Series(np.atleast_1d(np.asarray(percent, dtype=object))), errors="coerce").to_numpy(float)
    out = np.where(p >= cutoff, labels[0], labels[1]).astype(object)
    out[~np.isfinite(p)] = np.nan
    return out


def hr_status(er_status: object, pr_status: object) -> np.ndarray:
    """Hormone-receptor status: positive if ER or PR positive, negative if both negative, else NaN."""
    n = _length(er_status, pr_status)
    er, pr = _obj(er_status, n), _obj(pr_status, n)
    out = np.full(n, np.nan, dtype=object)
    out[(er == "negative") & (pr == "negative")] = "negative"
    out[(er == "positive") | (pr == "positive")] = "positive"
    return out


def er_low(er_percent: object) -> np.ndarray:
    """ER low positive (ASCO/CAP 2020): 1.0 where 1 ≤ ER% ≤ 10, 0.0 otherwise, NaN where ER% is missing."""
    p = pd.to_numeric(pd.Series(np.atleast_1d(np.asarray(er_percent, dtype=object))), errors="coerce").to_numpy(float)
    out = ((p >= 1.0) & (p <= 10.0)).astype(float)
    out[~np.isfinite(p)] = np.nan
    return out


def her2_disagreements(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows where the reported ``her2_status`` disagrees with the category derived from IHC/ISH.

    Returns a frame with ``row`` (1-based data row), ``lesion_id`` (if present), ``her2_status``,
    ``her2_ihc``, ``her2_ish``, ``ish_group`` and ``derived_category``; empty when all agree. ``negative``
    agrees with a derived ``zero`` or ``low``.
    """
    columns = ["row", "lesion_id", "her2_status", "her2_ihc", "her2_ish", "ish_group", "derived_category"]
    if "her2_status" not in frame.columns:
        return pd.DataFrame(columns=columns)
    n = len(frame)
    def get(c):
        return (frame[c].to_numpy(dtype=object) if c in frame.columns else np.full(n, np.nan, dtype=object))
    group = (frame["ish_group"].to_numpy(float) if "ish_group" in frame.columns
             else np.asarray(ish_group(get("her2_ish_ratio"), get("her2_copy_number")), dtype=float))
    derived = np.asarray(her2_category(get("her2_ihc"), group, get("her2_ish")), dtype=object)
    status = get("her2_status")
    both = ~pd.isna(status) & ~pd.isna(derived)
    agree = (status == derived) | ((status == "negative") & pd.Series(derived).isin(["zero", "low"]).to_numpy())
    bad = both & ~agree
    report = pd.DataFrame({
        "row": np.arange(1, n + 1)[bad],
        "lesion_id": get("lesion_id")[bad],
        "her2_status": status[bad],
        "her2_ihc": get("her2_ihc")[bad],
        "her2_ish": get("her2_ish")[bad],
        "ish_group": group[bad],
        "derived_category": derived[bad],
    })
    return report.reset_index(drop=True)


def derive_subtype(frame: pd.DataFrame, options: SubtypeOptions) -> tuple[np.ndarray, np.ndarray]:
    """Molecular subtype columns for a validated frame."""
    n = len(frame)

    def get(c: str) -> object:
        return frame[c] if c in frame.columns else pd.Series([np.nan] * n, dtype=object)

    return molecular_subtype(get("er_status"), get("pr_status"), get("her2_category"),
                             pr_percent=get("pr_percent"), ki67_percent=get("ki67_percent"),
                             ki67_status=get("ki67_status"), options=options)
