"""Settings of the clinician web app (pydantic-settings: keyword arguments, environment ``HER2MRI_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["WebSettings"]


class WebSettings(BaseSettings):
    """Configuration of :func:`her2mri.web.create_app`.

    Safe defaults: the server binds to 127.0.0.1, request bodies are limited to ``max_body_bytes`` and batches
    to ``max_batch`` cases. With ``token`` set, the JSON API and the form require it (``Authorization: Bearer``
    header for the API, the token field of the form). Predictions are stored in ``database_url`` (SQLite file
    next to the model bundle by default; any SQLAlchemy URL such as ``postgresql+psycopg://…`` works).
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

    @field_validator("token")
    @classmethod
    def _token_not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        return value

    @model_validator(mode="after")
    def _default_database(self) -> WebSettings:
        if self.database_url is None:
            target = (self.model_path.parent / "her2mri_predictions.sqlite").resolve()
            self.database_url = f"sqlite:///{target}"
        return self

    @property
    def resolved_database_url(self) -> str:
        return str(self.database_url)
