"""Shared fixtures and the suite-wide hypothesis profile.

Hypothesis's deadline and its "too slow" / "large base example" health checks measure wall-clock time; they are
turned off for the whole suite so that a result never depends on how loaded the machine is.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "her2mri",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example, HealthCheck.data_too_large],
    derandomize=True,
)
settings.load_profile("her2mri")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)
