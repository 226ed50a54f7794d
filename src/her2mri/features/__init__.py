"""Feature selection: sklearn-compatible selectors fitted inside the training folds."""

from her2mri.features.embedded import GbdtSelector, LassoSelector, RandomForestSelector, ShapSelector
from her2mri.features.filters import CorrelationFilter, ReliabilityFilter, UnivariateFilter, bh_adjust
from her2mri.features.group_lasso import GroupLassoSelector
from her2mri.features.mrmr import MrmrSelector
from her2mri.features.registry import SELECTORS
from her2mri.features.stepwise import StepwiseLogisticSelector

__all__ = [
    "SELECTORS",
    "CorrelationFilter",
    "GbdtSelector",
    "GroupLassoSelector",
    "LassoSelector",
    "MrmrSelector",
    "RandomForestSelector",
    "ReliabilityFilter",
    "ShapSelector",
    "StepwiseLogisticSelector",
    "UnivariateFilter",
    "bh_adjust",
]
