"""Prediction service of the web app: validate cases with the bundle, predict, explain, store, and shape the
public response. Shared by the JSON API and the form page."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from her2mri.bundle import RESEARCH_USE_STATEMENT, ModelBundle
from her2mri.models.tasks import TASKS
from her2mri.web.db import PredictionRecord, PredictionStore
from her2mri.web.schemas import (
    ContributionPublic,
    NomogramPublic,
    PredictionPublic,
    ProbabilitiesPublic,
    TaskPublic,
)

__all__ = ["run_predictions"]

logger = logging.getLogger("her2mri.web")


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _set_members(text: str | None) -> list[str] | None:
    if text is None:
        return None
    inner = text.strip().strip("{}")
    return [m.strip() for m in inner.split(",") if m.strip()]


def _tasks(bundle: ModelBundle, result: Any, i: int) -> list[TaskPublic]:
    row = result.table.iloc[i]
    out = []
    for name, tm in bundle.task_models.items():
        exp = result.explanations[name]
        contributions: list[ContributionPublic] = []
        if i < exp.n_explained:
            values = exp.values[i]
            order = np.argsort(-np.abs(values), kind="mergesort")
            contributions = [
                ContributionPublic(
                    feature=exp.feature_names[j],
                    value=_plain(exp.data.iloc[i, j]),
                    contribution=float(values[j]),
                )
                for j in order
            ]
        out.append(
            TaskPublic(
                task=name,
                title=TASKS[name].title if name in TASKS else name,
                model_name=tm.model_name,
                probability=float(row[f"p_{name}"]),
                threshold=float(tm.threshold),
                call=str(row[f"call_{name}"]),
                positive_label=tm.positive_label,
                negative_label=tm.negative_label,
                explanation_method=exp.method if contributions else None,
                explanation_scale=exp.output if contributions else None,
                base_value=float(exp.base_value) if contributions else None,
                contributions=contributions,
            )
        )
    return out


def run_predictions(
    bundle: ModelBundle,
    store: PredictionStore,
    cases: Sequence[Mapping[str, Any]],
    *,
    top_k: int,
    explain_time_budget_s: float,
    source: str,
) -> list[PredictionPublic]:
    """Predict and store each case; raises :class:`~her2mri.exceptions.CohortError` for invalid cases."""
    frame = pd.DataFrame([dict(c) for c in cases])
    for column in bundle.schema.names:
        if column not in frame.columns:
            frame[column] = None
    result = bundle.predict_cases(
        frame, top_k=top_k, explain_time_budget_s=explain_time_budget_s, source="request"
    )
    created = _dt.datetime.now(_dt.UTC)
    sha = str(bundle.sha256 or "")
    public: list[PredictionPublic] = []
    records: list[PredictionRecord] = []
    for i in range(len(result.table)):
        row = result.table.iloc[i]
        nomograms = [
            NomogramPublic(
                task=task,
                model_name=bundle.nomograms[task].model_name,
                total_points=float(score["total_points"]),
                probability=float(score["probability"]),
                points={k: float(v) for k, v in score["points"].items()},
            )
            for task, score in result.nomogram[i].items()
        ]
        case = cases[i]
        inputs = {c: _plain(result.cases.iloc[i][c]) for c in bundle.schema.names}
        prediction = PredictionPublic(
            created=created,
            case_reference=case.get("case_reference"),
            lesion_id=case.get("lesion_id"),
            model_version=bundle.her2mri_version,
            model_sha256=sha,
            inputs=inputs,
            probabilities=ProbabilitiesPublic(
                zero=_num(row["p_zero"]), low=_num(row["p_low"]), positive=_num(row["p_positive"])
            ),
            call=str(row["call"]),
            prediction_set=_set_members(row["prediction_set"]),
            tasks=_tasks(bundle, result, i),
            nomograms=nomograms,
            out_of_distribution=bool(row["out_of_distribution"]),
            ood_reasons=list(result.ood[i]),
            imputed=[c for c in str(row["imputed"]).split(", ") if c],
            research_use=RESEARCH_USE_STATEMENT,
        )
        outputs = prediction.model_dump(
            mode="json", exclude={"id", "created", "case_reference", "lesion_id", "inputs"}
        )
        records.append(
            PredictionRecord(
                created=created,
                case_reference=case.get("case_reference"),
                lesion_id=case.get("lesion_id"),
                model_version=bundle.her2mri_version,
                model_sha256=sha,
                call=prediction.call,
                p_zero=prediction.probabilities.zero,
                p_low=prediction.probabilities.low,
                p_positive=prediction.probabilities.positive,
                out_of_distribution=prediction.out_of_distribution,
                source=source,
                inputs_json=json.dumps(inputs),
                outputs_json=json.dumps(outputs),
            )
        )
        public.append(prediction)
    ids = store.add(records)
    for prediction, identifier in zip(public, ids, strict=True):
        prediction.id = identifier
    logger.info("stored predictions %s", ",".join(str(i) for i in ids))
    return public
