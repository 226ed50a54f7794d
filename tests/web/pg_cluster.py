"""A throwaway PostgreSQL cluster for the store tests and the web benchmark: ``initdb`` on a temporary folder,
``pg_ctl`` on a free loopback port, trust authentication for one local role, removed afterwards.

PostgreSQL refuses to run as root, so when run as root (CI containers) the server runs as the ``postgres``
system user that Debian's package creates, through ``runuser``. Binaries are found on PATH or in Debian's
``/usr/lib/postgresql/<version>/bin``; ``make postgresql`` installs them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["find_pg_bin", "postgres_cluster"]

ROLE = "her2mri"


def find_pg_bin() -> Path | None:
    """Folder holding ``initdb`` and ``pg_ctl``, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _runner() -> tuple[list[str], str | None]:
    if os.geteuid() != 0:
        return [], None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        msg = "running as root and there is no 'postgres' user to run PostgreSQL as (install Debian's postgresql)"
        raise RuntimeError(msg) from None
    return ["runuser", "-u", "postgres", "--"], "postgres"


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a cluster; yields the SQLAlchemy URL of its ``postgres`` database (role ``her2mri``)."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        msg = "PostgreSQL binaries (initdb, pg_ctl) not found; run `make postgresql`"
        raise FileNotFoundError(msg)
    prefix, owner = _runner()
    root = Path(tempfile.mkdtemp(prefix="her2mri-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if owner is not None:
        os.chmod(root, 0o755)
        info = pwd.getpwnam(owner)
        for path in (root, sockets):
            os.chown(path, info.pw_uid, info.pw_gid)
    port = _free_port()
    env = dict(os.environ, LC_ALL="C", LANG="C")
    try:
        subprocess.run(
            [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", ROLE, "--auth=trust", "-E", "UTF8",
             "--no-sync"],
            check=True, capture_output=True, env=env, timeout=600,
        )
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w",
             "-t", "60", "start"],
            check=True, capture_output=True, env=env, timeout=600,
        )
        deadline = time.monotonic() + 300  # hang guard only: a loaded machine may start slowly
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                msg = "PostgreSQL did not accept connections"
                raise RuntimeError(msg)
            time.sleep(0.1)
        yield f"postgresql+pg8000://{ROLE}@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True, env=env, timeout=60, check=False,
            )
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(url: str, name: str) -> str:
    """Create database ``name`` on the cluster at ``url`` (dropped first if present); returns its URL."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return url.rsplit("/", 1)[0] + f"/{name}"
