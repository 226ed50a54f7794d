"""Provenance attached to every study output: versions, hashes, seeds, timestamps (TRIPOD+AI 18f, CLAIM)."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "config_sha256", "file_sha256", "now_iso", "provenance_record"]

PACKAGES = (
    "her2mri", "numpy", "scipy", "pandas", "scikit-learn", "statsmodels", "lifelines", "shap", "pydantic",
    "pyyaml", "neuroCombat",
)


def now_iso() -> str:
    """The current UTC time, ISO 8601 with seconds."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def config_sha256(config_dump: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON form of the validated configuration (sorted keys)."""
    text = json.dumps(config_dump, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str | None:
    """SHA-256 of a file's bytes, ``None`` when the file does not exist."""
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def provenance_record(
    *, config_dump: dict[str, Any], seed: int, cohort_sha256: str | None, inputs: dict[str, Path]
) -> dict[str, Any]:
    """The provenance block of ``results.json`` (timestamps and durations are added by the runner)."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in PACKAGES},
        "config_sha256": config_sha256(config_dump),
        "cohort_sha256": cohort_sha256,
        "input_sha256": {name: file_sha256(path) for name, path in sorted(inputs.items())},
        "seed": seed,
        "started": now_iso(),
    }
