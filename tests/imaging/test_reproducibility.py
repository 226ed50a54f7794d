"""Per-feature ICC between readers and the ICC filter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from her2mri.exceptions import ImagingError
from her2mri.imaging import feature_icc, select_reproducible
from her2mri.stats import icc


def _long_table(rng: np.random.Generator, n: int = 30) -> pd.DataFrame:
    truth = rng.normal(0, 1, n)
    rows = []
    for reader, shift in (("r1", 0.0), ("r2", 0.1)):
        for i in range(n):
            rows.append(
                {
                    "patient_id": f"P{i}",
                    "lesion_id": f"P{i}",
                    "reader": reader,
                    "stable": truth[i] + shift + rng.normal(0, 0.05),
                    "noisy": rng.normal(0, 1),
                    "t2__original_shape_Flat": 1.0,
                }
            )
    return pd.DataFrame(rows)


def test_feature_icc_uses_icc2_and_matches_stats_icc(rng: np.random.Generator) -> None:
    table = _long_table(rng)
    result = feature_icc(table)
    frame = result.to_frame().set_index("feature")
    wide = table.pivot(index="lesion_id", columns="reader", values="stable")
    expected = icc(wide.to_numpy()).get("ICC2")
    assert frame.loc["stable", "estimate"] == pytest.approx(expected.estimate)
    assert frame.loc["stable", "ci_low"] == pytest.approx(expected.ci_low)
    assert frame.loc["stable", "method"].startswith("ICC(2,1): two-way random, absolute agreement")
    assert frame.loc["noisy", "estimate"] < 0.5
    assert np.isnan(frame.loc["t2__original_shape_Flat", "estimate"])
    assert frame.loc["t2__original_shape_Flat", "note"] == "constant across lesions and readers"
    assert frame.loc["t2__original_shape_Flat", "sequence"] == "t2"


def test_select_reproducible_threshold_and_ci_low(rng: np.random.Generator) -> None:
    result = feature_icc(_long_table(rng))
    assert select_reproducible(result) == ("stable",)
    assert select_reproducible(result, threshold=0.999) == ()
    table = result.to_frame()
    table.loc[table["feature"] == "stable", "ci_low"] = 0.7
    assert select_reproducible(table, use_ci_low=True) == ()


def test_feature_icc_incomplete_lesions_are_dropped(rng: np.random.Generator) -> None:
    table = _long_table(rng)
    table = table[~((table["reader"] == "r2") & (table["lesion_id"] == "P0"))]
    result = feature_icc(table, features=["stable"])
    assert result.n == 29
    assert int(result.table["n"].iloc[0]) == 29


def test_feature_icc_one_reader_raises(rng: np.random.Generator) -> None:
    table = _long_table(rng)
    with pytest.raises(ImagingError, match="at least 2 readers"):
        feature_icc(table[table["reader"] == "r1"])
