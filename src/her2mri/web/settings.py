"""Settings of the clinician web app (pydantic-settings: keyword arguments, environment ``HER2MRI_*``)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["LOOPBACK_HOSTS", "WebSettings"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class WebSettings(BaseSettings):
    """Configuration of :func:`her2mri.web.create_app`.

    Safe defaults: the server binds to 127.0.0.1, request bodies are limited to ``max_body_bytes`` and batches
    to ``max_batch`` cases. With ``token`` set, the JSON API and the form require it (``Authorization: Bearer``
    header for the API, the token field of the form); a blank token is an error, not "no token". Predictions are
    stored in ``database_url`` (SQLite file next to the model bundle by default; PostgreSQL as
    ``postgresql+pg8000://user:password@host/db``, or any SQLAlchemy URL). ``workers`` predictions run at once;
    requests waiting meanwhile are predicted together, up to ``max_coalesce`` cases per call (see
    :mod:`her2mri.web.service`); ``db_pool_size`` connections are kept open to a server database. With
    ``warm_up`` one prediction is made at start (not stored), so the first clinician does not wait for the
    explainer's set-up. Cross-site
    requests are refused; ``trusted_origins`` adds origins (e.g. ``https://her2.example.org`` behind a proxy
    that rewrites the Host header) whose pages may post to the app. The API is described by ``/openapi.json``;
    the interactive docs pages (``/docs``, ``/redoc``) are not served, because they load scripts from a CDN.
    """

    model_config = SettingsConfigDict(env_prefix="HER2MRI_", extra="forbid")

    model_path: Path = Field(description="Model bundle directory or .zip written by her2mri study run.")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    database_url: str | None = None
    token: SecretStr | None = None
    max_body_bytes: int = Field(1_000_000, ge=1_024)
    max_batch: int = Field(500, ge=1)
    top_k: int = Field(5, ge=1, le=50)
    explain_time_budget_s: float = Field(5.0, gt=0)
    title: str = "her2mri — HER2 status from breast MRI"
    workers: int = Field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)), ge=1, le=64)
    db_pool_size: int = Field(10, ge=1, le=200)
    max_coalesce: int = Field(16, ge=1, le=10_000)
    warm_up: bool = True
    trusted_origins: tuple[str, ...] = ()

    @field_validator("token")
    @classmethod
    def _token_not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            secret = value.get_secret_value()
            if not secret.strip():
                msg = "token is blank; give a real token, or none at all to run without one"
                raise ValueError(msg)
            if secret != secret.strip():
                msg = "token starts or ends with white space; remove it"
                raise ValueError(msg)
        return value

    @field_validator("trusted_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for origin in value:
            text = origin.strip().rstrip("/")
            if not text.startswith(("http://", "https://")) or "/" in text.split("://", 1)[1]:
                msg = f"trusted origin {origin!r} must be scheme://host[:port], e.g. https://her2.example.org"
                raise ValueError(msg)
            out.append(text.lower())
        return tuple(out)

    @model_validator(mode="after")
    def _default_database(self) -> WebSettings:
        if self.database_url is None:
            target = (self.model_path.parent / "her2mri_predictions.sqlite").resolve()
            self.database_url = f"sqlite:///{target}"
        return self

    @property
    def resolved_database_url(self) -> str:
        return str(self.database_url)

    @property
    def is_loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS
