"""A database's schema as the server itself spells it, for comparing two databases object
by object: what create_all() made against what the sync made.

PostgreSQL (dump_catalog): only catalog functions the server owns are used (format_type,
pg_get_expr, pg_get_indexdef, pg_get_constraintdef). MySQL / MariaDB (dump_mysql_catalog):
information_schema's own columns (COLUMN_TYPE, COLUMN_DEFAULT, EXTRA...). Either way the
comparison does not depend on any spelling of ours. The tool's own tables are left out.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

OWN_TABLES = ("sync_schema_history", "sync_schema_history_statements", "sync_schema_lock", "alembic_version")

_COLUMNS = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text,
       col_description(c.oid, a.attnum),
       -- The sequence of an identity or SERIAL column: its options (START, INCREMENT...).
       (SELECT concat_ws(' ', s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle)
        FROM pg_sequence s WHERE s.seqrelid = pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname)::regclass),
       a.attnum
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(:schemas)
"""
_TABLES = """
SELECT n.nspname, c.relname, obj_description(c.oid, 'pg_class')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(:schemas)
"""
_INDEXES = """
SELECT n.nspname, t.relname, i.relname, pg_get_indexdef(i.oid), ix.indisvalid
FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = ANY(:schemas)
"""
_CONSTRAINTS = """
SELECT n.nspname, c.relname, con.conname, con.contype::text, pg_get_constraintdef(con.oid), con.convalidated
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(:schemas)
"""
_ENUMS = """
SELECT n.nspname, t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
WHERE n.nspname = ANY(:schemas) GROUP BY 1, 2
"""


def dump_catalog(engine: sa.Engine, schemas: tuple[str, ...] = ("public",), column_order: bool = False) -> dict[str, Any]:
    """Every table, column, index, constraint and enum type of `schemas`, keyed by name.
    `column_order`: include each column's position (create_all() and a sync into an empty
    database agree on it; a sync that adds columns to old tables appends them)."""
    with engine.connect() as conn:
        params = {"schemas": list(schemas)}

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in conn.execute(sa.text(sql), params) if r[1] not in OWN_TABLES]

        columns = {}
        order: dict[tuple[str, str], list[str]] = {}
        for schema, table, name, type_, not_null, default, identity, generated, comment, sequence, _attnum in sorted(rows(_COLUMNS), key=lambda r: r[-1]):
            columns[(schema, table, name)] = (type_, not_null, default, identity, generated, comment, sequence)
            order.setdefault((schema, table), []).append(name)
        dump = {
            "tables": {(r[0], r[1]): r[2] for r in rows(_TABLES)},
            "columns": columns,
            "indexes": {(r[0], r[1], r[2]): r[3:] for r in rows(_INDEXES)},
            "constraints": {(r[0], r[1], r[2]): r[3:] for r in rows(_CONSTRAINTS)},
            "enums": {(r[0], r[1]): tuple(r[2]) for r in conn.execute(sa.text(_ENUMS), params)},
        }
        if column_order:
            dump["column_order"] = order
        return dump


def catalog_differences(want: dict[str, Any], have: dict[str, Any]) -> list[str]:
    """One line per object that differs between two dumps: missing, extra or unequal."""
    lines = []
    for kind in want:
        for key in sorted(set(want[kind]) | set(have.get(kind, {})), key=repr):
            a, b = want[kind].get(key, "<missing>"), have.get(kind, {}).get(key, "<missing>")
            if a != b:
                lines.append(f"{kind} {'.'.join(map(str, key))}: reference {a!r}, synced {b!r}")
    return lines


def reparsed_checks(engine: sa.Engine, dump: dict[str, Any]) -> dict[str, Any]:
    """`dump` with each CHECK's definition parsed and spelled again by the server.

    pg_get_constraintdef's spelling of some expressions is not a fixpoint: kind IN ('a','b')
    comes back as ((kind)::text = ANY ((ARRAY['a'::character varying, ...])::text[])), which
    the server parses into ARRAY[('a'::character varying)::text, ...] (pg_dump and restore show
    the same). The copy can only hold the second spelling; the reference's is compared after
    the same one parse, on an empty copy of its table, so that the comparison is exact."""
    constraints = dict(dump["constraints"])
    connection = engine.raw_connection()  # the driver's own cursor: a definition may hold a % (LIKE '%@%')
    try:
        cursor = connection.cursor()
        for (schema, table, name), (kind, definition, validated) in dump["constraints"].items():
            if kind != "c":
                continue
            probe = f"probe_{uuid.uuid4().hex[:8]}"
            cursor.execute(f'CREATE TEMP TABLE {probe} (LIKE "{schema}"."{table}")')
            cursor.execute(f'ALTER TABLE {probe} ADD CONSTRAINT "{name}" {definition}')
            cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s AND conrelid = %s::regclass",
                           (name, f"pg_temp.{probe}"))
            constraints[(schema, table, name)] = (kind, cursor.fetchone()[0], validated)
        connection.rollback()
    finally:
        connection.close()
    return dump | {"constraints": constraints}


def dump_mysql_catalog(engine: sa.Engine) -> dict[str, dict[tuple[object, ...], object]]:
    """Every table, column, index, foreign key and CHECK of the engine's MySQL / MariaDB
    database as the server's information_schema spells them, keyed by name (the database's
    own name left out: two databases are compared)."""
    with engine.connect() as conn:
        def rows(sql: str) -> list[tuple[object, ...]]:
            return [tuple(r) for r in conn.exec_driver_sql(sql) if r[0] not in OWN_TABLES]

        db = "TABLE_SCHEMA = DATABASE()"
        mariadb = engine.dialect.is_mariadb  # type: ignore[attr-defined]
        # MySQL: a key part may be an expression; CHECK_CONSTRAINTS does not name the table.
        expression = "NULL" if mariadb else "EXPRESSION"
        checks = (
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()"
            if mariadb else
            "SELECT tc.TABLE_NAME, cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS cc "
            "JOIN information_schema.TABLE_CONSTRAINTS tc ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA "
            "AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME AND tc.CONSTRAINT_TYPE = 'CHECK' WHERE cc.CONSTRAINT_SCHEMA = DATABASE()"
        )
        dump = {
            "tables": {(r[0],): r[1:] for r in rows(f"SELECT TABLE_NAME, ENGINE, TABLE_COLLATION, TABLE_COMMENT FROM information_schema.TABLES WHERE {db}")},
            "columns": {r[:2]: r[2:] for r in rows(
                "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, GENERATION_EXPRESSION, "
                f"CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_COMMENT FROM information_schema.COLUMNS WHERE {db}")},
            "indexes": {r[:3]: r[3:] for r in rows(
                "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, NON_UNIQUE, COLUMN_NAME, SUB_PART, COLLATION, INDEX_TYPE, "
                f"{expression} FROM information_schema.STATISTICS WHERE {db}")},
            "foreign_keys": {r[:3]: r[3:] for r in rows(
                "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA = k.TABLE_SCHEMA, "
                "k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE FROM information_schema.KEY_COLUMN_USAGE k "
                "JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = k.TABLE_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME "
                "AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME WHERE k.TABLE_SCHEMA = DATABASE()")},
            "checks": {r[:2]: r[2:] for r in rows(checks)},
        }
    # InnoDB: RESTRICT is NO ACTION (both refuse at once). The tool reads either as NO ACTION,
    # so a copy made from a reference writes NO ACTION where the reference's catalog says
    # RESTRICT (Airflow's task_instance.dag_version_id): the same rule, spelled apart.
    foreign_keys = {key: tuple("NO ACTION" if v == "RESTRICT" else v for v in value) for key, value in dump["foreign_keys"].items()}
    return dump | {"indexes": _without_innodb_fk_indexes(dump["indexes"], dump["foreign_keys"]), "foreign_keys": foreign_keys}


def _without_innodb_fk_indexes(indexes: dict[tuple[Any, ...], Any], foreign_keys: dict[tuple[Any, ...], Any]) -> dict[tuple[Any, ...], Any]:
    """The indexes without those InnoDB made itself for a foreign key that had none (named
    after the constraint or its first column, on exactly its columns). Whether one is still
    there depends on the server and the order of events, not on the schema: MariaDB drops
    it when a later index can serve the key, MySQL 9 keeps it when that index was declared
    with a prefix as long as the column (dagster's run_tags: run_id(255) on a VARCHAR(255),
    which information_schema shows without the prefix). The tool leaves them alone too."""
    fk_columns: dict[tuple[Any, Any], list[Any]] = {}
    for (table, name, _position), (column, *_rest) in sorted(foreign_keys.items()):
        fk_columns.setdefault((table, name), []).append(column)
    implicit = {(table, index_name, tuple(columns)) for (table, name), columns in fk_columns.items() for index_name in (name, columns[0])}
    parts: dict[tuple[Any, Any], list[Any]] = {}
    for (table, name, _seq), (non_unique, column, *_rest) in sorted(indexes.items()):
        parts.setdefault((table, name), []).append((non_unique, column))
    own = {key for key, cols in parts.items() if all(int(u) for u, _ in cols) and (*key, tuple(c for _, c in cols)) in implicit}
    return {key: value for key, value in indexes.items() if key[:2] not in own}
