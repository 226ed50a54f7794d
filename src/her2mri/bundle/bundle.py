"""The model bundle: fitted task pipelines, hierarchy, input schema, thresholds and everything needed to predict.

A :class:`ModelBundle` is what a study leaves behind for use on new cases (``her2mri predict``, the web app).
It holds, per binary task, the fitted pipeline and the threshold fixed on the training data; the hierarchy
composing two tasks into zero / low / positive probabilities; the input schema built from the cohort vocabulary;
a summary of the training cohort for out-of-distribution checks; a background sample for explanations;
nomograms of the logistic models; optional conformal state; metrics, versions and a model card.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pandas as pd

from her2mri import __version__
from her2mri.bundle.card import render_model_card
from her2mri.bundle.nomogram import Nomogram, build_nomogram, is_linear_pipeline
from her2mri.bundle.ood import TrainingSummary, check_ood, summarise_training
from her2mri.bundle.schema import InputSchema, build_input_schema
from her2mri.exceptions import BundleError, Her2MriWarning
from her2mri.models.explain import Explanation, explain, format_contributions
from her2mri.models.tasks import HIERARCHIES, TASKS, THREE_CLASS_LABELS, compose_three_class

__all__ = ["BUNDLE_FORMAT_VERSION", "ModelBundle", "PredictionResult", "TaskModel", "build_bundle"]

BUNDLE_FORMAT_VERSION = 1
_PACKAGES = ("numpy", "pandas", "scikit-learn", "scipy", "shap", "skops")


@dataclass(frozen=True)
class TaskModel:
    """One fitted binary task model: ``pipeline.predict_proba(frame[input_columns])[:, 1]`` is
    P(``positive_label``); the call is ``positive_label`` when that probability is ``>= threshold``."""

    task: str
    model_name: str
    pipeline: Any
    threshold: float
    input_columns: tuple[str, ...]
    positive_label: str
    negative_label: str
    metrics: Mapping[str, Any] = field(default_factory=dict)

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        X = frame.loc[:, list(self.input_columns)]
        return np.asarray(self.pipeline.predict_proba(X), dtype=float)[:, 1]

    def meta(self) -> dict[str, Any]:
        """JSON-safe description (everything but the pipeline)."""
        return {
            "task": self.task,
            "model_name": self.model_name,
            "threshold": float(self.threshold),
            "input_columns": list(self.input_columns),
            "positive_label": self.positive_label,
            "negative_label": self.negative_label,
            "metrics": dict(self.metrics),
        }


@dataclass(frozen=True)
class PredictionResult:
    """Everything :meth:`ModelBundle.predict_cases` computes.

    ``table`` is the per-lesion prediction table (:meth:`ModelBundle.predict` returns it); ``cases`` the
    validated canonical inputs; ``explanations`` the SHAP explanation per task (rows may be fewer than cases
    when a model-agnostic explainer ran out of time); ``ood`` the out-of-distribution reasons per row;
    ``nomogram`` per row and task, the points (or empty when the bundle has no logistic nomogram).
    """

    table: pd.DataFrame
    cases: pd.DataFrame
    explanations: Mapping[str, Explanation]
    ood: tuple[tuple[str, ...], ...]
    nomogram: tuple[Mapping[str, Mapping[str, Any]], ...]


@dataclass(frozen=True, eq=False)
class ModelBundle:
    """A fitted, self-describing HER2 model. Build with :func:`build_bundle`; persist with
    :func:`~her2mri.bundle.save_bundle` / :func:`~her2mri.bundle.load_bundle`."""

    task_models: Mapping[str, TaskModel]
    hierarchy: str | None
    schema: InputSchema
    training_summary: TrainingSummary
    background: pd.DataFrame
    config: Mapping[str, Any]
    metrics: Mapping[str, Any]
    conformal: Mapping[str, Any] | None
    nomograms: Mapping[str, Nomogram]
    versions: Mapping[str, str]
    created: str
    card: str
    format_version: int = BUNDLE_FORMAT_VERSION
    her2mri_version: str = __version__
    sha256: str | None = None

    # ------------------------------------------------------------------------------------------ metadata
    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.task_models)

    @property
    def stages(self) -> tuple[str, ...]:
        """Task names in decision order: the hierarchy's two stages, or the single task."""
        if self.hierarchy is not None:
            return HIERARCHIES[self.hierarchy]
        return self.tasks

    @property
    def has_three_class(self) -> bool:
        return self.hierarchy is not None

    def meta(self) -> dict[str, Any]:
        """JSON-safe bundle description (no pipelines, no background)."""
        return {
            "format_version": self.format_version,
            "her2mri_version": self.her2mri_version,
            "created": self.created,
            "hierarchy": self.hierarchy,
            "tasks": {name: tm.meta() for name, tm in self.task_models.items()},
            "config": dict(self.config),
            "metrics": dict(self.metrics),
            "versions": dict(self.versions),
            "sha256": self.sha256,
        }

    # ---------------------------------------------------------------------------------------- prediction
    def validate(self, frame: pd.DataFrame, *, source: str = "<cases>") -> pd.DataFrame:
        """Canonical inputs; raises :class:`~her2mri.exceptions.CohortError` listing every problem."""
        return self.schema.validate(frame, source=source)

    def predict(
        self, frame: pd.DataFrame, *, top_k: int = 3, explain_time_budget_s: float | None = None
    ) -> pd.DataFrame:
        """Per-lesion prediction table (see :meth:`predict_cases`)."""
        return self.predict_cases(frame, top_k=top_k, explain_time_budget_s=explain_time_budget_s).table

    def predict_cases(
        self,
        frame: pd.DataFrame,
        *,
        top_k: int = 3,
        explain_time_budget_s: float | None = None,
        source: str = "<cases>",
    ) -> PredictionResult:
        """Validate the cases and predict.

        Columns of the table, always present: ``lesion_id``; ``p_zero``, ``p_low``, ``p_positive`` (three-class
        composition through the hierarchy; NaN for a single-task bundle, except ``p_positive`` for
        ``positive_vs_negative``); ``call`` (decided at the bundle's thresholds: first stage, then second);
        per task ``p_<task>``, ``call_<task>`` and ``top_contributions_<task>`` (e.g.
        ``"ki67_percent +0.21; er_status −0.15"``, on the explainer's scale); ``out_of_distribution`` (bool) and
        ``ood_reasons``; ``imputed`` (inputs left empty, filled by the pipelines); ``prediction_set``
        (conformal set, e.g. ``"{low, positive}"``, or None without conformal state).
        """
        cases = self.validate(frame, source=source)
        n = len(cases)
        table = pd.DataFrame(index=range(n))
        if "lesion_id" in cases.columns:
            table["lesion_id"] = cases["lesion_id"].to_numpy(dtype=object)
        elif "patient_id" in cases.columns:
            table["lesion_id"] = cases["patient_id"].to_numpy(dtype=object)
        else:
            table["lesion_id"] = [str(i + 1) for i in range(n)]
        inputs = cases.reset_index(drop=True)
        probabilities = {name: tm.probability(inputs) for name, tm in self.task_models.items()}
        P = self._three_class(probabilities, n)
        for j, label in enumerate(THREE_CLASS_LABELS):
            table[f"p_{label}"] = P[:, j]
        table["call"] = self._calls(probabilities, n)
        explanations = self._explain(inputs, explain_time_budget_s)
        for name, tm in self.task_models.items():
            table[f"p_{name}"] = probabilities[name]
            table[f"call_{name}"] = np.where(probabilities[name] >= tm.threshold, tm.positive_label, tm.negative_label)
            texts = [format_contributions(pairs) for pairs in explanations[name].top_contributions(top_k)]
            texts += ["not computed (explanation time budget)"] * (n - len(texts))
            table[f"top_contributions_{name}"] = texts
        ood = tuple(tuple(r) for r in check_ood(inputs, self.training_summary))
        table["out_of_distribution"] = [bool(r) for r in ood]
        table["ood_reasons"] = ["; ".join(r) for r in ood]
        table["imputed"] = [
            ", ".join(c for c in self.schema.names if pd.isna(inputs.at[i, c])) for i in range(n)
        ]
        table["prediction_set"] = self._prediction_sets(P)
        nomogram = tuple(
            {task: nomo.score(inputs.iloc[i].to_dict()) for task, nomo in self.nomograms.items()} for i in range(n)
        )
        return PredictionResult(table=table, cases=inputs, explanations=explanations, ood=ood, nomogram=nomogram)

    def _three_class(self, probabilities: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        if self.hierarchy is not None:
            first, second = HIERARCHIES[self.hierarchy]
            return np.asarray(compose_three_class(probabilities[first], probabilities[second], self.hierarchy))
        P = np.full((n, 3), np.nan)
        if "positive_vs_negative" in probabilities:
            P[:, 2] = probabilities["positive_vs_negative"]
        return P

    @property
    def call_rule(self) -> str:
        """The three-class call rule of the study that built the bundle (``thresholds`` unless configured)."""
        three = ((self.config or {}).get("tasks") or {}).get("three_class") or {}
        return str(three.get("call") or "thresholds")

    def _calls(self, probabilities: Mapping[str, np.ndarray], n: int) -> list[str]:
        stages = [self.task_models[name] for name in self.stages]
        if self.hierarchy is not None:
            from her2mri.models.three_class import three_class_call

            first, second = stages
            calls = three_class_call(probabilities[first.task], probabilities[second.task], self.hierarchy,
                                     rule=self.call_rule, thresholds=(first.threshold, second.threshold))
            return [str(c) for c in calls]
        first = stages[0]
        calls = np.where(probabilities[first.task] >= first.threshold, first.positive_label, "")
        if len(stages) > 1:
            second = stages[1]
            later = np.where(
                probabilities[second.task] >= second.threshold, second.positive_label, second.negative_label
            )
            calls = np.where(calls == "", later, calls)
        else:
            calls = np.where(calls == "", first.negative_label, calls)
        return [str(c) for c in calls]

    def _explain(self, inputs: pd.DataFrame, budget: float | None) -> dict[str, Explanation]:
        out = {}
        for name, tm in self.task_models.items():
            columns = list(tm.input_columns)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Her2MriWarning)
                out[name] = explain(tm.pipeline, self.background[columns], inputs[columns], time_budget_s=budget)
        return out

    def _prediction_sets(self, P: np.ndarray) -> list[str | None]:
        if self.conformal is None or np.isnan(P).any():
            return [None] * len(P)
        from her2mri.models.conformal import ClassConditionalConformal

        return list(ClassConditionalConformal.from_dict(dict(self.conformal)).set_labels(P))


# ----------------------------------------------------------------------------------------------- building
def package_versions() -> dict[str, str]:
    """Versions recorded in a bundle: her2mri, Python and the numerical packages."""
    out = {"her2mri": __version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _check_task_models(task_models: Mapping[str, TaskModel], hierarchy: str | None) -> None:
    if not task_models:
        msg = "build_bundle needs at least one task model; got an empty 'task_models' mapping."
        raise BundleError(msg)
    for key, tm in task_models.items():
        if not isinstance(tm, TaskModel):
            msg = f"task_models[{key!r}] must be a TaskModel; got {type(tm).__name__}."
            raise BundleError(msg)
        if key != tm.task:
            msg = f"task_models key {key!r} differs from its TaskModel.task {tm.task!r}; use the task name as key."
            raise BundleError(msg)
        if tm.task not in TASKS:
            msg = f"Unknown task {tm.task!r}; accepted: {', '.join(TASKS)}."
            raise BundleError(msg)
        if not hasattr(tm.pipeline, "predict_proba"):
            msg = f"The pipeline of task {tm.task!r} has no predict_proba; pass a fitted classifier pipeline."
            raise BundleError(msg)
    if hierarchy is not None:
        if hierarchy not in HIERARCHIES:
            msg = f"Unknown hierarchy {hierarchy!r}; accepted: {', '.join(HIERARCHIES)}, or None for one task."
            raise BundleError(msg)
        missing = [t for t in HIERARCHIES[hierarchy] if t not in task_models]
        if missing:
            msg = (
                f"Hierarchy {hierarchy!r} needs task models for {', '.join(HIERARCHIES[hierarchy])}; "
                f"missing: {', '.join(missing)}."
            )
            raise BundleError(msg)
    elif len(task_models) > 1:
        msg = (
            f"A bundle with {len(task_models)} tasks needs a hierarchy to compose them; accepted: "
            f"{', '.join(HIERARCHIES)}."
        )
        raise BundleError(msg)


def _ki67_cutoff(config: Mapping[str, Any]) -> float:
    cohort = config.get("cohort") if isinstance(config, Mapping) else None
    subtype = cohort.get("subtype") if isinstance(cohort, Mapping) else None
    value = subtype.get("ki67_cutoff") if isinstance(subtype, Mapping) else None
    return float(value) if value is not None else 20.0


def _created_now() -> str:
    """The bundle's creation time: ``SOURCE_DATE_EPOCH`` (the reproducible-builds convention) when set, else
    empty. A bundle holds no wall-clock value by default, so the same config and seed give byte-identical files;
    the run's own time is in results.json and run.log."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return _dt.datetime.fromtimestamp(int(epoch), _dt.UTC).isoformat()
        except (ValueError, OverflowError, OSError):
            msg = f"SOURCE_DATE_EPOCH must be whole seconds since 1970-01-01 UTC; got {epoch!r}."
            raise BundleError(msg) from None
    return ""


def build_bundle(
    *,
    task_models: Mapping[str, TaskModel],
    hierarchy: str | None,
    training_frame: pd.DataFrame,
    config: Mapping[str, Any],
    metrics: Mapping[str, Any],
    conformal: Mapping[str, Any] | None = None,
    nomogram_models: Mapping[str, TaskModel] | None = None,
    background_size: int = 100,
    random_state: int = 0,
    created: str | None = None,
) -> ModelBundle:
    """Assemble a :class:`ModelBundle` from fitted task models and the (canonical) training frame.

    ``training_frame`` is the frame the models were fitted on (canonical cohort columns); it gives the input
    schema's levels for columns outside the vocabulary, the out-of-distribution summary and a background sample
    of ``background_size`` rows (seeded by ``random_state``) for explanations. ``nomogram_models`` optionally
    adds logistic models whose nomograms are shown when a chosen model is not logistic.
    ``conformal`` is :meth:`her2mri.models.conformal.ClassConditionalConformal.to_dict` output.
    ``created`` (ISO 8601) defaults to the time given by the ``SOURCE_DATE_EPOCH`` environment variable (the
    reproducible-builds convention) when set, else it is left empty: a bundle holds no wall-clock value unless
    asked to, so the same config and seed give byte-identical bundle files.
    """
    _check_task_models(task_models, hierarchy)
    columns: list[str] = []
    for tm in task_models.values():
        columns += [c for c in tm.input_columns if c not in columns]
    missing = [c for c in columns if c not in training_frame.columns]
    if missing:
        msg = f"build_bundle: the training frame lacks input column(s) {missing} that the task models use."
        raise BundleError(msg)
    if conformal is not None:
        from her2mri.models.conformal import ClassConditionalConformal

        ClassConditionalConformal.from_dict(dict(conformal))
    schema = build_input_schema(columns, training_frame, ki67_cutoff=_ki67_cutoff(config))
    summary = summarise_training(training_frame, schema)
    rng = np.random.default_rng(random_state)
    n_bg = min(background_size, len(training_frame))
    rows = np.sort(rng.choice(len(training_frame), size=n_bg, replace=False))
    background = training_frame.iloc[rows][columns].reset_index(drop=True)
    nomograms: dict[str, Nomogram] = {}
    candidates = dict(task_models)
    for name, tm in (nomogram_models or {}).items():
        if not is_linear_pipeline(candidates[name].pipeline if name in candidates else None):
            candidates[name] = tm
    for name, tm in candidates.items():
        if is_linear_pipeline(tm.pipeline):
            nomograms[name] = build_nomogram(
                name, tm.model_name, tm.pipeline, list(tm.input_columns), schema, summary,
                training_frame[list(tm.input_columns)],
            )
    created = created if created is not None else _created_now()
    versions = package_versions()
    card = render_model_card(
        task_models=task_models, hierarchy=hierarchy, schema=schema, summary=summary, metrics=metrics,
        config=config, versions=versions, created=created, has_conformal=conformal is not None,
    )
    return ModelBundle(
        task_models=dict(task_models),
        hierarchy=hierarchy,
        schema=schema,
        training_summary=summary,
        background=background,
        config=dict(config),
        metrics=dict(metrics),
        conformal=dict(conformal) if conformal is not None else None,
        nomograms=nomograms,
        versions=versions,
        created=created,
        card=card,
    )
