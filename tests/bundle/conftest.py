"""Fixtures of the bundle tests: one small bundle built once per session."""

from __future__ import annotations

import pytest

from . import bundle_factory


@pytest.fixture(scope="session")
def factory():
    return bundle_factory


@pytest.fixture(scope="session")
def bundle(factory):
    return factory.build_test_bundle()


@pytest.fixture(scope="session")
def bundle_dir(bundle, tmp_path_factory):
    from her2mri.bundle import save_bundle

    return save_bundle(bundle, tmp_path_factory.mktemp("bundle") / "model")


@pytest.fixture
def cases(factory):
    return factory.example_cases()
