"""What an adversarial round broke (issue 13), each kept as a test against the real
PostgreSQL: the table the tool inspects is the one it changes, names as the server
stores them, rows never lost, secrets never printed."""

from __future__ import annotations

from pathlib import Path

import pytest
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


LONG_TABLE = "an_extraordinarily_long_table_name_that_goes_well_past_the_limit_x"  # 66 characters
LONG_COLUMN = "a_column_name_that_is_far_too_long_for_postgresql_to_keep_in_full_x"  # 67
UMLAUT_COLUMN = "spalte_" + "ä" * 30  # 37 characters, 67 bytes


def _long_names_models(extra: str = "") -> str:
    return f"""
import sqlalchemy as sa
metadata = sa.MetaData()
sa.Table({LONG_TABLE!r}, metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column({LONG_COLUMN!r}, sa.Integer, index=True),
    sa.Column({UMLAUT_COLUMN!r}, sa.Text),
{extra})
"""


def test_names_over_63_bytes_are_compared_as_the_server_stores_them(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """Tables, columns and indexes whose names PostgreSQL cuts: created once, found the
    next run (no "already exists"), and --allow drop never drops them or their rows."""
    models = write_models(app_dir, _long_names_models())
    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0 and "FAILED" not in out, out
    assert "longer than 63 bytes" in out, out  # the models are told
    stored_table = LONG_TABLE.encode()[:63].decode()
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'INSERT INTO "{stored_table}" ("{LONG_COLUMN[:63]}", "{UMLAUT_COLUMN.encode()[:63].decode(errors="ignore")}") VALUES (1, %s)', ("x",))
    before = _rows(pg_engine, f'"{stored_table}"')

    grown = write_models(app_dir, _long_names_models('    sa.Column("added", sa.Integer),\n'))
    code, out = run_sync("--database-url", pg_url, "--models", grown, "--allow", "drop")
    assert code == 0 and "FAILED" not in out and "drop" not in out.lower().replace("--allow drop", ""), out
    assert "add column" in out, out
    assert [row[:3] for row in _rows(pg_engine, f'"{stored_table}"')] == [r[:3] for r in before]
    code, out = run_sync("--database-url", pg_url, "--models", grown, "--check")
    assert code == 0 and "0 differences" in out, out


def test_two_model_names_equal_in_their_first_63_bytes_are_reported(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """Two columns (and two tables) that are one to the server: the first is kept, the
    collision is reported as a problem in the models, and every run converges."""
    models = write_models(app_dir, _long_names_models(f'    sa.Column({(LONG_COLUMN[:63] + "_y")!r}, sa.Integer),\n') + f"""
sa.Table({LONG_TABLE[:63] + "_other"!r}, metadata, sa.Column("id", sa.Integer, primary_key=True))
""")
    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0 and "FAILED" not in out, out
    assert "is the same column to postgresql as an earlier one" in out, out
    assert "is the same table to postgresql as" in out, out
    code, out = run_sync("--database-url", pg_url, "--models", models, "--check")
    assert code == 0 and "0 differences" in out, out


SECRET = "Sekrit-Value-4242"


def test_a_password_in_the_query_string_is_never_printed(app_dir: Path, pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """?password=... (and sslpassword) is hidden in the log, the summary, JSON, Markdown
    and the --sql script, as the user:password@ form is."""
    url = sa.make_url(pg_url).update_query_dict({"password": SECRET, "sslpassword": SECRET + "2"}).render_as_string(hide_password=False)
    models = write_models(app_dir, USERS_MODELS)
    outputs = []
    for args in ((), ("--format", "json"), ("--format", "markdown"), ("--dry-run", "--sql", str(app_dir / "plan.sql"))):
        code, out = run_sync("--database-url", url, "--models", models, *args)
        assert code == 0, out
        outputs += [out, capsys.readouterr().err]
    outputs.append((app_dir / "plan.sql").read_text())
    assert all(SECRET not in text for text in outputs), [t for t in outputs if SECRET in t][0]
    assert "password=***" in outputs[0], outputs[0]


def test_an_unreachable_server_error_never_quotes_a_secret(app_dir: Path) -> None:
    url = f"postgresql://app:{SECRET}@127.0.0.1:1/app?password={SECRET}x"
    code, out = run_sync("--database-url", url, "--models", write_models(app_dir, USERS_MODELS), "--connect-timeout", "2")
    assert code == 0 and "ERROR" in out, out
    assert SECRET not in out, out


def test_an_unencoded_at_sign_in_the_password_is_refused_without_echoing_it(app_dir: Path) -> None:
    code, out = run_sync("--database-url", f"postgresql://app:{SECRET}@tail-of-it@127.0.0.1/app", "--models", write_models(app_dir, USERS_MODELS))
    assert code == 0 and "more than one '@'" in out and "%40" in out, out
    assert SECRET not in out and "tail-of-it" not in out, out


def test_a_bad_flag_never_echoes_a_url_with_its_password(app_dir: Path) -> None:
    code, out = run_sync("--no-such-flag", f"postgres://app:{SECRET}@db.internal/app")
    assert code == 0 and "unrecognized arguments" in out, out
    assert SECRET not in out, out


def test_a_url_without_a_database_name_is_refused(app_dir: Path, pg_admin: sa.Engine) -> None:
    """libpq would connect to a database of its choosing (the user's name) and the sync
    would create the models' tables there."""
    with pg_admin.connect() as conn:
        before = conn.exec_driver_sql("SELECT count(*) FROM pg_tables WHERE tablename = 'users' AND schemaname = 'public'").scalar()
    for url in ("postgresql://", "postgresql://postgres@127.0.0.1:5432", "postgres://postgres@127.0.0.1/"):
        code, out = run_sync("--database-url", url, "--models", write_models(app_dir, USERS_MODELS))
        assert code == 0 and "no database name" in out, out
        code, out = run_sync("--database-url", url, "--models", write_models(app_dir, USERS_MODELS), "--strict")
        assert code == 1, out
    with pg_admin.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM pg_tables WHERE tablename = 'users' AND schemaname = 'public'").scalar() == before


@pytest.mark.parametrize("value", ["0.0004", "0", "inf", "nan", "1e9", "-1"])
def test_a_time_out_that_would_mean_no_time_out_is_refused(app_dir: Path, sqlite_url: str, value: str) -> None:
    """Time-outs go to the server in whole milliseconds, and 0 ms means none at all:
    0.0004 s used to become '0ms'."""
    code, out = run_sync("--database-url", sqlite_url, "--models", write_models(app_dir, USERS_MODELS), "--lock-timeout", value, "--strict")
    assert code == 1 and "time-out" in out, out
    assert "nothing was synced" in out, out


LOSSY_BEFORE = """
    CREATE TABLE measures (
        id serial PRIMARY KEY,
        amount numeric(10,3), happened timestamp, ratio double precision, tags varchar(20)[],
        precise timestamp(6), payload json, fine numeric(10,3), label varchar(20)
    );
    INSERT INTO measures (amount, happened, ratio, tags, precise, payload, fine, label) VALUES
        (9.999, '2024-01-02 10:30:00', 0.1, '{abcdefghij}', '2024-01-02 10:30:00.123456', '{"a": 1, "a": 2}', 1.5, 'short')
"""
LOSSY_MODELS = """
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
metadata = sa.MetaData()
measures = sa.Table("measures", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("amount", sa.Numeric(10, 2)), sa.Column("happened", sa.Date), sa.Column("ratio", sa.REAL),
    sa.Column("tags", pg.ARRAY(sa.String(5))), sa.Column("precise", pg.TIMESTAMP(precision=0)), sa.Column("payload", pg.JSONB),
    sa.Column("fine", sa.Numeric(10, 2)), sa.Column("label", sa.String(40)),
)
"""


def test_allow_type_change_refuses_every_lossy_cast(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """A value counts as lost when value::new::old differs from it (arrays element by
    element, json by its duplicate keys): those changes are refused with a count; the
    lossless ones (1.500 to numeric(10,2), a wider varchar) go through."""
    execute_script(pg_engine, LOSSY_BEFORE)
    before = _rows(pg_engine, "measures")
    code, out = run_sync("--database-url", pg_url, "--models", write_models(app_dir, LOSSY_MODELS), "--allow", "type-change")
    assert code == 0, out
    for column in ("amount", "happened", "ratio", "tags", "precise", "payload"):
        assert f"refused: 1 rows of measures.{column} would not convert" in out, (column, out)
    assert out.count("APPLIED") == 2 and "measures.fine" in out and "measures.label" in out, out
    after = _rows(pg_engine, "measures")
    assert [str(v) for v in after[0][:7]] == [str(v) for v in before[0][:7]]  # every refused column's value as it was
    assert str(after[0][7]) == "1.50" and after[0][8] == "short"  # the two changes that lose nothing


def test_a_type_change_checks_the_rows_again_under_its_own_lock(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """A row written between the precheck and the ALTER: the statements of the step check
    every row again in the ALTER's transaction, under a SHARE lock, and roll back rather
    than let USING s::varchar(10) cut it."""
    from sync_schema.database import run_sql
    from sync_schema.dialects import dialect_for

    execute_script(pg_engine, "CREATE TABLE customers (id serial PRIMARY KEY, slug varchar(40)); INSERT INTO customers (slug) VALUES ('short')")
    with pg_engine.connect() as conn:
        dialect = dialect_for(conn.dialect)
        actual = dialect.inspect(conn, {"public"})
    table = actual.tables[("public", "customers")]
    old = next(c for c in table.columns if c.name == "slug")
    statements = dialect.type_change_sql(table, old, old._replace(type="VARCHAR(10)"))
    assert statements[0] == "LOCK TABLE public.customers IN SHARE MODE", statements
    with pg_engine.begin() as conn:  # the row that arrives after the precheck
        conn.exec_driver_sql("INSERT INTO customers (slug) VALUES ('a-long-customer-slug')")
    with pytest.raises(sa.exc.DBAPIError, match="would not convert"):
        with pg_engine.begin() as conn:
            for sql in statements:
                run_sql(conn, sql)
    assert _rows(pg_engine, "customers") == [(1, "short"), (2, "a-long-customer-slug")]
    assert _columns(pg_engine, "public", "customers") == ["id", "slug"]


EVIL_COLUMN = "evil\nDELETE FROM victim; --"


def _victim_and(engine: sa.Engine, *statements: str) -> None:
    """A table `victim` with two rows, then `statements` (names with ; in them: not split)."""
    with engine.begin() as conn:
        for sql in ("CREATE TABLE victim (id integer PRIMARY KEY)", "INSERT INTO victim VALUES (1), (2)", *statements):
            conn.exec_driver_sql(sql)
EVIL_KEY = "(id)); DELETE FROM victim; --"


def test_a_newline_in_a_database_name_cannot_end_a_comment(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """A column named with a newline, then SQL: the --sql script (fed to psql -f), the
    Markdown report and the build log keep it on its comment's line."""
    import shutil
    import subprocess

    _victim_and(pg_engine, f'CREATE TABLE t (id serial PRIMARY KEY, "{EVIL_COLUMN}" integer)')
    models = write_models(app_dir, """
import sqlalchemy as sa
metadata = sa.MetaData()
sa.Table("t", metadata, sa.Column("id", sa.Integer, primary_key=True))
sa.Table("victim", metadata, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False))
""")
    script = app_dir / "plan.sql"
    code, log = run_sync("--database-url", pg_url, "--models", models, "--dry-run", "--sql", str(script))
    assert code == 0, log
    code, markdown = run_sync("--database-url", pg_url, "--models", models, "--dry-run", "--format", "markdown")
    for text in (log, markdown, script.read_text()):
        assert not any(line.lstrip().startswith("DELETE") for line in text.splitlines()), text
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed: the script is not run")
    url = sa.make_url(pg_url)
    done = subprocess.run(["psql", "-h", url.host or "127.0.0.1", "-U", url.username or "postgres", "-d", url.database or "", "-f", str(script)],
                          capture_output=True, text=True, timeout=60)
    assert "DELETE" not in done.stdout, done.stdout
    assert _rows(pg_engine, "victim") == [(1,), (2,)]


def test_a_column_named_like_an_expression_is_quoted_as_a_name(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """A key that begins with '(' is a name unless the models made it an expression: the
    index is built on the column, and nothing else runs."""
    from sync_schema.dialects import dialect_for
    from sync_schema.snapshot import Expression, Index

    _victim_and(pg_engine, f'CREATE TABLE t (id serial PRIMARY KEY, "{EVIL_KEY}" integer)', f'INSERT INTO t ("{EVIL_KEY}") VALUES (7)')
    models = write_models(app_dir, f"""
import sqlalchemy as sa
metadata = sa.MetaData()
sa.Table("t", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column({EVIL_KEY!r}, sa.Integer, index=True))
sa.Table("victim", metadata, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False))
""")
    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0 and "FAILED" not in out, out
    assert _rows(pg_engine, "victim") == [(1,), (2,)]
    assert len(sa.inspect(pg_engine).get_indexes("t")) == 1
    with pg_engine.connect() as conn:
        dialect = dialect_for(conn.dialect)
        table = dialect.inspect(conn, {"public"}).tables[("public", "t")]
    sql = dialect.create_index_sql(table, Index("ix_other", (EVIL_KEY, Expression("(lower('x'))"))))
    assert f'"{EVIL_KEY}"' in sql and "(lower('x'))" in sql, sql


def test_report_counts_and_history_never_wait_out_a_lock(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """Another session holds ACCESS EXCLUSIVE on the table a drop would count and on the
    history table: the count and the history writes give up after the lock time-out
    (the report shows no count, the history is skipped with a warning) instead of
    waiting for the lock to go."""
    import time

    execute_script(pg_engine, """
        CREATE TABLE users (id serial PRIMARY KEY, name varchar(50));
        CREATE TABLE legacy (id integer PRIMARY KEY); INSERT INTO legacy VALUES (1), (2), (3)
    """)
    models = write_models(app_dir, USERS_MODELS)
    run_sync("--database-url", pg_url, "--models", models, "--dry-run")  # nothing locked yet
    code, out = run_sync("--database-url", pg_url, "--models", models)  # makes the history tables
    assert code == 0 and "deletes the table and its data (3 rows)" in out, out
    holder = pg_engine.connect()
    try:
        holder.exec_driver_sql("LOCK TABLE legacy, sync_schema_history, sync_schema_history_statements IN ACCESS EXCLUSIVE MODE")
        for mode in ("--check", "--dry-run", "--strict"):
            started = time.monotonic()
            code, out = run_sync("--database-url", pg_url, "--models", models, "--lock-timeout", "0.5", mode)
            assert time.monotonic() - started < 10, out  # the lock is held for as long as the test likes
            assert "ERROR" not in out, out
        assert "deletes the table and its data (about" in out or "row count unknown" in out, out
        assert "history not recorded" in out, out
    finally:
        holder.rollback()
        holder.close()


def _process(app_dir: Path, *args: str, timeout: float = 60) -> tuple[int, str, float]:
    """`python -m sync_schema ARGS` in a process of its own: (exit code, output, seconds)."""
    import os
    import subprocess
    import sys
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_SCHEMA_") and k != "DATABASE_URL"}
    env["NO_COLOR"] = "1"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "sync_schema", *args], cwd=app_dir, env=env, capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


class _StallingProxy:
    """A TCP proxy to the server that stops passing the server's answers on once the
    client sends `marker` (a server gone silent mid-run), keeping both sockets open."""

    def __init__(self, port: int, marker: bytes) -> None:
        import socket
        import threading

        self.target, self.marker, self.stalled = port, marker, threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: object, sink: object, from_client: bool) -> None:
        while True:
            try:
                data = source.recv(65536)  # type: ignore[attr-defined]
            except OSError:
                return
            if not data:
                return
            if from_client and self.marker in data:
                self.stalled.set()
            if not from_client and self.stalled.is_set():
                continue  # swallowed: the client waits for an answer that never comes
            try:
                sink.sendall(data)  # type: ignore[attr-defined]
            except OSError:
                return

    def close(self) -> None:
        for s in self.sockets:
            s.close()


def test_a_server_that_goes_silent_mid_run_cannot_hang_the_deploy(app_dir: Path, pg_url: str) -> None:
    """The proxy stops answering once the catalog read begins: no server-side time-out
    can fire (the server's answers are lost), the TCP connection stays up; the run's
    deadline ends the process with one line."""
    proxy = _StallingProxy(sa.make_url(pg_url).port or 5432, b"Server facts")
    try:
        url = sa.make_url(pg_url).set(port=proxy.port).render_as_string(hide_password=False)
        models = write_models(app_dir, USERS_MODELS)
        code, out, seconds = _process(app_dir, "--database-url", url, "--models", models, "--deadline", "3")
        assert proxy.stalled.is_set(), out
        assert code == 0 and seconds < 20 and "did not finish within 3 s" in out, (seconds, out)
        code, out, seconds = _process(app_dir, "--database-url", url, "--models", models, "--deadline", "3", "--strict")
        assert code == 1 and "did not finish within 3 s" in out, out
        code, out, seconds = _process(app_dir, "--database-url", url, "--models", models, "--deadline", "3", "--check")
        assert code == 2 and "did not finish within 3 s" in out, out  # --check could not tell
    finally:
        proxy.close()


def test_a_models_module_that_blocks_on_import_is_bounded(app_dir: Path, sqlite_url: str) -> None:
    (app_dir / "blocking_models.py").write_text("import time\ntime.sleep(3600)\n")
    code, out, seconds = _process(app_dir, "--database-url", sqlite_url, "--models", "blocking_models", "--models-import-timeout", "2")
    assert code == 0 and seconds < 20, (seconds, out)
    assert "importing the models (blocking_models) did not finish within 2 s" in out, out


def test_a_thread_left_by_the_models_does_not_keep_the_deploy_running(app_dir: Path, sqlite_url: str) -> None:
    (app_dir / "threaded_models.py").write_text(USERS_MODELS + "import threading, time\nthreading.Thread(target=time.sleep, args=(3600,)).start()\n")
    code, out, seconds = _process(app_dir, "--database-url", sqlite_url, "--models", "threaded_models")
    assert code == 0 and seconds < 30 and "create table users" in out, (seconds, out)


def test_os_exit_in_the_models_is_reported_with_a_summary(app_dir: Path, sqlite_url: str) -> None:
    (app_dir / "exiting_models.py").write_text("import os\nos._exit(3)\n")
    code, out, _ = _process(app_dir, "--database-url", sqlite_url, "--models", "exiting_models")
    assert code == 0 and "ERROR" in out and "os._exit(3)" in out and "sync-schema summary" in out, out


def test_what_the_models_print_stays_out_of_the_json_document(app_dir: Path, sqlite_url: str) -> None:
    import json

    (app_dir / "chatty_models.py").write_text("print('hello from the models')\n" + USERS_MODELS)
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_SCHEMA_") and k != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-m", "sync_schema", "--database-url", sqlite_url, "--models", "chatty_models", "--format", "json"],
                          cwd=app_dir, env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(done.stdout)["summary"], done.stdout
    assert "hello from the models" in done.stderr


def test_add_column_never_rewrites_a_table_with_rows_by_default(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """Whether ADD COLUMN rewrites is the server's answer, not the spelling's: a volatile
    default that starts with a literal is set for new rows only (no rewrite); an identity
    and a domain with a CHECK are left for review with the table's size; a constant
    default goes in with the column. The table keeps its relfilenode and every row."""
    execute_script(pg_engine, """
        CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
        CREATE TABLE events (id serial PRIMARY KEY, name text);
        INSERT INTO events (name) SELECT 'e' || g FROM generate_series(1, 500) g
    """)
    with pg_engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT pg_relation_filenode('events')").scalar()
    models = write_models(app_dir, """
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
metadata = sa.MetaData()
class PositiveInt(sa.types.UserDefinedType):
    cache_ok = True
    def get_col_spec(self, **kw):
        return "positive_int"
events = sa.Table("events", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("token", sa.Text, server_default=sa.text("'u-' || gen_random_uuid()::text")),
    sa.Column("stamp", sa.Text, server_default=sa.text("'t' || timeofday()")),
    sa.Column("seq", sa.BigInteger, sa.Identity()),
    sa.Column("score", PositiveInt()),
    sa.Column("kind", sa.String(10), server_default="click", nullable=False),
)
""")
    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0 and "FAILED" not in out, out
    with pg_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT pg_relation_filenode('events')").scalar() == before, out
        assert conn.exec_driver_sql("SELECT count(*), count(token), count(*) FILTER (WHERE kind = 'click') FROM events").one() == (500, 0, 500)
    assert "add column events.seq (rewrites the table: an identity)" in out and "add column events.score (rewrites the table" in out, out
    assert "ALTER COLUMN token SET DEFAULT" in out, out
    with pg_engine.begin() as conn:  # new rows get the volatile defaults
        conn.exec_driver_sql("INSERT INTO events (name) VALUES ('new')")
        assert conn.exec_driver_sql("SELECT token LIKE 'u-%%' FROM events WHERE name = 'new'").scalar() is True


def test_a_unique_index_over_duplicates_is_refused_with_a_count_not_retried(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """Counted before the build: no INVALID index is left behind to drop, rescan and fail
    again on every deploy; the rows stay as they are."""
    execute_script(pg_engine, """
        CREATE TABLE accounts (id serial PRIMARY KEY, email varchar(100), tenant integer);
        INSERT INTO accounts (email, tenant) VALUES ('a@x', 1), ('A@x', 1), ('b@x', 1), (NULL, 1), (NULL, 1)
    """)
    models = write_models(app_dir, """
import sqlalchemy as sa
metadata = sa.MetaData()
accounts = sa.Table("accounts", metadata,
    sa.Column("id", sa.Integer, primary_key=True), sa.Column("email", sa.String(100)), sa.Column("tenant", sa.Integer))
sa.Index("uq_accounts_lower_email", sa.func.lower(accounts.c.email), unique=True)
""")
    for _ in range(2):
        code, out = run_sync("--database-url", pg_url, "--models", models)
        assert code == 0 and "refused: 1 values of ((lower" in out and "FAILED" not in out, out
    with pg_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM pg_indexes WHERE indexname = 'uq_accounts_lower_email'").scalar() == 0
    assert len(_rows(pg_engine, "accounts")) == 5


def test_a_concurrent_index_build_stopped_by_the_lock_time_out_is_deferred_then_rebuilt(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """An open writing transaction makes CREATE INDEX CONCURRENTLY wait, and the lock
    time-out stop it, leaving an INVALID index: the retry does not fail on "already
    exists"; the step is deferred, and the next run, the writer gone, builds it."""
    execute_script(pg_engine, "CREATE TABLE orders (id serial PRIMARY KEY, qty integer); INSERT INTO orders (qty) SELECT g FROM generate_series(1, 100) g")
    models = write_models(app_dir, """
import sqlalchemy as sa
metadata = sa.MetaData()
sa.Table("orders", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("qty", sa.Integer, index=True))
""")
    writer = pg_engine.connect()
    try:
        writer.exec_driver_sql("INSERT INTO orders (qty) VALUES (0)")  # the transaction stays open
        code, out = run_sync("--database-url", pg_url, "--models", models, "--lock-timeout", "0.3", "--lock-attempts", "2")
        assert code == 0 and "DEFERRED" in out and "FAILED" not in out, out
    finally:
        writer.rollback()
        writer.close()
    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0 and "FAILED" not in out and "APPLIED" in out, out
    with pg_engine.connect() as conn:
        assert conn.exec_driver_sql(
            "SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = 'orders'::regclass AND NOT indisprimary"
        ).scalar() is True


def test_a_generated_column_plain_in_the_models_holds_back_nothing(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """The database computes `total`; the models declare it a plain column: that is left
    for review, and the table's new column is added all the same, on the first run."""
    execute_script(pg_engine, """
        CREATE TABLE lines (id serial PRIMARY KEY, qty integer, total integer GENERATED ALWAYS AS (qty * 2) STORED);
        INSERT INTO lines (qty) VALUES (1), (2)
    """)
    models = write_models(app_dir, """
import sqlalchemy as sa
metadata = sa.MetaData()
sa.Table("lines", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("qty", sa.Integer),
         sa.Column("total", sa.Integer), sa.Column("note", sa.Text))
""")
    for _ in range(2):
        code, out = run_sync("--database-url", pg_url, "--models", models)
        assert code == 0 and "FAILED" not in out, out
    assert _columns(pg_engine, "public", "lines") == ["id", "qty", "total", "note"]
    assert "total" in out and "REVIEW" in out, out
    assert _rows(pg_engine, "lines") == [(1, 1, 2, None), (2, 2, 4, None)]


def test_unclear_errors_are_one_clear_line(
    app_dir: Path, sqlite_url: str, pg_url: str, private_pg: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unwritable compare --sql path, a malformed setup.cfg, mssql:// (not supported
    yet), a wrong password given through a service file: one line each, no traceback."""
    models = write_models(app_dir, USERS_MODELS)
    code, out = run_sync("compare", "--reference", pg_url, "--database-url", pg_url, "--sql", "/nonexistent-dir/plan.sql")
    out += capsys.readouterr().err  # compare's log goes to stderr
    assert code == 0 and "cannot write the SQL script to /nonexistent-dir/plan.sql" in out, out

    (app_dir / "setup.cfg").write_text("[sync_schema]\nmodels = x\n  garbage line without section\n[broken\n")
    code, out = run_sync("--database-url", sqlite_url, "--models", models)
    error = [line for line in out.splitlines() if "ERROR" in line]
    assert code == 0 and len(error) == 1 and "cannot parse" in error[0] and "Traceback" not in out, out
    (app_dir / "setup.cfg").unlink()

    code, out = run_sync("--database-url", "mssql://root@127.0.0.1/app", "--models", models)
    assert code == 0 and "mssql:// in --database-url is not supported yet" in out and "unexpected" not in out, out

    service_file = app_dir / "pg_service.conf"
    service_file.write_text(f"[app]\nhost=127.0.0.1\nport={private_pg.port}\nuser=postgres\npassword=wrong-password\ndbname=postgres\n")  # type: ignore[attr-defined]
    monkeypatch.setenv("PGSERVICEFILE", str(service_file))
    code, out = run_sync("--database-url", "postgresql:///?service=app", "--models", models)
    assert code == 0 and "authentication failed for user 'postgres' at service 'app'" in out, out
    assert "wrong-password" not in out and "None" not in out, out
