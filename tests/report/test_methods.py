"""Methods paragraphs and the TRIPOD+AI table are written from the run's own results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from her2mri.report.methods import methods_paragraphs
from her2mri.report.tripod import AUTHORS, tripod_items

FIXTURE = Path(__file__).parent / "data" / "study" / "results.json"


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_methods_paragraphs_state_design_models_and_r_equivalents(results: dict[str, Any]) -> None:
    text = " ".join(paragraph for _, paragraph in methods_paragraphs(results))
    headings = [heading for heading, _ in methods_paragraphs(results)]
    assert headings[:2] == ["Design", "Reference standard and tasks"]
    for phrase in ("external validation", "Random seed 2026", "ComBat harmonisation by center", "Youden index",
                   "pROC::ci.auc", "pROC::roc.test", "Holm", "rms::val.prob", "dcurves::dca", "survival::survdiff",
                   "2000 patient-grouped resamples", "logistic regression (LR)", "scikit-learn 1.9.0"):
        assert phrase in text, phrase


def test_methods_paragraphs_empty_results_do_not_guess() -> None:
    paragraphs = dict(methods_paragraphs({}))
    assert "Design" in paragraphs
    assert "Models" not in paragraphs
    assert "Random seed" not in paragraphs["Design"]


def test_tripod_items_fill_what_the_run_knows(results: dict[str, Any]) -> None:
    items = {item.item: item for item in tripod_items(results)}
    assert len(items) == len(tripod_items(results))
    assert items["21"].filled
    assert "HER2-positive" in items["21"].text
    assert items["23a"].filled
    assert not items["17"].filled
    assert items["17"].text == AUTHORS
    assert items["20a"].text == "See Cohort flow."


def test_methods_describe_a_tuned_variable_screen(results: dict[str, Any]) -> None:
    screen = {"method": "univariate", "params": {"level": "variable", "correction": "bh"},
              "grid": {"alpha": [0.05, 0.2, 1.0]}}
    changed = {**results, "config": {**results.get("config", {}), "models": [
        {"name": "lr", "classifier": "lr", "blocks": ["clinical"], "selectors": [screen]}]}}
    text = " ".join(paragraph for _, paragraph in methods_paragraphs(changed))
    assert "univariable tests of each variable" in text
    assert "alpha among 0.05, 0.2, 1.0 tuned with the classifier by inner cross-validation" in text
