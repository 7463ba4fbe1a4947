"""Real databases for every test: a fresh PostgreSQL database (dropped afterwards) or an
SQLite file in a temporary directory. Nothing here mocks a database.

When PostgreSQL is not reachable the tests that need it skip, saying why; with
SYNC_SCHEMA_REQUIRE_SERVERS=1 (CI sets it) such a skip becomes a failure instead.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get("SYNC_SCHEMA_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
REQUIRE_SERVERS = os.environ.get("SYNC_SCHEMA_REQUIRE_SERVERS", "") not in ("", "0", "false")


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVERS:
        pytest.fail(f"{reason} (SYNC_SCHEMA_REQUIRE_SERVERS is set, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        engine.dispose()
        _unavailable(f"PostgreSQL not reachable at {engine.url.render_as_string(hide_password=True)}: {str(exc.orig).strip().splitlines()[0]}")
    yield engine
    engine.dispose()


@contextmanager
def new_database(admin: sa.Engine) -> Iterator[str]:
    """A brand-new, empty database on the server `admin` reaches (PostgreSQL, MariaDB or
    MySQL): its URL, the database dropped afterwards."""
    name = f"sync_schema_test_{uuid.uuid4().hex[:12]}"
    mysql = admin.dialect.name in ("mysql", "mariadb")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{name}`" if mysql else f'CREATE DATABASE "{name}"')
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`" if mysql else f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_admin: sa.Engine) -> Iterator[str]:
    """A URL to a brand-new, empty PostgreSQL database, dropped after the test."""
    with new_database(pg_admin) as url:
        yield url


@pytest.fixture
def second_pg_url(pg_admin: sa.Engine) -> Iterator[str]:
    """Another brand-new PostgreSQL database, dropped after the test."""
    with new_database(pg_admin) as url:
        yield url


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(pg_url)
    yield engine
    engine.dispose()


MYSQL_ADMIN_URL = os.environ.get("SYNC_SCHEMA_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/mysql")


@pytest.fixture(scope="session")
def mysql_admin() -> Iterator[sa.Engine]:
    """The MariaDB (or MySQL) server, as root: it makes and drops each test's database."""
    try:
        engine = sa.create_engine(MYSQL_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3, "read_timeout": 10})
    except ModuleNotFoundError as exc:
        _unavailable(f"no MySQL driver ({exc}): pip install -e '.[test]' installs PyMySQL")
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        engine.dispose()
        _unavailable(f"MariaDB/MySQL not reachable at {engine.url.render_as_string(hide_password=True)}: {str(exc.orig).strip().splitlines()[0]}")
    yield engine
    engine.dispose()


@pytest.fixture
def mysql_url(mysql_admin: sa.Engine) -> Iterator[str]:
    """A URL to a brand-new, empty MariaDB/MySQL database, dropped after the test."""
    with new_database(mysql_admin) as url:
        yield url


@pytest.fixture
def mysql_engine(mysql_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(mysql_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'app.db'}"


@pytest.fixture
def app_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory for one run, with a clean environment for our settings."""
    directory = tmp_path / "app"
    directory.mkdir()
    monkeypatch.chdir(directory)
    for name in list(os.environ):
        if name.startswith("SYNC_SCHEMA_") and name not in ("SYNC_SCHEMA_REQUIRE_SERVERS", "SYNC_SCHEMA_TEST_PG", "SYNC_SCHEMA_TEST_MYSQL"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return directory


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout, as the README tells a user to build it."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = out.glob("sync_schema-*.whl")
    return wheel


def sync_process(url: str, models: str, cwd: Path, *args: str) -> subprocess.Popen[str]:
    """`python -m sync_schema` as a process of its own (none of our settings from the
    environment), its output in one pipe."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_SCHEMA_") and k != "DATABASE_URL"}
    env["NO_COLOR"] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "sync_schema", "--database-url", url, "--models", models, *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def execute_script(engine: sa.Engine, script: str) -> None:
    """Run ';'-separated SQL statements in one transaction."""
    with engine.begin() as conn:
        for statement in filter(str.strip, script.split(";")):
            conn.exec_driver_sql(statement)


def write_models(directory: Path, source: str) -> str:
    """Write a models module with a unique name (modules are cached per process)."""
    name = f"models_{uuid.uuid4().hex[:10]}"
    (directory / f"{name}.py").write_text(source)
    sys.modules.pop(name, None)
    return name


def sync_json(*args: str) -> tuple[int, dict[str, Any]]:
    """run_sync with --format json: the exit code and the document."""
    code, out = run_sync(*args, "--format", "json")
    return code, json.loads(out)


def found(document: dict[str, Any]) -> set[tuple[str, str | None, str | None]]:
    """A JSON document's changes as (kind, table, column or name)."""
    return {(c["kind"], c["table"], c.get("column", c.get("name"))) for c in document["changes"]}


def run_sync(*args: str) -> tuple[int, str]:
    """Run the CLI in-process; return its exit code and everything it printed."""
    from sync_schema.cli import main

    out = io.StringIO()
    real_stdout = sys.stdout
    sys.stdout = out
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.stdout = real_stdout
    return code, out.getvalue()


# -- a private PostgreSQL cluster ---------------------------------------------------
# The shared server trusts every local connection and must not be restarted under other
# tests; this one checks passwords and may be restarted by a test.


@dataclass
class PrivateCluster:
    bindir: Path
    datadir: Path
    base: Path
    port: int
    as_postgres: list[str]

    def url(self, password: str = "right-password", database: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres:{password}@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(self.as_postgres + [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self.pg_ctl("-w", "-l", str(self.base / "log"), "-o", f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1", "start")

    def restart(self) -> None:
        self.pg_ctl("-w", "-m", "fast", "-l", str(self.base / "log"), "-o", f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1", "restart")


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivateCluster]:
    bindirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    bindir = next((d for d in bindirs if (d / "initdb").exists()), None)
    if bindir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        _unavailable("PostgreSQL server binaries (initdb) not found: cannot start a private cluster")
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="sync_schema_pg_"))
    os.chmod(base, 0o777)
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    pwfile = base / "pw"
    pwfile.write_text("right-password\n")
    os.chmod(pwfile, 0o644)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cluster = PrivateCluster(bindir, base / "data", base, port, as_postgres)
    try:
        subprocess.run(as_postgres + [str(bindir / "initdb"), "-D", str(cluster.datadir), "-U", "postgres", "--auth=scram-sha-256", f"--pwfile={pwfile}"],
                       check=True, capture_output=True, timeout=120)
        cluster.start()
        yield cluster
    finally:
        subprocess.run(as_postgres + [str(bindir / "pg_ctl"), "-D", str(cluster.datadir), "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pgbouncer() -> Iterator[int]:
    """PgBouncer in transaction mode in front of the shared server; yields its port."""
    binary = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None)
    if binary is None:
        _unavailable("pgbouncer is not installed (apt-get install pgbouncer): cannot test behind a transaction-mode pooler")
    base = Path(tempfile.mkdtemp(prefix="sync_schema_bouncer_"))
    os.chmod(base, 0o777)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (base / "userlist.txt").write_text('"postgres" ""\n')
    (base / "pgbouncer.ini").write_text(
        "[databases]\n* = host=127.0.0.1 port=5432\n\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {base}/userlist.txt\n"
        "pool_mode = transaction\ndefault_pool_size = 5\nmax_client_conn = 100\n"
        f"logfile = {base}/pgbouncer.log\npidfile = {base}/pgbouncer.pid\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
    )
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(as_postgres + [binary, "-d", str(base / "pgbouncer.ini")], check=True, capture_output=True, timeout=30)
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port
    finally:
        pidfile = base / "pgbouncer.pid"
        if pidfile.exists():
            os.kill(int(pidfile.read_text().strip()), 15)
            time.sleep(0.3)
        shutil.rmtree(base, ignore_errors=True)
