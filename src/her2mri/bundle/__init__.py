"""Model bundles: fitted task pipelines with their schema, thresholds, training summary and model card."""

from her2mri.bundle.bundle import (
    BUNDLE_FORMAT_VERSION,
    ModelBundle,
    PredictionResult,
    TaskModel,
    build_bundle,
)
from her2mri.bundle.card import RESEARCH_USE_STATEMENT
from her2mri.bundle.io import TRUSTED_LOADERS, TRUSTED_TYPES, load_bundle, save_bundle
from her2mri.bundle.nomogram import Nomogram
from her2mri.bundle.ood import TrainingSummary
from her2mri.bundle.schema import InputColumn, InputSchema

__all__ = [
    "BUNDLE_FORMAT_VERSION",
    "RESEARCH_USE_STATEMENT",
    "TRUSTED_LOADERS",
    "TRUSTED_TYPES",
    "InputColumn",
    "InputSchema",
    "ModelBundle",
    "Nomogram",
    "PredictionResult",
    "TaskModel",
    "TrainingSummary",
    "build_bundle",
    "load_bundle",
    "save_bundle",
]
