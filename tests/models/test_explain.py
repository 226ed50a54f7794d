"""Tests of her2mri.models.explain (SHAP on cohort columns)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from her2mri.exceptions import Her2MriWarning
from her2mri.models.explain import Explanation, explain, format_contributions

NUMERIC = ["ki67_percent", "adc_mean", "tumor_size_mm"]
CATEGORICAL = ["mass_shape", "tic_type"]


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(7)
    n = 160
    X = pd.DataFrame(
        {
            "ki67_percent": rng.uniform(1, 90, n),
            "adc_mean": rng.normal(1.0, 0.2, n),
            "tumor_size_mm": rng.gamma(4, 6, n),
            "mass_shape": rng.choice(["oval", "round", "irregular", "not_applicable"], n).astype(object),
            "tic_type": rng.choice(["persistent", "plateau", "washout"], n).astype(object),
        }
    )
    X.loc[3, "adc_mean"] = np.nan
    logit = 0.04 * (X["ki67_percent"] - 40) - 2 * (X["adc_mean"].fillna(1) - 1) + (X["tic_type"] == "washout") * 1.2
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def _pipeline(model, selector=None) -> Pipeline:
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
        ]
    )
    steps = [("pre", pre)]
    if selector is not None:
        steps.append(("select", selector))
    steps.append(("model", model))
    return Pipeline(steps)


def test_explain_linear_is_additive_on_log_odds(frame) -> None:
    X, y = frame
    pipe = _pipeline(LogisticRegression(max_iter=500)).fit(X, y)
    result = explain(pipe, X, X.iloc[:10])
    assert isinstance(result, Explanation)
    assert result.method == "linear"
    assert result.output == "log_odds"
    assert result.feature_names == tuple(NUMERIC + CATEGORICAL)
    assert result.values.shape == (10, 5)
    np.testing.assert_allclose(
        result.base_value + result.values.sum(axis=1), pipe.decision_function(X.iloc[:10]), rtol=1e-9, atol=1e-9
    )
    assert result.is_complete


def test_explain_linear_contributions_average_to_zero_on_background(frame) -> None:
    X, y = frame
    pipe = _pipeline(LogisticRegression(max_iter=500)).fit(X, y)
    result = explain(pipe, X, X)
    np.testing.assert_allclose(result.values.mean(axis=0), 0.0, atol=1e-10)


def test_explain_forest_is_additive_on_probability(frame) -> None:
    X, y = frame
    pipe = _pipeline(RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0)).fit(X, y)
    result = explain(pipe, X, X.iloc[:8])
    assert result.method == "tree"
    assert result.output == "probability"
    np.testing.assert_allclose(
        result.base_value + result.values.sum(axis=1), pipe.predict_proba(X.iloc[:8])[:, 1], atol=1e-6
    )


def test_explain_gbdt_is_additive_on_log_odds(frame) -> None:
    X, y = frame
    pipe = _pipeline(GradientBoostingClassifier(n_estimators=20, max_depth=2, random_state=0)).fit(X, y)
    result = explain(pipe, X, X.iloc[:8])
    assert (result.method, result.output) == ("tree", "log_odds")
    np.testing.assert_allclose(
        result.base_value + result.values.sum(axis=1), pipe.decision_function(X.iloc[:8]), atol=1e-6
    )


def test_explain_with_selector_gives_zero_to_unselected_columns(frame) -> None:
    X, y = frame
    pipe = _pipeline(LogisticRegression(max_iter=500), SelectKBest(f_classif, k=2)).fit(X, y)
    kept = {n.split("__", 1)[1] for n in pipe[:-1].get_feature_names_out()}
    result = explain(pipe, X, X.iloc[:5])
    for j, name in enumerate(result.feature_names):
        if not any(k == name or k.startswith(name + "_") for k in kept):
            assert np.all(result.values[:, j] == 0.0), name
    np.testing.assert_allclose(
        result.base_value + result.values.sum(axis=1), pipe.decision_function(X.iloc[:5]), atol=1e-9
    )


def test_explain_model_agnostic_is_additive_on_probability(frame) -> None:
    X, y = frame
    pipe = _pipeline(KNeighborsClassifier(n_neighbors=15)).fit(X, y)
    result = explain(pipe, X, X.iloc[:3], max_background=20, random_state=1)
    assert result.method == "permutation"
    assert result.n_background <= 20
    np.testing.assert_allclose(
        result.base_value + result.values.sum(axis=1), pipe.predict_proba(X.iloc[:3])[:, 1], atol=1e-6
    )
    again = explain(pipe, X, X.iloc[:3], max_background=20, random_state=1)
    np.testing.assert_array_equal(result.values, again.values)


def test_explain_time_budget_exhausted_reports_rows_and_warns(frame) -> None:
    X, y = frame
    pipe = _pipeline(KNeighborsClassifier(n_neighbors=15)).fit(X, y)
    with pytest.warns(Her2MriWarning, match="time budget"):
        result = explain(pipe, X, X.iloc[:40], time_budget_s=1e-9, max_background=10)
    assert result.n_explained == 1
    assert result.n_requested == 40
    assert not result.is_complete
    assert len(result.data) == 1


def test_explanation_to_frame_and_top_contributions(frame) -> None:
    X, y = frame
    pipe = _pipeline(LogisticRegression(max_iter=500)).fit(X, y)
    result = explain(pipe, X, X.iloc[:4])
    tidy = result.to_frame()
    assert list(tidy.columns) == ["row", "feature", "value", "contribution", "method", "output"]
    assert len(tidy) == 4 * 5
    top = result.top_contributions(2)
    assert len(top) == 4
    first = top[0]
    assert abs(first[0][1]) >= abs(first[1][1])
    text = result.describe(2)[0]
    assert ";" in text
    assert format_contributions([("ki67_percent", 0.214), ("er_status", -0.15)]) == "ki67_percent +0.21; er_status \u22120.15"
    assert result.mean_abs().index[0] in result.feature_names


def test_explain_rejects_empty_background(frame) -> None:
    X, y = frame
    pipe = _pipeline(LogisticRegression(max_iter=500)).fit(X, y)
    with pytest.raises(ValueError, match="at least one row"):
        explain(pipe, X.iloc[:0], X)


@pytest.mark.parametrize(("model", "selectors"), [("lr", [("lasso", {})]), ("gbdt", [])])
def test_explain_her2mri_pipeline_aggregates_to_cohort_columns(frame, model, selectors) -> None:
    from her2mri.models.pipeline import build_pipeline

    X, y = frame
    pipe = build_pipeline(numeric=NUMERIC, categorical=CATEGORICAL, binary=[], selectors=selectors, model=model,
                          random_state=0).fit(X, y)
    result = explain(pipe, X, X.iloc[:6])
    assert result.method in ("linear", "tree")
    assert result.output == "log_odds"
    assert set(result.feature_names) == set(NUMERIC + CATEGORICAL)
    np.testing.assert_allclose(
        result.base_value + result.values.sum(axis=1), pipe.decision_function(X.iloc[:6]), atol=1e-8
    )
