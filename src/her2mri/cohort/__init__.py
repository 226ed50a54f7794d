"""The cohort layer: read, validate and derive labels for a lesion-level HER2 MRI cohort table."""

from her2mri.cohort.demo import demo_cohort_path, load_demo_cohort, make_demo_cohort
from her2mri.cohort.derive import (
    er_low,
    her2_category,
    her2_disagreements,
    her2_ish_final,
    hr_status,
    ish_group,
    molecular_subtype,
    status_from_percent,
)
from her2mri.cohort.io import read_table, write_table
from her2mri.cohort.mapping import CohortMapping, load_mapping
from her2mri.cohort.model import Cohort, require_three_level
from her2mri.cohort.subtype import SUBTYPE_VARIANTS, SubtypeOptions
from her2mri.cohort.validate import load_cohort, validate_cohort
from her2mri.cohort.vocabulary import COLUMNS, NOT_APPLICABLE, ColumnSpec
from her2mri.exceptions import CohortError, CohortIssue, UnitError

__all__ = [
    "COLUMNS",
    "NOT_APPLICABLE",
    "SUBTYPE_VARIANTS",
    "Cohort",
    "CohortError",
    "CohortIssue",
    "CohortMapping",
    "ColumnSpec",
    "SubtypeOptions",
    "UnitError",
    "demo_cohort_path",
    "er_low",
    "her2_category",
    "her2_disagreements",
    "her2_ish_final",
    "hr_status",
    "ish_group",
    "load_cohort",
    "load_demo_cohort",
    "load_mapping",
    "make_demo_cohort",
    "molecular_subtype",
    "read_table",
    "require_three_level",
    "status_from_percent",
    "validate_cohort",
    "write_table",
]
