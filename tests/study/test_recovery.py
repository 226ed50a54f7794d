"""Simulate-and-recover: the chosen model's AUC against the AUC of the recorded true posteriors on the same
lesions, internal and external, for both hierarchies' tasks.

On the demo cohort itself (1,020 lesions, about 500 in training) the bar of 0.97 is not reached: with seed 004's
effect sizes (about twenty weak effects) the estimation variance of any model fitted on a few hundred lesions costs
more than 3 % of the AUC on some of the eight task × set figures. Measured with the seed 004 design and logistic
regression over cohort seeds 2026 and 1–5: mean ratio 0.93–0.976, lowest of the eight 0.86–0.96; logistic
regression given exactly the informative variables does little better (mean 0.94–0.985, lowest 0.89–0.97). That
test is kept as a strict xfail so that a change which closes the gap turns it into a failure until the marker goes.

The pipeline is consistent: on the same generator at 14,000 lesions (7,000 in training) every ratio is at least
0.97, which the second test asserts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from her2mri.cohort.demo import make_demo_cohort
from her2mri.study import config_from_dict, run_study
from her2mri.study.demo import demo_config_dict


def _ratios(csv: Path, out: Path, hierarchy: str) -> dict[tuple[str, str], float]:
    config = demo_config_dict(fast=True, hierarchy=hierarchy)
    config.update({"cohort": {"path": str(csv)}, "models": [{"name": "lr", "classifier": "lr"}],
                   "statistics": {"n_bootstrap": 0}, "interpretability": {"shap": False},
                   "report": {"enabled": False}, "subgroups": {"columns": ["lesion_type"]}})
    result = run_study(config_from_dict(config), out)
    ratios = {}
    for task, block in result.document["tasks"].items():
        for set_name in ("internal", "external:center2"):
            ratios[(task, set_name)] = block["true_posterior_ratio"][set_name]["ratio"]
    return ratios


@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo_cohort.csv"
    make_demo_cohort().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def large_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("large") / "large_cohort.csv"
    make_demo_cohort(n_center1=10_000, n_center2=4_000).to_csv(path, index=False)
    return path


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="at ~500 training lesions the chosen model reaches 0.86-0.99 of the true "
                                       "AUC (see module docstring)")
@pytest.mark.parametrize("hierarchy", ["positive_first", "zero_first"])
def test_demo_chosen_model_recovers_true_posterior_auc(tmp_path: Path, demo_csv: Path, hierarchy: str) -> None:
    ratios = _ratios(demo_csv, tmp_path / "out", hierarchy)
    assert min(ratios.values()) >= 0.97, ratios


@pytest.mark.slow
@pytest.mark.parametrize("hierarchy", ["positive_first", "zero_first"])
def test_chosen_model_converges_to_true_posterior_auc(tmp_path: Path, large_csv: Path, hierarchy: str) -> None:
    ratios = _ratios(large_csv, tmp_path / "out", hierarchy)
    assert min(ratios.values()) >= 0.97, ratios
