"""The calibration figure flags slopes outside 0.7–1.3; under repeated CV the per-repeat mean slope is judged."""

from __future__ import annotations

import json
from pathlib import Path

from her2mri.report.blocks import StudyData
from her2mri.report.model_sections import calibration_section


def _data(tmp_path: Path, sets: dict) -> StudyData:
    curve = {"predicted": [0.1, 0.3, 0.5, 0.7], "observed": [0.12, 0.28, 0.55, 0.66]}
    models = {name: {"sets": {"cv": {"calibration_curve": curve, **block}}} for name, block in sets.items()}
    results = {"tasks": {"positive_vs_negative": {"title": "HER2-positive vs negative", "models": models,
                                                  "best_model": "lr"}},
               "design": {"kind": "cv", "sets": ["cv"]}}
    (tmp_path / "results.json").write_text(json.dumps(results))
    return StudyData(directory=tmp_path, results=results, predictions=None, notes=())


def _captions(section) -> str:  # noqa: ANN001
    return json.dumps(section.blocks, default=str, ensure_ascii=False)


def test_per_repeat_mean_slope_is_the_one_flagged(tmp_path: Path) -> None:
    sets = {
        # averaged scores look timid (1.6) but each repeat's model is calibrated (1.02): not flagged
        "lr": {"calibration": {"slope": 1.6, "intercept": 0.0, "brier": 0.2},
               "per_repeat_calibration_slope": {"mean": 1.02}},
        # a single CV run: its own slope is judged
        "rf": {"calibration": {"slope": 0.5, "intercept": 0.0, "brier": 0.2}},
    }
    text = _captions(calibration_section(_data(tmp_path, sets)))
    assert "Calibration slope outside 0.7–1.3" in text
    flagged = text.split("Calibration slope outside 0.7–1.3:")[1]
    assert "0.50" in flagged or "0.5" in flagged
    assert "1.6" not in flagged
