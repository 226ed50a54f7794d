"""The chosen model of a task: configured, highest out-of-fold AUC, or the one-standard-error rule."""

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
    models = {name: SimpleNamespace(oof_scores=s, cv_auc=roc_auc_score(y, s)) for name, s in scores.items()}
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
                                         cv_auc=state.models["gbdt"].cv_auc)
    assert _choose_model(config, state, y)[0] == "rf"


def test_configured_model_wins_over_any_rule() -> None:
    config, state, y = _setup("one_se", model="gbdt")
    assert _choose_model(config, state, y) == ("gbdt", "configured (selection.model)")


def test_unknown_rule_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="rule"):
        config_from_dict({"cohort": {"path": "c.csv"}, "selection": {"rule": "worst"}})
