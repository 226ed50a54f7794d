"""``features_from``: a model reuses another model's selection procedure (and so its selected variables);
``class_weight``: class weights applied inside the folds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from her2mri.exceptions import ConfigError
from her2mri.study import config_from_dict

from .conftest import fast_config
from .synthetic import make_cohort

SELECTORS = [{"method": "univariate", "params": {"alpha": 0.2}},
             {"method": "stepwise", "params": {"direction": "both", "final_alpha": 0.05}}]


def _selected(pipeline) -> list[str]:  # noqa: ANN001
    step = dict(pipeline.steps)["select_stepwise"]
    return sorted(map(str, step.selected_features_))


def test_features_from_reuses_the_named_models_selection(tmp_path: Path) -> None:
    path = tmp_path / "cohort.csv"
    make_cohort(n=240, seed=7).to_csv(path, index=False)
    config = fast_config(path, tasks=["positive_vs_negative"], models=[
        {"name": "lr", "classifier": "lr", "selectors": SELECTORS, "class_weight": "balanced", "tuning": False},
        {"name": "dt", "classifier": "dt", "features_from": "lr", "tuning": False},
    ])
    config.update({"statistics": {"n_bootstrap": 0}, "conformal": None})
    parsed = config_from_dict(config)
    assert parsed.models[1].selectors == parsed.models[0].selectors
    assert parsed.models[1].blocks == parsed.models[0].blocks
    from her2mri.study import stages
    from her2mri.study.runner import StudyContext

    context = StudyContext(config=parsed, out_dir=None)
    context.document = {"provenance": {}, "cohort": {}, "design": {}, "tasks": {}, "warnings": []}
    for step in ("cohort", "tasks", "design", "models"):
        getattr(stages, f"step_{step}")(context)
    models = context.tasks["positive_vs_negative"].models
    assert _selected(models["lr"].pipeline) == _selected(models["dt"].pipeline)
    assert models["lr"].pipeline.named_steps["model"].class_weight == "balanced"
    assert models["dt"].pipeline.named_steps["model"].class_weight is None


@pytest.mark.parametrize(("models", "match"), [
    ([{"name": "lr", "classifier": "lr"}, {"name": "dt", "classifier": "dt", "features_from": "svm"}],
     "features_from 'svm' must name another model"),
    ([{"name": "lr", "classifier": "lr"}, {"name": "dt", "classifier": "dt", "features_from": "lr",
                                           "blocks": ["clinical"]}], "remove this model's own blocks"),
    ([{"name": "gb", "classifier": "gbdt", "class_weight": "balanced"}], "takes no class weights"),
])
def test_bad_features_from_and_class_weight_are_config_errors(models, match) -> None:
    with pytest.raises(ConfigError, match=match):
        config_from_dict({"cohort": {"path": "c.csv"}, "tasks": ["positive_vs_negative"], "models": models})


def test_balanced_class_weights_leave_ranking_but_shift_calibration() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 3))
    y = (rng.random(2000) < 1 / (1 + np.exp(-(X @ [1.0, 0.5, 0.0] - 2.0)))).astype(int)
    plain = LogisticRegression().fit(X, y).predict_proba(X)[:, 1]
    weighted = LogisticRegression(class_weight="balanced").fit(X, y).predict_proba(X)[:, 1]
    assert abs(roc_auc_score(y, plain) - roc_auc_score(y, weighted)) < 0.005
    assert abs(plain.mean() - y.mean()) < 0.01 < weighted.mean() - y.mean()
