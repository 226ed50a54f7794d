"""The FastAPI application factory of the clinician web app."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import jinja2
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from her2mri import __version__
from her2mri.bundle import ModelBundle, load_bundle
from her2mri.web.db import PredictionStore
from her2mri.web.routes import health, pages
from her2mri.web.routes import predict as predict_routes
from her2mri.web.schemas import batch_request_model, case_request_model
from her2mri.web.security import CrossSiteGuard, ErrorShield, SecurityHeadersMiddleware
from her2mri.web.service import PredictionCoalescer, predict_public
from her2mri.web.settings import WebSettings

__all__ = ["BodySizeLimitMiddleware", "create_app"]

_HERE = Path(__file__).parent
logger = logging.getLogger("her2mri.web")


class BodySizeLimitMiddleware:
    """Reject request bodies larger than ``max_bytes`` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._reject(send)
            return
        received = 0
        rejected = False

        async def limited_receive() -> Message:
            nonlocal received, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    rejected = True
                    await self._reject(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not rejected:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not rejected:
                raise

    async def _reject(self, send: Send) -> None:
        body = f'{{"detail": "Request body larger than {self.max_bytes} bytes."}}'.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, with non-finite inputs (NaN, ±Infinity) echoed as text: JSON cannot carry them."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse(status_code=422, content={"detail": _finite(jsonable_encoder(errors))})


def _warm_up(bundle: ModelBundle, settings: WebSettings, coalescer: PredictionCoalescer) -> None:
    """Predictions with explanation on a background row, not stored: imports and explainer set-up happen at
    start instead of in the first clinician's request, and the second call gives the coalescer its first
    estimate of the time per case."""
    try:
        case = bundle.background.iloc[0].to_dict()
        for _ in range(2):
            start = time.perf_counter()
            predict_public(bundle, [case], top_k=settings.top_k,
                           explain_time_budget_s=settings.explain_time_budget_s, sources=["warm-up"])
        coalescer.observe(time.perf_counter() - start, 1)
    except Exception as exc:  # noqa: BLE001 - a failed warm-up only costs the first request time
        logger.warning("warm-up prediction failed (%s); the first request will be slower", type(exc).__name__)


def create_app(settings: WebSettings | None = None, *, bundle: ModelBundle | None = None, **overrides: Any) -> FastAPI:
    """Build the app: load the bundle (verified), open the prediction store, mount routers, pages, static files.

    ``settings`` defaults to ``WebSettings(**overrides)`` (environment ``HER2MRI_*`` also read). A preloaded
    ``bundle`` skips loading from ``settings.model_path``. The bundle is loaded once here and shared by every
    request; predictions run in at most ``settings.workers`` threads, off the event loop, with the store write
    in the same thread, and requests waiting meanwhile are coalesced (:class:`~her2mri.web.service.
    PredictionCoalescer`).
    """
    settings = settings if settings is not None else WebSettings(**overrides)
    bundle = bundle if bundle is not None else load_bundle(settings.model_path)
    store = PredictionStore(settings.resolved_database_url, pool_size=settings.db_pool_size)
    case_model = case_request_model(bundle.schema)
    batch_model = batch_request_model(case_model)

    coalescer = PredictionCoalescer(
        bundle, store, top_k=settings.top_k, explain_time_budget_s=settings.explain_time_budget_s,
        workers=settings.workers, max_cases=settings.max_coalesce,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.warm_up:
            await anyio.to_thread.run_sync(_warm_up, bundle, settings, coalescer)
        yield
        store.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="her2mri",
        version=__version__,
        description=(
            "HER2 status (zero / low / positive) from breast MRI descriptors and clinical values. "
            "For research use only; not a medical device."
        ),
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN; /openapi.json describes the API
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.bundle = bundle
    app.state.store = store
    app.state.case_model = case_model
    app.state.coalescer = coalescer
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_HERE / "templates")),
        autoescape=True,  # every template, whatever its suffix
    )
    app.state.templates = Jinja2Templates(env=env)
    env.filters["pct"] = lambda v: "—" if v is None else f"{100 * float(v):.1f}%"
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(CrossSiteGuard, trusted_origins=settings.trusted_origins)
    app.add_middleware(ErrorShield)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")
    app.include_router(health.router)
    app.include_router(predict_routes.make_router(case_model, batch_model))
    app.include_router(pages.router)

    if settings.token is None and not settings.is_loopback:
        logger.warning(
            "NO ACCESS TOKEN on host %s: anyone who can reach this server can submit cases and read every stored "
            "prediction. Start it with a token (her2mri serve --token …).", settings.host,
        )
    logger.info("serving model %s", (bundle.sha256 or "")[:12])
    return app
