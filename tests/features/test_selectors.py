from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from her2mri.features import (
    SELECTORS,
    CorrelationFilter,
    GbdtSelector,
    LassoSelector,
    MrmrSelector,
    RandomForestSelector,
    ReliabilityFilter,
    ShapSelector,
    StepwiseLogisticSelector,
    UnivariateFilter,
    bh_adjust,
)

INFORMATIVE = {"f0", "f1", "f2"}


def _signal(seed: int = 3, n: int = 300, p: int = 30) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"f{i}" for i in range(p)])
    eta = 1.5 * X["f0"] - 1.2 * X["f1"] + 1.0 * X["f2"]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    return X, y


FAST = {
    "random_forest": RandomForestSelector(k=3, n_estimators=100, random_state=0),
    "lasso": LassoSelector(Cs=6, cv=3, max_features=3, random_state=0),
    "univariate": UnivariateFilter(alpha=0.001, correction="bh"),
    "gbdt": GbdtSelector(k=3, n_estimators=50, random_state=0),
    "stepwise": StepwiseLogisticSelector(entry_alpha=0.05, criterion="aic", direction="both", max_features=8),
    "shap": ShapSelector(k=3, n_estimators=50, random_state=0),
    "mrmr": MrmrSelector(k=3),
}


@pytest.mark.parametrize("name", sorted(FAST))
def test_selector_with_signal_picks_informative_features(name: str) -> None:
    X, y = _signal()
    sel = FAST[name].fit(X, y)
    chosen = set(sel.selected_features_)
    assert INFORMATIVE <= chosen, chosen
    assert len(chosen) <= 6
    assert sel.transform(X).shape[1] == len(chosen)
    assert list(sel.get_feature_names_out()) == list(sel.selected_features_)


def test_lasso_selector_uses_groups_when_given() -> None:
    X, y = _signal()
    groups = np.repeat(np.arange(150), 2)
    sel = LassoSelector(Cs=4, cv=3, random_state=0).fit(X, y, groups=groups)
    assert sel.cv_scores_.shape == (4, 3)
    assert INFORMATIVE <= set(sel.selected_features_)


def test_stepwise_pvalue_criterion_keeps_significant_terms() -> None:
    X, y = _signal()
    sel = StepwiseLogisticSelector(criterion="pvalue", direction="backward", max_features=10).fit(X, y)
    assert INFORMATIVE <= set(sel.selected_features_)
    assert np.nanmax(sel.pvalues_) < 0.05


def test_correlation_filter_keeps_more_discriminative_of_a_pair() -> None:
    X, y = _signal()
    rng = np.random.default_rng(0)
    X["f0_copy"] = X["f1"] * 0.2 + rng.normal(scale=0.05, size=len(X))  # collinear with f1, weaker
    X["f0_twin"] = X["f0"] + rng.normal(scale=0.05, size=len(X))  # nearly identical to f0
    sel = CorrelationFilter(threshold=0.8).fit(X, y)
    kept = set(sel.selected_features_)
    assert "f1" in kept
    assert "f0_copy" not in kept
    assert len(kept & {"f0", "f0_twin"}) == 1


def test_reliability_filter_uses_icc_table_only() -> None:
    X, y = _signal()
    icc = pd.DataFrame({"feature": ["f0", "f1", "f2"], "icc": [0.9, 0.6, 0.8]})
    sel = ReliabilityFilter(icc=icc, threshold=0.75, missing="drop").fit(X)
    assert list(sel.selected_features_) == ["f0", "f2"]
    keep = ReliabilityFilter(icc={"f1": 0.2}, threshold=0.75).fit(X, y)
    assert "f1" not in keep.selected_features_
    assert len(keep.selected_features_) == X.shape[1] - 1


@pytest.mark.parametrize(
    "selector",
    [
        UnivariateFilter(alpha=1e-12),
        StepwiseLogisticSelector(entry_alpha=1e-9),
        LassoSelector(Cs=[1e-6], cv=3),
        ReliabilityFilter(icc={f"f{i}": 0.1 for i in range(30)}, missing="drop"),
        RandomForestSelector(k=None, threshold=10.0, n_estimators=10, random_state=0),
    ],
)
def test_selector_empty_selection_keeps_best_feature(selector) -> None:  # noqa: ANN001
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(60, 30)), columns=[f"f{i}" for i in range(30)])
    y = rng.integers(0, 2, 60)
    sel = selector.fit(X, y)
    assert sel.fallback_used_
    assert sel.get_support().sum() == 1


def test_selectors_registry_names() -> None:
    assert set(SELECTORS) == {"random_forest", "lasso", "group_lasso", "correlation", "univariate", "gbdt", "stepwise",
                              "shap", "mrmr", "reliability"}


def test_bh_adjust_matches_r() -> None:
    """R: p.adjust(c(0.01, 0.04, 0.03, 0.2), method = "BH") = 0.04 0.0533333 0.0533333 0.2."""
    np.testing.assert_allclose(bh_adjust(np.array([0.01, 0.04, 0.03, 0.2])), [0.04, 0.16 / 3, 0.16 / 3, 0.2])


def _expected_failed(estimator) -> dict[str, str]:  # noqa: ANN001
    """No check is expected to fail; kept as the hook to document any inapplicable check with its reason."""
    return {}


@parametrize_with_checks(
    [
        RandomForestSelector(k=2, n_estimators=10, random_state=0),
        LassoSelector(Cs=3, cv=2, random_state=0),
        CorrelationFilter(),
        UnivariateFilter(),
        GbdtSelector(k=2, n_estimators=10, random_state=0),
        StepwiseLogisticSelector(),
        ShapSelector(k=2, n_estimators=10, random_state=0),
        MrmrSelector(k=2),
        ReliabilityFilter(),
    ],
    expected_failed_checks=_expected_failed,
)
def test_selectors_sklearn_api(estimator, check) -> None:  # noqa: ANN001
    check(estimator)


def test_lasso_path_shortcut_and_early_stop_match_the_full_grid() -> None:
    """The empty-model shortcut is exact; the early stop keeps the full grid's choice on a unimodal curve."""
    import warnings as _warnings

    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from her2mri.features.embedded import LassoSelector

    X, y = make_classification(300, 200, n_informative=6, random_state=4)
    X = (X - X.mean(0)) / X.std(0)
    full = LassoSelector(patience=None, random_state=0).fit(X, y)
    grid = np.logspace(-3, 1, 10)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    brute = np.full((grid.size, len(folds)), np.nan)
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        for i, C in enumerate(grid):
            for f, (tr, te) in enumerate(folds):
                model = LogisticRegression(C=C, l1_ratio=1.0, solver="liblinear", max_iter=5000, random_state=0)
                brute[i, f] = roc_auc_score(y[te], model.fit(X[tr], y[tr]).decision_function(X[te]))
    np.testing.assert_allclose(full.cv_scores_, brute, rtol=0, atol=1e-12)
    assert np.any(brute == 0.5)  # the strongest penalties give the empty model
    stopped = LassoSelector(random_state=0).fit(X, y)
    assert stopped.C_ == full.C_
    np.testing.assert_array_equal(stopped.get_support(), full.get_support())
    assert np.isnan(stopped.cv_scores_).any()  # weaker penalties past the stop were not fitted
    with pytest.raises(Exception, match="patience"):
        LassoSelector(patience=0).fit(X, y)
