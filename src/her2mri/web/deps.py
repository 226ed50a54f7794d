"""Annotated dependencies of the web app: settings, the loaded bundle, the prediction store, the token check."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from her2mri.bundle import ModelBundle
from her2mri.web.db import PredictionStore
from her2mri.web.settings import WebSettings

__all__ = [
    "TOKEN_COOKIE",
    "BundleDep",
    "CredentialsDep",
    "SettingsDep",
    "StoreDep",
    "TokenDep",
    "in_worker",
    "supplied_token",
    "token_is_valid",
]

TOKEN_COOKIE = "her2mri_token"
_bearer = HTTPBearer(auto_error=False, description="Needed only when the server was started with --token.")


async def get_settings(request: Request) -> WebSettings:
    return request.app.state.settings


async def get_bundle(request: Request) -> ModelBundle:
    return request.app.state.bundle


async def get_store(request: Request) -> PredictionStore:
    return request.app.state.store


SettingsDep = Annotated[WebSettings, Depends(get_settings)]
BundleDep = Annotated[ModelBundle, Depends(get_bundle)]
StoreDep = Annotated[PredictionStore, Depends(get_store)]


def supplied_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    """The bearer token of the request, else the token cookie set by the form."""
    return credentials.credentials if credentials is not None else request.cookies.get(TOKEN_COOKIE)


def token_is_valid(settings: WebSettings, supplied: str | None) -> bool:
    """True when no token is configured, or ``supplied`` equals it (constant-time comparison)."""
    if settings.token is None:
        return True
    if not supplied:
        return False
    return secrets.compare_digest(supplied.encode(), settings.token.get_secret_value().encode())


async def require_token(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Bearer token (or the cookie set by the form) when the server has one."""
    if not token_is_valid(settings, supplied_token(request, credentials)):
        raise HTTPException(
            status_code=401,
            detail="Missing or invalid token: send 'Authorization: Bearer <token>' (the token given to her2mri serve).",
            headers={"WWW-Authenticate": "Bearer"},
        )


TokenDep = Annotated[None, Depends(require_token)]
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

_T = TypeVar("_T")


async def in_worker(request: Request, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Run blocking ``fn`` (a store read) in a worker thread so the event loop stays free. Predictions go
    through ``request.app.state.coalescer`` instead."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
