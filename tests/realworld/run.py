"""Real applications' models against the sync, each app in its own virtualenv.

For every app (apps and their adapters: APPS below, adapters/): the app from PyPI, with the
tool installed beside it (--no-deps: the app's pins decide SQLAlchemy), then on the real
PostgreSQL:

1. create_all() of the head models into one empty database, a sync into another: the two
   catalogs are compared object by object (tests/catalog_dump.py), and --check runs on both
   (false positives);
2. where the adapter can replay the app's own Alembic history: a database at an old
   revision, rows added where a table takes DEFAULT VALUES, synced with the head models:
   failed steps, rows kept, a second run applies nothing, what --check leaves for review;
   and a database at `alembic upgrade head`, checked against the models (where the app's
   migrations and models disagree, the sync follows the models and this says so);
4. the round trip: the head database (`alembic upgrade head`'s, else create_all()'s)
   copied into an empty database with `--reference`: the two catalogs compared object by
   object, and compare between them finds nothing (what the tool does not create, a view
   or a function, is listed on the app's line).

Then the MariaDB column: the same steps on the MariaDB (or MySQL) server at 127.0.0.1:3306
for the apps that support it (an adapter's UNSUPPORTED says on which server not, and why), the catalogs
compared through information_schema (catalog_dump.dump_mysql_catalog), the old state made
by the app's own Alembic history where it runs there (optuna's) or by an old release's
create_all(). A server that cannot be reached is a skip line, or a failure where
SYNC_SCHEMA_REQUIRE_SERVERS is set (CI).

One line per app and server; exit 1 if any invariant fails (a failed step, an object that differs
from create_all() or from the head database it was copied from, a false positive on
create_all()'s database, a lost row, a second run that applies something).
Usage: python tests/realworld/run.py [--servers postgresql,mariadb] [app ...]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from catalog_dump import OWN_TABLES, catalog_differences, dump_catalog, dump_mysql_catalog, reparsed_checks  # noqa: E402

ADAPTERS = Path(__file__).resolve().parent / "adapters"
VENVS = ROOT / ".realworld" / "venvs"
ADMIN_URL = os.environ.get("SYNC_SCHEMA_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
MYSQL_ADMIN_URL = os.environ.get("SYNC_SCHEMA_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/mysql")
# CI sets it: a server that cannot be reached fails the run instead of skipping its column.
REQUIRE_SERVERS = os.environ.get("SYNC_SCHEMA_REQUIRE_SERVERS", "") not in ("", "0", "false")
MYSQL_DRIVER = "PyMySQL>=1.1"  # the tool's [mysql] extra, installed beside each app for the MariaDB column

# app -> (pip requirement, adapter module). Pinned: a new release must not change the result silently.
APPS = {
    "optuna": ("optuna==5.0.0", "optuna_models"),
    "jupyterhub": ("jupyterhub==6.1.1", "jupyterhub_models"),
    "dagster": ("dagster==1.13.28", "dagster_models"),
    "prefect": ("prefect==3.9.1", "prefect_models"),
    "airflow": ("apache-airflow-core==3.3.2", "airflow_models"),
}


@dataclass
class Report:
    app: str
    server: str = ""  # "" on PostgreSQL (the first column); else the server's name, e.g. "MariaDB 10.11"
    failed_steps: int = 0
    differs_from_create_all: list[str] = field(default_factory=list)
    false_positives: int = 0  # differences --check finds on create_all()'s database
    review_after_sync: int = -1  # what --check leaves after syncing the old revision (-1: not run)
    second_run_applied: int = 0
    rows_before: int = 0
    rows_after: int = 0
    migrations_vs_models: int = -1  # differences at `alembic upgrade head` (-1: not run)
    # The head database copied into an empty one with --reference: objects that differ
    # between the two catalogs, and what compare --check exited with (-1: not run).
    round_trip: list[str] = field(default_factory=list)
    round_trip_compare: int = -1
    old_state: str = ""  # what the old database was made by
    tables: int = 0  # in the head models
    inserted: int = -1  # tables that took a row through the head models (-1: not run)
    insert_missing: list[str] = field(default_factory=list)  # inserts that named what the database lacks
    insert_other: list[str] = field(default_factory=list)  # inserts the made-up values could not satisfy
    insert_held_back: list[str] = field(default_factory=list)  # inserts naming a column the sync left for review (a likely rename)
    note: str = ""

    @property
    def ok(self) -> bool:
        return not (self.failed_steps or self.differs_from_create_all or self.false_positives or self.second_run_applied
                    or self.rows_after != self.rows_before or self.insert_missing or self.note.startswith("error")
                    or self.round_trip or self.round_trip_compare > 0)

    def line(self) -> str:
        old = "no old state" if self.review_after_sync < 0 else (
            f"{self.old_state} synced: {self.review_after_sync} for review, rows {self.rows_after}/{self.rows_before} kept, "
            f"second run applied {self.second_run_applied}"
        )
        head = "" if self.migrations_vs_models < 0 else f", alembic head vs models: {self.migrations_vs_models} differences"
        if self.round_trip_compare >= 0:
            head += f", round trip of the head database: {len(self.round_trip)} objects differ, compare finds {self.round_trip_compare}"
        if self.inserted >= 0:
            head += (f", insert through the head models: {self.inserted}/{self.tables} tables"
                     + (f" ({len(self.insert_missing)} name what the database lacks)" if self.insert_missing else "")
                     + (f" ({len(self.insert_held_back)} name a likely rename's new column, left for review)" if self.insert_held_back else "")
                     + (f" ({len(self.insert_other)} refused the made-up values)" if self.insert_other else ""))
        return (f"{'PASS' if self.ok else 'FAIL'} {self.app}{' on ' + self.server if self.server else ''}: failed steps {self.failed_steps}, "
                f"objects unlike create_all() {len(self.differs_from_create_all)}, false positives {self.false_positives}; "
                f"{old}{head}{'; ' + self.note if self.note else ''}")


def ensure_venv(name: str, requirement: str, with_tool: bool = True) -> Path:
    """A virtualenv for the app (or its old release), made once and kept under
    .realworld/ (ignored by git); the tool beside the app where `with_tool`."""
    venv = VENVS / name
    python = venv / "bin" / "python"
    marker = venv / f".installed-{re.sub(r'[^A-Za-z0-9.]+', '_', requirement)}"
    if not marker.exists():
        print(f"realworld: installing {requirement} into {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q"]
        extras = adapter_constant(APPS[name.removesuffix("-old")][1], "EXTRA_REQUIREMENTS") or []
        subprocess.run([*pip, requirement, "psycopg2-binary", "python-dotenv", "alembic", *extras], check=True)
        if with_tool:
            subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
        marker.touch()
    return python


def ensure_driver(python: Path, requirement: str) -> None:
    """A database driver in an app's virtualenv (once; venvs made before the MariaDB column lack it)."""
    marker = python.parent.parent / f".installed-driver-{re.sub(r'[^A-Za-z0-9.]+', '_', requirement)}"
    if not marker.exists():
        print(f"realworld: installing {requirement} into {python.parent.parent} ...", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", requirement], check=True)
        marker.touch()


def adapter_constant(adapter: str, name: str) -> Any:
    """A literal constant of an adapter, read without importing it (its app may not be installed yet)."""
    tree = ast.parse((ADAPTERS / f"{adapter}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def new_database(admin: sa.Engine) -> str:
    name = f"sync_schema_rw_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {admin.dialect.identifier_preparer.quote_identifier(name)}")
    return admin.url.set(database=name).render_as_string(hide_password=False)


def drop_database(admin: sa.Engine, url: str) -> None:
    name = admin.dialect.identifier_preparer.quote_identifier(sa.make_url(url).database or "")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}" + (" WITH (FORCE)" if admin.dialect.name == "postgresql" else ""))


def in_app(python: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_SCHEMA_") and k != "DATABASE_URL"}
    env["NO_COLOR"] = "1"
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"  # the app's own alembic command
    return subprocess.run([str(python), *args], cwd=ADAPTERS, env=env, capture_output=True, text=True, timeout=timeout)


def adapter_call(python: Path, module: str, code: str) -> str:
    done = in_app(python, "-c", f"import {module} as m\n{code}")
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["?"]
        raise RuntimeError(next((line for line in reversed(lines) if "Error" in line), lines[-1]).strip())
    return done.stdout.strip()


def sync(python: Path, models: str, url: str, *args: str) -> tuple[int, str]:
    done = in_app(python, "-m", "sync_schema", "--database-url", url, "--models", models, *args)
    return done.returncode, done.stdout + done.stderr


# create_all() of every MetaData the adapter names; where it fails (models whose index only
# the app's migrations can build, with an operator class they add), the tables first, then
# each index on its own, printing the names of those the server rejects.
CREATE_ALL = """
import sqlalchemy as sa
engine = sa.create_engine({url!r})
metadatas = [v for v in vars(m).values() if isinstance(v, sa.MetaData)]
try:
    for md in metadatas:
        md.create_all(engine)
except sa.exc.DBAPIError:
    indexes = {{}}
    for md in metadatas:
        for table in md.tables.values():
            indexes[table] = set(table.indexes)
            table.indexes.clear()
        md.create_all(engine)
    for table, table_indexes in indexes.items():
        for index in sorted(table_indexes, key=lambda ix: str(ix.name)):
            try:
                index.create(engine, checkfirst=True)
            except sa.exc.DBAPIError:
                print(f"{{table.name}}.{{index.name}}")
"""


# A row inserted into every table through the head models, as the app's new code would write
# it: every column given a value of its type (foreign keys one of the referenced table's),
# each table in a savepoint, in dependency order. An insert that names a column or table
# the database lacks (SQLSTATE 42703, 42P01; MySQL's errors 1054, 1146) is what the sync
# exists to prevent: it fails the app. Others (a CHECK or UNIQUE the made-up values break)
# are counted apart.
INSERT_THROUGH_MODELS = """
import datetime, decimal, json, uuid
import sqlalchemy as sa
engine = sa.create_engine({url!r})
metadatas = [v for v in vars(m).values() if isinstance(v, sa.MetaData)]
counter = [0]

def value(column):
    counter[0] += 1
    n = counter[0]
    type_ = column.type
    aware = bool(getattr(type_, "timezone", False))
    for _ in range(5):  # the app's own types (UtcDateTime, a UUID type): what they are on this dialect
        if not isinstance(type_, sa.types.TypeDecorator):
            break
        type_ = type_.load_dialect_impl(engine.dialect)
        aware = aware or bool(getattr(type_, "timezone", False))  # UtcDateTime: aware, whatever its impl on MySQL
    if isinstance(type_, sa.Enum):
        return type_.enums[0] if type_.enums else None
    try:
        python_type = type_.python_type
    except (NotImplementedError, AttributeError):
        return None
    if python_type is bool:
        return True
    if python_type is int:
        return 7000 + n
    if python_type is float:
        return float(n)
    if python_type is decimal.Decimal:
        return decimal.Decimal(1)
    if python_type is str:
        return f"rw{{n}}"[: getattr(type_, "length", None) or 40]
    if python_type is bytes:
        return b"rw"
    if python_type is datetime.datetime:
        return datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc if aware else None)
    if python_type is datetime.date:
        return datetime.date(2024, 1, 2)
    if python_type is datetime.time:
        return datetime.time(3, 4, 5)
    if python_type is datetime.timedelta:
        return datetime.timedelta(seconds=n)
    if python_type is uuid.UUID:
        return uuid.uuid4() if getattr(type_, "as_uuid", True) else str(uuid.uuid4())
    if python_type in (dict, list):
        return python_type()
    return None

inserted, missing, other = 0, [], []
with engine.begin() as conn:
    for md in metadatas:
        for table in md.sorted_tables:
            row = {{}}
            for column in table.columns:
                if column.computed is not None or (column.primary_key and column is table.autoincrement_column):
                    continue
                fks = list(column.foreign_keys)
                if fks:
                    target = fks[0].column
                    row[column.name] = sa.select(target).limit(1).scalar_subquery()
                else:
                    row[column.name] = value(column)
            try:
                with conn.begin_nested():
                    conn.execute(table.insert().values(row))
                inserted += 1
            except sa.exc.DBAPIError as exc:
                code = getattr(exc.orig, "pgcode", None) or (exc.orig.args[0] if exc.orig.args else None)
                (missing if code in ("42703", "42P01", 1054, 1146) else other).append(f"{{table.name}}: {{str(exc.orig).splitlines()[0]}}")
print(json.dumps({{"inserted": inserted, "missing": missing, "other": other}}))
"""


def failed_steps(out: str, rejected: list[str]) -> int:
    """Failed steps, but for the indexes create_all() rejects too (the models' own problem)."""
    failed = re.findall(r"^\s+FAILED\s+(.*)$", out, re.MULTILINE)
    return len([line for line in failed if not any(line.startswith(f"create index {name}:") for name in rejected)])


def count(pattern: str, out: str) -> int:
    match = re.search(pattern, out, re.MULTILINE)
    return int(match.group(1)) if match else 0


def applied_revision(url: str) -> str:
    """What alembic_version holds (the last revision a stopped upgrade completed)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return ", ".join(r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")) or "none"
    except sa.exc.DBAPIError:
        return "none"
    finally:
        engine.dispose()


def _tables(conn: sa.Connection) -> list[str]:
    """The database's own tables (the default schema's), the tool's left out."""
    if conn.dialect.name == "mysql":
        sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
    else:
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    return [r[0] for r in conn.exec_driver_sql(sql) if r[0] not in OWN_TABLES]


def table_rows(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    quote = engine.dialect.identifier_preparer.quote_identifier
    try:
        with engine.connect() as conn:
            return {n: conn.exec_driver_sql(f"SELECT count(*) FROM {quote(n)}").scalar() or 0 for n in _tables(conn)}
    finally:
        engine.dispose()


def add_rows(url: str) -> None:
    """A row in every table that takes one with DEFAULT VALUES (each in a savepoint)."""
    engine = sa.create_engine(url)
    quote = engine.dialect.identifier_preparer.quote_identifier
    defaults = "() VALUES ()" if engine.dialect.name == "mysql" else "DEFAULT VALUES"
    try:
        with engine.begin() as conn:
            for name in _tables(conn):
                try:
                    with conn.begin_nested():
                        conn.exec_driver_sql(f"INSERT INTO {quote(name)} {defaults}")
                except sa.exc.DBAPIError:
                    pass
    finally:
        engine.dispose()


def run_app(app: str, admin: sa.Engine, server: str = "") -> Report:
    """Every step for one app on the server `admin` connects to (`server`: its name on the
    line; "" for PostgreSQL)."""
    requirement, adapter = APPS[app]
    report = Report(app, server)
    mysql = admin.dialect.name == "mysql"
    # The app's processes learn the server's kind: an app may build its models for it
    # (Airflow: utf8mb3_bin ids on MySQL).
    os.environ["REALWORLD_SERVER"] = ("mariadb" if server.startswith("MariaDB") else "mysql") if mysql else "postgresql"
    dump = dump_mysql_catalog if mysql else dump_catalog
    python = ensure_venv(app, requirement)
    if mysql:
        for driver in [MYSQL_DRIVER, *(adapter_constant(adapter, "MYSQL_REQUIREMENTS") or [])]:
            ensure_driver(python, driver)
    # The adapter's settings are literals, read without importing the app (seconds each for Airflow or Prefect).
    models = adapter_constant(adapter, "MODELS")
    old_revision = adapter_constant(adapter, "OLD_REVISION")
    created: list[str] = []
    renames: set[tuple[str, str]] = set()  # (table, new column) of likely renames left for review
    try:
        # 1. create_all() against a sync into an empty database.
        setup = None if mysql else adapter_constant(adapter, "SETUP")  # PostgreSQL's (an extension)

        def database() -> str:
            url = new_database(admin)
            created.append(url)
            if setup:  # what the app's migrations create before any table (an extension)
                engine = sa.create_engine(url)
                with engine.begin() as conn:
                    conn.exec_driver_sql(setup)
                engine.dispose()
            return url

        reference, synced = database(), database()
        rejected = adapter_call(python, adapter, CREATE_ALL.format(url=reference)).split()
        if rejected:
            report.note = f"create_all() rejects these indexes of the models too: {', '.join(rejected)}"
        code, out = sync(python, models, synced)
        report.failed_steps += failed_steps(out, rejected)
        if "ERROR" in out:
            report.note = "error: " + next(line for line in out.splitlines() if "ERROR" in line).strip()
            return report
        ref_engine, synced_engine = sa.create_engine(reference), sa.create_engine(synced)
        report.differs_from_create_all = catalog_differences(dump(ref_engine), dump(synced_engine))
        ref_engine.dispose()
        synced_engine.dispose()
        code, out = sync(python, models, reference, "--check")
        report.false_positives = count(r"(\d+) differences?;", out) - len(rejected)  # those are missing there

        # 2. An old state with rows, synced with the head models: the app's own migrations
        #    to an old revision, or else what an old release's create_all() made.
        old_release = adapter_constant(adapter, "OLD_RELEASE")
        old = None
        if old_revision:
            old = database()
            adapter_call(python, adapter, f"m.migrate({old!r}, m.OLD_REVISION)")
            report.old_state = f"old revision {old_revision}"
        elif old_release:
            old = database()
            old_python = ensure_venv(f"{app}-old", old_release, with_tool=False)
            if mysql:
                ensure_driver(old_python, MYSQL_DRIVER)
            adapter_call(old_python, adapter, CREATE_ALL.format(url=old))
            report.old_state = f"{old_release}'s create_all()"
        if old is not None:
            add_rows(old)
            before = table_rows(old)
            code, out = sync(python, models, old)
            report.failed_steps += failed_steps(out, rejected)
            after = table_rows(old)
            report.rows_before = sum(before.values())
            report.rows_after = sum(after.get(name, 0) for name in before)
            code, out = sync(python, models, old)
            report.second_run_applied = out.count("APPLIED")
            code, out = sync(python, models, old, "--check")
            report.review_after_sync = count(r"(\d+) differences?;", out)
            # A likely rename's new column is not added next to the old one's data (by design:
            # the RENAME is left for a person); the inserts that name it are counted apart.
            renames = set(re.findall(r"likely rename (?:\S+\.)?(\S+)\.\S+ -> (\S+):", out))
        # The app's new code writing to the synced database: a row per table through the head models.
        written = json.loads(adapter_call(python, adapter, INSERT_THROUGH_MODELS.format(url=old or synced)))
        report.inserted, report.insert_other = written["inserted"], written["other"]
        for error in written["missing"]:
            # PostgreSQL: column "c" of relation "t" does not exist; MySQL: Unknown column 'c' in 'field list'.
            held = any(error.startswith(f"{table}: ") and (f'column "{column}"' in error or f"column '{column}'" in error) for table, column in renames)
            (report.insert_held_back if held else report.insert_missing).append(error)
        report.tables = report.inserted + len(report.insert_missing) + len(report.insert_held_back) + len(report.insert_other)
        # 3. The app's own `alembic upgrade head` against its models.
        if old_revision:
            head = database()
            try:
                adapter_call(python, adapter, f"m.migrate({head!r}, 'head')")
            except RuntimeError as exc:
                if not mysql:
                    raise
                # The app's own history stopping on this server is the app's, where the adapter
                # says so (MARIADB_HISTORY: the last revision that runs, and why the next does
                # not): noted, and create_all()'s database stands in for the head.
                reached = applied_revision(head)
                stops_after, why = adapter_constant(adapter, "MARIADB_HISTORY") or (None, "")
                if reached != stops_after:
                    raise RuntimeError(f"alembic upgrade head stopped after {reached}: {exc}") from None
                report.note = "; ".join(filter(None, [report.note, f"its own alembic upgrade head stops after {reached} here: {why}"]))
                head = reference
            else:
                code, out = sync(python, models, head, "--check")
                report.migrations_vs_models = count(r"(\d+) differences?;", out)
                if report.migrations_vs_models:
                    report.note = "; ".join(filter(None, [report.note, "the app's migrations and models disagree; the sync follows the models"]))
        else:
            report.note = "; ".join(filter(None, [report.note, adapter_constant(adapter, "WHY_NO_HISTORY")]))
            head = reference  # create_all()'s database stands in for the head of a history
        # 4. The round trip: the head database copied into an empty one with --reference.
        copy = database()
        done = in_app(python, "-m", "sync_schema", "--reference", head, "--database-url", copy, "--strict")
        report.failed_steps += failed_steps(done.stdout, [])
        head_engine, copy_engine = sa.create_engine(head), sa.create_engine(copy)
        if mysql:
            want = dump(head_engine)
        else:
            want = reparsed_checks(head_engine, dump_catalog(head_engine))
            want["indexes"] = {key: (definition, True) for key, (definition, _valid) in want["indexes"].items()}  # made valid
        report.round_trip = catalog_differences(want, dump(copy_engine))
        head_engine.dispose()
        copy_engine.dispose()
        compared = in_app(python, "-m", "sync_schema", "compare", "--reference", head, "--database-url", copy, "--format", "json")
        changes = json.loads(compared.stdout)["changes"]
        report.round_trip_compare = sum(1 for c in changes if c["kind"] != "not_synced")
        listed = [c["name"] for c in changes if c["kind"] == "not_synced"]
        if listed:  # views, functions, triggers of the app's migrations: listed, never created
            report.note = "; ".join(filter(None, [report.note, f"round trip lists as not synced: {', '.join(listed[:5])}" + (", ..." if len(listed) > 5 else "")]))
    except Exception as exc:  # noqa: BLE001 - one app's trouble is reported on its line, the others go on
        report.note = f"error: {type(exc).__name__}: {exc}"
    finally:
        for url in created:
            drop_database(admin, url)
    return report


def print_report(report: Report, started: float) -> None:
    print(report.line() + f" ({time.monotonic() - started:.0f} s)", flush=True)
    for line in [*report.differs_from_create_all[:10], *(f"round trip: {x}" for x in report.round_trip[:10]), *report.insert_missing[:10],
                 *(f"held back (likely rename): {x}" for x in report.insert_held_back[:5]), *(f"insert refused: {x}" for x in report.insert_other[:5])]:
        print(f"    {line}")


def mariadb_admin() -> tuple[sa.Engine | None, str]:
    """The MariaDB / MySQL server as root (it makes and drops the databases) and its name for
    the lines, e.g. "MariaDB 10.11"; None and why where it cannot be reached."""
    where = sa.make_url(MYSQL_ADMIN_URL).render_as_string(hide_password=True)
    try:
        engine = sa.create_engine(MYSQL_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3, "read_timeout": 600})
    except ModuleNotFoundError as exc:
        return None, f"no MySQL driver here ({exc}): pip install -e '.[test]' installs PyMySQL"
    try:
        with engine.connect() as conn:
            version = str(conn.exec_driver_sql("SELECT VERSION()").scalar())
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        return None, f"MariaDB/MySQL not reachable at {where}: {str(exc.orig).strip().splitlines()[0]}"
    name = "MariaDB" if "mariadb" in version.lower() else "MySQL"
    return engine, f"{name} {'.'.join(version.split('-')[0].split('.')[:2])}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Real applications' models against the sync (tests/realworld/README.md).")
    parser.add_argument("apps", nargs="*", help=f"apps to run (default: all of {', '.join(APPS)})")
    parser.add_argument("--servers", default="postgresql,mariadb", help="the columns to run: postgresql, mariadb or both (default)")
    args = parser.parse_args(argv)
    apps = args.apps or list(APPS)
    servers = {s.strip() for s in args.servers.split(",") if s.strip()}
    unknown = [a for a in apps if a not in APPS] + [f"server {s}" for s in servers - {"postgresql", "mariadb"}]
    if unknown:
        print(f"realworld: unknown {', '.join(unknown)}; known: {', '.join(APPS)}; servers postgresql, mariadb")
        return 2
    reports = []
    unavailable = 0  # a server that could not be reached while SYNC_SCHEMA_REQUIRE_SERVERS is set
    skipped = 0  # apps that do not support the server
    if "postgresql" in servers:
        admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        for app in apps:
            started = time.monotonic()
            reports.append(run_app(app, admin))
            print_report(reports[-1], started)
        admin.dispose()
    if "mariadb" in servers:
        began = time.monotonic()
        mysql_admin, name = mariadb_admin()
        if mysql_admin is None:
            if REQUIRE_SERVERS:
                unavailable += 1
                print(f"FAIL the MariaDB column: {name} (SYNC_SCHEMA_REQUIRE_SERVERS is set, so this is a failure, not a skip)")
            else:
                print(f"SKIP the MariaDB column: {name} (service mariadb start; SYNC_SCHEMA_TEST_MYSQL names another server)")
        else:
            for app in apps:
                why_not = (adapter_constant(APPS[app][1], "UNSUPPORTED") or {}).get(name.split()[0])
                if why_not:
                    print(f"SKIP {app} on {name}: {why_not}")
                    skipped += 1
                    continue
                started = time.monotonic()
                reports.append(run_app(app, mysql_admin, name))
                print_report(reports[-1], started)
            mysql_admin.dispose()
            print(f"realworld: the {name} column took {time.monotonic() - began:.0f} s", flush=True)
    passed = sum(r.ok for r in reports)
    failed = len(reports) - passed + unavailable
    print(f"realworld: {passed} passed, {failed} failed" + (f", {skipped} skipped (the app does not support the server)" if skipped else ""))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
