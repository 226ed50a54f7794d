"""Tests of her2mri.models.explain (SHAP on cohort columns)."""

from __future__ import annotations

import math

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
from sklearn.tree import DecisionTreeClassifier

from her2mri.exceptions import Her2MriWarning
from her2mri.models.explain import Explanation, explain, format_contributions
from her2mri.models.registry import make_model

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
    result = explain(pipe, X, X.iloc[:30], max_background=20, random_state=1, agnostic="permutation")
    assert result.method == "permutation"
    assert result.n_background == 20
    assert result.is_complete
    np.testing.assert_allclose(
        result.base_value + result.values.sum(axis=1), pipe.predict_proba(X.iloc[:30])[:, 1], rtol=0, atol=1e-9
    )
    again = explain(pipe, X, X.iloc[:30], max_background=20, random_state=1, agnostic="permutation")
    np.testing.assert_array_equal(result.values, again.values)


def test_explain_every_lesion_by_default(frame) -> None:
    X, y = frame
    pipe = _pipeline(make_model("svm", 0)).fit(X, y)
    result = explain(pipe, X, X)
    assert result.n_explained == result.n_requested == len(X)
    assert result.method == "exact"  # five inputs: every coalition
    np.testing.assert_allclose(
        result.base_value + result.values.sum(axis=1), pipe.predict_proba(X)[:, 1], rtol=0, atol=1e-9
    )


def test_explain_lesion_alone_equals_lesion_in_batch(frame) -> None:
    X, y = frame
    pipe = _pipeline(make_model("mlp", 0)).fit(X, y)
    batch = explain(pipe, X, X.iloc[:12], agnostic="permutation", random_state=3)
    alone = explain(pipe, X, X.iloc[[7]], agnostic="permutation", random_state=3)
    np.testing.assert_allclose(alone.values[0], batch.values[7], rtol=0, atol=1e-12)
    other_seed = explain(pipe, X, X.iloc[:12], agnostic="permutation", random_state=4)
    assert not np.array_equal(other_seed.values, batch.values)


def test_explain_time_budget_reports_rows_and_warns(frame, monkeypatch) -> None:
    import her2mri.models.explain_agnostic as agnostic

    X, y = frame
    pipe = _pipeline(KNeighborsClassifier(n_neighbors=15)).fit(X, y)
    monkeypatch.setattr(agnostic, "DEFAULT_MAX_ROWS", 1)  # one lesion per batch; the budget is checked after each
    with pytest.warns(Her2MriWarning, match="time budget"):
        result = explain(pipe, X, X.iloc[:40], time_budget_s=1e-12, max_background=10)
    assert result.n_explained == 1
    assert result.n_requested == 40
    assert not result.is_complete
    assert len(result.data) == 1


@pytest.mark.parametrize(
    ("argument", "value", "match"),
    [("time_budget_s", 0.0, "time_budget_s"), ("max_background", 0, "max_background"),
     ("agnostic", "kernel", "agnostic"), ("n_pairs", 0, "n_pairs")],
)
def test_explain_rejects_bad_options(frame, argument, value, match) -> None:
    X, y = frame
    pipe = _pipeline(LogisticRegression(max_iter=500)).fit(X, y)
    with pytest.raises(ValueError, match=match):
        explain(pipe, X, X.iloc[:2], **{argument: value})


# ------------------------------------------------------------------ agreement with brute-force Shapley values
def _brute_force_shapley(score, background: pd.DataFrame, X: pd.DataFrame) -> tuple[np.ndarray, float]:
    """Exact interventional Shapley values on the cohort columns, every coalition scored through ``score``."""
    columns = list(X.columns)
    M, K = len(columns), len(background)
    codes = np.arange(2**M)
    member = ((codes[:, None] >> np.arange(M)) & 1).astype(bool)  # (2^M, M)
    fact = [math.factorial(s) for s in range(M + 1)]
    values = np.zeros((len(X), M))
    for i in range(len(X)):
        rows = background.iloc[np.tile(np.arange(K), 2**M)].reset_index(drop=True)
        take = np.repeat(member, K, axis=0)
        for j, col in enumerate(columns):
            lesion_value = X.iloc[i][col]
            rows[col] = np.where(take[:, j], lesion_value, rows[col].to_numpy(dtype=object))
            if col in NUMERIC:
                rows[col] = rows[col].astype(float)
        v = np.asarray(score(rows), dtype=float).reshape(2**M, K).mean(axis=1)
        for j in range(M):
            without = codes[~member[:, j]]
            sizes = member[without].sum(axis=1)
            weights = np.array([fact[s] * fact[M - s - 1] / fact[M] for s in sizes])
            values[i, j] = float(weights @ (v[without | (1 << j)] - v[without]))
    base = float(np.asarray(score(background), dtype=float).mean())
    return values, base


AGNOSTIC_MODELS = ("knn", "mlp", "svm")
"""Registry classifiers explained by the model-agnostic methods (fitted with the registry's settings)."""


@pytest.mark.parametrize("kind", sorted(AGNOSTIC_MODELS))
@pytest.mark.parametrize(("choice", "tolerance"), [("exact", 1e-9), ("permutation", 0.01)])
def test_model_agnostic_agrees_with_brute_force_shapley(frame, kind, choice, tolerance) -> None:
    X, y = frame
    pipe = _pipeline(make_model(kind, 0)).fit(X, y)
    background, lesions = X.iloc[:24], X.iloc[100:108]
    result = explain(pipe, background, lesions, agnostic=choice, random_state=5)
    assert result.method == choice
    assert result.n_background == len(background)
    expected, base = _brute_force_shapley(lambda f: pipe.predict_proba(f)[:, 1], background, lesions)
    assert result.base_value == pytest.approx(base, abs=1e-12)
    np.testing.assert_allclose(result.values, expected, rtol=0, atol=tolerance)
    np.testing.assert_allclose(
        result.base_value + result.values.sum(axis=1), pipe.predict_proba(lesions)[:, 1], rtol=0, atol=1e-9
    )


def test_linear_agrees_with_brute_force_shapley(frame) -> None:
    X, y = frame
    pipe = _pipeline(LogisticRegression(max_iter=500)).fit(X, y)
    background, lesions = X.iloc[:30], X.iloc[100:106]
    result = explain(pipe, background, lesions)
    expected, base = _brute_force_shapley(pipe.decision_function, background, lesions)
    assert result.method == "linear"
    assert result.base_value == pytest.approx(base, abs=1e-9)
    np.testing.assert_allclose(result.values, expected, rtol=0, atol=1e-9)


def _path_dependent_value(tree, x: np.ndarray, known: set[int]) -> float:
    """E[tree output | the inputs in ``known``], other inputs integrated out with the training cover of each node."""
    t = tree.tree_

    def value(node: int) -> float:
        left, right = t.children_left[node], t.children_right[node]
        if left == -1:
            leaf = t.value[node][0]
            return float(leaf[-1] if leaf.size > 1 else leaf[0])  # class-1 fraction, or the regression value
        if t.feature[node] in known:
            return value(left if x[t.feature[node]] <= t.threshold[node] else right)
        w_left, w_right = t.weighted_n_node_samples[left], t.weighted_n_node_samples[right]
        return (w_left * value(left) + w_right * value(right)) / (w_left + w_right)

    return value(0)


def _brute_force_tree_shapley(model, Z: np.ndarray) -> tuple[np.ndarray, float]:
    """Exact Shapley values of the path-dependent game of a forest (mean of trees) or boosting (sum × rate)."""
    if isinstance(model, GradientBoostingClassifier):
        trees, scale = [e[0] for e in model.estimators_], model.learning_rate
        offset = float(model.decision_function(Z[:1])[0] - scale * sum(tr.predict(Z[:1].astype(np.float32))[0] for tr in trees))
    elif isinstance(model, RandomForestClassifier):
        trees, scale, offset = list(model.estimators_), 1.0 / len(model.estimators_), 0.0
    else:
        trees, scale, offset = [model], 1.0, 0.0
    M = Z.shape[1]
    fact = [math.factorial(s) for s in range(M + 1)]
    subsets = [frozenset(j for j in range(M) if code >> j & 1) for code in range(2**M)]
    values = np.zeros(Z.shape)
    for i, x in enumerate(Z.astype(np.float32)):
        v = {S: offset + scale * sum(_path_dependent_value(tr, x, S) for tr in trees) for S in subsets}
        for j in range(M):
            for S in subsets:
                if j not in S:
                    values[i, j] += fact[len(S)] * fact[M - len(S) - 1] / fact[M] * (v[S | {j}] - v[S])
    return values, offset + scale * sum(_path_dependent_value(tr, Z[0], set()) for tr in trees)


@pytest.mark.parametrize("kind", ["rf", "dt", "gbdt"])
def test_tree_agrees_with_brute_force_shapley(frame, kind) -> None:
    X, y = frame
    numeric = X[NUMERIC].assign(washout=(X["tic_type"] == "washout").astype(float))
    model = {
        "rf": RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0),
        "dt": DecisionTreeClassifier(max_depth=4, random_state=0),
        "gbdt": GradientBoostingClassifier(n_estimators=15, max_depth=2, random_state=0),
    }[kind]
    pipe = make_pipeline(SimpleImputer(strategy="median"), model).fit(numeric, y)
    lesions = numeric.iloc[100:106]
    result = explain(pipe, numeric.iloc[:25], lesions)
    assert result.method == "tree"
    expected, base = _brute_force_tree_shapley(model, pipe[:-1].transform(lesions))
    assert result.base_value == pytest.approx(base, abs=1e-9)
    np.testing.assert_allclose(result.values, expected, rtol=0, atol=1e-9)
    output = pipe.decision_function(lesions) if kind == "gbdt" else pipe.predict_proba(lesions)[:, 1]
    np.testing.assert_allclose(result.base_value + result.values.sum(axis=1), output, rtol=0, atol=1e-9)


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


def test_fast_svm_scorer_is_used_and_matches_predict_proba(frame) -> None:
    from her2mri.models.explain_scorers import fast_scorer

    X, y = frame
    pipe = _pipeline(make_model("svm", 0)).fit(X, y)
    Z = pipe[:-1].transform(X)
    model = pipe[-1]

    def exact(matrix):
        return model.predict_proba(matrix)[:, 1]

    scorer = fast_scorer(model, Z[:40], exact)
    assert scorer is not exact  # the matrix-product form passed its check
    np.testing.assert_allclose(scorer(Z), exact(Z), rtol=0, atol=1e-9)
    knn = _pipeline(KNeighborsClassifier(n_neighbors=5)).fit(X, y)
    assert fast_scorer(knn[-1], Z[:5], exact) is exact  # nothing faster for other models


def test_untraceable_encoder_falls_back_to_cohort_columns(frame) -> None:
    from sklearn.decomposition import PCA

    X, y = frame
    pipe = _pipeline(make_model("knn", 0))
    pipe.steps.insert(1, ("pca", PCA(n_components=4, random_state=0)))  # pca0… names: no cohort column
    pipe.fit(X, y)
    background, lesions = X.iloc[:20], X.iloc[100:104]
    result = explain(pipe, background, lesions)
    assert result.method == "exact"
    assert result.feature_names == tuple(NUMERIC + CATEGORICAL)
    expected, base = _brute_force_shapley(lambda f: pipe.predict_proba(f)[:, 1], background, lesions)
    assert result.base_value == pytest.approx(base, abs=1e-12)
    np.testing.assert_allclose(result.values, expected, rtol=0, atol=1e-9)
