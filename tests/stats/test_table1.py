"""Table 1 rules, recorded tests, FDR adjustment and sets side by side."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from her2mri.stats import StatsInputError, standardized_mean_difference, table1, table1_by_set


def test_table1_three_groups_tests_and_bh_matches_r(r_ref, r_csv):
    """aov / kruskal.test / chisq.test / fisher.test per variable, then p.adjust(method = "BH")."""
    d = r_csv("table1")
    res = table1(d, group="her2", categorical=["edema"])
    first = res.to_frame().drop_duplicates("variable").set_index("variable")
    tests = first["test"].to_dict()
    assert tests["age"] == "one-way ANOVA"
    assert tests["size_mm"] == "Kruskal-Wallis"
    assert tests["edema"].startswith("Pearson chi-square")
    assert tests["rare"].startswith("Fisher")
    order = ["age", "size_mm", "edema", "shape", "rare"]
    assert_allclose(first.loc[order, "pvalue"], r_ref["fdr"]["raw"], rtol=1e-6)
    assert_allclose(first.loc[order, "pvalue_adjusted"], r_ref["fdr"]["bh"], rtol=1e-6)
    assert res.groups == ("low", "positive", "zero")


def test_table1_two_groups_uses_t_or_mann_whitney(r_ref, r_csv):
    d = r_csv("table1")
    d["two"] = np.where(d["her2"] == "zero", "zero", "nonzero")
    res = table1(d.drop(columns="her2"), group="two", variables=["age", "size_mm", "edema"])
    rows = res.to_frame().drop_duplicates("variable").set_index("variable")
    assert rows.loc["age", "test"] == "Student two-sample t test"  # Levene p > 0.05
    assert_allclose(rows.loc["age", "pvalue"], r_ref["tests"]["age_student_t_p"], rtol=1e-6)
    assert rows.loc["size_mm", "test"].startswith("Wilcoxon")
    assert_allclose(rows.loc["size_mm", "pvalue"], r_ref["tests"]["size_mannwhitney_p"], rtol=1e-6)
    assert_allclose(rows.loc["edema", "pvalue"], r_ref["tests"]["edema_chisq_2x2_yates_p"], rtol=1e-6)
    assert "±" in res.to_frame().set_index("variable").loc["age", "zero"]


def test_table1_summaries_and_missing_counted():
    df = pd.DataFrame({"g": ["a"] * 6 + ["b"] * 6, "x": [1.0, 2, 3, 4, 5, np.nan, 2, 3, 4, 5, 6, 7],
                       "c": ["u", "v", "u", "u", "v", "u", "v", "v", "v", "u", "v", "v"]})
    res = table1(df, group="g")
    frame = res.to_frame()
    assert frame.loc[frame["variable"] == "x", "n_missing"].iloc[0] == 1
    assert frame.loc[(frame["variable"] == "c") & (frame["level"] == "u"), "a"].iloc[0] == "4 (66.7%)"
    assert res.to_dict()["rows"][0]["variable"] == "x"


def test_table1_by_set_side_by_side_with_smd(r_csv):
    d = r_csv("table1")
    sets = {"train": d.iloc[:100], "internal": d.iloc[100:140], "external": d.iloc[140:]}
    res = table1_by_set(sets, variables=["age", "shape"], group="her2")
    frame = res.to_frame()
    assert {"train", "internal", "external", "smd_internal", "smd_external"} <= set(frame.columns)
    assert "train: low" in frame.columns
    assert "pvalue (external)" in frame.columns
    smd = standardized_mean_difference(sets["internal"]["age"], sets["train"]["age"])
    assert frame.loc[frame["variable"] == "age", "smd_internal"].iloc[0] == pytest.approx(smd)


def test_standardized_mean_difference_binary_formula():
    a = pd.Series(["y"] * 30 + ["n"] * 70)
    b = pd.Series(["y"] * 50 + ["n"] * 50)
    expected = abs(0.3 - 0.5) / np.sqrt((0.3 * 0.7 + 0.5 * 0.5) / 2)
    assert standardized_mean_difference(a, b) == pytest.approx(expected)


def test_table1_rejects_unknown_group():
    with pytest.raises(StatsInputError, match="group column"):
        table1(pd.DataFrame({"x": [1, 2]}), group="her2")


def test_table1_degenerate_columns_not_tested_without_warnings():
    df = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 5, "const": [2.5] * 10, "allnan": [np.nan] * 10,
                       "binary": [0.0, 1, 0, 1, 1, 0, 0, 0, 1, np.nan]})
    frame = table1(df, group="g").to_frame()
    assert frame.loc[frame["variable"] == "const", "test"].iloc[0] == "not tested"
    assert frame.loc[frame["variable"] == "allnan", "a"].iloc[0] == "–"
    assert set(frame.loc[frame["variable"] == "binary", "level"]) == {"0", "1"}


def test_continuous_summaries_show_each_variables_spread() -> None:
    rng = np.random.default_rng(3)
    n = 200
    frame = pd.DataFrame({
        "group": np.repeat(["a", "b"], n // 2),
        "adc_min": rng.lognormal(np.log(0.95), 0.17, n),      # median (IQR) → two decimals
        "age": rng.normal(53.5, 11.0, n),                      # mean ± SD → one decimal
    })
    rows = table1(frame, group="group").to_frame().set_index("variable")
    centre = rows.loc["adc_min", "a"].split(" ", 1)[0]
    assert len(centre.split(".")[1]) == 2
    assert len(rows.loc["age", "a"].split(" ± ")[0].split(".")[1]) == 1
    fixed = table1(frame, group="group", continuous_digits=3).to_frame().set_index("variable")
    assert len(fixed.loc["adc_min", "a"].split(" ")[0].split(".")[1]) == 3


@pytest.mark.parametrize("bad", [-1, 2.5, "2"])
def test_table1_rejects_bad_decimal_counts(bad) -> None:
    frame = pd.DataFrame({"group": ["a", "b"] * 5, "x": np.arange(10.0)})
    with pytest.raises(StatsInputError, match="continuous_digits"):
        table1(frame, group="group", continuous_digits=bad)
