"""What scripts and CI jobs read (issue 14): exit codes, one JSON document on every path,
async URLs. SQLite where no server is needed; PostgreSQL for compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import execute_script, run_sync, write_models

MODELS = """
import sqlalchemy as sa
metadata = sa.MetaData()
sa.Table("users", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("email", sa.String(100)))
"""
UNREACHABLE = "postgresql://app:pw@127.0.0.1:1/app"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("in sync", 0),
        ("drift", 1),
        ("no connection", 2),
        ("broken models", 2),
        ("bad flag", 2),
        ("bad setting", 2),
    ],
)
def test_check_exit_codes_tell_drift_from_could_not_tell(app_dir: Path, sqlite_url: str, case: str, expected: int) -> None:
    models = write_models(app_dir, MODELS)
    if case == "in sync":
        run_sync("--database-url", sqlite_url, "--models", models)
    (app_dir / "broken_models.py").write_text("raise RuntimeError('models need the app running')\n")
    args = {
        "in sync": ["--database-url", sqlite_url, "--models", models],
        "drift": ["--database-url", sqlite_url, "--models", models],
        "no connection": ["--database-url", UNREACHABLE, "--models", models, "--connect-timeout", "2"],
        "broken models": ["--database-url", sqlite_url, "--models", "broken_models"],
        "bad flag": ["--database-url", sqlite_url, "--models", models, "--dry-rn"],
        "bad setting": ["--database-url", sqlite_url, "--models", models, "--lock-timeout", "soon"],
    }[case]
    code, out = run_sync(*args, "--check")
    assert code == expected, out


@pytest.mark.parametrize("case", ["no connection", "broken models", "bad flag", "bad setting"])
@pytest.mark.parametrize("strictness", ["default", "--strict", "env", "setup.cfg"])
def test_the_default_mode_exits_0_and_strict_exits_1_from_any_source(
    app_dir: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, case: str, strictness: str
) -> None:
    """Strict from the environment or setup.cfg counts for a bad flag too, as --strict does."""
    models = write_models(app_dir, MODELS)
    (app_dir / "broken_models.py").write_text("raise RuntimeError('models need the app running')\n")
    args = {
        "no connection": ["--database-url", UNREACHABLE, "--models", models, "--connect-timeout", "2"],
        "broken models": ["--database-url", sqlite_url, "--models", "broken_models"],
        "bad flag": ["--database-url", sqlite_url, "--models", models, "--dry-rn"],
        "bad setting": ["--database-url", sqlite_url, "--models", models, "--lock-timeout", "soon"],
    }[case]
    if strictness == "--strict":
        args.append("--strict")
    elif strictness == "env":
        monkeypatch.setenv("SYNC_SCHEMA_STRICT", "true")
    elif strictness == "setup.cfg":
        (app_dir / "setup.cfg").write_text("[sync_schema]\nstrict = true\n")
    code, out = run_sync(*args)
    assert code == (0 if strictness == "default" else 1), out
    assert "ERROR" in out, out


@pytest.mark.parametrize("case", ["bad flag", "bad setting", "no connection"])
def test_every_outcome_is_one_json_document(app_dir: Path, sqlite_url: str, case: str) -> None:
    models = write_models(app_dir, MODELS)
    args = {
        "bad flag": ["--database-url", sqlite_url, "--models", models, "--dry-rn"],
        "bad setting": ["--database-url", sqlite_url, "--models", models, "--lock-timeout", "soon"],
        "no connection": ["--database-url", UNREACHABLE, "--models", models, "--connect-timeout", "2"],
    }[case]
    code, out = run_sync(*args, "--format", "json", "--check")
    document = json.loads(out)
    assert document["schema_version"] == 3 and document["error"], document
    assert document["exit_code"] == code == 2


def test_compare_check_json_says_the_exit_code_it_exits_with(app_dir: Path, pg_url: str, pg_engine: sa.Engine, pg_admin: sa.Engine) -> None:
    execute_script(pg_engine, "CREATE TABLE users (id serial PRIMARY KEY, email varchar(100), a int, b int)")
    reference = pg_admin.url.set(database="postgres").render_as_string(hide_password=False)
    code, out = run_sync("compare", "--reference", pg_url, "--database-url", reference, "--check", "--format", "json", "--schemas", "public")
    document = json.loads(out)
    assert code == document["exit_code"] == 1, out
    assert document["reference"] and all("reference" in c for c in document["changes"]), document
    statements = [s for step in document["steps"] for s in step["sql"]]
    assert len(statements) == len(set(statements))


@pytest.mark.parametrize("scheme", ["postgresql+asyncpg", "postgresql+psycopg_async"])
def test_async_urls_sync_through_the_installed_driver(app_dir: Path, pg_url: str, pg_engine: sa.Engine, scheme: str) -> None:
    url = sa.make_url(pg_url).set(drivername=scheme).render_as_string(hide_password=False)
    code, out = run_sync("--database-url", url, "--models", write_models(app_dir, MODELS), "--strict")
    assert code == 0 and "APPLIED" in out, out
    assert sa.inspect(pg_engine).has_table("users")


def test_an_aiosqlite_url_syncs_the_file(app_dir: Path, tmp_path: Path) -> None:
    code, out = run_sync("--database-url", f"sqlite+aiosqlite:///{tmp_path / 'app.db'}", "--models", write_models(app_dir, MODELS), "--strict")
    assert code == 0 and "APPLIED" in out, out
    assert sa.inspect(sa.create_engine(f"sqlite:///{tmp_path / 'app.db'}")).has_table("users")


def test_build_log_polish(app_dir: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Singular counts, the config file named, each applied step's duration, SQLite's
    hazards in SQLite's words."""
    (app_dir / "setup.cfg").write_text("[sync_schema]\nconnect_timeout = 5\n")
    models = write_models(app_dir, MODELS)
    code, out = run_sync("--database-url", sqlite_url, "--models", models)
    assert code == 0 and "1 table from" in out and "1 difference;" in out and "1 step to apply" in out, out
    assert "settings: flags, then the environment, then setup.cfg [sync_schema]" in out, out
    assert any(line.startswith("  APPLIED") and line.endswith(" s)") for line in out.splitlines()), out
    wider = write_models(app_dir, MODELS.replace("sa.String(100)", "sa.Integer"))
    code, out = run_sync("--database-url", sqlite_url, "--models", wider)
    assert "ACCESS EXCLUSIVE" not in out and "the database's write lock" in out, out


def test_color_follows_no_color_org(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from sync_schema.report import use_color

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.setenv("NO_COLOR", "")  # empty: not set, says no-color.org
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert use_color(Terminal()) and not use_color(io.StringIO())
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert use_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Terminal()) and not use_color(io.StringIO())


def test_a_closed_pipe_ends_quietly(app_dir: Path, sqlite_url: str) -> None:
    """`python -m sync_schema | head -1`: no BrokenPipeError traceback, and the sync is done."""
    import os
    import subprocess
    import sys

    models = write_models(app_dir, MODELS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_SCHEMA_") and k != "DATABASE_URL"}
    done = subprocess.run(
        f"{sys.executable} -m sync_schema --database-url {sqlite_url} --models {models} | head -1",
        shell=True, cwd=app_dir, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert sa.inspect(sa.create_engine(sqlite_url)).has_table("users")


def test_a_lock_wait_is_announced(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    execute_script(pg_engine, "CREATE TABLE users (id serial PRIMARY KEY)")
    holder = pg_engine.connect()
    try:
        holder.exec_driver_sql("LOCK TABLE users IN ACCESS SHARE MODE")  # enough to make ALTER TABLE wait
        code, out = run_sync("--database-url", pg_url, "--models", write_models(app_dir, MODELS), "--lock-timeout", "0.2", "--lock-attempts", "2")
    finally:
        holder.rollback()
        holder.close()
    assert code == 0 and "waiting for the lock: add column users: email (not available within 0.2 s, attempt 1 of 2" in out, out
    assert "DEFERRED" in out, out


def test_github_format_prints_an_annotation_per_difference_and_problem(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    execute_script(pg_engine, "CREATE TABLE users (id serial PRIMARY KEY, email varchar(50), legacy text)")
    code, out = run_sync("--database-url", pg_url, "--models", write_models(app_dir, MODELS), "--format", "github", "--dry-run",
                         "--critical-columns", "users.nickname")
    lines = out.splitlines()
    assert any(line.startswith("::warning title=sync-schema%3A review::type mismatch users.email") for line in lines), out
    assert any(line.startswith("::warning title=sync-schema%3A review::extra column users.legacy") for line in lines), out
    assert any(line.startswith("::error title=sync-schema%3A verification::") and "users.nickname" in line for line in lines), out
    assert "----- sync-schema summary" in out  # the text log as well
    code, out = run_sync("--database-url", UNREACHABLE, "--models", write_models(app_dir, MODELS), "--format", "github", "--connect-timeout", "2")
    assert any(line.startswith("::error title=sync-schema::") for line in out.splitlines()), out


def test_help_lists_the_other_commands_and_a_command_may_follow_flags(app_dir: Path, pg_url: str) -> None:
    code, out = run_sync("--help")
    assert code == 0 and "compare" in out and "history" in out, out
    code, out = run_sync("--database-url", pg_url, "history")
    assert code == 0 and "no history yet" in out, out
    code, out = run_sync("--models", "compare", "--database-url", pg_url, "--dry-run")  # a flag's value, not the command
    assert "no history" not in out and "mode dry-run" in out, out
