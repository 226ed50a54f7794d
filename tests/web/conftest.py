"""Fixtures of the web tests: the shared test bundle saved once, an app factory, a TestClient."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from ..bundle import bundle_factory

with warnings.catch_warnings():
    # starlette 1.x prefers httpx2 and warns once at import when it finds httpx; the client works the same.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="session")
def web_bundle_dir(tmp_path_factory) -> Path:
    return bundle_factory.save_test_bundle(tmp_path_factory.mktemp("web_bundle") / "model")


@pytest.fixture(scope="session")
def web_bundle(web_bundle_dir):
    from her2mri.bundle import load_bundle

    return load_bundle(web_bundle_dir)


@pytest.fixture
def make_client(web_bundle, web_bundle_dir, tmp_path):
    from her2mri.web import WebSettings, create_app

    clients = []

    def make(**overrides) -> TestClient:
        overrides.setdefault("database_url", f"sqlite:///{tmp_path / 'store.sqlite'}")
        settings = WebSettings(model_path=web_bundle_dir, **overrides)
        client = TestClient(create_app(settings, bundle=web_bundle))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


@pytest.fixture
def good_case(web_bundle) -> dict:
    """A valid JSON case: the first demo lesion's inputs, yes/no as booleans."""
    cases = bundle_factory.example_cases(1)
    row = cases.iloc[0].to_dict()
    out = {"case_reference": "case-A", "lesion_id": str(row.pop("lesion_id"))}
    for spec in web_bundle.schema.columns:
        value = row[spec.name]
        if value != value:  # NaN
            out[spec.name] = None
        elif spec.kind == "binary":
            out[spec.name] = bool(value)
        elif spec.kind == "numeric":
            out[spec.name] = float(value)
        else:
            out[spec.name] = value
    return out


@pytest.fixture(scope="session")
def postgres_server():
    """URL of a throwaway PostgreSQL cluster (started once per session), or skip when not installed."""
    from .pg_cluster import find_pg_bin, postgres_cluster

    if find_pg_bin() is None:
        pytest.skip("PostgreSQL binaries not installed (run `make postgresql`)")
    with postgres_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """The same store tests on SQLite and on a real PostgreSQL (a fresh database per test)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    from .pg_cluster import fresh_database

    return fresh_database(request.getfixturevalue("postgres_server"), f"t_{abs(hash(request.node.nodeid)) % 10**9}")
