"""The reference is SQLAlchemy's own create_all(): for the models real applications
declare (parity_cases.py), a sync into an empty database makes exactly what create_all()
makes, object by object as the server spells it, and neither database then shows a
difference. Nothing here compares against a string of ours."""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from acceptance_cases import CASES as ACCEPTANCE_CASES
from acceptance_cases import PRELUDE
from catalog_dump import catalog_differences, dump_catalog
from conftest import execute_script, run_sync, write_models
from parity_cases import CASES, Case


@pytest.fixture
def reference_engine(pg_admin: sa.Engine) -> Iterator[sa.Engine]:
    """A second empty database, for create_all()."""
    name = f"sync_schema_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = sa.create_engine(pg_admin.url.set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with pg_admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_metadata(app_dir: Path, module: str) -> sa.MetaData:
    sys.path.insert(0, str(app_dir))
    try:
        return importlib.import_module(module).metadata  # type: ignore[no-any-return]
    finally:
        sys.path.remove(str(app_dir))


# The acceptance cases' models too (their old states are test_acceptance.py's business).
PG_CASES = CASES + [Case(f"acceptance: {c.name}", PRELUDE + c.models + "\nmetadata = Base.metadata\n") for c in ACCEPTANCE_CASES]


@pytest.mark.parametrize("case", PG_CASES, ids=[c.name for c in PG_CASES])
def test_sync_into_an_empty_database_makes_what_create_all_makes(
    case: Case, app_dir: Path, pg_url: str, pg_engine: sa.Engine, reference_engine: sa.Engine
) -> None:
    models = write_models(app_dir, case.models)
    for engine in (pg_engine, reference_engine):
        if case.setup:
            execute_script(engine, case.setup)
    metadata = load_metadata(app_dir, models)
    schemas = ("public", *sorted({t.schema for t in metadata.tables.values() if t.schema}))
    with reference_engine.begin() as conn:  # create_all() makes no schema; the app's migrations would
        for schema in schemas[1:]:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    with pytest.warns() if "Computed" in case.models and "persisted" not in case.models else _nothing():
        metadata.create_all(reference_engine)

    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0 and "FAILED" not in out and "ERROR" not in out, out

    differences = catalog_differences(
        dump_catalog(reference_engine, schemas, column_order=True), dump_catalog(pg_engine, schemas, column_order=True)
    )
    assert differences == [], "\n".join(differences)

    # Neither database shows a difference: no false positive on create_all()'s, and the
    # synced one is done (a second run applies nothing).
    reference_url = reference_engine.url.render_as_string(hide_password=False)
    for url in (pg_url, reference_url):
        code, out = run_sync("--database-url", url, "--models", models, "--check")
        assert code == 0 and "0 differences" in out, out
    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0 and "APPLIED" not in out, out


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


# Not on SQLite: PostgreSQL's types, extensions and collations, and NULLS FIRST/LAST (SQLite rejects them in an index).
SQLITE_CASES = [c for c in CASES if "pg." not in c.models and not c.setup and "nulls_" not in c.models and "collation=" not in c.models]


def sqlite_schema(engine: sa.Engine) -> dict[tuple[str, str], str]:
    """sqlite_master: every table and index with the SQL that made it."""
    with engine.connect() as conn:
        return {
            (r.type, r.name): r.sql for r in conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
            if not r.tbl_name.startswith("sync_schema_")
        }


@pytest.mark.parametrize("case", SQLITE_CASES, ids=[c.name for c in SQLITE_CASES])
def test_sqlite_sync_into_an_empty_database_makes_what_create_all_makes(case: Case, app_dir: Path, tmp_path: Path) -> None:
    models = write_models(app_dir, case.models)
    reference_url, synced_url = f"sqlite:///{tmp_path / 'reference.db'}", f"sqlite:///{tmp_path / 'synced.db'}"
    reference, synced = sa.create_engine(reference_url), sa.create_engine(synced_url)
    try:
        with pytest.warns() if "Computed" in case.models and "persisted" not in case.models else _nothing():
            load_metadata(app_dir, models).create_all(reference)
        code, out = run_sync("--database-url", synced_url, "--models", models)
        assert code == 0 and "FAILED" not in out and "ERROR" not in out, out
        assert sqlite_schema(synced) == sqlite_schema(reference)
        for url in (synced_url, reference_url):
            code, out = run_sync("--database-url", url, "--models", models, "--check")
            assert code == 0 and "0 differences" in out, out
    finally:
        reference.dispose()
        synced.dispose()
