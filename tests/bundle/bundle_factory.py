"""Builds the small test bundle shared by the bundle, CLI and web tests (fast models on the demo cohort).

Imported by path from ``tests/bundle/conftest.py``, ``tests/web/conftest.py`` and
``tests/cli/test_predict_cli.py`` (test directories are not packages).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_curve
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from her2mri.bundle import ModelBundle, TaskModel, build_bundle, save_bundle
from her2mri.cohort import load_demo_cohort, make_demo_cohort, validate_cohort
from her2mri.models.conformal import ClassConditionalConformal
from her2mri.models.tasks import TASKS, compose_three_class

NUMERIC = ["ki67_percent", "adc_min", "eer", "tumor_size_mm", "age"]
CATEGORICAL = [
    "lesion_type", "mass_shape", "mass_margin", "nme_distribution", "tic_type", "t2_signal", "er_status",
    "histologic_grade",
]
BINARY = ["peritumoral_edema", "axillary_adenopathy"]
INPUTS = NUMERIC + CATEGORICAL + BINARY


def training_frame() -> pd.DataFrame:
    """Canonical training frame: the shipped demo cohort (regenerated if the CSV is not there), HER2 known."""
    try:
        frame = load_demo_cohort().frame
    except FileNotFoundError:
        frame = validate_cohort(make_demo_cohort(), source="demo").frame
    return frame[frame["her2_category"].isin(["zero", "low", "positive"])].reset_index(drop=True)


def _pipeline(model) -> Pipeline:
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC + BINARY),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                CATEGORICAL,
            ),
        ]
    )
    return Pipeline([("preprocess", pre), ("model", model)])


def _youden(y: np.ndarray, p: np.ndarray) -> float:
    fpr, tpr, thr = roc_curve(y, p)
    return float(np.clip(thr[int(np.argmax(tpr - fpr))], 0.0, 1.0))


def build_test_bundle(*, second_model: str = "rf") -> ModelBundle:
    """positive_first hierarchy: LR for positive vs negative, a small forest (or LR) for low vs zero."""
    frame = training_frame()
    X = frame[INPUTS]
    task_models = {}
    lr_second = None
    for name in ("positive_vs_negative", "low_vs_zero"):
        task = TASKS[name]
        mask, y = task.labels(frame)
        if name == "low_vs_zero" and second_model == "rf":
            model = RandomForestClassifier(n_estimators=30, max_depth=4, random_state=0)
            lr_second = _pipeline(LogisticRegression(max_iter=2000)).fit(X[mask], y)
        else:
            model = LogisticRegression(max_iter=2000)
        pipe = _pipeline(model).fit(X[mask], y)
        threshold = _youden(y, pipe.predict_proba(X[mask])[:, 1])
        negative = task.negative[0] if len(task.negative) == 1 else "negative"
        task_models[name] = TaskModel(
            task=name,
            model_name="rf" if isinstance(model, RandomForestClassifier) else "lr",
            pipeline=pipe,
            threshold=threshold,
            input_columns=tuple(INPUTS),
            positive_label=task.positive,
            negative_label=negative,
            metrics={"auc_train": 0.8},
        )
    P = compose_three_class(
        task_models["positive_vs_negative"].pipeline.predict_proba(X)[:, 1],
        task_models["low_vs_zero"].pipeline.predict_proba(X)[:, 1],
        "positive_first",
    )
    conformal = ClassConditionalConformal(alpha=0.1).fit(P, frame["her2_category"].to_numpy()).to_dict()
    nomogram_models = {}
    if lr_second is not None:
        nomogram_models["low_vs_zero"] = TaskModel(
            "low_vs_zero", "lr", lr_second, 0.5, tuple(INPUTS), "low", "zero"
        )
    return build_bundle(
        task_models=task_models,
        hierarchy="positive_first",
        training_frame=frame,
        config={"cohort": {"path": "demo"}, "seed": 0},
        metrics={"macro_auc": {"estimate": 0.74, "ci_low": 0.70, "ci_high": 0.78}},
        conformal=conformal,
        nomogram_models=nomogram_models,
        background_size=60,
    )


def example_cases(n: int = 5) -> pd.DataFrame:
    """Raw cases as a user would give them (a few rows of the training frame's inputs, with ids)."""
    frame = training_frame()
    return frame[["lesion_id", *INPUTS]].iloc[:n].reset_index(drop=True)


def save_test_bundle(path: Path, **kwargs) -> Path:
    return save_bundle(build_test_bundle(**kwargs), path)
