"""Selector registry: snake_case name → selector class (used by ``build_pipeline`` and study configs).

==============  ==========================  ==========================================
name            class                       source
==============  ==========================  ==========================================
random_forest   RandomForestSelector        paper 000 (random-forest selection)
lasso           LassoSelector               paper 004 (LASSO)
group_lasso     GroupLassoSelector          paper 004 (LASSO keeping/dropping a categorical variable whole)
correlation     CorrelationFilter           paper 001 (Pearson > 0.80 filter)
univariate      UnivariateFilter            papers 001 (p < 0.05), 002 (p < 0.1), 004 (FDR)
gbdt            GbdtSelector                paper 001 (GBDT)
stepwise        StepwiseLogisticSelector    papers 002 and 004 (multivariable LR, stepwise)
shap            ShapSelector                paper 003 (random forest + SHAP ranking)
mrmr            MrmrSelector                mRMR (Peng et al. 2005), common radiomics practice
reliability     ReliabilityFilter           paper 001 (ICC > 0.75 between readers)
==============  ==========================  ==========================================
"""

from __future__ import annotations

from her2mri.features.embedded import GbdtSelector, LassoSelector, RandomForestSelector, ShapSelector
from her2mri.features.filters import CorrelationFilter, ReliabilityFilter, UnivariateFilter
from her2mri.features.group_lasso import GroupLassoSelector
from her2mri.features.mrmr import MrmrSelector
from her2mri.features.stepwise import StepwiseLogisticSelector

__all__ = ["SELECTORS"]

SELECTORS: dict[str, type] = {
    "random_forest": RandomForestSelector,
    "lasso": LassoSelector,
    "group_lasso": GroupLassoSelector,
    "correlation": CorrelationFilter,
    "univariate": UnivariateFilter,
    "gbdt": GbdtSelector,
    "stepwise": StepwiseLogisticSelector,
    "shap": ShapSelector,
    "mrmr": MrmrSelector,
    "reliability": ReliabilityFilter,
}
