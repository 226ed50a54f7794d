"""Request and response models of the JSON API.

The case model is built from the bundle's input schema at app start (:func:`case_request_model`): one field
per input, categorical inputs as ``Literal`` of their canonical levels (plus ``not_applicable`` for mass/NME
descriptors), yes/no inputs as booleans, numbers bounded by their plausible range with the unit in the field
description. Every input must be present; ``null`` means unknown (the model imputes it). Unknown fields are
rejected; NaN and ±Infinity (which Python's JSON reader accepts) are refused as not finite. The same model
validates the form, so the form and the API share every limit.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from her2mri.bundle.schema import NOT_APPLICABLE, InputSchema
from her2mri.web.db import MAX_REFERENCE_LENGTH

__all__ = [
    "BatchPublic",
    "ContributionPublic",
    "NomogramPublic",
    "PredictionPublic",
    "ProbabilitiesPublic",
    "TaskPublic",
    "batch_request_model",
    "case_request_model",
    "field_name",
]

_NON_WORD = re.compile(r"\W")


def field_name(column: str) -> str:
    """Python identifier used for a cohort column in the request model (the column name itself if valid)."""
    name = _NON_WORD.sub("_", column)
    return f"f_{name}" if name[:1].isdigit() or name.startswith("_") else name


def case_request_model(schema: InputSchema) -> type[BaseModel]:
    """Pydantic model ``CaseRequest`` for one lesion, built from the bundle's input schema."""
    fields: dict[str, Any] = {
        "case_reference": (
            str | None,
            Field(None, max_length=MAX_REFERENCE_LENGTH,
                  description="Optional reference (no patient names or record numbers)."),
        ),
        "lesion_id": (
            str | None, Field(None, max_length=MAX_REFERENCE_LENGTH, description="Optional lesion identifier.")
        ),
    }
    for spec in schema.columns:
        alias = spec.name if field_name(spec.name) != spec.name else None
        description = spec.description or spec.name
        if spec.kind == "categorical":
            levels = list(spec.values) + ([NOT_APPLICABLE] if spec.applies_to is not None else [])
            annotation: Any = Literal[tuple(levels)] | None  # type: ignore[valid-type]
            if spec.applies_to is not None:
                description += f" Only for lesions with a {spec.applies_to} component; else '{NOT_APPLICABLE}'."
            info = Field(..., description=description, alias=alias)
        elif spec.kind == "binary":
            annotation = bool | None
            info = Field(..., description=f"{description} (yes/no)", alias=alias)
        else:
            annotation = float | None
            low, high = spec.plausible if spec.plausible is not None else (None, None)
            unit = f" Unit: {spec.unit}." if spec.unit else ""
            info = Field(..., description=f"{description}{unit}", ge=low, le=high, alias=alias)
        fields[field_name(spec.name)] = (annotation, info)
    return create_model(
        "CaseRequest",
        __config__=ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False),
        __doc__="One lesion: every model input (null = unknown, imputed by the model).",
        **fields,
    )


def batch_request_model(case_model: type[BaseModel]) -> type[BaseModel]:
    """Pydantic model ``BatchRequest``: ``{"cases": [CaseRequest, …]}``."""
    return create_model(
        "BatchRequest",
        __config__=ConfigDict(extra="forbid"),
        __doc__="Several lesions predicted in one request (at most the server's batch limit).",
        cases=(list[case_model], Field(..., min_length=1)),  # type: ignore[valid-type]
    )


class ProbabilitiesPublic(BaseModel):
    zero: float | None
    low: float | None
    positive: float | None


class ContributionPublic(BaseModel):
    feature: str
    value: Any = None
    contribution: float


class TaskPublic(BaseModel):
    task: str
    title: str
    model_name: str
    probability: float
    threshold: float
    call: str
    positive_label: str
    negative_label: str
    explanation_method: str | None
    explanation_scale: str | None
    base_value: float | None
    contributions: list[ContributionPublic]


class NomogramPublic(BaseModel):
    task: str
    model_name: str
    total_points: float
    probability: float
    points: dict[str, float]


class PredictionPublic(BaseModel):
    id: int | None = None
    created: _dt.datetime
    case_reference: str | None
    lesion_id: str | None
    model_version: str
    model_sha256: str
    inputs: dict[str, Any]
    probabilities: ProbabilitiesPublic
    call: str
    prediction_set: list[str] | None
    tasks: list[TaskPublic]
    nomograms: list[NomogramPublic]
    out_of_distribution: bool
    ood_reasons: list[str]
    imputed: list[str]
    research_use: str


class BatchPublic(BaseModel):
    n: int
    predictions: list[PredictionPublic]
