"""Study configuration: defaults, line-numbered errors, documentation of every key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from her2mri.exceptions import ConfigError
from her2mri.study import StudyConfig, load_config
from her2mri.study.config import config_from_dict

DOCS = Path(__file__).resolve().parents[2] / "docs" / "study-config.md"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_config_minimal_five_lines_gets_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, "schema_version: 1\ncohort: {path: c.csv}\ntasks: [positive_vs_negative]\n"
                            "design: {kind: split}\nseed: 3\n")
    config = load_config(path)
    assert config.cohort.path == (tmp_path / "c.csv").resolve()
    assert config.design.test_size == 0.3
    assert [m.classifier for m in config.models] == ["lr", "dt", "svm", "knn", "mlp", "rf", "gbdt"]
    assert config.statistics.n_bootstrap == 2000
    assert config.effective_seed == 3


def test_load_config_unknown_key_names_path_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "cohort: {path: c.csv}\ntasks: [positive_vs_negative]\ndesign:\n  kind: split\n"
                            "  tets_size: 0.2\n")
    with pytest.raises(ConfigError, match=r"line 5: unknown key 'design\.tets_size'"):
        load_config(path)


def test_load_config_bad_value_names_line_and_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, "cohort: {path: c.csv}\ntasks: [positive_vs_negative]\nmodels:\n"
                            "  - name: m\n    classifier: xgboost\n")
    with pytest.raises(ConfigError, match=r"line 5: key 'models\.0\.classifier'.*'lr'.*xgboost"):
        load_config(path)


def test_load_config_unknown_task_is_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "cohort: {path: c.csv}\ntasks: [positive_vs_negative, her2_ultra]\n")
    with pytest.raises(ConfigError, match=r"line 2.*tasks"):
        load_config(path)


def test_config_three_class_without_its_tasks_is_error() -> None:
    with pytest.raises(ConfigError, match="zero_first"):
        config_from_dict({"cohort": {"path": "c.csv"},
                          "tasks": {"names": ["positive_vs_negative"], "three_class": {"hierarchy": "zero_first"}}})


def test_config_external_without_centres_is_error() -> None:
    with pytest.raises(ConfigError, match="external_centers"):
        config_from_dict({"cohort": {"path": "c.csv"}, "tasks": ["positive_vs_negative"],
                          "design": {"kind": "external"}})


def test_config_unknown_block_is_error() -> None:
    with pytest.raises(ConfigError, match="unknown feature block"):
        config_from_dict({"cohort": {"path": "c.csv"}, "tasks": ["positive_vs_negative"],
                          "models": [{"name": "m", "blocks": ["nonexistent"]}]})


def test_load_config_invalid_yaml_names_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "cohort: {path: c.csv\ntasks: [a\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(path)


def _field_names(model: type[BaseModel], seen: set[str]) -> set[str]:
    names: set[str] = set()
    for name, field in model.model_fields.items():
        names.add(name)
        for arg in getattr(field.annotation, "__args__", ()) + (field.annotation,):
            if isinstance(arg, type) and issubclass(arg, BaseModel) and arg.__name__ not in seen:
                seen.add(arg.__name__)
                names |= _field_names(arg, seen)
            for inner in getattr(arg, "__args__", ()):
                if isinstance(inner, type) and issubclass(inner, BaseModel) and inner.__name__ not in seen:
                    seen.add(inner.__name__)
                    names |= _field_names(inner, seen)
    return names


def test_docs_study_config_documents_every_key() -> None:
    text = DOCS.read_text(encoding="utf-8")
    names = _field_names(StudyConfig, set())
    assert {"harmonize", "use_unlabelled_external", "hierarchy", "patterns", "selectors"} <= names
    missing = sorted(name for name in names if f"`{name}`" not in text and f"`{name}." not in text
                     and f".{name}`" not in text)
    assert not missing, f"keys missing from docs/study-config.md: {missing}"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_configs_validate(path: Path) -> None:
    config = load_config(path)
    assert config.cohort.path.name == "demo_cohort.csv"


def test_load_config_reads_on_as_a_key_not_true(tmp_path: Path) -> None:
    path = _write(tmp_path, "cohort: {path: c.csv, features: {path: f.csv, on: lesion_id}}\n"
                            "tasks: [positive_vs_negative]\ninterpretability: {shap: no}\n")
    config = load_config(path)
    assert config.cohort.features is not None
    assert config.cohort.features.on == "lesion_id"
    assert config.interpretability.shap is False  # yes/no still read as booleans where one is expected


def test_load_config_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, "cohort: {path: c.csv}\ntasks: [low_vs_zero]\ndesign: {kind: split}\n"
                            "tasks: [positive_vs_negative]\n")
    with pytest.raises(ConfigError, match=r"key 'tasks' is given twice.*lines 2 and 4"):
        load_config(path)


def _reliability_config(tmp_path: Path, icc: str) -> Path:
    return _write(tmp_path, "cohort: {path: c.csv}\ntasks: [positive_vs_negative]\nmodels:\n"
                            "  - {name: lr, selectors: [{method: reliability, params: {icc: " + icc + "}}]}\n")


def test_reliability_icc_file_is_read_and_checked_at_load(tmp_path: Path) -> None:
    (tmp_path / "icc.csv").write_text("feature,sequence,estimate\nt2__a,t2,0.9\nt2__b,t2,0.5\n", encoding="utf-8")
    config = load_config(_reliability_config(tmp_path, "icc.csv"))
    assert config.models[0].selectors[0].params["icc"] == {"t2__a": 0.9, "t2__b": 0.5}


@pytest.mark.parametrize(("content", "message"), [
    (None, "not found"),
    ("feature,value\nt2__a,0.9\n", "accepted: 'feature' and 'icc'"),
    ("feature,icc\nt2__a,high\n", "row 2, column 'icc': got 'high'"),
])
def test_reliability_icc_problems_are_config_errors(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "icc.csv").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(_reliability_config(tmp_path, "icc.csv"))


def test_block_column_absent_from_cohort_is_an_error_naming_it() -> None:
    import pandas as pd

    from her2mri.study.blocks import resolve_blocks
    from her2mri.study.config import BLOCK_DEFAULTS, BlockSpec

    frame = pd.DataFrame({"patient_id": ["p1", "p2"], "eer": [0.5, 0.6], "adc_min": [1.0, 0.9]})
    specs = {**BLOCK_DEFAULTS, "dce": BlockSpec(columns=["eer", "ser", "initial_enhancement"]),
             "dki": BlockSpec(regex=["^d_app_"])}
    with pytest.raises(ConfigError, match=r"'dce'.*\['ser', 'initial_enhancement'\] not in the cohort"):
        resolve_blocks(frame, ["dce"], specs)
    with pytest.raises(ConfigError, match=r"'dki'.*regex '\^d_app_' matching no column"):
        resolve_blocks(frame, ["dki"], specs)
    assert resolve_blocks(frame, ["quantitative"], specs) == ["eer", "adc_min"]  # built-in: absent ones skipped


def test_block_unusable_column_is_dropped_with_a_warning_naming_it() -> None:
    import pandas as pd

    from her2mri.study.blocks import resolve_blocks
    from her2mri.study.config import BLOCK_DEFAULTS, BlockSpec

    frame = pd.DataFrame({"patient_id": ["p1", "p2"], "eer": [0.5, 0.6], "ser": [None, None]})
    specs = {**BLOCK_DEFAULTS, "dce": BlockSpec(columns=["eer", "ser", "patient_id"])}
    with pytest.warns(UserWarning, match=r"'dce': column\(s\) \['patient_id', 'ser'\] dropped"):
        assert resolve_blocks(frame, ["dce"], specs) == ["eer"]
