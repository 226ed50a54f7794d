"""Subgroup metrics and interaction tests."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from her2mri.exceptions import FitError
from her2mri.stats.subgroup import subgroup_metrics


def _demo_frame() -> pd.DataFrame:
    """The demo cohort when shipped; otherwise a small frame with the same columns."""
    try:
        from her2mri.cohort.demo import load_demo_cohort
    except ImportError:
        rng = np.random.default_rng(7)
        n = 600
        p = rng.beta(2, 4, n)
        return pd.DataFrame({
            "lesion_type": rng.choice(["mass", "nme"], n, p=[0.8, 0.2]),
            "center": rng.choice(["center1", "center2"], n, p=[0.7, 0.3]),
            "true_p_positive": p,
            "her2_category": np.where(rng.random(n) < p, "positive", "low"),
        })
    return load_demo_cohort().frame


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    frame = _demo_frame()
    frame = frame[frame["her2_category"].notna()].copy()
    frame["y"] = (frame["her2_category"] == "positive").astype(int)
    return frame


def test_subgroup_metrics_demo_by_lesion_type_and_center_has_all_levels(demo: pd.DataFrame) -> None:
    res = subgroup_metrics(demo, "y", "true_p_positive", 0.5, by=["lesion_type", "center"])
    table = res.to_frame()
    assert table.iloc[0]["by"] == "overall"
    for col in ("lesion_type", "center"):
        levels = set(demo[col].dropna().astype(str))
        assert levels <= set(table.loc[table.by == col, "level"])
    assert table.loc[table.by == "center", "n"].sum() == table.iloc[0]["n"]
    overall = res.rows[0]
    assert 0.6 < overall.auc <= 1.0
    assert overall.auc_ci_low < overall.auc < overall.auc_ci_high
    assert overall.tp + overall.fn == overall.n_pos
    methods = {(t.by, t.method) for t in res.interactions}
    assert ("center", "logistic interaction LR test") in methods
    json.dumps(res.to_dict())


def test_subgroup_metrics_true_posterior_shows_no_center_interaction_on_average(demo: pd.DataFrame) -> None:
    res = subgroup_metrics(demo, "y", "true_p_positive", 0.5, by=["center"])
    lr = [t for t in res.interactions if t.method.startswith("logistic")][0]
    assert 0.0 <= lr.pvalue <= 1.0 and lr.df == 1.0


def test_subgroup_metrics_two_levels_runs_unpaired_delong() -> None:
    rng = np.random.default_rng(3)
    n = 400
    g = np.repeat(["a", "b"], n // 2)
    y = rng.integers(0, 2, n)
    s = np.where(g == "a", y * 2.0, y * 0.3) + rng.normal(size=n)
    res = subgroup_metrics(pd.DataFrame({"g": g}), y, s, 0.5, by=["g"])
    dl = [t for t in res.interactions if "DeLong" in t.method][0]
    assert dl.estimate > 0.2 and dl.pvalue < 0.001
    lr = [t for t in res.interactions if "LR" in t.method][0]
    assert lr.pvalue < 0.001


def test_subgroup_metrics_small_subgroup_is_kept_with_note() -> None:
    rng = np.random.default_rng(4)
    n = 200
    g = np.where(np.arange(n) < 5, "tiny", "big")
    y = np.r_[np.ones(5, int), rng.integers(0, 2, n - 5)]
    s = y + rng.normal(size=n)
    res = subgroup_metrics(pd.DataFrame({"g": g}), y, s, 0.5, by=["g"])
    tiny = [r for r in res.rows if r.level == "tiny"][0]
    assert "few cases" in tiny.note and "AUC not computed" in tiny.note
    assert np.isnan(tiny.auc)


def test_subgroup_metrics_rejects_non_binary_outcome() -> None:
    with pytest.raises(FitError, match="0/1"):
        subgroup_metrics(pd.DataFrame({"g": ["a", "b", "a"]}), [0, 2, 1], [0.1, 0.2, 0.3], 0.5, by=["g"])
    with pytest.raises(FitError, match="grouping column"):
        subgroup_metrics(pd.DataFrame({"g": ["a", "b"]}), [0, 1], [0.1, 0.2], 0.5, by=["centre"])
