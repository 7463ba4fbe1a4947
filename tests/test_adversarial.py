"""What an adversarial round broke (issue 13), each kept as a test against the real
PostgreSQL: the table the tool inspects is the one it changes, names as the server
stores them, rows never lost, secrets never printed."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from conftest import execute_script, run_sync, write_models

USERS_MODELS = """
import sqlalchemy as sa
metadata = sa.MetaData()
users = sa.Table("users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(50)),
    sa.Column("is_active", sa.Boolean, server_default=sa.true(), nullable=False),
)
"""


def _rows(engine: sa.Engine, table: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1")]


def _columns(engine: sa.Engine, schema: str, table: str) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.exec_driver_sql(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (schema, table),
        )]


def test_search_path_the_schema_inspected_is_the_schema_changed(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """A role whose search_path is `app`: create_all() puts the models' tables there, so
    the sync inspects `app` (current_schema()) and every statement names `app`; the
    same-named tables in `public` are never touched."""
    execute_script(pg_engine, """
        CREATE SCHEMA app;
        CREATE TABLE public.users (id serial PRIMARY KEY, name varchar(50), note text NOT NULL);
        INSERT INTO public.users VALUES (1, 'public-only', 'kept');
        CREATE TABLE public.legacy (id integer PRIMARY KEY);
        INSERT INTO public.legacy VALUES (1);
        CREATE TABLE app.users (id serial PRIMARY KEY, name varchar(50));
        INSERT INTO app.users VALUES (1, 'a'), (2, 'b');
        CREATE TABLE app.legacy (id integer PRIMARY KEY);
        INSERT INTO app.legacy VALUES (1), (2), (3)
    """)
    public_before = (_rows(pg_engine, "public.users"), _rows(pg_engine, "public.legacy"), _columns(pg_engine, "public", "users"))
    url = sa.make_url(pg_url).update_query_dict({"options": "-csearch_path=app"}).render_as_string(hide_password=False)
    models = write_models(app_dir, USERS_MODELS)

    code, out = run_sync("--database-url", url, "--models", models)
    assert code == 0, out
    assert "deletes the table and its data (3 rows)" in out, out  # counted in the schema that would be dropped
    sql_lines = [line for line in out.splitlines() if "ALTER TABLE" in line or "DROP TABLE" in line]
    assert sql_lines and all("app." in line for line in sql_lines), out

    code, out = run_sync("--database-url", url, "--models", models, "--allow", "drop")
    assert code == 0, out
    assert _columns(pg_engine, "app", "users") == ["id", "name", "is_active"]
    assert _rows(pg_engine, "app.users") == [(1, "a", True), (2, "b", True)]
    assert sa.inspect(pg_engine).has_table("legacy", schema="app") is False
    assert (_rows(pg_engine, "public.users"), _rows(pg_engine, "public.legacy"), _columns(pg_engine, "public", "users")) == public_before

    code, out = run_sync("--database-url", url, "--models", models, "--check")
    assert code == 0, out


def test_search_path_with_a_missing_table_creates_it_where_create_all_would(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """search_path `app, public` with `users` only in public: create_all() makes
    app.users (the first schema of the path), and so does the sync; public.users keeps
    its columns and rows."""
    execute_script(pg_engine, """
        CREATE SCHEMA app;
        CREATE TABLE public.users (id serial PRIMARY KEY, name varchar(50));
        INSERT INTO public.users VALUES (1, 'kept')
    """)
    url = sa.make_url(pg_url).update_query_dict({"options": "-csearch_path=app,public"}).render_as_string(hide_password=False)
    code, out = run_sync("--database-url", url, "--models", write_models(app_dir, USERS_MODELS))
    assert code == 0, out
    assert _columns(pg_engine, "app", "users") == ["id", "name", "is_active"]
    assert _columns(pg_engine, "public", "users") == ["id", "name"]
    assert _rows(pg_engine, "public.users") == [(1, "kept")]


def test_a_model_column_that_cannot_be_compiled_is_never_dropped(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """sa.Enum without a name cannot be rendered for PostgreSQL: the column is reported
    as not compared, and even --allow drop leaves it and its rows alone."""
    execute_script(pg_engine, """
        CREATE TABLE pets (id integer PRIMARY KEY, kind varchar(10));
        INSERT INTO pets VALUES (1, 'cat'), (2, 'dog')
    """)
    models = write_models(app_dir, """
import sqlalchemy as sa
metadata = sa.MetaData()
pets = sa.Table("pets", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("kind", sa.Enum("cat", "dog")))
""")
    code, out = run_sync("--database-url", pg_url, "--models", models, "--allow", "drop")
    assert code == 0, out
    assert "pets.kind" in out and "not compared" in out, out
    assert "drop column" not in out.lower(), out
    assert _rows(pg_engine, "pets") == [(1, "cat"), (2, "dog")]
