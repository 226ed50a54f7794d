"""Simulate-and-recover: on the demo cohort the chosen model should reach at least 0.97 of the AUC of the
recorded true posteriors on the same lesions, internal and external, for both hierarchies' tasks.

Measured with the seed 004 design (train/internal 7:3 in centre 1, centre 2 external) and the default blocks:
the chosen model (logistic regression) reaches about 0.88–0.93 of the true AUC internally and 0.95–0.97
externally; the gap is estimation variance of ~40 predictors (80 encoded parameters) on ~500 training lesions
against a generator whose posterior is a latent-class mixture. The assertion is kept at 0.97 (strict xfail) so
that a model or feature change that closes the gap turns this test into a failure until the marker is removed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from her2mri.cohort.demo import make_demo_cohort
from her2mri.study import config_from_dict, run_study
from her2mri.study.demo import demo_config_dict


@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo_cohort.csv"
    make_demo_cohort().to_csv(path, index=False)
    return path


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="chosen-model AUC is 0.88-0.97 of the true-posterior AUC (see module docstring)")
@pytest.mark.parametrize("hierarchy", ["positive_first", "zero_first"])
def test_demo_chosen_model_recovers_true_posterior_auc(tmp_path: Path, demo_csv: Path, hierarchy: str) -> None:
    config = demo_config_dict(fast=True, hierarchy=hierarchy)
    config.update({"cohort": {"path": str(demo_csv)}, "models": [{"name": "lr", "classifier": "lr"}],
                   "statistics": {"n_bootstrap": 0}, "interpretability": {"shap": False},
                   "report": {"enabled": False}, "subgroups": {"columns": ["lesion_type"]}})
    result = run_study(config_from_dict(config), tmp_path / "out")
    ratios = {}
    for task, block in result.document["tasks"].items():
        for set_name in ("internal", "external:center2"):
            ratios[(task, set_name)] = block["true_posterior_ratio"][set_name]["ratio"]
    assert min(ratios.values()) >= 0.97, ratios
