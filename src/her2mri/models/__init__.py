"""Models: tasks and labels, preprocessing, ComBat, classifier registry, pipelines and validation designs."""

from her2mri.models.combat import ComBatHarmonizer
from her2mri.models.pipeline import build_pipeline, describe_selected_features, model_grid, tune_pipeline
from her2mri.models.preprocess import CohortPreprocessor
from her2mri.models.registry import MODELS, ModelSpec, make_model
from her2mri.models.tasks import TASKS, Task, ThreeClassMetrics, compose_three_class, three_class_metrics
from her2mri.models.validation import (
    DesignSplit,
    cross_val_predict_grouped,
    external_split,
    nested_cross_val_predict,
    repeated_stratified_group_kfold,
    split_from_column,
    stratified_group_split,
)

__all__ = [
    "MODELS",
    "TASKS",
    "CohortPreprocessor",
    "ComBatHarmonizer",
    "DesignSplit",
    "ModelSpec",
    "Task",
    "ThreeClassMetrics",
    "build_pipeline",
    "compose_three_class",
    "cross_val_predict_grouped",
    "describe_selected_features",
    "external_split",
    "make_model",
    "model_grid",
    "nested_cross_val_predict",
    "repeated_stratified_group_kfold",
    "split_from_column",
    "stratified_group_split",
    "three_class_metrics",
    "tune_pipeline",
]
