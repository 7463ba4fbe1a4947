"""SQLite: the embedded default. Inspection joins sqlite_master with the table-valued
pragma functions, so it too costs a fixed number of queries."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..snapshot import Column, Expression, ForeignKey, Index, Snapshot, Table, UniqueConstraint, index_element_options
from .base import READ_LOCK_TIMEOUT, Dialect

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Connection

_USER_TABLES = "m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
_COLUMNS = f"""
SELECT m.name AS table_name, p.name, p.type, p."notnull" AS not_null, p.dflt_value, p.pk, p.hidden
FROM sqlite_master m JOIN pragma_table_xinfo(m.name) p
WHERE {_USER_TABLES}
ORDER BY m.name, p.cid
"""
_INDEXES = f"""
SELECT m.name AS table_name, il.name, il."unique" AS is_unique, il.origin, il.partial,
       ii.name AS column_name, ii."desc" AS descending, ix.sql
FROM sqlite_master m
JOIN pragma_index_list(m.name) il
JOIN pragma_index_xinfo(il.name) ii
LEFT JOIN sqlite_master ix ON ix.type = 'index' AND ix.name = il.name
WHERE {_USER_TABLES} AND ii.key = 1
ORDER BY m.name, il.name, ii.seqno
"""
_FOREIGN_KEYS = f"""
SELECT m.name AS table_name, f.id, f."table" AS ref_table, f."from" AS column_name,
       f."to" AS ref_column, f.on_delete, f.on_update
FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f
WHERE {_USER_TABLES}
ORDER BY m.name, f.id, f.seq
"""
_WHERE = re.compile(r"\bWHERE\b(?P<where>.*)$", re.IGNORECASE | re.DOTALL)


class SQLiteDialect(Dialect):
    name = "sqlite"
    exclusive_lock = "the database's write lock"
    default_schema = "main"
    supports_schemas = False
    supports_alter_column = False
    supports_identity = False
    multi_add_column = False
    queries_per_inspect = 3
    reads_checks = False  # no pragma lists them
    reads_collations = False
    reads_deferrable = False
    supports_comments = False

    def expression_key(self, sql: str) -> str:
        # The pragmas show neither an index expression nor a generated column's: such
        # things are compared by their presence (and an index by its number of keys).
        return _UNKNOWN_EXPRESSION

    def fetch_catalog(self, conn: Connection, schemas: set[str] | None, lock_timeout: float = READ_LOCK_TIMEOUT) -> Iterator[Any]:
        for sql in (_COLUMNS, _INDEXES, _FOREIGN_KEYS):
            yield conn.exec_driver_sql(sql).all()

    def read_catalog(self, results: Iterator[Any]) -> Snapshot:
        columns: dict[str, list[Column]] = {}
        pk_columns: dict[str, list[tuple[int, str]]] = {}
        for row in next(results):
            if row.hidden == 1:
                continue  # a virtual table's hidden column
            # Generated columns (hidden 2: virtual, 3: stored): the pragma shows no expression.
            generated = _UNKNOWN_EXPRESSION if row.hidden in (2, 3) else None
            columns.setdefault(row.table_name, []).append(
                Column(row.name, row.type, not row.not_null and not row.pk, None if generated else row.dflt_value, None, generated)
            )
            if row.pk:
                pk_columns.setdefault(row.table_name, []).append((row.pk, row.name))

        index_rows: dict[tuple[str, str], list[Any]] = {}
        for row in next(results):
            if row.origin != "pk":
                index_rows.setdefault((row.table_name, row.name), []).append(row)
        indexes: dict[str, list[Index]] = {}
        uniques: dict[str, list[UniqueConstraint]] = {}
        for (table, name), rows in index_rows.items():
            first = rows[0]
            exprs = tuple(r.column_name if r.column_name is not None else Expression("(?)") for r in rows)
            options = tuple(index_element_options(None, bool(r.descending), None) for r in rows)
            if first.origin == "u":
                uniques.setdefault(table, []).append(UniqueConstraint(None, exprs))
                continue
            where = None
            if first.partial and first.sql:
                match = _WHERE.search(first.sql)
                where = match.group("where").strip() if match else None
            indexes.setdefault(table, []).append(Index(name, exprs, bool(first.is_unique), where, None, True, (), options if any(options) else ()))

        fk_parts: dict[tuple[str, int], list[Any]] = {}
        for row in next(results):
            fk_parts.setdefault((row.table_name, row.id), []).append(row)
        fks: dict[str, list[ForeignKey]] = {}
        for (table, _), rows in fk_parts.items():
            first = rows[0]
            fks.setdefault(table, []).append(
                ForeignKey(
                    None, tuple(r.column_name for r in rows), "main", first.ref_table,
                    tuple(r.ref_column for r in rows), _action(first.on_delete), _action(first.on_update),
                )
            )

        tables = {}
        for name, cols in columns.items():
            pk = tuple(col for _, col in sorted(pk_columns.get(name, [])))
            if len(pk) == 1:
                # INTEGER PRIMARY KEY is an alias of the rowid: the database numbers it.
                cols = [
                    c._replace(autoincrement="rowid")
                    if c.name == pk[0] and c.type.upper() == "INTEGER" else c
                    for c in cols
                ]
            tables[("main", name)] = Table(
                "main", name, tuple(cols), pk, None, tuple(indexes.get(name, ())),
                tuple(uniques.get(name, ())), tuple(fks.get(name, ())),
            )
        return Snapshot("sqlite", "main", frozenset({"main"}), tables, {})

    def autoincrement_kind(self, type_key: str) -> str | None:
        return "rowid" if type_key == "integer" else None

    def can_add_column_with_default(self, default: str) -> bool:
        # ALTER TABLE ADD COLUMN accepts only constant defaults (no CURRENT_TIMESTAMP).
        key = self.default_key(default) or ""
        return key.startswith("'") or key in ("null", "true", "false") or key.lstrip("-").replace(".", "", 1).isdigit()

    def table_name(self, schema: str, name: str) -> str:
        return self.quote(name)

    def create_schema_sql(self, schema: str) -> str:
        raise NotImplementedError("SQLite has no schemas")


_UNKNOWN_EXPRESSION = "(?)"


def _action(action: str | None) -> str | None:
    return None if action is None or action.upper() == "NO ACTION" else action.upper()
