"""What reviewers and machines read: JSON, the Markdown drift table, the SQL script,
color rules, and the two-database compare."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from sync_schema.report import Reporter, use_color

from conftest import execute_script, run_sync, write_models

MODELS = '''
import sqlalchemy as sa
metadata = sa.MetaData()
sa.Table("users", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("email", sa.String(255)),
         sa.Column("is_active", sa.Boolean, server_default=sa.true()))
'''
OLD = "CREATE TABLE users (id SERIAL PRIMARY KEY, email VARCHAR(100), legacy TEXT); INSERT INTO users (email) VALUES ('a@x.io')"


def test_json_document(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    execute_script(pg_engine, OLD)
    models = write_models(app_dir, MODELS)
    code, out = run_sync("--database-url", pg_url, "--models", models, "--format", "json", "--critical-columns", "users.is_active")
    document = json.loads(out)  # stdout holds the document only; the log went to stderr
    assert code == 0 and document["exit_code"] == 0 and document["error"] is None and document["schema_version"] == 3

    def sql(change: dict) -> list[str]:  # the statements of the steps that fix it, each step listed once in "steps"
        return [s for n in change["steps"] for s in document["steps"][n]["sql"]]

    assert document["verification"] == {"passed": True, "missing": []}
    assert document["summary"]["columns_added"] == 1 and document["summary"]["review"] == 2
    changes = {(c["kind"], c.get("column")): c for c in document["changes"]}
    added = changes[("missing_column", "is_active")]
    assert added["applied"] is True and added["status"] == "applied"
    assert added["database"] is None and added["models"] == "boolean DEFAULT true"
    assert sql(added) == ["ALTER TABLE public.users ADD COLUMN is_active BOOLEAN DEFAULT true"]
    widened = changes[("type_mismatch", "email")]
    assert widened["applied"] is False and widened["requires"] == ["type-change"]
    assert widened["database"] == "character varying(100)" and widened["models"] == "character varying(255)"
    assert any("metadata only" in h for h in widened["hazards"])
    extra = changes[("extra_column", "legacy")]
    assert sql(extra) == ["ALTER TABLE public.users DROP COLUMN legacy"] and extra["requires"] == ["drop"]
    assert {"kind", "schema", "table", "database", "models", "hazards", "applied", "steps"} <= set(extra)
    statements = [s for step in document["steps"] for s in step["sql"]]
    assert len(statements) == len(set(statements))  # each statement once


def test_markdown_drift_table_and_sql_script(app_dir: Path, pg_url: str, pg_engine: sa.Engine, tmp_path: Path) -> None:
    execute_script(pg_engine, OLD)
    models = write_models(app_dir, MODELS)
    script = tmp_path / "plan.sql"
    code, out = run_sync("--database-url", pg_url, "--models", models, "--format", "markdown", "--dry-run", "--sql", str(script))
    assert code == 0
    assert "| column | database | models | status |" in out
    assert "| is_active | — | boolean DEFAULT true | to apply |" in out
    assert "| email | character varying(100) | character varying(255) | type differs |" in out
    assert "| legacy | text | — | not in models |" in out
    assert "### SQL to review\n\n```sql\n-- " in out
    assert ("\n-- change type of users.email: character varying(100) -> character varying(255)\n"
            "ALTER TABLE public.users ALTER COLUMN email TYPE VARCHAR(255) USING email::VARCHAR(255);\n") in out
    text = script.read_text()
    would, review = text.split("-- ===== left for review (not applied) =====")
    assert "ALTER TABLE public.users ADD COLUMN is_active BOOLEAN DEFAULT true;" in would
    assert "--   needs: --allow type-change" in review and "--   hazard: deletes the column's data" in review
    with pg_engine.connect() as conn:  # a dry run changed nothing
        assert [r[0] for r in conn.exec_driver_sql("SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY 1")] == [
            "email", "id", "legacy"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_color_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    assert use_color(Terminal()) and not use_color(io.StringIO())
    terminal = Terminal()
    Reporter(terminal).warning("careful")
    assert "\033[33m" in terminal.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Terminal())
    plain = Terminal()
    Reporter(plain).warning("careful")
    assert plain.getvalue() == "sync-schema: WARNING: careful\n"


def test_compare_two_live_databases(app_dir: Path, pg_url: str, pg_engine: sa.Engine, second_pg_url: str) -> None:
    execute_script(pg_engine, OLD)  # production
    local = sa.create_engine(second_pg_url)
    execute_script(local, "CREATE TABLE users (id SERIAL PRIMARY KEY, email VARCHAR(255), is_active BOOLEAN DEFAULT true); "
                   "CREATE INDEX ix_users_email ON users (email); CREATE TABLE posts (id SERIAL PRIMARY KEY)")
    local.dispose()

    code, out = run_sync("compare", "--reference", second_pg_url, "--database-url", pg_url)
    assert code == 0
    lines = [" ".join(line.split()) for line in out.splitlines()]
    # What the sync would apply says so; the rest says how the target differs from the reference.
    assert "posts (table) - table (1 column) to apply" in lines
    assert "users email character varying(100) character varying(255) type differs" in lines
    assert "users is_active - boolean DEFAULT true to apply" in lines
    assert "users index ix_users_email - index (email) to apply" in lines
    assert "users legacy text - not in reference" in lines
    assert "5 differences" in out
    assert run_sync("compare", "--reference", second_pg_url, "--database-url", pg_url, "--check")[0] == 1
    same_code, same = run_sync("compare", "--reference", pg_url, "--database-url", pg_url, "--check")
    assert same_code == 0 and "No drift" in same


def test_compare_gives_up_on_a_table_locked_by_a_migration(
    pg_url: str, pg_engine: sa.Engine, second_pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    execute_script(pg_engine, "CREATE TABLE orders (id SERIAL PRIMARY KEY, qty INTEGER CHECK (qty > 0))")
    migration = pg_engine.connect()
    migration.exec_driver_sql("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
    try:
        started = time.monotonic()
        code, out = run_sync("compare", "--reference", second_pg_url, "--database-url", pg_url)
        seconds = time.monotonic() - started
    finally:
        migration.rollback()
        migration.close()
    errors = capsys.readouterr().err
    assert code == 0, out
    assert "a table's lock was not available within 2 s, 3 times (another session holds ACCESS EXCLUSIVE" in errors, errors
    assert "unexpected" not in errors
    assert seconds < 10, seconds
