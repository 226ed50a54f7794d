"""The study configuration: pydantic models validated once, at the boundary, from a YAML file.

Every section has sensible defaults so that a minimal configuration is five lines::

    schema_version: 1
    cohort: {path: cohort.csv}
    tasks: [positive_vs_negative, low_vs_zero]
    design: {kind: split}

Unknown keys and bad values raise :class:`~her2mri.exceptions.ConfigError` naming the key path *and* the line
of the YAML file (the YAML node tree is composed first so that every key path maps to its source line).
Relative paths (cohort table, features table, mapping, reader table) are resolved against the folder of the
configuration file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from her2mri.exceptions import ConfigError

__all__ = [
    "BLOCK_DEFAULTS",
    "CLASSIFIERS",
    "TASK_NAMES",
    "BlockSpec",
    "CohortSection",
    "ConformalSection",
    "DesignSection",
    "FeaturesTableSection",
    "HarmonizeSection",
    "InterpretabilitySection",
    "ModelSpecConfig",
    "PreprocessingSection",
    "ReaderStudySection",
    "ReportSection",
    "SelectionSection",
    "SelectorStep",
    "StatisticsSection",
    "StudyConfig",
    "SubgroupsSection",
    "SurvivalSection",
    "TasksSection",
    "ThreeClassSection",
    "config_from_dict",
    "load_config",
]

SCHEMA_VERSION = 1
TASK_NAMES = ("positive_vs_negative", "low_vs_zero", "zero_vs_nonzero", "low_vs_positive", "fish_ihc2")
CLASSIFIERS = ("lr", "dt", "svm", "knn", "mlp", "rf", "gbdt", "auto")
HIERARCHY_TASKS = {
    "positive_first": ("positive_vs_negative", "low_vs_zero"),
    "zero_first": ("zero_vs_nonzero", "low_vs_positive"),
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeaturesTableSection(_Section):
    """A second table (e.g. the imaging pipeline's radiomics output) joined to the cohort on ``on``."""

    path: Path
    on: str = "lesion_id"
    key: str | None = None  # the features table's column holding the ``on`` values, when named differently


class CohortSection(_Section):
    path: Path
    mapping: Path | dict[str, Any] | None = None
    subtype: dict[str, Any] | None = None
    features: FeaturesTableSection | None = None
    exclude_lesion_types: list[Literal["focus", "mass", "nme", "mass_with_nme"]] = Field(default_factory=list)


class ThreeClassSection(_Section):
    hierarchy: Literal["positive_first", "zero_first"] = "positive_first"


class TasksSection(_Section):
    names: list[Literal[TASK_NAMES]] = Field(min_length=1)  # type: ignore[valid-type]
    three_class: ThreeClassSection | None = None

    @model_validator(mode="after")
    def _hierarchy_tasks_present(self) -> TasksSection:
        if len(set(self.names)) != len(self.names):
            message = f"tasks.names lists a task twice: {self.names}; list each task once."
            raise ValueError(message)
        if self.three_class is not None:
            needed = HIERARCHY_TASKS[self.three_class.hierarchy]
            missing = [name for name in needed if name not in self.names]
            if missing:
                message = (
                    f"three_class.hierarchy '{self.three_class.hierarchy}' composes {needed[0]} and {needed[1]}; "
                    f"missing from tasks.names: {missing}. Add them to tasks.names or change the hierarchy."
                )
                raise ValueError(message)
        return self


class DesignSection(_Section):
    kind: Literal["split", "external", "cv", "nested_cv", "column"] = "split"
    test_size: float = Field(0.3, gt=0.0, lt=1.0)
    external_centers: list[str] = Field(default_factory=list)
    internal_test_size: float | None = Field(0.3, gt=0.0, lt=1.0)
    n_splits: int = Field(5, ge=2, le=20)
    n_repeats: int = Field(1, ge=1, le=100)
    inner_splits: int = Field(5, ge=2, le=20)
    column: str = "split"
    train_value: str = "train"
    seed: int | None = None

    @model_validator(mode="after")
    def _external_needs_centers(self) -> DesignSection:
        if self.kind == "external" and not self.external_centers:
            message = (
                "design.kind 'external' needs design.external_centers: the centre names held out for external "
                "validation, e.g. [center2]."
            )
            raise ValueError(message)
        return self


class BlockSpec(_Section):
    """A named feature block: explicit column names, glob patterns, regular expressions or vocabulary groups."""

    columns: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    regex: list[str] = Field(default_factory=list)
    groups: list[Literal["pathology", "birads", "quantitative"]] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)


BLOCK_DEFAULTS: dict[str, BlockSpec] = {
    "clinical": BlockSpec(
        columns=[
            "age", "menopausal_status", "er_status", "er_percent", "pr_status", "pr_percent", "ki67_status",
            "ki67_percent", "histologic_grade", "histologic_type", "t_category", "n_category", "hr_status",
            "er_low",
        ]
    ),
    "birads": BlockSpec(groups=["birads"]),
    "quantitative": BlockSpec(groups=["quantitative"]),
    "radiomics": BlockSpec(regex=[r"^[a-z0-9_]+__.+$"]),
}


class SelectorStep(_Section):
    method: Literal[
        "random_forest", "lasso", "correlation", "univariate", "gbdt", "stepwise", "shap", "mrmr", "reliability"
    ]
    params: dict[str, Any] = Field(default_factory=dict)


class ModelSpecConfig(_Section):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    blocks: list[str] = Field(default_factory=lambda: ["clinical", "birads", "quantitative"], min_length=1)
    selectors: list[SelectorStep] = Field(default_factory=list)
    classifier: Literal[CLASSIFIERS] = "lr"  # type: ignore[valid-type]
    tuning: bool = True
    grid: dict[str, list[Any]] | None = None

    @field_validator("blocks", mode="before")
    @classmethod
    def _one_block_as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


def _default_models() -> list[ModelSpecConfig]:
    return [ModelSpecConfig(name=name, classifier=name) for name in ("lr", "dt", "svm", "knn", "mlp", "rf", "gbdt")]


class HarmonizeSection(_Section):
    by: str = "center"
    use_unlabelled_external: bool = True
    eb: bool = True
    blocks: list[str] | None = None


class PreprocessingSection(_Section):
    impute: Literal["median"] = "median"
    scale: bool = True
    harmonize: HarmonizeSection | None = None


class StatisticsSection(_Section):
    n_bootstrap: int = Field(2000, ge=0, le=100_000)
    conf_level: float = Field(0.95, gt=0.5, lt=1.0)
    ci_method: Literal["wilson", "clopper_pearson"] = "wilson"
    delong_correction: Literal["none", "holm", "bonferroni", "bh"] = "holm"
    calibration_bins: int = Field(10, ge=2, le=50)
    table1_correction: Literal["none", "bh", "bonferroni"] = "bh"


class SelectionSection(_Section):
    model: str | None = None
    metric: Literal["cv_auc"] = "cv_auc"
    rule: Literal["best", "one_se"] = "best"
    tuning_metric: Literal["log_loss", "auc"] = "log_loss"  # how a classifier's grid point is chosen


class InterpretabilitySection(_Section):
    shap: bool = True
    time_budget_s: float = Field(30.0, gt=0.0)
    max_background: int = Field(100, ge=10)


class SurvivalSection(_Section):
    enabled: bool = True
    time: str = "dfs_months"
    event: str = "dfs_event"
    cutoff: Literal["median", "threshold"] = "median"


class SubgroupsSection(_Section):
    columns: list[str] = Field(default_factory=lambda: ["lesion_type", "center"])
    min_per_class: int = Field(5, ge=1)


class ConformalSection(_Section):
    alpha: float = Field(0.1, gt=0.0, lt=0.5)


class ReaderStudySection(_Section):
    reads: Path
    task: Literal[TASK_NAMES] | None = None  # type: ignore[valid-type]


class ReportSection(_Section):
    enabled: bool = True


class StudyConfig(_Section):
    """The validated study configuration (one YAML file)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    name: str = "her2mri study"
    seed: int = 2026
    n_jobs: int = Field(1, ge=1, le=64)
    scheduler: str | None = None  # Dask scheduler address: the models step's fold x model fits run there
    cohort: CohortSection
    tasks: TasksSection
    design: DesignSection = Field(default_factory=DesignSection)
    blocks: dict[str, BlockSpec] = Field(default_factory=dict)
    models: list[ModelSpecConfig] = Field(default_factory=_default_models, min_length=1)
    selection: SelectionSection = Field(default_factory=SelectionSection)
    preprocessing: PreprocessingSection = Field(default_factory=PreprocessingSection)
    statistics: StatisticsSection = Field(default_factory=StatisticsSection)
    interpretability: InterpretabilitySection = Field(default_factory=InterpretabilitySection)
    survival: SurvivalSection = Field(default_factory=SurvivalSection)
    subgroups: SubgroupsSection = Field(default_factory=SubgroupsSection)
    conformal: ConformalSection | None = Field(default_factory=ConformalSection)
    reader_study: ReaderStudySection | None = None
    report: ReportSection = Field(default_factory=ReportSection)

    @field_validator("tasks", mode="before")
    @classmethod
    def _task_list(cls, value: Any) -> Any:
        return {"names": value} if isinstance(value, list | tuple | str) else value

    @field_validator("tasks", mode="before")
    @classmethod
    def _task_string(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("names"), str):
            return {**value, "names": [value["names"]]}
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> StudyConfig:
        names = [model.name for model in self.models]
        if len(set(names)) != len(names):
            message = f"models: every model needs a distinct name; got {names}."
            raise ValueError(message)
        known = set(BLOCK_DEFAULTS) | set(self.blocks)
        for model in self.models:
            unknown = [block for block in model.blocks if block not in known]
            if unknown:
                message = (
                    f"model '{model.name}' uses unknown feature block(s) {unknown}; defined blocks: "
                    f"{sorted(known)}. Define them under 'blocks:'."
                )
                raise ValueError(message)
        if self.selection.model is not None and self.selection.model not in names:
            message = f"selection.model '{self.selection.model}' is not one of the models {names}."
            raise ValueError(message)
        return self

    @property
    def effective_seed(self) -> int:
        return self.design.seed if self.design.seed is not None else self.seed

    def block_specs(self) -> dict[str, BlockSpec]:
        """Built-in blocks overlaid with the configured ones."""
        return {**BLOCK_DEFAULTS, **self.blocks}

    def resolve(self, base: Path) -> StudyConfig:
        """Return a copy whose relative paths are made absolute against ``base`` (the config's folder)."""

        def fix(path: Path) -> Path:
            return path if path.is_absolute() else (base / path).resolve()

        cohort = self.cohort.model_copy(
            update={
                "path": fix(self.cohort.path),
                "mapping": fix(self.cohort.mapping) if isinstance(self.cohort.mapping, Path) else self.cohort.mapping,
                "features": (
                    self.cohort.features.model_copy(update={"path": fix(self.cohort.features.path)})
                    if self.cohort.features is not None
                    else None
                ),
            }
        )
        reader = (
            self.reader_study.model_copy(update={"reads": fix(self.reader_study.reads)})
            if self.reader_study is not None
            else None
        )
        return self.model_copy(update={"cohort": cohort, "reader_study": reader})


def _line_map(text: str) -> dict[tuple[str | int, ...], int]:
    """Map every key path of a YAML document to its 1-based line number (keys and list items)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    lines: dict[tuple[str | int, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                sub = (*path, index)
                lines[sub] = item.start_mark.line + 1
                walk(item, sub)

    if root is not None:
        walk(root, ())
    return lines


def _clean_loc(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Drop pydantic's union/validator tags (e.g. 'literal[...]', 'function-after[...]') from an error location."""
    return tuple(part for part in loc if not (isinstance(part, str) and ("[" in part or part.endswith("-before"))))


def _format_errors(exc: ValidationError, lines: dict[tuple[str | int, ...], int], source: str) -> str:
    parts: list[str] = []
    seen: set[str] = set()
    for error in exc.errors():
        loc = _clean_loc(tuple(error["loc"]))
        if loc[:1] == ("tasks",) and loc[1:2] == ("names",) and ("tasks", "names") not in lines:
            loc = ("tasks", *loc[2:])
        line = None
        for cut in range(len(loc), -1, -1):
            if loc[:cut] in lines:
                line = lines[loc[:cut]]
                break
        key = ".".join(str(part) for part in loc) or "<root>"
        if error["type"] == "extra_forbidden":
            what = f"unknown key '{key}'"
        else:
            what = f"key '{key}': {error['msg']}"
            if "input" in error and not isinstance(error["input"], dict):
                what += f" (got {error['input']!r})"
        where = f"line {line}" if line is not None else "no line"
        text = f"  - {where}: {what}"
        if text not in seen:
            seen.add(text)
            parts.append(text)
    return (
        f"Study configuration {source} is invalid ({len(parts)} problem(s)); see docs/study-config.md for "
        f"every accepted key:\n" + "\n".join(parts)
    )


def config_from_dict(data: dict[str, Any], *, source: str = "<dict>", base: Path | None = None) -> StudyConfig:
    """Validate a configuration given as a mapping (paths resolved against ``base`` or the working folder)."""
    try:
        config = StudyConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, {}, source)) from None
    return config.resolve(base if base is not None else Path.cwd())


def load_config(path: str | Path) -> StudyConfig:
    """Read and validate a YAML study configuration; errors name the key path and the line number."""
    path = Path(path)
    if not path.is_file():
        message = f"Study configuration file not found: '{path}'. Pass the path of a YAML file (see examples/)."
        raise ConfigError(message)
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        message = f"Study configuration '{path}' is not valid YAML{where}: {exc}. Fix the syntax and retry."
        raise ConfigError(message) from None
    if not isinstance(data, dict):
        message = (
            f"Study configuration '{path}' must be a YAML mapping with keys such as cohort, tasks, design; "
            f"got {type(data).__name__}."
        )
        raise ConfigError(message)
    try:
        config = StudyConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, _line_map(text), f"'{path}'")) from None
    return config.resolve(path.resolve().parent)
