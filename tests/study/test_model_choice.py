"""The chosen model of a task: configured, highest out-of-fold AUC, the one-standard-error rule, or the simplest
model unless a more complex one beats it beyond noise."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from her2mri.stats import delong_covariance
from her2mri.study import config_from_dict
from her2mri.study.stages import _choose_model


def _setup(rule: str, model: str | None = None):
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(60), np.zeros(140)].astype(int)
    signal = y + rng.normal(0, 1.2, y.size)
    scores = {"lr": signal + rng.normal(0, 0.6, y.size), "rf": signal + rng.normal(0, 0.3, y.size),
              "gbdt": signal + rng.normal(0, 3.0, y.size)}
    models = {name: SimpleNamespace(oof_scores=s, cv_auc=roc_auc_score(y, s), family=name) for name, s in scores.items()}
    config = config_from_dict({
        "cohort": {"path": "cohort.csv"}, "tasks": {"names": ["positive_vs_negative"]},
        "models": [{"name": n, "classifier": n} for n in ("lr", "rf", "gbdt")],
        "selection": {"rule": rule, **({"model": model} if model else {})},
    })
    return config, SimpleNamespace(models=models), y


def test_best_rule_takes_the_highest_out_of_fold_auc() -> None:
    config, state, y = _setup("best")
    chosen, rule = _choose_model(config, state, y)
    aucs = {n: m.cv_auc for n, m in state.models.items()}
    assert chosen == max(aucs, key=aucs.get) == "rf"
    assert rule == "highest training out-of-fold AUC"


def test_one_se_rule_takes_the_first_listed_model_within_one_standard_error() -> None:
    config, state, y = _setup("one_se")
    aucs = {n: m.cv_auc for n, m in state.models.items()}
    _, cov = delong_covariance(y, state.models["rf"].oof_scores)
    se = float(np.sqrt(cov[0, 0]))
    assert aucs["rf"] - se <= aucs["lr"] < aucs["rf"]  # lr is worse, but within one SE
    chosen, rule = _choose_model(config, state, y)
    assert chosen == "lr"
    assert f"({se:.3f})" in rule


def test_one_se_rule_passes_over_a_model_more_than_one_se_below() -> None:
    config, state, y = _setup("one_se")
    state.models["lr"] = SimpleNamespace(oof_scores=state.models["gbdt"].oof_scores,
                                         cv_auc=state.models["gbdt"].cv_auc, family="lr")
    assert _choose_model(config, state, y)[0] == "rf"


def test_configured_model_wins_over_any_rule() -> None:
    config, state, y = _setup("one_se", model="gbdt")
    assert _choose_model(config, state, y) == ("gbdt", "configured (selection.model)")


def test_unknown_rule_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="rule"):
        config_from_dict({"cohort": {"path": "c.csv"}, "selection": {"rule": "worst"}})


def _scores(y: np.ndarray, noise: dict[str, float], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    signal = y + rng.normal(0, 1.0, y.size)
    return {name: signal + rng.normal(0, sd, y.size) for name, sd in noise.items()}


def test_simplest_rule_is_the_default_and_keeps_lr_when_others_are_within_noise() -> None:
    from her2mri.study.choice import choose_model

    config = config_from_dict({"cohort": {"path": "c.csv"}, "tasks": ["positive_vs_negative"]})
    assert config.selection.rule == "simplest"
    assert config.selection.alpha == 0.05
    y = np.r_[np.ones(80), np.zeros(120)].astype(int)
    oof = _scores(y, {"gbdt": 0.50, "svm": 0.52, "lr": 0.55})  # gbdt slightly ahead, not beyond noise
    aucs = {n: roc_auc_score(y, s) for n, s in oof.items()}
    assert aucs["gbdt"] > aucs["lr"]
    choice = choose_model(y, oof, {"gbdt": "gbdt", "svm": "svm", "lr": "lr"})
    assert choice.chosen == "lr"
    assert choice.order == ("lr", "svm", "gbdt")
    by = {c["model"]: c for c in choice.comparisons}
    assert by["lr"]["p_vs_chosen"] is None
    assert by["gbdt"]["margin_vs_chosen"] == pytest.approx(aucs["gbdt"] - aucs["lr"])
    assert by["gbdt"]["p_vs_chosen"] > 0.05
    assert choice.steps[0]["reference"] == "lr"
    assert "simplest" in choice.reason


def test_simplest_rule_moves_to_a_model_that_is_better_beyond_noise() -> None:
    from her2mri.stats import delong_test
    from her2mri.study.choice import choose_model

    y = np.r_[np.ones(150), np.zeros(250)].astype(int)
    oof = _scores(y, {"lr": 3.0, "rf": 0.2, "gbdt": 0.25}, seed=3)
    assert delong_test(y, oof["rf"], oof["lr"]).pvalue < 0.01
    choice = choose_model(y, oof, {"lr": "lr", "rf": "rf", "gbdt": "gbdt"})
    # rf (simpler than gbdt) beats lr; gbdt does not beat rf beyond noise
    assert choice.chosen == "rf"
    assert [s["reference"] for s in choice.steps] == ["lr", "rf"]
    assert "beat the simpler models" in choice.reason


def test_holm_adjustment_makes_the_switch_harder_than_one_unadjusted_test() -> None:
    from her2mri.study.choice import choose_model

    y = np.r_[np.ones(100), np.zeros(100)].astype(int)
    found = False
    for seed in range(40):
        oof = _scores(y, {"lr": 1.0, "dt": 1.0, "knn": 1.0, "svm": 1.0, "mlp": 1.0, "rf": 1.0, "gbdt": 0.9}, seed)
        choice = choose_model(y, oof, {n: n for n in oof})
        candidates = choice.steps[0]["candidates"]
        for c in candidates:
            assert c["p_holm"] >= c["p_value"]
        if any(c["p_value"] < 0.05 and c["margin"] > 0 for c in candidates) and choice.chosen == "lr":
            found = True
    assert found  # a nominal p < 0.05 that the Holm adjustment does not act on


def test_choice_is_deterministic_and_bad_arguments_are_config_errors() -> None:
    from her2mri.exceptions import ConfigError
    from her2mri.study.choice import choose_model

    y = np.r_[np.ones(50), np.zeros(50)].astype(int)
    oof = _scores(y, {"lr": 1.0, "rf": 1.0})
    assert choose_model(y, oof, {"lr": "lr", "rf": "rf"}) == choose_model(y, oof, {"lr": "lr", "rf": "rf"})
    with pytest.raises(ConfigError, match="accepted: simplest, one_se, best"):
        choose_model(y, oof, rule="worst")
    with pytest.raises(ConfigError, match="selection.alpha"):
        choose_model(y, oof, alpha=1.5)
    with pytest.raises(ConfigError, match="selection.model"):
        choose_model(y, oof, configured="svm")


def test_unusable_scores_fall_back_to_the_simplest_model() -> None:
    from her2mri.study.choice import choose_model

    y = np.r_[np.ones(10), np.zeros(10)].astype(int)
    oof = {"rf": np.full(20, np.nan), "lr": np.linspace(0, 1, 20)}
    choice = choose_model(y, oof, {"rf": "rf", "lr": "lr"})
    assert choice.chosen == "lr"
    assert "unusable" in choice.reason
