"""Browser-facing protections of the web app, as plain ASGI middleware.

* :class:`SecurityHeadersMiddleware` – a Content-Security-Policy without inline script or style
  (``script-src 'self'``; the pages load only ``/static`` files), ``frame-ancestors 'none'`` and
  ``X-Frame-Options: DENY`` (no framing, so no click-jacking), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin`` (no address leaves the site; ``no-referrer`` would make browsers send
  ``Origin: null`` on the app's own form posts), ``Cross-Origin-Opener-Policy``/``-Resource-Policy`` and ``no-store`` caching
  of anything but static files.
* :class:`CrossSiteGuard` – refuses (403, nothing stored) a state-changing request that a browser sent from
  another origin: ``Origin`` (or, without it, ``Referer``) must name this server (its ``Host``) or a configured
  trusted origin, ``Sec-Fetch-Site: cross-site`` is refused outright and ``same-origin`` accepted; stored predictions (``/predictions``,
  ``/predictions.csv``) are not served to cross-site navigations either. This holds with and without an access
  token, so a page elsewhere cannot make a clinician's browser submit or read cases. Requests without any of
  these headers come from programs (curl, scripts), not browsers, and are let through (the token guards them).
* :class:`ErrorShield` – an unexpected exception becomes a plain 500 and is logged by class and route only:
  exception messages and tracebacks can quote request bodies (case references, inputs), which must not reach
  logs.

Written here rather than taken from a library because each is a few lines over the ASGI interface and the
policies are specific to this app; Starlette has no CSRF or header middleware of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "CrossSiteGuard", "ErrorShield", "SecurityHeadersMiddleware"]

logger = logging.getLogger("her2mri.web")

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PRIVATE_PATHS = ("/predictions",)


class SecurityHeadersMiddleware:
    """Add the security headers to every HTTP response (``no-store`` except for ``/static``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in dict(_HEADERS)]
                headers.extend(_HEADERS)
                if not static:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, with_headers)


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


class CrossSiteGuard:
    """Refuse cross-origin state-changing requests and cross-site reads of the stored predictions (403)."""

    def __init__(self, app: ASGIApp, trusted_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.trusted = frozenset(o.lower().rstrip("/") for o in trusted_origins)

    def _allowed(self, origin: str | None, host: str) -> bool:
        if origin is None:
            return False
        if origin in self.trusted:
            return True
        return urlsplit(origin).netloc == host.lower()

    def _refusal(self, scope: Scope) -> str | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        method = str(scope.get("method", "GET")).upper()
        path = str(scope.get("path", ""))
        fetch_site = headers.get("sec-fetch-site", "").lower()
        host = headers.get("host", "")
        if method in _SAFE_METHODS:
            if path.startswith(_PRIVATE_PATHS) and fetch_site == "cross-site":
                return "stored predictions are not shown to pages of other sites"
            return None
        if fetch_site == "cross-site":
            return "the request came from a page of another site"
        if fetch_site == "same-origin":  # set by the browser itself; pages cannot forge Sec-* headers
            return None
        if "origin" in headers:
            origin = headers["origin"].strip().lower()
            if origin == "null" or not self._allowed(_origin_of(origin) if origin != "null" else None, host):
                return "the request came from a page of another origin"
            return None
        if "referer" in headers and not self._allowed(_origin_of(headers["referer"]), host):
            return "the request came from a page of another origin"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        reason = self._refusal(scope)
        if reason is None:
            await self.app(scope, receive, send)
            return
        logger.warning("refused cross-site %s %s", scope.get("method"), scope.get("path"))
        body = (
            '{"detail": "Cross-site request refused: ' + reason + '. Open the her2mri page itself and submit '
            'from there."}'
        ).encode()
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class ErrorShield:
    """Turn an unhandled exception into a 500 logged without its message, traceback or the request body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # every unexpected failure: answer 500, log no request content
            route = scope.get("route")
            where = getattr(route, "path", None) or scope.get("path", "?")
            logger.error("%s %s failed: %s (details withheld from logs)", scope.get("method"), where,
                         type(exc).__name__)
            if started:
                return
            body = b'{"detail": "Internal error. The server log names the error class."}'
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
