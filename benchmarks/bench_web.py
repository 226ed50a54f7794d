"""Benchmark of the web app as a clinic runs it: a real ``her2mri serve`` process, real HTTP.

Usage: python benchmarks/bench_web.py [--model DIR] [--stores sqlite,postgresql] [--single 30] [--concurrent 100]

``--model`` is a bundle folder (e.g. ``her2mri-demo/model`` from ``make demo``); without it the demo study is
run in fast mode into a temporary folder first. For each store (SQLite file; PostgreSQL as a throwaway cluster,
see ``tests/web/pg_cluster.py``) it prints

* one prediction with its explanation, requests sent one after another: p50 / p95 / max latency;
* ``--concurrent`` requests sent at once: how many were answered 200, how many are in the store, p50 / p95 /
  max latency and the wall time.

Targets (2 cores, demo model): p50 of one prediction ≤ 300 ms; 100 concurrent all answered and stored with
p95 ≤ 5 s. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _demo_model(out: Path) -> Path:
    from her2mri.study import config_from_dict, run_study
    from her2mri.study.demo import demo_config_dict

    print("building the demo model (fast demo study) …", flush=True)
    run_study(config_from_dict(demo_config_dict(fast=True)), out / "study")
    return out / "study" / "model"


def _case(model: Path) -> dict:
    """The first demo lesion as an API request (every input of the bundle; yes/no as booleans)."""
    from her2mri.bundle import load_bundle
    from her2mri.cohort import load_demo_cohort

    bundle = load_bundle(model)
    frame = load_demo_cohort().frame
    row = frame.iloc[0]
    case: dict = {"case_reference": "bench", "lesion_id": str(row["lesion_id"])}
    for spec in bundle.schema.columns:
        value = row.get(spec.name)
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            case[spec.name] = None
        elif spec.kind == "binary":
            case[spec.name] = bool(float(value))
        elif spec.kind == "numeric":
            case[spec.name] = float(value)
        else:
            case[spec.name] = str(value)
    return case


@contextlib.contextmanager
def _server(model: Path, database_url: str) -> Iterator[str]:
    port = _free_port()
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    code = "from her2mri.cli.main import app; app()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--model", str(model), "--port", str(port),
         "--database-url", database_url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                message = f"server exited: {proc.stderr.read().decode()[-2000:]}"  # type: ignore[union-attr]
                raise RuntimeError(message)
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                message = "server did not start"
                raise RuntimeError(message)
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _single(url: str, case: dict, n: int) -> list[float]:
    times = []
    with httpx.Client(base_url=url, timeout=120) as client:
        for i in range(3 + n):
            start = time.perf_counter()
            response = client.post("/api/predict", json=dict(case, case_reference=f"single-{i}"))
            elapsed = time.perf_counter() - start
            response.raise_for_status()
            if i >= 3:  # the first requests warm caches (imports, explainer set-up)
                times.append(elapsed)
    return times


async def _concurrent(url: str, case: dict, n: int) -> tuple[list[int], list[float], float]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as client:
        async def one(i: int) -> tuple[int, float]:
            start = time.perf_counter()
            response = await client.post("/api/predict", json=dict(case, case_reference=f"concurrent-{i}",
                                                                  age=30.0 + i % 40))
            return response.status_code, time.perf_counter() - start

        start = time.perf_counter()
        results = await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - start
    return [s for s, _ in results], [t for _, t in results], wall


def _stored(database_url: str) -> int:
    from her2mri.web.db import PredictionStore

    store = PredictionStore(database_url)
    try:
        return sum(1 for r in store.recent(limit=100_000) if (r.case_reference or "").startswith("concurrent-"))
    finally:
        store.dispose()


def run(model: Path, store: str, database_url: str, n_single: int, n_concurrent: int) -> None:
    case = _case(model)
    with _server(model, database_url) as url:
        single = _single(url, case, n_single)
        print(f"[{store}] one prediction with explanation, {n_single} sequential: "
              f"p50 {1000 * statistics.median(single):.0f} ms, p95 {1000 * _pct(single, 0.95):.0f} ms, "
              f"max {1000 * max(single):.0f} ms", flush=True)
        codes, times, wall = asyncio.run(_concurrent(url, case, n_concurrent))
    ok = sum(c == 200 for c in codes)
    print(f"[{store}] {n_concurrent} concurrent: {ok} answered 200, {_stored(database_url)} stored; "
          f"p50 {statistics.median(times):.2f} s, p95 {_pct(times, 0.95):.2f} s, max {max(times):.2f} s, "
          f"wall {wall:.2f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--single", type=int, default=30)
    parser.add_argument("--concurrent", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="her2mri-bench-web-"))
    model = args.model or _demo_model(work)
    print(f"model {model}; {os.cpu_count()} cores", flush=True)
    for store in args.stores.split(","):
        if store == "sqlite":
            run(model, store, f"sqlite:///{work / 'store.sqlite'}", args.single, args.concurrent)
        elif store == "postgresql":
            sys.path.insert(0, str(ROOT / "tests" / "web"))
            from pg_cluster import find_pg_bin, fresh_database, postgres_cluster

            if find_pg_bin() is None:
                print("[postgresql] skipped: PostgreSQL not installed (make postgresql)")
                continue
            with postgres_cluster() as url:
                run(model, store, fresh_database(url, "bench"), args.single, args.concurrent)
        else:
            parser.error(f"unknown store {store!r}; accepted: sqlite, postgresql")


if __name__ == "__main__":
    main()
