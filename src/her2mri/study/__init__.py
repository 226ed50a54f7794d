"""The study engine: one YAML configuration turns a cohort into validated HER2 models and a results folder."""

from her2mri.study.config import StudyConfig, config_from_dict, load_config
from her2mri.study.results import VOLATILE_KEYS, StudyResult, strip_volatile
from her2mri.study.runner import STEPS, StudyStepError, run_study

__all__ = [
    "STEPS",
    "VOLATILE_KEYS",
    "StudyConfig",
    "StudyResult",
    "StudyStepError",
    "config_from_dict",
    "load_config",
    "run_study",
    "strip_volatile",
]
