"""Fixtures of the study tests: a small synthetic two-centre cohort and fast study settings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tests.study.synthetic import make_cohort  # noqa: E402


@pytest.fixture
def cohort_csv(tmp_path: Path) -> Path:
    frame = make_cohort(n=240, seed=7)
    frame.loc[frame.index[-40:], "center"] = "center3"
    path = tmp_path / "cohort.csv"
    frame.to_csv(path, index=False)
    return path


def fast_config(cohort: Path, **overrides: Any) -> dict[str, Any]:
    """A quick study: two models, few bootstrap resamples, no SHAP/report."""
    config: dict[str, Any] = {
        "schema_version": 1,
        "seed": 11,
        "cohort": {"path": str(cohort)},
        "tasks": {"names": ["positive_vs_negative", "low_vs_zero"], "three_class": {"hierarchy": "positive_first"}},
        "design": {"kind": "split", "inner_splits": 3},
        "models": [{"name": "lr", "classifier": "lr", "grid": {"C": [0.1, 1.0]}},
                   {"name": "dt", "classifier": "dt", "tuning": False}],
        "statistics": {"n_bootstrap": 50},
        "interpretability": {"shap": False},
        "report": {"enabled": False},
    }
    config.update(overrides)
    return config
