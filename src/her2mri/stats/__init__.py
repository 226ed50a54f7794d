"""Statistics for her2mri: ROC/DeLong, bootstrap, diagnostic accuracy, agreement (pROC/psych parity).

Every function validates its inputs and returns a frozen dataclass with ``.to_frame()`` and ``.to_dict()``.
See ``docs/statistics.md`` for each statistic's R equivalent and convention differences.
"""

from her2mri.stats._checks import StatsInputError
from her2mri.stats._multiplicity import p_adjust
from her2mri.stats.agreement import cohen_kappa, icc
from her2mri.stats.bootstrap import bootstrap_ci, resample_counts
from her2mri.stats.diagnostic import diagnostic_metrics, proportion_ci
from her2mri.stats.results import (
    AucResult,
    BootstrapResult,
    DelongMatrixResult,
    DelongTestResult,
    DiagnosticResult,
    EstimateWithCI,
    IccForm,
    IccResult,
    KappaResult,
    ProportionResult,
    RocCurveResult,
    ThresholdResult,
)
from her2mri.stats.roc import (
    auc,
    auc_ci,
    delong_covariance,
    delong_matrix,
    delong_test,
    delong_test_unpaired,
    roc_curve,
    youden_threshold,
)

__all__ = [
    "AucResult",
    "BootstrapResult",
    "DelongMatrixResult",
    "DelongTestResult",
    "DiagnosticResult",
    "EstimateWithCI",
    "IccForm",
    "IccResult",
    "KappaResult",
    "ProportionResult",
    "RocCurveResult",
    "StatsInputError",
    "ThresholdResult",
    "auc",
    "auc_ci",
    "bootstrap_ci",
    "cohen_kappa",
    "delong_covariance",
    "delong_matrix",
    "delong_test",
    "delong_test_unpaired",
    "diagnostic_metrics",
    "icc",
    "p_adjust",
    "proportion_ci",
    "resample_counts",
    "roc_curve",
    "youden_threshold",
]
