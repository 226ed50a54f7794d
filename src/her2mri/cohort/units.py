"""Unit plausibility: catch a whole column given in another unit than the contract's.

Three mistakes are common in HER2 MRI tables and all are silent in a model:

* ADC (and D_app) in mm²/s (values around 0.001) instead of ×10⁻³ mm²/s (around 1.0);
* ER / PR / Ki-67 as fractions (0–1) instead of percentages (0–100);
* EER as a percentage (62) instead of a fraction (0.62).

Each check looks at the column as a whole (its median, or its maximum for percentages) and returns one
:class:`~her2mri.exceptions.CohortIssue` per wrong column naming the unit expected and how to convert.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from her2mri.cohort.vocabulary import ADC_UNIT, spec_for
from her2mri.exceptions import CohortIssue

__all__ = ["ADC_MM2_PER_S_MEDIAN", "EER_PERCENT_MEDIAN", "PERCENT_COLUMNS", "check_units"]

PERCENT_COLUMNS = ("er_percent", "pr_percent", "ki67_percent")
ADC_MM2_PER_S_MEDIAN = 0.05
"""An ADC column whose median absolute value is below this is read as mm²/s (contract: ×10⁻³ mm²/s)."""
ADC_UM2_PER_S_MEDIAN = 50.0
"""An ADC column whose median is above this is read as ×10⁻⁶ mm²/s (µm²/s)."""
EER_PERCENT_MEDIAN = 10.0
"""An EER column whose median is above this is read as a percentage (contract: fraction, 0.62 = 62%)."""


def _is_adc_column(name: str) -> bool:
    spec = spec_for(name)
    return spec is not None and spec.unit == ADC_UNIT


def check_units(numeric: dict[str, pd.Series]) -> list[CohortIssue]:
    """Unit problems of already-numeric columns (``name -> float Series``), one issue per column."""
    issues: list[CohortIssue] = []
    for name, values in numeric.items():
        finite = values.to_numpy(dtype=float)
        finite = finite[np.isfinite(finite)]
        if finite.size == 0:
            continue
        median = float(np.median(np.abs(finite)))
        if _is_adc_column(name):
            if median < ADC_MM2_PER_S_MEDIAN:
                issues.append(CohortIssue(
                    None, name, f"median {median:.6g}",
                    f"values look like mm²/s (around 0.001); the expected unit is {ADC_UNIT} (around 1.0). "
                    "Multiply the column by 1000 (or add `scale: {" + name + ": 1000}` to the mapping)",
                    accepted=f"ADC in {ADC_UNIT}, typically 0.4–3.0"))
            elif median > ADC_UM2_PER_S_MEDIAN:
                issues.append(CohortIssue(
                    None, name, f"median {median:.6g}",
                    f"values look like ×10⁻⁶ mm²/s (µm²/s, around 1000); the expected unit is {ADC_UNIT}. "
                    "Divide the column by 1000 (or add `scale: {" + name + ": 0.001}` to the mapping)",
                    accepted=f"ADC in {ADC_UNIT}, typically 0.4–3.0"))
        elif name in PERCENT_COLUMNS:
            if float(finite.max()) <= 1.0 and float(finite.max()) > 0.0:
                issues.append(CohortIssue(
                    None, name, f"maximum {float(finite.max()):.6g}",
                    "every value is at most 1, which looks like a fraction; the expected unit is percent (0–100). "
                    "Multiply the column by 100 (or add `scale: {" + name + ": 100}` to the mapping); "
                    "if the column holds 0/1 status codes, map it to the matching _status column instead",
                    accepted="a percentage 0–100"))
        elif name == "eer" and median > EER_PERCENT_MEDIAN:
            issues.append(CohortIssue(
                None, name, f"median {median:.6g}",
                "values look like a percentage (e.g. 62); the expected unit is a fraction (0.62 means 62%). "
                "Divide the column by 100 (or add `scale: {eer: 0.01}` to the mapping)",
                accepted="EER as a fraction, typically 0.2–3.0"))
    return issues
