"""Fixtures for the statistics tests: R reference answers and their inputs (copied into tests/reference)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(scope="session")
def r_ref() -> dict[str, Any]:
    """reference.json written by tests/reference/r_reference.R (R 4.2.2)."""
    with (REFERENCE_DIR / "reference.json").open(encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="session")
def r_csv():  # type: ignore[no-untyped-def]
    """Reader for the CSV inputs R was run on."""

    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(REFERENCE_DIR / f"{name}.csv")

    return read
