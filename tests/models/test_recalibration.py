"""Logistic recalibration from out-of-fold predictions: the map, its fold-in for LR, the wrapper, the study."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from her2mri.exceptions import FitError
from her2mri.models.recalibration import LogisticRecalibration, fit_logit_map, recalibrate_logistic
from her2mri.stats import calibration


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def test_logit_map_recovers_a_known_intercept_and_slope() -> None:
    rng = np.random.default_rng(0)
    base = rng.uniform(0.02, 0.98, 20000)
    truth = 1 / (1 + np.exp(-(0.4 + 1.7 * _logit(base))))
    y = (rng.uniform(size=base.size) < truth).astype(int)
    a, b = fit_logit_map(y, base)
    assert a == pytest.approx(0.4, abs=0.08)
    assert b == pytest.approx(1.7, abs=0.08)
    # the map is the calibration intercept and slope a validation estimates
    result = calibration(y, base)
    assert b == pytest.approx(result.slope, rel=1e-6)
    assert a == pytest.approx(result.intercept, rel=1e-6)


def test_logit_map_needs_both_classes() -> None:
    with pytest.raises(FitError, match="fewer than two classes"):
        fit_logit_map(np.ones(10), np.linspace(0.1, 0.9, 10))


def test_recalibrated_logistic_regression_is_the_mapped_model() -> None:
    X, y = make_classification(400, 8, random_state=1)
    model = LogisticRegression(C=0.01).fit(X, y)
    folded = recalibrate_logistic(model, 0.3, 2.5)
    expected = 1 / (1 + np.exp(-(0.3 + 2.5 * model.decision_function(X))))
    np.testing.assert_allclose(folded.predict_proba(X)[:, 1], expected, rtol=1e-12)
    np.testing.assert_allclose(model.coef_ * 2.5, folded.coef_)  # the original is untouched
    assert folded is not model


def test_wrapper_from_out_of_fold_matches_its_own_fit() -> None:
    X, y = make_classification(600, 20, n_informative=4, random_state=2)
    folds = StratifiedKFold(5, shuffle=True, random_state=3)
    forest = RandomForestClassifier(50, random_state=0)
    oof = cross_val_predict(forest, X, y, cv=folds, method="predict_proba")[:, 1]
    fitted = RandomForestClassifier(50, random_state=0).fit(X, y)
    wrapped = LogisticRecalibration.from_out_of_fold(fitted, y, oof)
    own = LogisticRecalibration(RandomForestClassifier(50, random_state=0), cv=5, random_state=3).fit(X, y)
    assert own.intercept_ == pytest.approx(wrapped.intercept_, rel=1e-9)
    assert own.slope_ == pytest.approx(wrapped.slope_, rel=1e-9)
    np.testing.assert_allclose(own.predict_proba(X), wrapped.predict_proba(X), rtol=1e-12)
    assert list(wrapped.classes_) == [0, 1]
    assert wrapped.predict(X).shape == y.shape


def test_recalibration_brings_a_timid_forest_to_slope_one_on_new_rows() -> None:
    X, y = make_classification(3000, 60, n_informative=5, random_state=0)
    train, test = slice(0, 1500), slice(1500, None)
    raw = RandomForestClassifier(200, random_state=0).fit(X[train], y[train])
    raw_slope = calibration(y[test], raw.predict_proba(X[test])[:, 1]).slope
    wrapped = LogisticRecalibration(RandomForestClassifier(200, random_state=0), random_state=0).fit(X[train], y[train])
    slope = calibration(y[test], wrapped.predict_proba(X[test])[:, 1]).slope
    assert raw_slope > 1.5  # averaged noisy trees: timid probabilities
    assert 0.8 < slope < 1.25


def test_study_recalibrates_as_configured(tmp_path: Path) -> None:
    from her2mri.study import config_from_dict, stages
    from her2mri.study.runner import StudyContext
    from tests.study.conftest import fast_config
    from tests.study.synthetic import make_cohort

    path = tmp_path / "cohort.csv"
    make_cohort(n=240, seed=7).to_csv(path, index=False)
    config = fast_config(path, tasks=["positive_vs_negative"], models=[
        {"name": "lr", "classifier": "lr", "recalibrate": "logistic", "grid": {"C": [0.01, 1.0]}},
        {"name": "rf", "classifier": "rf", "recalibrate": "logistic", "grid": {"n_estimators": [30]}},
        {"name": "rf_raw", "classifier": "rf", "grid": {"n_estimators": [30]}},  # auto: a narrow table, none
    ])
    config.update({"statistics": {"n_bootstrap": 0}, "conformal": None})
    context = StudyContext(config=config_from_dict(config), out_dir=None)
    context.document = {"provenance": {}, "cohort": {}, "design": {}, "tasks": {}, "warnings": []}
    for step in ("cohort", "tasks", "design", "models"):
        getattr(stages, f"step_{step}")(context)
    models = context.tasks["positive_vs_negative"].models
    assert isinstance(models["lr"].pipeline.named_steps["model"], LogisticRegression)
    wrapped = models["rf"].pipeline.named_steps["model"]
    assert isinstance(wrapped, LogisticRecalibration)
    assert isinstance(models["rf_raw"].pipeline.named_steps["model"], RandomForestClassifier)
    # the training out-of-fold scores are on the recalibrated scale: their own calibration slope is 1
    state = context.tasks["positive_vs_negative"]
    y = state.labels[context.design.train[state.mask[context.design.train]]]
    oof = models["rf"].oof_scores
    ok = np.isfinite(oof)
    assert calibration(y[ok], oof[ok]).slope == pytest.approx(1.0, abs=1e-4)
    # the wrapped forest predicts through the map
    frame = context.frame.iloc[context.design.train][list(models["rf"].columns)]
    encoded = models["rf"].pipeline[:-1].transform(frame)
    base = wrapped.estimator_.predict_proba(encoded)[:, 1]
    p = np.clip(base, 1e-12, 1 - 1e-12)
    expected = 1 / (1 + np.exp(-(wrapped.intercept_ + wrapped.slope_ * _logit(p))))
    np.testing.assert_allclose(models["rf"].predict(frame), expected, rtol=1e-10)


def test_cv_design_recalibrates_each_outer_fold_model(tmp_path: Path) -> None:
    from her2mri.study import config_from_dict, run_study
    from tests.study.conftest import fast_config
    from tests.study.synthetic import make_cohort

    path = tmp_path / "cohort.csv"
    make_cohort(n=240, seed=7).to_csv(path, index=False)
    config = fast_config(path, tasks=["positive_vs_negative"],
                         design={"kind": "cv", "n_splits": 3, "n_repeats": 1, "inner_splits": 3},
                         models=[{"name": "rf", "classifier": "rf", "recalibrate": "logistic",
                                  "grid": {"n_estimators": [30]}}])
    config.update({"statistics": {"n_bootstrap": 0, "optimism_resamples": 0}, "conformal": None,
                   "survival": {"enabled": False}})
    result = run_study(config_from_dict(config), tmp_path / "out")
    scores = result.predictions.query("model == 'rf' and set == 'cv'")["score"].to_numpy()
    assert scores.size > 0
    assert np.all(np.isfinite(scores))
    assert np.all((scores > 0) & (scores < 1))
