from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from her2mri.exceptions import ConfigError
from her2mri.models.pipeline import build_pipeline, describe_selected_features, model_grid, tune_pipeline
from her2mri.models.registry import MODELS


def _cohort(rng: np.random.Generator, n: int = 240) -> tuple[pd.DataFrame, np.ndarray]:
    frame = pd.DataFrame({"patient_id": np.repeat(np.arange(n // 2), 2).astype(str),
                          "center": np.where(np.arange(n) % 3 == 0, "center2", "center1")})
    for j in range(8):
        frame[f"t2__f{j}"] = rng.normal(size=n)
    frame.loc[frame.center == "center2", "t2__f0"] += 3.0
    frame["mass_shape"] = rng.choice(["oval", "irregular", "not_applicable"], n).astype(object)
    frame["peritumoral_edema"] = rng.integers(0, 2, n).astype(float)
    eta = frame["t2__f1"] * 1.5 + (frame["mass_shape"] == "irregular") * 1.0 - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    return frame, y


NUMERIC = [f"t2__f{j}" for j in range(8)]


def test_models_registry_names_and_predict_proba(rng: np.random.Generator) -> None:
    assert set(MODELS) == {"lr", "dt", "svm", "knn", "mlp", "rf", "gbdt"}
    frame, y = _cohort(rng)
    for name, spec in MODELS.items():
        assert 1 <= len(model_grid(name)["model__" + next(iter(spec.grid))]) <= 6
        pipe = build_pipeline(numeric=NUMERIC, categorical=["mass_shape"], binary=["peritumoral_edema"], model=name)
        p = pipe.fit(frame, y).predict_proba(frame)
        assert p.shape == (len(frame), 2)
        p2 = build_pipeline(numeric=NUMERIC, categorical=["mass_shape"], binary=["peritumoral_edema"],
                            model=name).fit(frame, y).predict_proba(frame)
        np.testing.assert_allclose(p, p2)


def test_tune_pipeline_with_selectors_and_combat_finds_signal(rng: np.random.Generator) -> None:
    frame, y = _cohort(rng)
    pipe = build_pipeline(
        numeric=NUMERIC, categorical=["mass_shape"], binary=["peritumoral_edema"],
        selectors=[("correlation", {"threshold": 0.8}), ("lasso", {"Cs": 5, "cv": 3})],
        model="lr", harmonize={"batch_column": "center"}, random_state=0,
    )
    search = tune_pipeline(pipe, model_grid("lr"), frame, y, frame["patient_id"], inner_cv=3)
    assert search.best_score_ > 0.65
    names = [row["name"] for row in describe_selected_features(search.best_estimator_)]
    assert "t2__f1" in names
    assert search.best_estimator_.named_steps["harmonize"].batches_ == ("center1", "center2")


def test_tune_pipeline_auto_picks_a_family(rng: np.random.Generator) -> None:
    frame, y = _cohort(rng, 160)
    pipe = build_pipeline(numeric=NUMERIC, categorical=["mass_shape"], binary=["peritumoral_edema"], model="auto")
    grid = [g for g in model_grid("auto") if type(g["model"][0]).__name__ in {"LogisticRegression", "KNeighborsClassifier"}]
    search = tune_pipeline(pipe, grid, frame, y, frame["patient_id"], inner_cv=3)
    assert type(search.best_estimator_.named_steps["model"]).__name__ in {"LogisticRegression", "KNeighborsClassifier"}
    assert roc_auc_score(y, search.predict_proba(frame)[:, 1]) > 0.6


def test_build_pipeline_rejects_unknown_names() -> None:
    with pytest.raises(ConfigError, match="accepted"):
        build_pipeline(numeric=NUMERIC, model="xgboost")
    with pytest.raises(ConfigError, match="accepted"):
        build_pipeline(numeric=NUMERIC, selectors=[("boruta", {})])
    with pytest.raises(ConfigError, match="invalid parameters"):
        build_pipeline(numeric=NUMERIC, selectors=[("lasso", {"alpha": 1})])


def test_build_pipeline_step_names(rng: np.random.Generator) -> None:
    pipe = build_pipeline(numeric=NUMERIC, selectors=[("univariate", {}), ("univariate", {"alpha": 0.1})],
                          harmonize={}, model="rf")
    assert [n for n, _ in pipe.steps] == ["harmonize", "preprocess", "select_univariate", "select_univariate_2", "model"]
