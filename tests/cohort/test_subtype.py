"""Surrogate molecular subtypes: each variant, cut-offs and unclassifiable reasons."""

from __future__ import annotations

import numpy as np
import pytest

from her2mri.cohort import SubtypeOptions, molecular_subtype
from her2mri.exceptions import ConfigError


def one(er, pr, her2, pr_pct=np.nan, ki=np.nan, variant="st_gallen_2013", **kw):
    subtype, reason = molecular_subtype([er], [pr], [her2], pr_percent=[pr_pct], ki67_percent=[ki],
                                        options=SubtypeOptions(variant=variant, **kw))
    return subtype[0], reason[0]


@pytest.mark.parametrize("variant", ["st_gallen_2013", "st_gallen_2011", "maisonneuve_2014", "seed_004"])
def test_molecular_subtype_her2_positive_hr_positive_is_luminal_b_her2_positive(variant) -> None:
    assert one("positive", "positive", "positive", 50, 30, variant) == ("luminal_b_her2_positive", "")
    assert one("negative", "negative", "positive", 0, 30, variant) == ("her2_enriched", "")
    assert one("negative", "negative", "low", 0, 30, variant) == ("triple_negative", "")


def test_molecular_subtype_her2_low_counts_as_her2_negative() -> None:
    assert one("positive", "positive", "low", 50, 10)[0] == "luminal_a"
    assert one("positive", "positive", "zero", 50, 10)[0] == "luminal_a"
    assert one("positive", "positive", "negative", 50, 10)[0] == "luminal_a"


def test_molecular_subtype_st_gallen_2013_uses_pr_20_and_ki67_20() -> None:
    assert one("positive", "positive", "low", 20, 19.9)[0] == "luminal_a"
    assert one("positive", "positive", "low", 19, 10)[0] == "luminal_b_her2_negative"
    assert one("positive", "positive", "low", 50, 20)[0] == "luminal_b_her2_negative"


def test_molecular_subtype_st_gallen_2011_uses_ki67_14_only() -> None:
    assert one("positive", "positive", "low", 5, 13.9, "st_gallen_2011")[0] == "luminal_a"
    assert one("positive", "positive", "low", 90, 14, "st_gallen_2011")[0] == "luminal_b_her2_negative"


def test_molecular_subtype_maisonneuve_2014_grades_the_14_to_19_band_by_pr() -> None:
    assert one("positive", "positive", "low", 5, 10, "maisonneuve_2014")[0] == "luminal_a"
    assert one("positive", "positive", "low", 25, 16, "maisonneuve_2014")[0] == "luminal_a"
    assert one("positive", "positive", "low", 10, 16, "maisonneuve_2014")[0] == "luminal_b_her2_negative"
    assert one("positive", "positive", "low", 90, 25, "maisonneuve_2014")[0] == "luminal_b_her2_negative"


def test_molecular_subtype_seed_004_requires_er_and_pr_positive() -> None:
    assert one("positive", "positive", "low", 5, 10, "seed_004")[0] == "luminal_a"
    assert one("positive", "negative", "low", 0, 10, "seed_004")[0] == "luminal_b_her2_negative"
    subtype, reason = one("negative", "positive", "low", 30, 10, "seed_004")
    assert subtype == "unclassifiable"
    assert "not defined" in reason


def test_molecular_subtype_configurable_ki67_cutoff() -> None:
    assert one("positive", "positive", "low", 50, 15, ki67_cutoff=14)[0] == "luminal_b_her2_negative"
    assert one("positive", "positive", "low", 50, 15, ki67_cutoff=30)[0] == "luminal_a"
    assert one("positive", "positive", "low", 15, 15, pr_cutoff=10)[0] == "luminal_a"


def test_molecular_subtype_missing_ki67_is_unclassifiable_with_reason() -> None:
    subtype, reason = one("positive", "positive", "low", 50, np.nan)
    assert subtype == "unclassifiable"
    assert "ki67_percent missing" in reason


def test_molecular_subtype_missing_her2_or_er_is_unclassifiable_with_reason() -> None:
    assert one("positive", "positive", np.nan, 50, 10) == ("unclassifiable", "her2_category missing")
    assert one(np.nan, np.nan, "low", 50, 10) == ("unclassifiable", "er_status/pr_status missing")


def test_molecular_subtype_ki67_high_decides_without_pr_percent() -> None:
    assert one("positive", "positive", "low", np.nan, 40)[0] == "luminal_b_her2_negative"


def test_subtype_options_unknown_variant_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="'variant' parameter of SubtypeOptions must be one of"):
        SubtypeOptions(variant="st_gallen_2099")  # type: ignore[arg-type]


def test_subtype_options_bad_cutoff_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="'ki67_cutoff' parameter"):
        SubtypeOptions(ki67_cutoff=0)
