"""Report sections on model choice, the LASSO path / CV deviance (λmin, λ1se) and the univariable screen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from her2mri.features import GroupLassoSelector
from her2mri.report.blocks import StudyData
from her2mri.report.html import SECTION_ORDER
from her2mri.report.selection_section import (
    model_choice_section,
    selection_path_section,
    selection_screen_section,
)


def _results() -> dict:
    rng = np.random.default_rng(0)
    n = 200
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                      **{f"t2_signal_{lv}": (rng.integers(0, 3, n) == i).astype(float) for i, lv in enumerate("abc")}})
    X[["t2_signal_a", "t2_signal_b", "t2_signal_c"]] = np.eye(3)[rng.integers(0, 3, n)]
    y = (X["x1"] + rng.normal(size=n) > 0).astype(int)
    path = {"step": "select_group_lasso", **GroupLassoSelector(n_lambdas=8, cv=3).fit(X, y).selection_path()}
    choice = {"chosen": "lr", "rule": "simplest", "reason": "simplest model (lr)", "comparisons": [
        {"model": "lr", "oof_auc": 0.8, "oof_auc_se": 0.03, "margin_vs_chosen": 0.0, "p_vs_chosen": None},
        {"model": "gbdt", "oof_auc": 0.805, "oof_auc_se": 0.03, "margin_vs_chosen": 0.005, "p_vs_chosen": 0.61}]}
    return {"tasks": {"positive_vs_negative": {"title": "HER2-positive vs negative", "model_choice": choice,
                                               "models": {"lr": {"selection_path": [path]}, "gbdt": {}}}}}


def test_sections_show_the_path_the_deviance_and_the_choice(tmp_path: Path) -> None:
    data = StudyData(directory=tmp_path, results=_results(), predictions=None, notes=())
    path = selection_path_section(data)
    assert path is not None
    assert path.id == "selection-path"
    names = [item["name"] for block in path.blocks if block.get("kind") == "figures" for item in block["items"]]
    assert names == ["lasso-path-positive_vs_negative-lr", "lasso-deviance-positive_vs_negative-lr"]
    assert any("λ1se" in str(block.get("text", "")) for block in path.blocks)
    choice = model_choice_section(data)
    assert choice is not None
    rows = choice.blocks[0]["rows"]
    cells = [[c["text"] for c in row["cells"]] for row in rows]
    assert cells[0][0].endswith("†")
    assert cells[1][-1] == "0.610"


def test_sections_are_absent_without_data_and_registered(tmp_path: Path) -> None:
    data = StudyData(directory=tmp_path, results={"tasks": {"t": {"models": {"lr": {}}}}}, predictions=None, notes=())
    assert selection_path_section(data) is None
    assert model_choice_section(data) is None
    assert selection_screen_section(data) is None
    ids = [sid for sid, _, _ in SECTION_ORDER]
    assert ids.index("model-choice") < ids.index("selection-path") < ids.index("selection-screen")


def test_screen_section_lists_every_variable_its_p_and_whether_it_entered(tmp_path: Path) -> None:
    from her2mri.features import UnivariateFilter
    from her2mri.features.filters import screen_records
    from her2mri.models.pipeline import build_pipeline

    rng = np.random.default_rng(1)
    n = 300
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame({"quadrant": rng.choice(["upper_outer", "central", "lower_inner"], n),
                          "mass_shape": np.where(rng.random(n) < np.where(y == 1, 0.7, 0.2), "irregular", "oval"),
                          "adc_min": rng.normal(1.0, 0.15, n)})
    pipe = build_pipeline(numeric=["adc_min"], categorical=["quadrant", "mass_shape"], model="lr",
                          selectors=[("univariate", {"level": "variable", "correction": "bh", "alpha": 0.05})])
    pipe.fit(frame, y)
    records = screen_records(pipe)
    assert [r["step"] for r in records] == ["select_univariate"]
    variables = {r["variable"]: r for r in records[0]["variables"]}
    assert set(variables) == {"quadrant", "mass_shape", "adc_min"}
    assert variables["mass_shape"]["kept"]
    assert variables["mass_shape"]["p"] < 0.05
    assert all(r["kept"] == (r["p"] < 0.05) for r in records[0]["variables"])
    assert screen_records(build_pipeline(numeric=["adc_min"], model="lr", selectors=[("univariate", {})])
                          .fit(frame, y)) == []
    assert isinstance(pipe.named_steps["select_univariate"], UnivariateFilter)
    results = {"tasks": {"low_vs_zero": {"title": "HER2-low vs zero", "models": {"lr": {"selection_screen": records}}}}}
    section = selection_screen_section(StudyData(directory=tmp_path, results=results, predictions=None, notes=()))
    assert section is not None
    assert section.id == "selection-screen"
    table_block = next(block for block in section.blocks if block.get("kind") == "table")
    cells = [[c["text"] for c in row["cells"]] for row in table_block["rows"]]
    assert len(cells) == 3
    assert cells[0][2] == "yes"
    assert "FDR-adjusted p" in str(table_block)
