"""The study configuration: pydantic models validated once, at the boundary, from a YAML file.

Every section has sensible defaults so that a minimal configuration is five lines::

    schema_version: 1
    cohort: {path: cohort.csv}
    tasks: [positive_vs_negative, low_vs_zero]
    design: {kind: split}

Unknown keys and bad values raise :class:`~her2mri.exceptions.ConfigError` naming the key path *and* the line
of the YAML file (the YAML node tree is composed first so that every key path maps to its source line).
Relative paths (cohort table, features table, mapping, reader table, a reliability selector's ICC table) are
resolved against the folder of the configuration file.

The YAML is read with two deliberate departures from PyYAML's YAML 1.1 defaults: only ``true``/``false`` are
booleans (so ``on: lesion_id`` is the key ``"on"``, not ``True``; ``yes``/``no``/``on``/``off`` stay strings and
pydantic still reads them as booleans where a boolean is expected), and a key given twice in one mapping is an
error naming both lines instead of the last one silently winning.
"""

from __future__ import annotations

import re
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
    call: Literal["thresholds", "argmax"] = "thresholds"  # see her2mri.models.three_class


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
        "random_forest", "lasso", "group_lasso", "correlation", "univariate", "gbdt", "stepwise", "shap", "mrmr", "reliability"
    ]
    params: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    """Selector parameters tuned with the classifier's grid by the inner cross-validation (e.g.
    ``{"alpha": [0.05, 0.2, 1.0]}`` for a univariate screen): every combination of both grids is scored."""

    @model_validator(mode="after")
    def _grid_names_parameters(self) -> SelectorStep:
        from her2mri.features.registry import SELECTORS

        accepted = sorted(SELECTORS[self.method]().get_params())
        for key, values in self.grid.items():
            if key not in accepted:
                message = (f"selector '{self.method}': grid parameter {key!r} is not one of its parameters; "
                           f"accepted: {accepted}.")
                raise ValueError(message)
            if key in self.params:
                message = (f"selector '{self.method}': {key!r} is both fixed in params and tuned in grid; "
                           "give it in one of them.")
                raise ValueError(message)
            if not values:
                message = f"selector '{self.method}': grid parameter {key!r} lists no values."
                raise ValueError(message)
        return self


class ModelSpecConfig(_Section):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    blocks: list[str] = Field(default_factory=lambda: ["clinical", "birads", "quantitative"], min_length=1)
    selectors: list[SelectorStep] = Field(default_factory=list)
    classifier: Literal[CLASSIFIERS] = "lr"  # type: ignore[valid-type]
    tuning: bool = True
    grid: dict[str, list[Any]] | None = None
    class_weight: Literal["balanced"] | None = None
    features_from: str | None = None
    recalibrate: Literal["auto", "logistic", "none"] = "auto"

    @model_validator(mode="after")
    def _selector_grid_needs_tuning(self) -> ModelSpecConfig:
        tuned = [step.method for step in self.selectors if step.grid]
        if tuned and not self.tuning:
            message = (f"model '{self.name}': selector(s) {tuned} have a grid but tuning is false, so nothing would "
                       "choose among its settings; fix the setting in the selector's params, or set tuning: true.")
            raise ValueError(message)
        return self

    @model_validator(mode="after")
    def _class_weight_supported(self) -> ModelSpecConfig:
        if self.class_weight is not None and self.classifier in ("knn", "mlp", "gbdt", "auto"):
            message = (f"model '{self.name}': classifier '{self.classifier}' takes no class weights "
                       "(class_weight); accepted with: lr, dt, svm, rf.")
            raise ValueError(message)
        return self

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
    optimism_resamples: int = Field(20, ge=0, le=2000)


class SelectionSection(_Section):
    """How a task's reported model is chosen (see :mod:`her2mri.study.choice`)."""

    model: str | None = None
    metric: Literal["cv_auc"] = "cv_auc"
    rule: Literal["simplest", "one_se", "best"] = "simplest"
    alpha: float = Field(0.05, gt=0.0, lt=1.0)
    tuning_metric: Literal["log_loss", "auc"] = "log_loss"  # how a classifier's grid point is chosen
    # a selector grid lists its settings from the strongest selection; the first setting whose best point is within
    # this many standard errors (of the per-fold scores) of the overall best is kept (0: the best setting)
    selector_tolerance_se: float = Field(0.5, ge=0.0)


class InterpretabilitySection(_Section):
    shap: bool = True
    models: Literal["chosen", "all"] = "all"
    time_budget_s: float | None = Field(None, gt=0.0)
    max_background: int = Field(50, ge=10)


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

    @model_validator(mode="before")
    @classmethod
    def _features_from(cls, data: Any) -> Any:
        """``features_from: <model>``: take that model's blocks and selectors (run again inside this model's folds
        with the same seed, so the final fit keeps the same variables as the named model)."""
        if not isinstance(data, dict) or not isinstance(data.get("models"), list):
            return data
        models = [dict(m) if isinstance(m, dict) else m for m in data["models"]]
        by_name = {m.get("name"): m for m in models if isinstance(m, dict)}
        for model in models:
            if not isinstance(model, dict) or model.get("features_from") is None:
                continue
            source = by_name.get(model["features_from"])
            if source is None or source is model or source.get("features_from") is not None:
                message = (f"model '{model.get('name')}': features_from '{model['features_from']}' must name another "
                           f"model that has no features_from itself; models: {sorted(map(str, by_name))}.")
                raise ValueError(message)
            if model.get("selectors") or "blocks" in model:
                message = (f"model '{model.get('name')}': features_from takes blocks and selectors from "
                           f"'{model['features_from']}'; remove this model's own blocks/selectors.")
                raise ValueError(message)
            tuned = [step.get("method") for step in source.get("selectors") or []
                     if isinstance(step, dict) and step.get("grid")]
            if tuned:
                message = (f"model '{model.get('name')}': features_from '{model['features_from']}' needs a fixed "
                           f"selection, but its selector(s) {tuned} tune a grid, which this model's folds could set "
                           "differently (other variables); fix the setting in the selector's params to share it.")
                raise ValueError(message)
            for key in ("blocks", "selectors"):
                if key in source:
                    model[key] = source[key]
        return {**data, "models": models}

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
        models = [_resolve_reliability(model, fix) for model in self.models]
        return self.model_copy(update={"cohort": cohort, "reader_study": reader, "models": models})


def _resolve_reliability(model: ModelSpecConfig, fix: Any) -> ModelSpecConfig:
    """A reliability selector's ``icc`` given as a file path → the {feature: ICC} mapping, checked now.

    Accepted files: CSV/TSV with a ``feature`` column and an ``icc`` column, or the ``estimate`` column of the
    imaging pipeline's ICC table (``her2mri.imaging.feature_icc``). Errors name the model, the selector and the
    file, so ``validate-config`` catches them before any model is fitted.
    """
    steps = list(model.selectors)
    changed = False
    for index, step in enumerate(steps):
        if step.method != "reliability" or "icc" not in step.params:
            continue
        value = step.params["icc"]
        where = f"models[{model.name}].selectors[{index}] (reliability) params.icc"
        if isinstance(value, dict):
            bad = {k: v for k, v in value.items() if not isinstance(v, int | float) or isinstance(v, bool)}
            if bad:
                message = f"{where}: ICC values must be numbers; got {bad!r}. Accepted: {{feature: icc}} or a CSV path."
                raise ConfigError(message)
            continue
        if not isinstance(value, str | Path):
            message = (f"{where}: got {value!r} ({type(value).__name__}); accepted: a CSV/TSV file path (columns "
                       "'feature' and 'icc' or 'estimate') or a mapping {feature: icc}.")
            raise ConfigError(message)
        path = fix(Path(value))
        table = _read_icc_table(path, where)
        steps[index] = step.model_copy(update={"params": {**step.params, "icc": table}})
        changed = True
    if not changed:
        return model
    return model.model_copy(update={"selectors": steps})


def _read_icc_table(path: Path, where: str) -> dict[str, float]:
    import pandas as pd

    if not path.is_file():
        message = f"{where}: ICC table '{path}' not found. Give a path relative to the configuration file."
        raise ConfigError(message)
    try:
        table = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        message = f"{where}: ICC table '{path}' could not be read as CSV/TSV ({exc})."
        raise ConfigError(message) from None
    column = "icc" if "icc" in table.columns else ("estimate" if "estimate" in table.columns else None)
    if "feature" not in table.columns or column is None:
        message = (f"{where}: ICC table '{path}' has columns {list(table.columns)[:8]}; accepted: 'feature' and "
                   "'icc' (or 'estimate', as written by her2mri's feature_icc).")
        raise ConfigError(message)
    values = pd.to_numeric(table[column], errors="coerce")
    bad = table.loc[values.isna() & table[column].notna(), column]
    if len(bad):
        row = int(bad.index[0]) + 2
        message = (f"{where}: ICC table '{path}' row {row}, column '{column}': got {bad.iloc[0]!r}; accepted: a "
                   "number (ICC) or empty.")
        raise ConfigError(message)
    return {str(f): float(v) for f, v in zip(table["feature"], values, strict=True) if pd.notna(v)}


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


_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class _StudyLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (true/false only) and duplicate keys rejected."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if isinstance(key, list | dict):
                continue
            if key in seen:
                message = (f"key '{key}' is given twice in one mapping (lines {seen[key]} and {line}); "
                           "give each key once")
                raise yaml.constructor.ConstructorError(None, None, message, key_node.start_mark)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


for _first in "tTfF":
    _StudyLoader.yaml_implicit_resolvers.setdefault(_first, []).append(("tag:yaml.org,2002:bool", _BOOL))


def read_yaml(text: str) -> Any:
    """Parse study YAML: YAML 1.2 booleans (``on``/``yes`` stay strings) and duplicate keys are an error."""
    return yaml.load(text, Loader=_StudyLoader)  # noqa: S506 - a SafeLoader subclass


def load_config(path: str | Path) -> StudyConfig:
    """Read and validate a YAML study configuration; errors name the key path and the line number."""
    path = Path(path)
    if not path.is_file():
        message = f"Study configuration file not found: '{path}'. Pass the path of a YAML file (see examples/)."
        raise ConfigError(message)
    text = path.read_text(encoding="utf-8")
    try:
        data = read_yaml(text)
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
