"""Bad input: one clear line saying what to do, exit 0 (1 with --strict), nothing changed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import PrivateCluster, run_sync, write_models

GOOD_MODELS = '''
import sqlalchemy as sa
metadata = sa.MetaData()
items = sa.Table("items", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(50)))
'''


def error_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if "ERROR:" in line]


def assert_reported(args: list[str], expected: str) -> str:
    """Default mode exits 0 with exactly one error line; --strict exits 1 with the same line."""
    code, out = run_sync(*args)
    assert code == 0, out
    errors = error_lines(out)
    assert len(errors) == 1, out
    assert expected in errors[0], errors[0]
    assert "Traceback" not in out
    strict_code, strict_out = run_sync(*args, "--strict")
    assert strict_code == 1
    assert error_lines(strict_out) == errors
    return errors[0]


def test_no_database_url(app_dir: Path) -> None:
    models = write_models(app_dir, GOOD_MODELS)
    line = assert_reported(["--models", models], "no database URL: DATABASE_URL is not set")
    assert "set DATABASE_URL" in line


def test_missing_url_is_never_replaced_by_sqlite(app_dir: Path) -> None:
    models = write_models(app_dir, GOOD_MODELS)
    run_sync("--models", models)
    assert not list(app_dir.glob("*.db")) and not list(app_dir.glob("*.sqlite*"))


def test_malformed_url(app_dir: Path) -> None:
    models = write_models(app_dir, GOOD_MODELS)
    assert_reported(["--models", models, "--database-url", "not a url"], "malformed database URL in --database-url (no scheme)")
    assert_reported(["--models", models, "--database-url", "postgresql://u:pw@host:port/db"], "malformed database URL")


def test_unknown_scheme(app_dir: Path) -> None:
    models = write_models(app_dir, GOOD_MODELS)
    assert_reported(["--models", models, "--database-url", "mongodb://u:pw@host/db"], "unknown database scheme mongodb://")


def test_connection_refused(app_dir: Path) -> None:
    models = write_models(app_dir, GOOD_MODELS)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert_reported(["--models", models, "--database-url", f"postgresql://u:pw@127.0.0.1:{port}/db"], f"connection refused by 127.0.0.1:{port}")


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never answers, like a black-holed host."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_unreachable_host_times_out_quickly(app_dir: Path, silent_server: int) -> None:
    models = write_models(app_dir, GOOD_MODELS)
    started = time.monotonic()
    code, out = run_sync("--models", models, "--database-url", f"postgresql://u:pw@127.0.0.1:{silent_server}/db", "--connect-timeout", "2")
    elapsed = time.monotonic() - started
    assert code == 0
    assert f"connecting to 127.0.0.1:{silent_server} timed out after 2 s" in out
    assert elapsed < 15, f"the connection attempt hung for {elapsed:.1f} s"


def test_models_module_not_found(app_dir: Path, sqlite_url: str) -> None:
    assert_reported(["--models", "no_such_models_module", "--database-url", sqlite_url], "models module 'no_such_models_module' not found")


def test_models_module_raising_on_import(app_dir: Path, sqlite_url: str) -> None:
    models = write_models(app_dir, "import os\nraise RuntimeError('SECRET_KEY is not configured')\n")
    line = assert_reported(["--models", models, "--database-url", sqlite_url], f"importing models module '{models}' raised RuntimeError: SECRET_KEY is not configured")
    assert f"{models}.py:2" in line
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()


def test_models_module_missing_a_dependency(app_dir: Path, sqlite_url: str) -> None:
    models = write_models(app_dir, "import flask_that_is_not_installed\n")
    assert_reported(["--models", models, "--database-url", sqlite_url], "ModuleNotFoundError: No module named 'flask_that_is_not_installed'")


def test_module_without_metadata(app_dir: Path, sqlite_url: str) -> None:
    models = write_models(app_dir, "VALUE = 1\n")
    assert_reported(["--models", models, "--database-url", sqlite_url], f"no SQLAlchemy metadata found in '{models}'")
    assert_reported(["--models", f"{models}:VALUE", "--database-url", sqlite_url], "is a int, not a MetaData")


def test_malformed_critical_column(app_dir: Path, sqlite_url: str) -> None:
    models = write_models(app_dir, GOOD_MODELS)
    assert_reported(["--models", models, "--database-url", sqlite_url, "--critical-columns", "users"], "malformed critical column 'users'")
    assert_reported(["--models", models, "--database-url", sqlite_url, "--critical-columns", "a.b.c.d"], "malformed critical column 'a.b.c.d'")
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()


def test_unknown_flag_does_not_fail_the_deploy(app_dir: Path) -> None:
    code, out = run_sync("--no-such-flag")
    assert code == 0 and "unrecognized arguments: --no-such-flag" in out


def test_exit_codes_of_the_real_process(tmp_path: Path) -> None:
    """python -m sync_schema as a deploy runs it: clean environment, no URL."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("SYNC_SCHEMA_")}
    (tmp_path / "models.py").write_text(GOOD_MODELS)
    default = subprocess.run([sys.executable, "-m", "sync_schema", "--models", "models"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    strict = subprocess.run([sys.executable, "-m", "sync_schema", "--models", "models", "--strict"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert default.returncode == 0 and "no database URL" in default.stdout
    assert strict.returncode == 1 and "no database URL" in strict.stdout


def test_wrong_password(app_dir: Path, private_pg: PrivateCluster) -> None:
    password_cluster = private_pg.port
    models = write_models(app_dir, GOOD_MODELS)
    good = f"postgresql://postgres:right-password@127.0.0.1:{password_cluster}/postgres"
    bad = f"postgresql://postgres:wrong-password@127.0.0.1:{password_cluster}/postgres"
    line = assert_reported(["--models", models, "--database-url", bad], "authentication failed for user 'postgres'")
    assert "wrong-password" not in line
    code, out = run_sync("--models", models, "--database-url", good)
    assert code == 0 and "verification           PASSED" in out
    engine = sa.create_engine(good.replace("postgresql://", "postgresql+psycopg2://"))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM items").scalar() == 0
    engine.dispose()


def test_short_password_hidden_without_mangling_the_message(app_dir: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out = run_sync("--models", "no_such_module_p", "--database-url", f"postgresql://u:p@127.0.0.1:{port}/db")
    assert "models module 'no_such_module_p' not found" in out  # the 'p's of ordinary words stay
    assert "u:***@" in out and "u:p@" not in out
