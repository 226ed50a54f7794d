"""Fixtures of the bundle tests: one small bundle built once per session."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _factory():
    name = "her2mri_test_bundle_factory"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("bundle_factory.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def factory():
    return _factory()


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
