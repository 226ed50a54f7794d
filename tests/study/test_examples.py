"""Every example configuration runs on the demo cohort (reduced bootstrap and SHAP to keep it quick) and writes a
well-formed, self-contained report with its core sections."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from her2mri.cohort.demo import make_demo_cohort
from her2mri.study import config_from_dict, run_study
from tests.report.conftest import check_html

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo_cohort.csv"
    make_demo_cohort().to_csv(path, index=False)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_example_config_runs_on_demo_cohort(tmp_path: Path, demo_csv: Path, path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["cohort"]["path"] = str(demo_csv)
    data["statistics"] = {**data.get("statistics", {}), "n_bootstrap": 20}
    data["interpretability"] = {"shap": False}
    data["report"] = {"enabled": True}
    data["n_jobs"] = 1
    design = data.setdefault("design", {})
    design["inner_splits"] = 3
    # configurations without a models section get the default model list; untuned like the others
    models = data.get("models") or [m.model_dump() for m in config_from_dict(data).models]
    data["models"] = [{**model, "tuning": False} for model in models]
    result = run_study(config_from_dict(data), tmp_path / "out")
    assert result.status == "complete"
    for block in result.document["tasks"].values():
        assert block["best_model"] in block["models"]
    report = check_html((tmp_path / "out" / "report.html").read_text(encoding="utf-8"))
    assert report.problems == []
    for section in ("summary", "cohort-flow", "table1", "roc", "metrics", "calibration", "decision-curves",
                    "methods", "tripod", "provenance"):
        assert section in report.ids, f"{path.stem}: section {section!r} missing from the report"
