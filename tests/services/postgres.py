"""A throwaway PostgreSQL cluster, started once per test session (a pytest plugin).

The cluster runs from Debian's binaries (/usr/lib/postgresql/*/bin) as the ``postgres`` user
when we are root, on a free port of 127.0.0.1, with trust authentication; each test gets a
fresh database. Without the binaries the PostgreSQL cases skip (CI: AUTO_TEST_REQUIRE fails).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import missing_service


@dataclass(frozen=True)
class PgCluster:
    url: str  # of the `postgres` database
    error: str = ""

    def database_url(self, name: str) -> str:
        return self.url.rsplit("/", 1)[0] + "/" + name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg(program: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [str(program), *args]
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        yield PgCluster("", "initdb/pg_ctl not found in /usr/lib/postgresql/*/bin")
        return
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        yield PgCluster("", "running as root without runuser to become `postgres`")
        return
    root = Path(tempfile.mkdtemp(prefix="auto-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    init = _pg(bin_dir / "initdb", "-D", str(data), "-A", "trust", "-U", "postgres")
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        yield PgCluster("", f"initdb failed: {init.stderr.strip()[-500:]}")
        return
    options = f"-k {root} -h 127.0.0.1 -p {port} -c fsync=off -c max_connections=200"
    log = root / "log"
    start = _pg(bin_dir / "pg_ctl", "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
    if start.returncode != 0:
        tail = log.read_text(errors="replace")[-1000:] if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        yield PgCluster("", f"pg_ctl start failed: {start.stderr.strip()[-500:]} {tail}")
        return
    try:
        yield PgCluster(f"postgresql://postgres@127.0.0.1:{port}/postgres")
    finally:
        _pg(bin_dir / "pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh, empty database on the session's cluster."""
    if pg_cluster.error:
        missing_service("postgres", pg_cluster.error)
    import psycopg

    name = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(pg_cluster.url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield pg_cluster.database_url(name)
    with psycopg.connect(pg_cluster.url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
