"""Selector parameters tuned with the classifier's grid: configuration, fold-internal fits, the ordered
tolerance rule, and a study run that reports the chosen setting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from her2mri.exceptions import ConfigError
from her2mri.models.pipeline import build_pipeline, grouped_inner_splits
from her2mri.study import config_from_dict
from her2mri.study.fitting import _choose_point, _oof

from .conftest import fast_config
from .synthetic import make_cohort

SCREEN = {"method": "univariate", "params": {"level": "variable", "correction": "bh"},
          "grid": {"alpha": [0.05, 0.2, 1.0]}}


@pytest.mark.parametrize(("selector", "match"), [
    ({"method": "univariate", "grid": {"alfa": [0.05]}}, r"grid parameter 'alfa' is not one of its parameters; "
                                                          r"accepted: \['alpha', 'correction'"),
    ({"method": "univariate", "params": {"alpha": 0.1}, "grid": {"alpha": [0.05]}}, "both fixed in params and tuned"),
    ({"method": "univariate", "grid": {"alpha": []}}, "lists no values"),
    ({"method": "univariate", "grid": {"alpha": [0.05, 1.0]}, "untuned": True}, "have a grid but tuning is false"),
])
def test_bad_selector_grid_is_a_config_error(selector, match) -> None:  # noqa: ANN001
    step = {key: value for key, value in selector.items() if key != "untuned"}
    models = [{"name": "lr", "classifier": "lr", "selectors": [step], **({"tuning": False} if selector.get("untuned") else {})}]
    with pytest.raises(ConfigError, match=match):
        config_from_dict({"cohort": {"path": "c.csv"}, "tasks": ["positive_vs_negative"], "models": models})


def test_features_from_a_tuned_selection_is_a_config_error() -> None:
    """features_from promises the named model's variables; a selection tuned per model could give others."""
    models = [{"name": "lr", "classifier": "lr", "selectors": [SCREEN]},
              {"name": "dt", "classifier": "dt", "features_from": "lr"}]
    with pytest.raises(ConfigError, match=r"features_from 'lr' needs a fixed selection.*\['univariate'\]"):
        config_from_dict({"cohort": {"path": "c.csv"}, "tasks": ["positive_vs_negative"], "models": models})


def _data(n: int = 240, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame({
        "quadrant": rng.choice(["upper_outer", "upper_inner", "central", "lower_inner"], n),
        "shape": np.where(rng.random(n) < np.where(y == 1, 0.55, 0.3), "irregular", "oval"),
        "adc": rng.normal(1.0 - 0.08 * y, 0.15), "age": rng.normal(55, 10, n), "noise": rng.normal(size=n),
    })
    groups = np.array([f"p{i // 2}" for i in range(n)])
    return frame, y, groups


def test_shared_prefix_scores_equal_whole_pipeline_fits_on_each_fold() -> None:
    """Grid points at one screen setting share the screen fitted on the fold's training rows only: their scores
    equal those of the whole pipeline fitted point by point on each training fold."""
    X, y, groups = _data()
    pipe = build_pipeline(numeric=["adc", "age", "noise"], categorical=["quadrant", "shape"], model="lr",
                          selectors=[("univariate", {"level": "variable", "correction": "bh"})], random_state=0)
    points = [{"model__C": c, "select_univariate__alpha": a} for c in (0.1, 1.0) for a in (0.05, 0.2, 1.0)]
    folds = grouped_inner_splits(y, groups, 3, 0)
    shared = _oof(pipe, points, X, y, groups, folds)
    for params, scores in zip(points, shared, strict=True):
        brute = np.full(len(y), np.nan)
        for train, test in folds:
            model = clone(pipe).set_params(**params).fit(X.iloc[train], y[train])
            brute[test] = model.predict_proba(X.iloc[test])[:, 1]
        np.testing.assert_allclose(scores, brute, rtol=0, atol=1e-12)


def _points_and_scores(gain: float) -> tuple[np.ndarray, list[dict], list[np.ndarray], list]:
    """Two screen settings; the weaker one's scores are better by ``gain`` in signal."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 600)
    noise = rng.normal(size=600)
    strong = 1 / (1 + np.exp(-(0.8 * (y - 0.5) + noise)))
    weak = 1 / (1 + np.exp(-((0.8 + gain) * (y - 0.5) + noise)))
    points = [{"model__C": 1.0, "select_univariate__alpha": 0.05}, {"model__C": 1.0, "select_univariate__alpha": 1.0}]
    folds = grouped_inner_splits(y, np.arange(600).astype(str), 5, 0)
    return y, points, [strong, weak], folds


def test_weaker_selection_must_beat_the_stronger_beyond_fold_noise() -> None:
    y, points, scores, folds = _points_and_scores(gain=0.02)
    assert _choose_point(y, points, scores, "log_loss", False) == 1            # the lowest log loss
    assert _choose_point(y, points, scores, "log_loss", False, folds, 0.0) == 1
    assert _choose_point(y, points, scores, "log_loss", False, folds, 0.5) == 0  # within half an SE: stronger kept
    assert _choose_point(y, points, scores, "auc", False, folds, 0.5) == 0
    y, points, scores, folds = _points_and_scores(gain=1.5)
    assert _choose_point(y, points, scores, "log_loss", False, folds, 0.5) == 1  # beyond noise: weaker kept


def test_tolerance_does_not_touch_a_grid_without_selector_settings() -> None:
    y, points, scores, folds = _points_and_scores(gain=0.02)
    plain = [{"model__C": 0.1}, {"model__C": 1.0}]
    assert _choose_point(y, plain, scores, "log_loss", False, folds, 0.5) == 1


def test_study_tunes_the_screen_and_reports_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "cohort.csv"
    make_cohort(n=240, seed=7).to_csv(path, index=False)
    config = fast_config(path, tasks=["positive_vs_negative"], models=[
        {"name": "lr", "classifier": "lr", "selectors": [SCREEN], "grid": {"C": [0.1, 1.0]}}])
    config.update({"statistics": {"n_bootstrap": 0}, "conformal": None})
    from her2mri.study import stages
    from her2mri.study.runner import StudyContext

    context = StudyContext(config=config_from_dict(config), out_dir=None)
    context.document = {"provenance": {}, "cohort": {}, "design": {}, "tasks": {}, "warnings": []}
    for step in ("cohort", "tasks", "design", "models"):
        getattr(stages, f"step_{step}")(context)
    fitted = context.tasks["positive_vs_negative"].models["lr"]
    tuned = fitted.hyperparameters["tuned"]
    assert set(tuned) == {"model__C", "select_univariate__alpha"}
    screen = fitted.pipeline.named_steps["select_univariate"]
    assert screen.alpha == tuned["select_univariate__alpha"]
    assert screen.level == "variable"
    kept = {str(c) for c in screen.selected_features_}
    assert kept
    assert np.isfinite(fitted.oof_scores).all()
