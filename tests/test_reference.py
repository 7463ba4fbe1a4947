"""A database as the desired schema (issue 16): `--reference URL` through the whole
pipeline, and `compare` as its read-only view, against the real PostgreSQL.

The proof is the round trip: for a live database D, an empty database synced with
`--reference D` must hold the same catalog as D, object by object as the server itself
spells them (tests/catalog_dump.py: format_type, pg_get_indexdef, pg_get_constraintdef...),
and compare must find nothing between the two. D is made by references nobody here wrote:
SQLAlchemy's create_all() of real applications' declarations (the parity and acceptance
cases, the bench schema), and hand-written DDL.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import types
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import acceptance_cases
import parity_cases
from catalog_dump import catalog_differences, dump_catalog, reparsed_checks
from conftest import REPO, execute_script, new_database, run_sync, sync_json

Databases = Callable[[], tuple[str, sa.Engine]]


@pytest.fixture
def databases(pg_admin: sa.Engine) -> Iterator[Databases]:
    """Makes empty databases on demand: (URL, engine); all dropped after the test."""
    with ExitStack() as made:
        def make() -> tuple[str, sa.Engine]:
            url = made.enter_context(new_database(pg_admin))
            engine = sa.create_engine(url)
            made.callback(engine.dispose)  # before the drop: callbacks run last in, first out
            return url, engine

        yield make


def schemas_of(engine: sa.Engine) -> tuple[str, ...]:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1")).scalars())


def assert_round_trip(reference_url: str, reference: sa.Engine, target_url: str, target: sa.Engine, *extra: str) -> dict[str, Any]:
    """Sync the empty `target` with `--reference`; then the two catalogs are the same, a
    second run applies nothing, and compare --check finds nothing. Returns the first run's JSON."""
    code, document = sync_json("--reference", reference_url, "--database-url", target_url, "--strict", *extra)
    failed = [s for s in document["steps"] if s["status"] not in ("applied", "review")]
    assert code == 0 and not failed and document["error"] is None, (failed, document["error"])
    schemas = schemas_of(reference)
    want = reparsed_checks(reference, dump_catalog(reference, schemas, column_order=True))
    have = dump_catalog(target, schemas, column_order=True)
    # An INVALID index of the reference (a failed concurrent build) is made valid here.
    want["indexes"] = {key: (definition, True) for key, (definition, _valid) in want["indexes"].items()}
    assert catalog_differences(want, have) == []
    code, again = sync_json("--reference", reference_url, "--database-url", target_url)
    assert [s["description"] for s in again["steps"] if s["status"] == "applied"] == []
    assert run_sync("compare", "--reference", reference_url, "--database-url", target_url, "--check")[0] == 0
    return document


def load_models(source: str) -> sa.MetaData:
    module = types.ModuleType(f"models_{uuid.uuid4().hex[:8]}")
    sys.modules[module.__name__] = module  # annotations (Mapped[int]) are resolved through it
    exec(compile(source, module.__name__, "exec"), module.__dict__)  # noqa: S102 - the cases' own model declarations
    metadata = module.__dict__.get("metadata") or module.__dict__["Base"].metadata
    assert isinstance(metadata, sa.MetaData)
    return metadata


def run_script(engine: sa.Engine, script: str) -> None:
    """SQL statements sent as one string (function bodies hold semicolons), in one transaction."""
    with engine.begin() as conn:
        conn.exec_driver_sql(script)


def create_all(engine: sa.Engine, metadata: sa.MetaData, schema: str | None = None) -> None:
    with engine.begin() as conn:
        for name in {t.schema for t in metadata.tables.values() if t.schema} | ({schema} if schema else set()):
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
        metadata.create_all(conn.execution_options(schema_translate_map={None: schema}) if schema else conn)


# --- the round trip -------------------------------------------------------------------


@pytest.mark.parametrize("case", parity_cases.CASES, ids=[c.name for c in parity_cases.CASES])
def test_round_trip_of_create_all_of_real_declarations(case: parity_cases.Case, app_dir: Path, databases: Databases) -> None:
    reference_url, reference = databases()
    target_url, target = databases()
    for engine in (reference, target):  # the case's setup runs on every database (an extension, say)
        if case.setup:
            execute_script(engine, case.setup)
    create_all(reference, load_models(case.models))
    assert_round_trip(reference_url, reference, target_url, target)


def test_round_trip_of_every_acceptance_case_database(app_dir: Path, databases: Databases) -> None:
    """Every acceptance case's database before its sync, and create_all() of its models,
    each in a schema of its own, in one reference database."""
    reference_url, reference = databases()
    target_url, target = databases()
    for n, case in enumerate(acceptance_cases.CASES):
        with reference.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA before_{n}")
            conn.exec_driver_sql(f"SET LOCAL search_path TO before_{n}")
            for statement in filter(str.strip, case.before.split(";")):
                conn.exec_driver_sql(statement)
        metadata = load_models(acceptance_cases.PRELUDE + case.models)
        if not any(t.schema for t in metadata.tables.values()):  # models that name a schema of their own are the parity cases' business
            create_all(reference, metadata, f"models_{n}")
    document = assert_round_trip(reference_url, reference, target_url, target)
    assert document["summary"]["tables_created"] >= 2 * len(acceptance_cases.CASES) - 5


def test_round_trip_of_the_bench_schema_at_1000_tables(app_dir: Path, databases: Databases) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from generate import generate, module_source
    finally:
        sys.path.remove(str(REPO / "bench"))
    reference_url, reference = databases()
    target_url, target = databases()
    create_all(reference, load_models(module_source(generate(1000).v1, "bench")))

    document = assert_round_trip(reference_url, reference, target_url, target)

    assert document["summary"]["tables_created"] == 1000
    assert document["verification"]["reference_tables"] == 1000 and document["verification"]["column_counts"] == []


def test_round_trip_of_hand_written_ddl_with_every_attribute(app_dir: Path, databases: Databases) -> None:
    """What no declaration above spells: schemas and enum types of their own, an identity,
    a collation, comments, every foreign-key action, DEFERRABLE INITIALLY DEFERRED, an
    expression index with an operator class, ordering, INCLUDE and a predicate."""
    reference_url, reference = databases()
    target_url, target = databases()
    execute_script(reference, """
        CREATE SCHEMA billing;
        CREATE TYPE billing.state AS ENUM ('open', 'paid', 'void');
        CREATE TABLE accounts (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code varchar(20) COLLATE "C" NOT NULL UNIQUE,
                               name text NOT NULL DEFAULT 'unnamed', tags text[] DEFAULT '{}', created timestamp(3) with time zone DEFAULT now());
        COMMENT ON TABLE accounts IS 'who pays';
        COMMENT ON COLUMN accounts.code IS 'external code';
        CREATE TABLE billing.invoices (id bigserial PRIMARY KEY, account_id integer NOT NULL, state billing.state NOT NULL DEFAULT 'open',
                               total numeric(12, 2) CHECK (total >= 0), number integer, due date,
                               CONSTRAINT invoices_account FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE RESTRICT ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED,
                               CONSTRAINT invoices_number UNIQUE (account_id, number));
        CREATE TABLE billing.lines (invoice_id bigint REFERENCES billing.invoices ON DELETE CASCADE, n smallint, amount numeric,
                               PRIMARY KEY (invoice_id, n));
        CREATE INDEX ix_accounts_lower_name ON accounts (lower(name) text_pattern_ops DESC NULLS LAST) INCLUDE (code) WHERE name <> 'unnamed';
        CREATE UNIQUE INDEX ix_invoices_open ON billing.invoices (account_id) WHERE state = 'open';
        CREATE INDEX ix_invoices_due ON billing.invoices USING brin (due)
    """)
    assert_round_trip(reference_url, reference, target_url, target)


# --- what the tool does not create ---------------------------------------------------


def test_views_functions_and_triggers_are_listed_as_not_synced_with_their_sql(app_dir: Path, databases: Databases, tmp_path: Path) -> None:
    reference_url, reference = databases()
    target_url, target = databases()
    run_script(reference, """
        CREATE SCHEMA reporting;
        CREATE TABLE users (id serial PRIMARY KEY, email text, created timestamptz DEFAULT now());
        CREATE VIEW reporting.daily AS SELECT date_trunc('day', created) AS day, count(*) AS n FROM users GROUP BY 1;
        CREATE FUNCTION lower_email(text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT lower($1)';
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN NEW.created := now(); RETURN NEW; END';
        CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
        CREATE SEQUENCE invoice_numbers;
    """)
    script = tmp_path / "sync.sql"

    code, document = sync_json("--reference", reference_url, "--database-url", target_url, "--sql", str(script))

    assert code == 0
    not_synced = {c["name"] for c in document["changes"] if c["kind"] == "not_synced"}
    assert not_synced == {"view daily", "function lower_email(text)", "function touch()", "trigger users_touch on users", "sequence invoice_numbers"}
    steps = {s["description"]: s for s in document["steps"]}
    view = steps["not synced: view reporting.daily (create it by hand)"]
    assert view["status"] == "review" and view["requires"] == "by-hand" and view["sql"][0].startswith("CREATE VIEW reporting.daily AS")
    # Each is listed once, its SQL commented out in the script; the schema the view needs is created.
    assert script.read_text().count("-- not synced:") == 5 and "\n-- CREATE VIEW reporting.daily AS" in script.read_text()
    assert "reporting" in schemas_of(target)
    with target.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM pg_views WHERE schemaname = 'reporting'").scalar() == 0
    # Running the reference's SQL by hand makes the target whole: nothing is left to list.
    with target.begin() as conn:
        for step in document["steps"]:
            if step["requires"] == "by-hand":
                conn.exec_driver_sql(step["sql"][0])
    code, again = sync_json("--reference", reference_url, "--database-url", target_url, "--check")
    assert code == 0 and again["changes"] == [], again["changes"]


# --- a restore, and local against production ------------------------------------------


def test_a_restore_into_older_tables_gets_the_source_columns_and_keeps_every_row(app_dir: Path, databases: Databases, tmp_path: Path) -> None:
    """pg_restore creates tables, it never alters them: restored into a database that holds
    an older version of the tables, the columns the source gained are missing. The sync with
    the source as the reference adds them, and every row of both is kept."""
    pg_dump, pg_restore = shutil.which("pg_dump"), shutil.which("pg_restore")
    if not pg_dump or not pg_restore:
        pytest.skip("pg_dump / pg_restore are not installed (postgresql-client)")
    source_url, source = databases()
    target_url, target = databases()
    execute_script(source, """
        CREATE TABLE customers (id serial PRIMARY KEY, email varchar(255) NOT NULL, plan text NOT NULL DEFAULT 'free', referred_by integer);
        CREATE TABLE orders (id serial PRIMARY KEY, customer_id integer REFERENCES customers, total numeric(10, 2), currency char(3) DEFAULT 'EUR');
        CREATE INDEX ix_orders_customer ON orders (customer_id);
        INSERT INTO customers (email, plan) VALUES ('new@example.com', 'pro');
        INSERT INTO orders (customer_id, total) VALUES (1, 10.5)
    """)
    execute_script(target, """
        CREATE TABLE customers (id serial PRIMARY KEY, email varchar(255) NOT NULL);
        CREATE TABLE orders (id serial PRIMARY KEY, customer_id integer REFERENCES customers, total numeric(10, 2));
        INSERT INTO customers (id, email) VALUES (100, 'old@example.com'), (101, 'older@example.com');
        INSERT INTO orders (id, customer_id, total) VALUES (100, 100, 99.99)
    """)
    dump = tmp_path / "source.dump"
    source_dsn = sa.make_url(source_url).set(drivername="postgresql").render_as_string(hide_password=False)
    target_dsn = sa.make_url(target_url).set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run([pg_dump, "--format=custom", "--file", str(dump), source_dsn], check=True, capture_output=True, timeout=60)
    restore = subprocess.run([pg_restore, "--data-only", "--dbname", target_dsn, str(dump)], capture_output=True, text=True, timeout=60)
    assert restore.returncode != 0 and 'column "plan" of relation "customers" does not exist' in restore.stderr  # what people meet

    code, document = sync_json("--reference", source_url, "--database-url", target_url)

    assert code == 0 and document["error"] is None
    added = {(c["table"], c["column"]) for c in document["changes"] if c["kind"] == "missing_column" and c["status"] == "applied"}
    assert added == {("customers", "plan"), ("customers", "referred_by"), ("orders", "currency")}
    with target.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, email, plan FROM customers ORDER BY id").all()
        assert [tuple(r) for r in rows] == [(100, "old@example.com", "free"), (101, "older@example.com", "free")]
        assert conn.exec_driver_sql("SELECT id, customer_id, total, currency FROM orders").one() == (100, 100, Decimal("99.99"), "EUR")
    # Now the restore of the data goes through, next to the rows that were there.
    with target.begin() as conn:
        conn.exec_driver_sql("DELETE FROM orders; DELETE FROM customers")
    restore = subprocess.run([pg_restore, "--data-only", "--dbname", target_dsn, str(dump)], capture_output=True, text=True, timeout=60)
    assert restore.returncode == 0, restore.stderr
    assert sync_json("compare", "--reference", source_url, "--database-url", target_url, "--check")[0] == 0


def test_local_against_production_safe_part_applied_the_rest_with_sql(app_dir: Path, databases: Databases, tmp_path: Path) -> None:
    """Local (the reference) and production disagree on varchar against varchar(255), text
    against varchar(100), and production lacks columns: the drift side by side, the missing
    columns added, the type changes left with their SQL, applied only with --allow."""
    local_url, local = databases()
    production_url, production = databases()
    execute_script(local, "CREATE TABLE users (id serial PRIMARY KEY, email varchar, bio text, handle varchar(255), is_active boolean NOT NULL DEFAULT true)")
    execute_script(production, "CREATE TABLE users (id serial PRIMARY KEY, email varchar(255), bio varchar(100), handle varchar(255));"
                               "INSERT INTO users (email, bio, handle) VALUES ('a@example.com', 'hello', 'ada')")

    code, out = run_sync("compare", "--reference", local_url, "--database-url", production_url)
    table = [" ".join(line.split()) for line in out.splitlines()]
    assert code == 0
    assert "users email character varying(255) character varying type differs" in table
    assert "users bio character varying(100) text type differs" in table
    assert "users is_active - boolean NOT NULL DEFAULT true to apply" in table
    assert "3 differences" in out

    code, document = sync_json("--reference", local_url, "--database-url", production_url)
    status = {(c["kind"], c["column"]): c for c in document["changes"]}
    assert status[("missing_column", "is_active")]["status"] == "applied"
    review = status[("type_mismatch", "email")]
    assert review["status"] == "review" and review["requires"] == ["type-change"]
    assert "ALTER TABLE public.users ALTER COLUMN email TYPE character varying" in document["steps"][review["steps"][0]]["sql"][0]

    code, document = sync_json("--reference", local_url, "--database-url", production_url, "--allow", "type-change")
    assert code == 0 and {s["status"] for s in document["steps"]} == {"applied"}
    assert run_sync("compare", "--reference", local_url, "--database-url", production_url, "--check")[0] == 0
    with production.connect() as conn:
        assert conn.exec_driver_sql("SELECT email, bio, handle, is_active FROM users").one() == ("a@example.com", "hello", "ada", True)


def test_the_compare_script_applied_with_psql_leaves_only_what_it_comments_out(app_dir: Path, databases: Databases, tmp_path: Path) -> None:
    psql = shutil.which("psql")
    if not psql:
        pytest.skip("psql is not installed (postgresql-client)")
    reference_url, reference = databases()
    target_url, target = databases()
    execute_script(reference, """
        CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
        CREATE TABLE users (id serial PRIMARY KEY, email varchar(255) NOT NULL, mood mood DEFAULT 'ok', born date);
        CREATE TABLE posts (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, user_id integer REFERENCES users ON DELETE CASCADE,
                            title varchar(100) CHECK (length(title) > 0), body text);
        CREATE INDEX ix_posts_user ON posts (user_id DESC) INCLUDE (title)
    """)
    execute_script(target, "CREATE TABLE users (id serial PRIMARY KEY, email varchar(100), legacy integer);"
                           "INSERT INTO users (email, legacy) VALUES ('a@example.com', 1)")
    script = tmp_path / "drift.sql"
    code, document = sync_json("compare", "--reference", reference_url, "--database-url", target_url, "--sql", str(script))
    assert code == 0
    commented = {c["kind"] for c in document["changes"] if c["status"] == "review"}

    dsn = sa.make_url(target_url).set(drivername="postgresql").render_as_string(hide_password=False)
    applied = subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", str(script)], capture_output=True, text=True, timeout=60)

    assert applied.returncode == 0, applied.stderr
    code, after = sync_json("compare", "--reference", reference_url, "--database-url", target_url, "--check")
    assert code == 1 and {c["kind"] for c in after["changes"]} == commented == {"type_mismatch", "nullable_mismatch", "extra_column"}
    with target.connect() as conn:
        assert conn.exec_driver_sql("SELECT email, legacy, mood FROM users").one() == ("a@example.com", 1, "ok")


# --- settings -------------------------------------------------------------------------


def test_models_flags_with_a_reference_are_refused_in_one_line(app_dir: Path, databases: Databases) -> None:
    reference_url, _ = databases()
    target_url, target = databases()
    for extra in (("--models", "app.models"), ("--alembic", "upgrade")):
        code, out = run_sync("--reference", reference_url, "--database-url", target_url, *extra)
        assert code == 0 and f"ERROR: {extra[0]} with a reference database" in out, out
        code, _ = run_sync("--reference", reference_url, "--database-url", target_url, *extra, "--check")
        assert code == 2
    (app_dir / "setup.cfg").write_text(f"[sync_schema]\nreference_url = {reference_url}\n")
    code, out = run_sync("--database-url", target_url)
    assert "reference_url in setup.cfg [sync_schema]: a URL holds a password" in out and "reference_url_env" in out
    assert sa.inspect(target).get_table_names() == []


def test_the_reference_comes_from_the_variable_reference_url_env_names(
    app_dir: Path, databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference_url, reference = databases()
    target_url, target = databases()
    execute_script(reference, "CREATE TABLE events (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())")
    (app_dir / "setup.cfg").write_text("[sync_schema]\nreference_url_env = STAGING_DATABASE_URL\nmodels = app.models\n")
    code, out = run_sync("--database-url", target_url)
    assert "no reference URL: STAGING_DATABASE_URL is not set" in out
    monkeypatch.setenv("STAGING_DATABASE_URL", reference_url.replace("postgresql+psycopg2://", "postgres://"))

    code, out = run_sync("--database-url", target_url, "--strict")

    assert code == 0, out
    assert "(the models setting, app.models, is not used)" in out
    assert [t for t in sa.inspect(target).get_table_names() if not t.startswith("sync_schema_")] == ["events"]


def test_an_unreachable_reference_is_one_line_without_its_password(app_dir: Path, databases: Databases) -> None:
    target_url, _ = databases()
    code, out = run_sync("--reference", "postgresql://app:Sup3r-s3cret@127.0.0.1:1/app", "--database-url", target_url, "--connect-timeout", "2")
    assert code == 0 and "ERROR: connection refused by 127.0.0.1:1" in out and "Sup3r-s3cret" not in out, out
    code, out = run_sync("compare", "--reference", "postgresql://app:Sup3r-s3cret@127.0.0.1:1/app", "--database-url", target_url, "--check")
    assert code == 2 and "Sup3r-s3cret" not in out


# --- default schemas named otherwise ---------------------------------------------------


def test_a_reference_whose_default_schema_is_named_otherwise_is_compared_with_the_targets(
    app_dir: Path, databases: Databases, pg_admin: sa.Engine
) -> None:
    """The reference's role works in schema app (its search_path), the target's in public:
    the reference's default schema is compared with the target's, not schema by name."""
    reference_url, reference = databases()
    target_url, target = databases()
    role = f"sync_schema_role_{uuid.uuid4().hex[:8]}"
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN SUPERUSER")
    try:
        execute_script(reference, f"CREATE SCHEMA app; ALTER ROLE {role} IN DATABASE {sa.make_url(reference_url).database} SET search_path = app;"
                                  "CREATE TABLE app.items (id serial PRIMARY KEY, name text NOT NULL, parent integer REFERENCES app.items)")
        as_role = sa.make_url(reference_url).set(username=role).render_as_string(hide_password=False)

        code, document = sync_json("--reference", as_role, "--database-url", target_url, "--strict")

        assert code == 0 and document["summary"]["tables_created"] == 1, document["error"]
        assert "items" in sa.inspect(target).get_table_names(schema="public")
        assert "app" not in schemas_of(target)
        assert run_sync("compare", "--reference", as_role, "--database-url", target_url, "--check")[0] == 0
    finally:
        with pg_admin.connect() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role} CASCADE")
            conn.exec_driver_sql(f"DROP ROLE {role}")


def test_two_mysql_databases_round_trip(app_dir: Path, mysql_admin: sa.Engine) -> None:
    """On MySQL and MariaDB a schema is a database: the reference database's tables are
    compared with the target database's, whatever the two are called."""
    with new_database(mysql_admin) as reference_url, new_database(mysql_admin) as target_url:
        urls = [reference_url, target_url]
        reference, target = (sa.create_engine(url) for url in urls)
        with reference.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE users (id INTEGER AUTO_INCREMENT PRIMARY KEY, email VARCHAR(255) NOT NULL UNIQUE, "
                                 "active TINYINT(1) NOT NULL DEFAULT 1, created DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6))")
            conn.exec_driver_sql("CREATE TABLE posts (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id INTEGER, title VARCHAR(100), "
                                 "KEY ix_posts_title (title), CONSTRAINT fk_posts_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE)")

        code, document = sync_json("--reference", urls[0], "--database-url", urls[1], "--strict")

        assert code == 0 and document["summary"]["tables_created"] == 2, (document["error"], document["steps"])
        assert sorted(t for t in sa.inspect(target).get_table_names() if not t.startswith("sync_schema_")) == ["posts", "users"]
        code, again = sync_json("compare", "--reference", urls[0], "--database-url", urls[1], "--check")
        assert code == 0 and again["changes"] == [], again["changes"]
        with target.begin() as conn:  # and a difference is seen as one
            conn.exec_driver_sql("ALTER TABLE posts DROP COLUMN title")
        code, drift = sync_json("compare", "--reference", urls[0], "--database-url", urls[1], "--check")
        assert code == 1 and {(c["kind"], c["table"], c.get("column")) for c in drift["changes"]} >= {("missing_column", "posts", "title")}
        reference.dispose()
        target.dispose()
