"""The clinician web app (FastAPI): form, JSON API, prediction store."""

from her2mri.web.app import create_app
from her2mri.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]
