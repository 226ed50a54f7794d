"""Variable-level univariable screen: one test per cohort variable, a variable kept or dropped as a whole."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from her2mri.exceptions import FitError
from her2mri.features import UnivariateFilter, bh_adjust
from her2mri.models.pipeline import build_pipeline


def _frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    # "shape" depends on y through one level; "side" and "noise" do not; "size" is shifted with y
    shape = np.where(rng.random(n) < np.where(y == 1, 0.5, 0.25), "round", rng.choice(["oval", "irregular"], n))
    X = pd.DataFrame({
        "shape_irregular": (shape == "irregular").astype(float), "shape_oval": (shape == "oval").astype(float),
        "shape_round": (shape == "round").astype(float),
        "side_left": 0.0, "side_right": 0.0,
        "edema": (rng.random(n) < 0.3).astype(float),
        "size": rng.normal(0.4 * y, 1.0), "noise": rng.normal(size=n),
    })
    side = rng.random(n) < 0.5
    X["side_left"], X["side_right"] = side.astype(float), (~side).astype(float)
    return X, y


def _chi2(codes: np.ndarray, y: np.ndarray) -> float:
    table = pd.crosstab(codes, y).to_numpy()
    return float(stats.chi2_contingency(table, correction=False)[1])


def test_variable_pvalues_are_one_test_per_variable_with_bh_over_variables() -> None:
    X, y = _frame()
    screen = UnivariateFilter(level="variable", correction="bh", alpha=0.05).fit(X, y)
    shape = np.argmax(X[["shape_irregular", "shape_oval", "shape_round"]].to_numpy(), axis=1)
    side = X["side_right"].to_numpy()
    raw = {"shape": _chi2(shape, y), "side": _chi2(side, y), "edema": _chi2(X["edema"].to_numpy(), y),
           "size": float(stats.mannwhitneyu(X["size"][y == 1], X["size"][y == 0]).pvalue),
           "noise": float(stats.mannwhitneyu(X["noise"][y == 1], X["noise"][y == 0]).pvalue)}
    expected = dict(zip(raw, bh_adjust(np.array(list(raw.values()))), strict=True))
    assert set(screen.variable_pvalues_) == set(expected)
    for variable, q in expected.items():
        assert screen.variable_pvalues_[variable] == pytest.approx(q, rel=1e-12)
    # every column carries its variable's p; a variable is kept or dropped with all its columns
    columns = dict(zip(X.columns, screen.pvalues_, strict=True))
    assert columns["shape_oval"] == columns["shape_round"] == pytest.approx(expected["shape"])
    kept = set(screen.selected_features_)
    assert {"shape_irregular", "shape_oval", "shape_round", "size"} <= kept
    for group in (["shape_irregular", "shape_oval", "shape_round"], ["side_left", "side_right"]):
        assert len(kept & set(group)) in (0, len(group))


def test_uncorrected_variable_screen_and_explicit_groups() -> None:
    X, y = _frame(seed=1)
    plain = UnivariateFilter(level="variable", alpha=0.05).fit(X, y)
    shape = np.argmax(X[["shape_irregular", "shape_oval", "shape_round"]].to_numpy(), axis=1)
    assert plain.variable_pvalues_["shape"] == pytest.approx(_chi2(shape, y), rel=1e-12)
    # the same grouping given explicitly (names without a common prefix)
    renamed = X.rename(columns={"shape_irregular": "a", "shape_oval": "b", "shape_round": "c"})
    given = UnivariateFilter(level="variable", alpha=0.05, group_of={"a": "form", "b": "form", "c": "form"})
    given.fit(renamed, y)
    assert given.variable_pvalues_["form"] == pytest.approx(plain.variable_pvalues_["shape"], rel=1e-12)


def test_welch_t_for_numeric_variables_and_three_classes() -> None:
    X, y = _frame(seed=2)
    t = UnivariateFilter(level="variable", test="t").fit(X, y)
    assert t.variable_pvalues_["size"] == pytest.approx(
        stats.ttest_ind(X["size"][y == 1], X["size"][y == 0], equal_var=False).pvalue, rel=1e-12)
    y3 = np.random.default_rng(3).integers(0, 3, len(y))
    three = UnivariateFilter(level="variable").fit(X, y3)
    assert three.variable_pvalues_["size"] == pytest.approx(
        stats.kruskal(*(X["size"][y3 == k] for k in range(3))).pvalue, rel=1e-12)
    side = X["side_right"].to_numpy()
    assert three.variable_pvalues_["side"] == pytest.approx(_chi2(side, y3), rel=1e-12)


def test_alpha_one_keeps_every_variable_even_at_adjusted_p_of_one() -> None:
    X, y = _frame(seed=4)
    X["constant"] = 1.0
    screen = UnivariateFilter(level="variable", correction="bh", alpha=1.0).fit(X, y)
    assert screen.get_support().all()
    assert screen.variable_pvalues_["constant"] == 1.0


@pytest.mark.parametrize(("params", "match"), [
    ({"level": "variable", "test": "chi2"}, "applies to numeric variables"),
    ({"level": "row"}, "'level' parameter of UnivariateFilter must be 'column' or 'variable'. Got 'row'"),
    ({"alpha": 0.0}, r"must be in \(0, 1\]"),
])
def test_bad_parameters_are_named(params, match) -> None:  # noqa: ANN001
    X, y = _frame()
    with pytest.raises(FitError, match=match):
        UnivariateFilter(**params).fit(X, y)


def test_variable_screen_in_a_cohort_pipeline_groups_the_encoded_levels() -> None:
    rng = np.random.default_rng(5)
    n = 300
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame({
        "quadrant": rng.choice(["upper_outer", "upper_inner", "central"], n),
        "mass_shape": np.where(rng.random(n) < np.where(y == 1, 0.6, 0.2), "irregular", "oval"),
        "adc_min": rng.normal(1.0 - 0.1 * y, 0.15),
    })
    pipe = build_pipeline(numeric=["adc_min"], categorical=["quadrant", "mass_shape"],
                          selectors=[("univariate", {"level": "variable", "correction": "bh"})], model="lr")
    pipe.fit(frame, y)
    screen = pipe.named_steps["select_univariate"]
    assert {"quadrant", "mass_shape", "adc_min"} <= set(screen.variable_pvalues_)
    kept = set(screen.selected_features_)
    quadrant = [c for c in screen.feature_names_in_ if str(c).startswith("quadrant_")]
    assert len(kept & set(quadrant)) in (0, len(quadrant))
    assert any(str(c).startswith("mass_shape_") for c in kept)
