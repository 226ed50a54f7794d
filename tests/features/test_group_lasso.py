"""Group LASSO keeps or drops a categorical variable whole; λ by CV deviance (λmin, λ1se); stepwise final p."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from her2mri.exceptions import ConfigError, FitError
from her2mri.features import GroupLassoSelector, StepwiseLogisticSelector
from her2mri.features.group_lasso import one_hot_groups


def _data(n: int = 500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    cat = rng.choice(list("abcd"), n)
    noise_cat = rng.choice(list("xyz"), n)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    eta = 1.2 * x1 + np.where(cat == "b", 1.0, 0.0) - np.where(cat == "c", 0.9, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    X = pd.DataFrame({"x1": x1, "x2": x2, **{f"t2_signal_{lv}": (cat == lv).astype(float) for lv in "abcd"},
                      **{f"quadrant_{lv}": (noise_cat == lv).astype(float) for lv in "xyz"},
                      "er_low": (rng.random(n) < 0.2).astype(float)})
    return X, y


def test_one_hot_blocks_are_found_from_the_data() -> None:
    X, _ = _data(50)
    groups = one_hot_groups(X.to_numpy(), list(X.columns))
    assert groups == ["x1", "x2", *["t2_signal"] * 4, *["quadrant"] * 3, "er_low"]


def test_a_categorical_variable_is_kept_or_dropped_whole() -> None:
    X, y = _data()
    selector = GroupLassoSelector(random_state=0).fit(X, y)
    kept = set(selector.selected_features_)
    for prefix in ("t2_signal_", "quadrant_"):
        members = {c for c in X.columns if c.startswith(prefix)}
        assert members <= kept or not (members & kept)
    assert {"x1", "t2_signal_a", "t2_signal_b"} <= kept
    for k in range(len(selector.lambdas_)):  # along the whole path, never a part of a group
        for prefix in ("t2_signal_", "quadrant_"):
            idx = [i for i, c in enumerate(X.columns) if c.startswith(prefix)]
            nonzero = np.abs(selector.coef_path_[k, idx]) > 0
            assert nonzero.all() or not nonzero.any()


def test_lambda_min_and_1se_follow_the_cv_deviance() -> None:
    X, y = _data()
    s = GroupLassoSelector(random_state=0).fit(X, y, groups=np.arange(len(y)) // 2)
    k_min = int(np.argmin(s.cv_deviance_))
    assert s.lambda_min_ == s.lambdas_[k_min]
    assert s.lambda_1se_ >= s.lambda_min_
    k_1se = int(np.flatnonzero(s.lambdas_ == s.lambda_1se_)[0])
    assert s.cv_deviance_[k_1se] <= s.cv_deviance_[k_min] + s.cv_deviance_se_[k_min]
    assert s.lambda_ == s.lambda_1se_
    assert np.all(np.diff(s.lambdas_) < 0)
    assert not np.any(s.coef_path_[0])
    minimal = GroupLassoSelector(rule="min", random_state=0).fit(X, y, groups=np.arange(len(y)) // 2)
    assert minimal.lambda_ == minimal.lambda_min_
    assert len(minimal.selected_groups_) >= len(s.selected_groups_)
    path = s.selection_path()
    assert path["lambda_1se"] == s.lambda_1se_
    assert len(path["coef_path"]) == X.shape[1]
    assert len(path["coef_path"][0]) == len(path["lambdas"]) == len(path["cv_deviance"])


def test_same_seed_same_selection_and_bad_parameters_are_clear() -> None:
    X, y = _data(300)
    a = GroupLassoSelector(random_state=3).fit(X, y)
    b = GroupLassoSelector(random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.coef_path_, b.coef_path_)
    with pytest.raises(ConfigError, match="accepted: '1se', 'min'"):
        GroupLassoSelector(rule="aic").fit(X, y)
    with pytest.raises(ConfigError, match="lambda_min_ratio"):
        GroupLassoSelector(lambda_min_ratio=2.0).fit(X, y)


def test_stepwise_final_p_keeps_only_significant_terms() -> None:
    X, y = _data(400, seed=2)
    free = StepwiseLogisticSelector(entry_alpha=0.5, criterion="aic", max_features=8).fit(X, y)
    final = StepwiseLogisticSelector(entry_alpha=0.5, criterion="aic", max_features=8, final_alpha=0.05).fit(X, y)
    kept = final.pvalues_[final.get_support()]
    assert np.all(kept < 0.05)
    assert set(final.selected_features_) <= set(free.selected_features_)
    with pytest.raises(FitError, match="final_alpha"):
        StepwiseLogisticSelector(final_alpha=1.5).fit(X, y)


@parametrize_with_checks([GroupLassoSelector(n_lambdas=5, cv=2, max_iter=50)])
def test_group_lasso_sklearn_api(estimator, check) -> None:  # noqa: ANN001
    check(estimator)
