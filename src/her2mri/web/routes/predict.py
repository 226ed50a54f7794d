"""JSON API: POST /api/predict, POST /api/predict/batch, GET /api/schema.

No ``from __future__ import annotations`` here: FastAPI must see the request models built at app start as
real annotations.
"""

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from her2mri.exceptions import CohortError
from her2mri.web.db import StoreUnavailable
from her2mri.web.deps import BundleDep, SettingsDep, TokenDep
from her2mri.web.schemas import BatchPublic, PredictionPublic

__all__ = ["issues_to_detail", "make_router"]


def issues_to_detail(exc: CohortError, prefix: tuple[Any, ...], batch: bool) -> list[dict[str, Any]]:
    """FastAPI-style 422 detail (one entry per problem) from a CohortError's issues."""
    detail = []
    for issue in exc.issues:
        loc: list[Any] = list(prefix)
        if batch and issue.row is not None:
            loc.append(issue.row - 1)
        if issue.column is not None:
            loc.append(issue.column)
        message = issue.message + (f"; accepted: {issue.accepted}" if issue.accepted else "")
        detail.append({"loc": loc, "msg": message, "type": "value_error", "input": issue.value})
    return detail or [{"loc": list(prefix), "msg": str(exc), "type": "value_error"}]


def make_router(case_model: type[BaseModel], batch_model: type[BaseModel]) -> APIRouter:
    """Router bound to the request models built from the bundle's schema."""
    router = APIRouter(prefix="/api", tags=["predict"])

    def _cases(items: list[BaseModel]) -> list[dict[str, Any]]:
        return [item.model_dump(by_alias=True) for item in items]

    async def _predict(request: Request, cases: list[dict[str, Any]], source: str, prefix: tuple[Any, ...],
                       batch: bool) -> list[PredictionPublic]:
        try:
            return await request.app.state.coalescer.submit(cases, source)
        except CohortError as exc:
            raise HTTPException(422, issues_to_detail(exc, prefix, batch)) from None
        except StoreUnavailable as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from None

    @router.post(
        "/predict", response_model=PredictionPublic, summary="Predict one lesion",
        responses={503: {"description": "The prediction store could not save; nothing was stored."}},
    )
    async def predict_one(
        case: case_model,  # type: ignore[valid-type]
        request: Request,
        _auth: TokenDep,
    ) -> PredictionPublic:
        """Probabilities of HER2-zero / low / positive, calls at the model's thresholds, per-input
        contributions, nomogram points, out-of-distribution warnings and the conformal set. Stored."""
        return (await _predict(request, _cases([case]), "api", ("body",), False))[0]

    @router.post(
        "/predict/batch", response_model=BatchPublic, summary="Predict several lesions",
        responses={503: {"description": "The prediction store could not save; nothing was stored."}},
    )
    async def predict_batch(
        batch: batch_model,  # type: ignore[valid-type]
        request: Request,
        settings: SettingsDep,
        _auth: TokenDep,
    ) -> BatchPublic:
        """Same as /api/predict for a list of lesions (at most the server's batch limit), stored in one
        transaction: all or none."""
        cases = batch.cases  # type: ignore[attr-defined]
        if len(cases) > settings.max_batch:
            raise HTTPException(
                413,
                f"Batch of {len(cases)} cases exceeds the limit of {settings.max_batch}; split it.",
            )
        predictions = await _predict(request, _cases(cases), "api-batch", ("body", "cases"), True)
        return BatchPublic(n=len(predictions), predictions=predictions)

    @router.get("/schema", summary="Inputs the model needs")
    async def schema(bundle: BundleDep) -> dict[str, Any]:
        """The bundle's input schema: columns, kinds, canonical levels with labels, units, plausible ranges."""
        return bundle.schema.to_dict()

    return router
