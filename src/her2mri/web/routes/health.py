"""GET /health and /version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from her2mri import __version__
from her2mri.web.deps import BundleDep, StoreDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(bundle: BundleDep, store: StoreDep) -> dict[str, Any]:
    """Liveness: the model is loaded and the store answers."""
    return {"status": "ok", "model_loaded": bundle is not None, "stored_predictions": store.count()}


@router.get("/version")
def version(bundle: BundleDep) -> dict[str, Any]:
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
