"""Runs every case of acceptance_cases.py against a fresh PostgreSQL database.

For each case: the expected changes are found (no more, no fewer); after applying with
the case's allowances, a second inspection finds only what the case says remains; every
row that existed before is intact (renamed and dropped objects accounted for)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from acceptance_cases import CASES, PRELUDE, Case
from conftest import found, sync_json, write_models


def table_rows(engine: sa.Engine) -> dict[str, list[dict[str, object]]]:
    """Every row of every user table, as {column: value}, in primary-key order."""
    inspector = sa.inspect(engine)
    data = {}
    with engine.connect() as conn:
        for schema in inspector.get_schema_names():
            if schema in ("information_schema",) or schema.startswith("pg_"):
                continue
            for name in inspector.get_table_names(schema=schema):
                qualified = name if schema == "public" else f"{schema}.{name}"
                result = conn.exec_driver_sql(f'SELECT * FROM "{schema}"."{name}" ORDER BY 1')
                data[qualified] = [{k: _plain(v) for k, v in row._mapping.items()} for row in result]
    return data


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return value.normalize()
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return value.replace(tzinfo=None)  # type: ignore[union-attr]  # the session time zone is UTC here
    return value


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_acceptance(case: Case, app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    with pg_engine.begin() as conn:
        conn.exec_driver_sql("SET TIME ZONE 'UTC'")
        for statement in filter(str.strip, case.before.split(";")):
            conn.exec_driver_sql(statement)
    before = table_rows(pg_engine)
    models = write_models(app_dir, PRELUDE + case.models)
    target = ("--database-url", pg_url, "--models", models)
    allow = ("--allow", ",".join(case.allow)) if case.allow else ()

    _, planned = sync_json(*target, "--dry-run", *allow)
    assert found(planned) == case.expect

    code, document = sync_json(*target, *allow)
    assert code == 0
    assert document["error"] is None
    statuses = {(c["kind"], c.get("column", c.get("name"))): c for c in document["changes"]}
    for key, expected in case.status.items():
        status, _, message = expected.partition(":")
        assert statuses[key]["status"] == status, statuses[key]
        if message:
            assert message in (statuses[key]["error"] or ""), statuses[key]
    for kind, hazard in case.hazards.items():
        hazards = [h for c in document["changes"] if c["kind"] == kind for h in c["hazards"]] + [
            document["steps"][n]["description"] for c in document["changes"] if c["kind"] == kind for n in c["steps"]
        ]
        assert any(hazard in h for h in hazards), hazards

    # Inspect again: only what the case says is left.
    _, after = sync_json(*target, "--check")
    assert found(after) == case.remaining
    if case.extra_sql_check:
        query, expected_value = case.extra_sql_check
        with pg_engine.connect() as conn:
            assert conn.exec_driver_sql(query).scalar() == expected_value

    # No row lost, no value changed (except what was dropped or renamed on purpose).
    now = table_rows(pg_engine)
    for table, rows in before.items():
        if table in case.dropped:
            assert table not in now
            continue
        new_table = case.renamed.get(table, table)
        assert len(now[new_table]) == len(rows), table
        for old_row, new_row in zip(rows, now[new_table], strict=True):
            for column, value in old_row.items():
                if f"{table}.{column}" in case.dropped:
                    continue
                new_column = case.renamed.get(f"{table}.{column}", f"{new_table}.{column}").split(".", 1)[1]
                assert new_row[new_column] == value or str(new_row[new_column]) == str(value), (table, column)
