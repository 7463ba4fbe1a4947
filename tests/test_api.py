"""The Python API (sync_schema.sync / check) and `flask sync-schema`, against real
databases: the models and the engine handed in, the host process left as it was."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import sync_schema


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.String(100))
    is_active: Mapped[bool] = mapped_column(server_default=sa.true())


def test_sync_then_check_with_a_base_and_a_url(pg_url: str, pg_engine: sa.Engine) -> None:
    with pg_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE users (id serial PRIMARY KEY, email varchar(100)); INSERT INTO users (email) VALUES ('a@x')")
    drift = sync_schema.check(Base, pg_url)
    assert not drift.ok and drift.exit_code == 1 and [c.kind.value for c in drift.changes] == ["missing_column"]
    assert "is_active" not in {c["name"] for c in sa.inspect(pg_engine).get_columns("users")}  # check changed nothing

    done = sync_schema.sync(Base, pg_url, critical_columns=["users.is_active"], history_table="off")
    assert done.ok and done.error is None and done.verification is not None and done.verification.passed
    assert sync_schema.check(Base.metadata, sa.make_url(pg_url)).ok
    with pg_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT email, is_active FROM users").all() == [("a@x", True)]


def test_an_engine_is_used_and_left_as_it_was(pg_engine: sa.Engine) -> None:
    pool = pg_engine.pool
    result = sync_schema.sync(Base, pg_engine)
    assert result.ok, result.error
    with pg_engine.connect() as conn:  # the host's engine still works: not disposed, not reconfigured
        assert conn.exec_driver_sql("SELECT count(*) FROM users").scalar() == 0
    assert pg_engine.pool is pool and result.database == pg_engine.url.render_as_string(hide_password=True)


def test_an_in_memory_sqlite_engine_is_synced_in_place() -> None:
    engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
    assert sync_schema.sync(Base, engine).ok
    assert sa.inspect(engine).has_table("users")


def test_the_host_process_keeps_its_gc_and_switch_interval(pg_url: str) -> None:
    interval, enabled, frozen = sys.getswitchinterval(), gc.isenabled(), gc.get_freeze_count()
    assert sync_schema.sync(Base, pg_url).ok
    assert (sys.getswitchinterval(), gc.isenabled()) == (interval, enabled)
    # Not frozen: gc.freeze() would move every tracked object of the process (hundreds of
    # thousands) into the permanent generation; frozen ones may only have been freed since.
    assert gc.get_freeze_count() <= frozen


def test_the_log_goes_to_the_sync_schema_logger(pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="sync_schema"):
        sync_schema.sync(Base, pg_url)
    assert any("APPLIED" in r.getMessage() and "create table users" in r.getMessage() for r in caplog.records), caplog.text


def test_bad_arguments_raise_at_once(pg_url: str) -> None:
    with pytest.raises(TypeError, match="unknown setting 'lock_timout'"):
        sync_schema.sync(Base, pg_url, lock_timout=3)
    with pytest.raises(ValueError, match="mode must be one of"):
        sync_schema.sync(Base, pg_url, mode="apply-all")


FLASK_APP = """
import os
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()

class Course(db.Model):
    __tablename__ = "courses"
    id = sa.Column(sa.Integer, primary_key=True)
    title = sa.Column(sa.String(80))
    capacity = sa.Column(sa.Integer, server_default="30", nullable=False)

def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["TEST_DATABASE_URL"]
    db.init_app(app)
    return app
"""


def test_flask_sync_schema_command(tmp_path: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    pytest.importorskip("flask_sqlalchemy", reason="Flask-SQLAlchemy is not installed (pip install -e '.[test]')")
    with pg_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE courses (id serial PRIMARY KEY, title varchar(80))")
    (tmp_path / "mini.py").write_text(FLASK_APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_SCHEMA_") and k != "DATABASE_URL"}
    env |= {"TEST_DATABASE_URL": pg_url, "NO_COLOR": "1"}
    flask = [sys.executable, "-m", "flask", "--app", "mini:create_app", "sync-schema"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*flask, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    checked = run("--check")
    assert checked.returncode == 1 and "1 difference" in checked.stdout, checked.stdout + checked.stderr
    applied = run()
    assert applied.returncode == 0 and "APPLIED" in applied.stdout, applied.stdout + applied.stderr
    assert run("--check").returncode == 0
    assert "capacity" in {c["name"] for c in sa.inspect(pg_engine).get_columns("courses")}
