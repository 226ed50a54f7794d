"""GET /health and /version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from her2mri import __version__
from her2mri.web.db import StoreUnavailable
from her2mri.web.deps import (
    BundleDep,
    CredentialsDep,
    SettingsDep,
    StoreDep,
    in_worker,
    supplied_token,
    token_is_valid,
)

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(
    request: Request, bundle: BundleDep, store: StoreDep, settings: SettingsDep, credentials: CredentialsDep
) -> dict[str, Any]:
    """Liveness. With the server's token (configured and sent), also the model and the store's state; without
    it nothing about the store is said."""
    body: dict[str, Any] = {"status": "ok"}
    if settings.token is not None and token_is_valid(settings, supplied_token(request, credentials)):
        try:
            count: int | None = await in_worker(request, store.count)
        except StoreUnavailable:
            count = None
        body |= {"model_loaded": bundle is not None, "store": "ok" if count is not None else "unavailable",
                 "stored_predictions": count}
    return body


@router.get("/version")
async def version(bundle: BundleDep) -> dict[str, Any]:
    """Versions of the server and of the model bundle it serves."""
    return {
        "her2mri": __version__,
        "model": {
            "her2mri_version": bundle.her2mri_version,
            "format_version": bundle.format_version,
            "sha256": bundle.sha256,
            "created": bundle.created,
            "hierarchy": bundle.hierarchy,
            "tasks": {name: tm.model_name for name, tm in bundle.task_models.items()},
        },
    }
