"""Fleets (sync_schema/fleet.py) against the real PostgreSQL: several databases as targets,
one database standing in for several, and hundreds of tenant schemas from one models
module, with drifted and broken tenants, shards, jobs and the exit codes."""

from __future__ import annotations

import json
import sys
import threading
import time
import types
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable

from sync_schema.config import resolve_settings
from sync_schema.errors import ConfigError

from catalog_dump import dump_catalog
from conftest import execute_script, run_sync, write_models

# The split-database layout: a primary database with config and customer schemas (and one
# table in the default schema), a data database with workspace and reference schemas.
PRIMARY_MODELS = '''
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class AppUser(Base):
    __tablename__ = "app_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(sa.String(50), unique=True)


class Setting(Base):
    __tablename__ = "settings"
    __table_args__ = {"schema": "config"}
    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[str | None] = mapped_column(sa.Text)


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = {"schema": "customer"}
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255), index=True)
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_users.id"))
'''

DATA_MODELS = '''
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Country(Base):
    __tablename__ = "countries"
    __table_args__ = {"schema": "reference"}
    code: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = {"schema": "workspace"}
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    country: Mapped[str | None] = mapped_column(sa.ForeignKey("reference.countries.code"))
'''

# One models module for every tenant: the tables without a schema are each tenant's; plans
# and the tenants' registry, declared in public, are shared (a tenant's users point at plans).
TENANT_MODELS = '''
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Tenant(Base):
    __tablename__ = "tenants"
    __table_args__ = {"schema": "public"}
    schema_name: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    active: Mapped[bool]


class Plan(Base):
    __tablename__ = "plans"
    __table_args__ = {"schema": "public"}
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255), index=True)
    plan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("public.plans.id"))
    note: Mapped[str | None] = mapped_column(sa.Text)


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(200), server_default="untitled")
'''


def models_metadata(source: str) -> sa.MetaData:
    """The models' MetaData, from a module of their own (SQLAlchemy resolves the
    annotations in the module the classes come from)."""
    module = types.ModuleType(f"fleet_models_{uuid.uuid4().hex[:10]}")
    sys.modules[module.__name__] = module
    try:
        exec(source, module.__dict__)  # noqa: S102 - the test's own models
    finally:
        del sys.modules[module.__name__]
    return module.Base.metadata  # type: ignore[no-any-return]


def create_tenants(engine: sa.Engine, source: str, tenants: list[str]) -> None:
    """The shared tables once, then each tenant's as create_all() renders them, into many
    schemas at once: SQLAlchemy's DDL rendered once for a stand-in schema name, then sent
    50 tenants per transaction (a create_all() per tenant would take a minute)."""
    metadata = models_metadata(source)
    shared = [t for t in metadata.sorted_tables if t.schema]
    metadata.create_all(engine, tables=shared)
    stand_in = "tenant_stand_in"
    render = {"dialect": engine.dialect, "schema_translate_map": {None: stand_in}, "render_schema_translate": True}
    ddl = []
    for table in metadata.sorted_tables:
        if table.schema is None:
            ddl.append(str(CreateTable(table).compile(**render)))
            ddl += [str(CreateIndex(index).compile(**render)) for index in table.indexes]
    script = ";\n".join(ddl)
    for start in range(0, len(tenants), 50):
        batch = tenants[start : start + 50]
        with engine.begin() as conn:
            conn.exec_driver_sql(";\n".join(f"CREATE SCHEMA {t};\n" + script.replace(stand_in, t) for t in batch))


def tables_of(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {f"{schema}.{name}" for schema, name in conn.execute(sa.text(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_name NOT LIKE 'sync_schema%'"))}
    finally:
        engine.dispose()


def summary_rows(out: str) -> dict[tuple[str, str], tuple[str, str]]:
    """The fleet summary's table: (target, tenant) -> (status, reason), cut where the
    header's columns start."""
    lines = out.split("----- sync-schema fleet summary", 1)[1].splitlines()[1:]
    header = lines[0]
    starts = [0, header.index("tenant"), header.index("status"), header.index("reason") if "reason" in header else 10**6]
    rows = {}
    for line in lines[1:]:
        if line.startswith(("mode ", "total ", "error ", "elapsed ", "exit code", "---")):
            break
        target, tenant, status, reason = (line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True))
        rows[(target, tenant)] = (status, reason)
    return rows


def write_targets(app_dir: Path, primary: str, data: str, data_schemas: bool = True) -> None:
    (app_dir / "pyproject.toml").write_text(f'''
[tool.sync_schema]
lock_timeout = 5

[tool.sync_schema.targets.primary]
database_url_env = "PRIMARY_DATABASE_URL"
models = "{primary}"
critical_columns = ["customer.accounts.email"]

[tool.sync_schema.targets.data]
database_url_env = "DATA_DATABASE_URL"
models = "{data}"
''' + ('schemas = ["workspace", "reference"]\n' if data_schemas else ""))


# -- targets ------------------------------------------------------------------------


def test_targets_settings_precedence_and_refusals(tmp_path: Path) -> None:
    """A target's section sits between the environment and the top-level section; with
    several targets, a variable that would override one target's own database setting for
    all of them is refused, and so is a URL in a file."""
    (tmp_path / "setup.cfg").write_text(
        "[sync_schema]\nmodels = app.shared\nlock_timeout = 3\n\n"
        "[sync_schema.targets.primary]\nmodels = app.primary\ndatabase_url_env = PRIMARY_URL\nlock_timeout = 5\n\n"
        "[sync_schema.targets.data]\ndatabase_url_env = DATA_URL\ntenant_schemas = tenant_*\njobs = 4\n")
    environ = {"PRIMARY_URL": "postgresql://h/primary", "DATA_URL": "postgresql://h/data"}
    top = resolve_settings({}, tmp_path, environ)
    assert top.targets == ("primary", "data") and top.models == "app.shared"
    primary = resolve_settings({}, tmp_path, environ, target="primary", several_targets=True)
    assert (primary.models, primary.lock_timeout, primary.database_url) == ("app.primary", 5.0, "postgresql://h/primary")
    assert primary.config_file == "setup.cfg [sync_schema.targets.primary], then [sync_schema]"
    data = resolve_settings({}, tmp_path, environ, target="data", several_targets=True)
    assert (data.models, data.lock_timeout, data.tenant_schemas, data.jobs) == ("app.shared", 3.0, "tenant_*", 4)
    assert resolve_settings({}, tmp_path, {**environ, "SYNC_SCHEMA_LOCK_TIMEOUT": "7"}, target="primary").lock_timeout == 7.0
    with pytest.raises(ConfigError, match="target primary sets models for its own database"):
        resolve_settings({}, tmp_path, {**environ, "SYNC_SCHEMA_MODELS": "app.other"}, target="primary", several_targets=True)
    assert resolve_settings({"models": "app.other"}, tmp_path, environ, target="primary").models == "app.other"  # one target: as asked
    with pytest.raises(ConfigError, match="no target 'nope'"):
        resolve_settings({}, tmp_path, environ, target="nope")
    (tmp_path / "setup.cfg").write_text("[sync_schema.targets.primary]\ndatabase_url = postgresql://u:secret@h/db\n")
    with pytest.raises(ConfigError, match="database_url in \\[sync_schema.targets.primary\\]: a URL holds a password"):
        resolve_settings({}, tmp_path, environ)


def test_split_databases_each_target_synced_with_its_own_models(
    app_dir: Path, pg_url: str, second_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_targets(app_dir, write_models(app_dir, PRIMARY_MODELS), write_models(app_dir, DATA_MODELS))
    monkeypatch.setenv("PRIMARY_DATABASE_URL", pg_url)
    monkeypatch.setenv("DATA_DATABASE_URL", second_pg_url)

    code, out = run_sync()
    assert code == 0, out
    assert tables_of(pg_url) == {"public.app_users", "config.settings", "customer.accounts"}, out
    assert tables_of(second_pg_url) == {"workspace.documents", "reference.countries"}, out
    rows = summary_rows(out)
    assert rows[("primary", "-")][0] == "changed" and rows[("data", "-")][0] == "changed", out
    assert "sync-schema: primary: verification" not in out  # each target's own summary block instead
    assert "----- sync-schema summary: primary" in out and "----- sync-schema summary: data" in out, out
    assert "PASSED (1 critical columns present)" in out, out
    for url, name in ((pg_url, "primary"), (second_pg_url, "data")):
        with sa.create_engine(url, poolclass=sa.pool.NullPool).connect() as conn:
            assert conn.exec_driver_sql("SELECT target, tenant FROM sync_schema_history").all() == [(name, None)]

    code, out = run_sync("--check", "--format", "json")
    document = json.loads(out)
    assert code == 0 and document["exit_code"] == 0, out
    assert [t["target"] for t in document["targets"]] == ["primary", "data"]
    assert [u["status"] for t in document["targets"] for u in t["units"]] == ["in sync", "in sync"]
    assert document["summary"]["in_sync"] == 2 and document["schema_version"] == 3
    assert document["targets"][1]["units"][0]["changes"] == []

    # Drift in the data database only: --check finds it there, and not in the primary.
    execute_script(sa.create_engine(second_pg_url, poolclass=sa.pool.NullPool), "ALTER TABLE workspace.documents DROP COLUMN country")
    code, out = run_sync("--check")
    assert code == 1, out
    assert summary_rows(out)[("data", "-")] == ("drifted", "2 differences, 1 to apply, 1 for review"), out  # the column and its key
    code, out = run_sync("--check", "--target", "primary")
    assert code == 0 and "data" not in out.split("fleet summary")[1], out

    # A target that cannot be read: --check says it could not tell; by default, exit 0.
    monkeypatch.delenv("DATA_DATABASE_URL")
    code, out = run_sync("--check")
    assert code == 2, out
    assert summary_rows(out)[("data", "-")][0] == "failed" and "DATA_DATABASE_URL is not set" in out, out
    assert run_sync()[0] == 0


def test_two_targets_on_one_database_are_synced_once_with_the_union(
    app_dir: Path, pg_url: str, pg_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    primary, data = write_models(app_dir, PRIMARY_MODELS), write_models(app_dir, DATA_MODELS)
    write_targets(app_dir, primary, data, data_schemas=False)
    monkeypatch.setenv("PRIMARY_DATABASE_URL", pg_url)
    monkeypatch.setenv("DATA_DATABASE_URL", pg_url.replace("127.0.0.1", "localhost"))  # the same database, spelled otherwise

    code, out = run_sync()
    assert code == 0, out
    assert "targets primary, data name the same database" in out and f"({primary}, {data})" in out, out
    assert tables_of(pg_url) == {"public.app_users", "config.settings", "customer.accounts", "workspace.documents", "reference.countries"}
    assert list(summary_rows(out)) == [("primary+data", "-")], out
    with pg_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT target FROM sync_schema_history").all() == [("primary+data",)]  # one run, not two

    code, out = run_sync("--check")
    assert code == 0, out
    # Synced alone, the data target would take the primary's table in public for an extra one.
    code, out = run_sync("--check", "--target", "data")
    assert code == 1 and "app_users" in out, out


# -- tenant schemas --------------------------------------------------------------------


def test_200_tenants_three_drifted_one_locked(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    models = write_models(app_dir, TENANT_MODELS)
    tenants = [f"tenant_{n:03d}" for n in range(200)]
    started = time.monotonic()
    create_tenants(pg_engine, TENANT_MODELS, tenants)
    execute_script(pg_engine, """
        ALTER TABLE tenant_010.users DROP COLUMN note;
        DROP INDEX tenant_020.ix_users_email;
        DROP TABLE tenant_030.posts;
        ALTER TABLE tenant_040.users DROP COLUMN note
    """)
    drifted, broken = ["tenant_010", "tenant_020", "tenant_030"], "tenant_040"
    untouched = [t for t in tenants if t not in (*drifted, broken)]
    before = dump_catalog(pg_engine, tuple(untouched))
    setup = time.monotonic() - started

    holder = pg_engine.connect()  # another session: a migration holding the broken tenant's table
    try:
        holder.exec_driver_sql(f"LOCK TABLE {broken}.users IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        code, out = run_sync("--database-url", pg_url, "--models", models, "--tenant-schemas", "tenant_*", "--jobs", "4",
                             "--lock-timeout", "0.2", "--lock-attempts", "2")
        seconds = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert code == 0, out
    assert "200 tenant schemas (pattern tenant_*)" in out and "(4 catalog queries" in out, out
    rows = summary_rows(out)
    assert rows[("-", "(shared)")] == ("in sync", ""), out
    assert rows[("-", "tenant_010")] == ("changed", "1 step applied"), out
    assert rows[("-", "tenant_020")] == ("changed", "1 step applied"), out
    assert rows[("-", "tenant_030")] == ("changed", "1 step applied"), out
    assert rows[("-", broken)][0] == "deferred" and "lock not available within 0.2 s after 2 attempts" in rows[("-", broken)][1], out
    assert rows[("-", "196 more tenants")] == ("in sync", ""), out
    assert "total       201: 197 in sync, 3 changed, 1 deferred" in out, out
    assert out.count(": in sync\n") == 197  # one line per tenant (and the shared schemas)
    assert f"  {broken}: DEFERRED add column users: note" in out, out
    assert "ALTER TABLE tenant_010.users ADD COLUMN note TEXT" in out and "CREATE INDEX ix_users_email ON tenant_020.users (email)" in out, out
    assert "CREATE TABLE tenant_030.posts" in out and "REFERENCES tenant_030.users (id) ON DELETE CASCADE" in out, out
    assert dump_catalog(pg_engine, tuple(untouched)) == before  # the other 196 untouched
    with pg_engine.connect() as conn:
        runs = conn.exec_driver_sql("SELECT tenant, outcome FROM sync_schema_history ORDER BY tenant").all()
    assert [tuple(r) for r in runs] == [("tenant_010", "ok"), ("tenant_020", "ok"), ("tenant_030", "ok"), (broken, "errors")]
    assert seconds < 20, f"the run took {seconds:.1f} s (setup {setup:.1f} s)"

    # A rerun is the resume: the broken one done, the rest found in sync.
    code, out = run_sync("--database-url", pg_url, "--models", models, "--tenant-schemas", "tenant_*", "--jobs", "4")
    assert code == 0, out
    assert summary_rows(out) == {("-", "(shared)"): ("in sync", ""), ("-", broken): ("changed", "1 step applied"),
                                 ("-", "199 more tenants"): ("in sync", "")}, out
    code, out = run_sync("--database-url", pg_url, "--models", models, "--tenant-schemas", "tenant_*", "--check", "--format", "json")
    document = json.loads(out)
    assert code == 0 and document["summary"] == {"units": 201, "in_sync": 201, "changed": 0, "drifted": 0, "deferred": 0,
                                                 "failed": 0, "skipped": 0}, out
    assert len(document["targets"][0]["units"]) == 201 and document["targets"][0]["units"][5]["tenant"] == "tenant_004"


def test_a_tenant_made_by_the_sync_is_what_create_all_makes(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """Tenants from a query (a schema that does not exist yet is created); the new tenant's
    catalog against create_all() of the same models into another schema."""
    models = write_models(app_dir, TENANT_MODELS)
    create_tenants(pg_engine, TENANT_MODELS, ["tenant_old"])
    execute_script(pg_engine, """
        ALTER TABLE tenant_old.users DROP COLUMN note;
        INSERT INTO public.tenants VALUES ('tenant_new', true), ('tenant_old', false), ('public', true)
    """)
    query = "select schema_name from public.tenants where active"
    code, out = run_sync("--database-url", pg_url, "--models", models, "--tenant-schemas", query)
    assert code == 0, out
    assert "1 tenant schema (query)" in out and "tenant_schemas names public: a shared or system schema" in out, out
    assert "CREATE SCHEMA IF NOT EXISTS tenant_new" in out and "tenant_old" not in out.split("tenant schema (query)")[1], out

    metadata = models_metadata(TENANT_MODELS)
    with pg_engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA by_create_all")
        metadata.create_all(conn.execution_options(schema_translate_map={None: "by_create_all"}), tables=[
            t for t in metadata.sorted_tables if t.schema is None])

    def renamed(dump: dict[str, dict[object, object]], schema: str) -> dict[str, dict[object, object]]:
        def plain(value: object) -> object:
            if isinstance(value, tuple):
                return tuple(plain(v) for v in value)
            if isinstance(value, str):
                return "S" if value == schema else value.replace(f"{schema}.", "S.")
            return value

        return {kind: {plain(key): plain(value) for key, value in items.items()} for kind, items in dump.items()}

    assert renamed(dump_catalog(pg_engine, ("tenant_new",)), "tenant_new") == renamed(dump_catalog(pg_engine, ("by_create_all",)), "by_create_all")
    code, out = run_sync("--database-url", pg_url, "--models", models, "--tenant-schemas", query, "--check")
    assert code == 0, out


def test_shards_cover_every_tenant_exactly_once(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    models = write_models(app_dir, TENANT_MODELS)
    tenants = [f"org_{n}" for n in range(42)]  # name order is not number order: org_10 before org_2
    create_tenants(pg_engine, TENANT_MODELS, tenants)
    seen: list[str] = []
    for index in range(1, 5):
        code, out = run_sync("--database-url", pg_url, "--models", models, "--tenant-schemas", "org_*", "--check",
                             "--shard", f"{index}/4", "--format", "json")
        document = json.loads(out)
        assert code == 0 and document["fleet"]["shard"] == f"{index}/4", out
        mine = [u["tenant"] for u in document["targets"][0]["units"] if u["tenant"]]
        assert mine == sorted(tenants)[index - 1 :: 4]
        seen += mine
    assert sorted(seen) == sorted(tenants) and len(seen) == len(set(seen))
    code, out = run_sync("--database-url", pg_url, "--models", models, "--tenant-schemas", "org_*", "--shard", "5/4")
    assert code == 0 and "malformed shard '5/4'" in out, out


def test_jobs_4_never_open_more_than_4_connections(app_dir: Path, pg_url: str, pg_engine: sa.Engine, pg_admin: sa.Engine) -> None:
    models = write_models(app_dir, TENANT_MODELS)
    tenants = [f"tenant_{n:02d}" for n in range(40)]
    create_tenants(pg_engine, TENANT_MODELS, tenants)
    execute_script(pg_engine, ";".join(f"ALTER TABLE {t}.users DROP COLUMN note" for t in tenants))  # every tenant has work to do
    database = sa.make_url(pg_url).database
    counts: list[int] = []
    done = threading.Event()

    def watch() -> None:
        with pg_admin.connect() as conn:
            while not done.is_set():
                counts.append(conn.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND application_name = 'sync-schema'"), {"db": database}).scalar_one())
                time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        code, out = run_sync("--database-url", pg_url, "--models", models, "--tenant-schemas", "tenant_*", "--jobs", "4")
    finally:
        done.set()
        watcher.join()
    assert code == 0 and "total       41: 1 in sync, 40 changed" in out, out
    assert len(counts) > 20, counts
    assert max(counts) == 4, sorted(set(counts))  # all four jobs at work, never a fifth connection


def test_a_tenant_another_run_holds_is_deferred_and_the_others_go_on(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """Two runs never work on one tenant at once (a lock per tenant schema), and tenants do
    not wait for the database's run lock, which a plain run holds."""
    models = write_models(app_dir, TENANT_MODELS)
    tenants = [f"tenant_{n}" for n in range(6)]
    create_tenants(pg_engine, TENANT_MODELS, tenants)
    execute_script(pg_engine, ";".join(f"ALTER TABLE {t}.users DROP COLUMN note" for t in tenants))
    holder = pg_engine.connect()
    try:
        key = 0x73796E63  # dialects/postgresql.py RUN_LOCK_KEY
        holder.exec_driver_sql(f"SELECT pg_advisory_lock({key}), pg_advisory_lock({key}, hashtext('tenant_3'))")
        holder.commit()
        args = ("--database-url", pg_url, "--models", models, "--tenant-schemas", "tenant_*", "--run-lock-wait", "0.3")
        code, out = run_sync(*args)
        assert code == 0, out
        rows = summary_rows(out)
        assert rows[("-", "tenant_3")] == ("deferred", "another sync-schema run has held the lock of schema tenant_3 for more than 0.3 s: "
                                           "it is probably applying the same changes; nothing done here"), out
        assert [rows[("-", t)][0] for t in tenants if t != "tenant_3"] == ["changed"] * 5, out
        code, out = run_sync(*args, "--strict")
        assert code == 1 and "total       7: 6 in sync, 1 deferred" in out, out
    finally:
        holder.rollback()
        holder.exec_driver_sql("SELECT pg_advisory_unlock_all()")  # session locks: the pool would keep them
        holder.close()
    code, out = run_sync(*args, "--strict")
    assert code == 0 and summary_rows(out)[("-", "tenant_3")][0] == "changed", out


def test_check_exit_codes_drift_and_unreadable(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """--check: 1 for drift, 2 where a tenant could not be read. A table locked behind a
    CHECK constraint (the read spells it out, which opens the table) stops the read of
    all tenants at once; each is then read on its own, and only that one is unknown."""
    models = write_models(app_dir, TENANT_MODELS)
    tenants = [f"tenant_{n}" for n in range(5)]
    create_tenants(pg_engine, TENANT_MODELS, tenants)
    args = ("--database-url", pg_url, "--models", models, "--tenant-schemas", "tenant_*", "--check", "--lock-timeout", "0.1")
    assert run_sync(*args)[0] == 0
    execute_script(pg_engine, "ALTER TABLE tenant_1.users DROP COLUMN note")
    code, out = run_sync(*args)
    assert code == 1 and summary_rows(out)[("-", "tenant_1")] == ("drifted", "1 difference, 1 to apply"), out
    execute_script(pg_engine, "ALTER TABLE tenant_2.posts ADD CONSTRAINT title_set CHECK (title <> '')")
    holder = pg_engine.connect()
    try:
        holder.exec_driver_sql("LOCK TABLE tenant_2.posts IN ACCESS EXCLUSIVE MODE")
        code, out = run_sync(*args, "--lock-attempts", "1")
    finally:
        holder.rollback()
        holder.close()
    assert code == 2, out
    assert "reading each schema on its own" in out, out
    rows = summary_rows(out)
    assert rows[("-", "tenant_2")][0] == "deferred" and "reading the catalog" in rows[("-", "tenant_2")][1], out
    assert rows[("-", "tenant_1")][0] == "drifted" and rows[("-", "3 more tenants")] == ("in sync", ""), out
    assert run_sync(*args[:-4], "--dry-run")[0] == 0  # no --check: 0 whatever


def test_an_old_history_table_keeps_working_and_gets_the_fleet_columns(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    execute_script(pg_engine, """
        CREATE TABLE sync_schema_history (id serial PRIMARY KEY, started_at timestamptz NOT NULL, finished_at timestamptz,
            tool_version varchar(20) NOT NULL, mode varchar(10) NOT NULL, outcome varchar(20) NOT NULL, host varchar(255), summary text);
        CREATE TABLE sync_schema_history_statements (id serial PRIMARY KEY, run_id integer NOT NULL, executed_at timestamptz NOT NULL,
            step text NOT NULL, statement text NOT NULL, status varchar(10) NOT NULL, error text, duration_ms float)
    """)
    models = write_models(app_dir, TENANT_MODELS)
    code, out = run_sync("--database-url", pg_url, "--models", models)  # a plain run: the table as it is
    assert code == 0 and "history not recorded" not in out, out
    columns = {c["name"] for c in sa.inspect(pg_engine).get_columns("sync_schema_history")}
    assert "tenant" not in columns
    assert run_sync("history", "--database-url", pg_url)[0] == 0
    execute_script(pg_engine, "CREATE SCHEMA tenant_a")
    code, out = run_sync("--database-url", pg_url, "--models", models, "--tenant-schemas", "tenant_*")
    assert code == 0 and "history not recorded" not in out, out
    code, out = run_sync("history", "--database-url", pg_url)
    assert code == 0 and out.splitlines()[0].endswith("target/tenant") and out.splitlines()[1].endswith("  tenant_a"), out


def test_failures_go_on_by_default_and_fail_fast_stops(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """A critical column the tenants lack fails each tenant's verification: by default every
    tenant is tried and reported (exit 0; --strict 1); --fail-fast stops at the first."""
    models = write_models(app_dir, TENANT_MODELS)
    tenants = [f"tenant_{n}" for n in range(5)]
    create_tenants(pg_engine, TENANT_MODELS, tenants)
    args = ("--database-url", pg_url, "--models", models, "--tenant-schemas", "tenant_*", "--critical-columns", "users.nickname", "--jobs", "1")
    code, out = run_sync(*args)
    rows = summary_rows(out)
    assert code == 0 and [rows[("-", t)] for t in tenants] == [("failed", "verification: critical column users.nickname does not exist")] * 5, out
    assert rows[("-", "(shared)")] == ("in sync", ""), out  # the column has no schema: each tenant's, not the shared part's
    assert run_sync(*args, "--strict")[0] == 1
    code, out = run_sync(*args, "--fail-fast")
    rows = summary_rows(out)
    assert code == 0 and rows[("-", "tenant_0")][0] == "failed", out
    assert [rows[("-", t)] for t in tenants[1:]] == [("skipped", "not run: --fail-fast after a failure")] * 4, out


def test_the_reports_name_each_tenant_and_its_drift(app_dir: Path, pg_url: str, pg_engine: sa.Engine, pgbouncer: int) -> None:
    """--format markdown, --format github and --sql of a dry run over tenants: each names
    the drifted tenant and what it lacks, and the script, applied, brings it in sync. The
    same run behind a transaction-mode pooler (PgBouncer) takes a lease per tenant."""
    models = write_models(app_dir, TENANT_MODELS)
    create_tenants(pg_engine, TENANT_MODELS, ["tenant_a", "tenant_b", "tenant_c"])
    execute_script(pg_engine, "ALTER TABLE tenant_b.users DROP COLUMN note")
    args = ("--database-url", pg_url, "--models", models, "--tenant-schemas", "tenant_*", "--dry-run")

    code, markdown = run_sync(*args, "--format", "markdown")
    assert code == 0 and "## tenant_b" in markdown and "| note |" in markdown and "## tenant_a" not in markdown, markdown
    code, annotations = run_sync(*args, "--format", "github")
    warnings = [line for line in annotations.splitlines() if line.startswith("::warning")]
    assert code == 0 and len(warnings) == 1 and "tenant_b" in warnings[0] and "users.note" in warnings[0], annotations
    script = app_dir / "fleet.sql"
    code, _ = run_sync(*args, "--sql", str(script))
    text = script.read_text()
    assert code == 0 and "-- ===== tenant_b =====" in text and 'ALTER TABLE tenant_b.users ADD COLUMN note TEXT;' in text, text
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(text)
    assert run_sync("--database-url", pg_url, "--models", models, "--tenant-schemas", "tenant_*", "--check")[0] == 0

    # Behind PgBouncer: no session lock holds there, so each tenant is synced under a lease row.
    execute_script(pg_engine, "ALTER TABLE tenant_c.users DROP COLUMN note")
    pooled = sa.make_url(pg_url).set(port=pgbouncer).render_as_string(hide_password=False)
    code, out = run_sync("--database-url", pooled, "--models", models, "--tenant-schemas", "tenant_*", "--strict")
    assert code == 0 and "each schema's lock is a lease row instead" in out, out
    with pg_engine.connect() as conn:
        assert "note" in {c["name"] for c in sa.inspect(conn).get_columns("users", schema="tenant_c")}
        # The leases were taken in the lock table and given back: no row is left holding a tenant.
        assert sa.inspect(conn).has_table("sync_schema_lock") and conn.exec_driver_sql("SELECT count(*) FROM sync_schema_lock").scalar() == 0
