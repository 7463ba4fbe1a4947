"""What every dialect provides: spelling normalization, catalog inspection and DDL.

A dialect is a small class of facts plus overridable hooks. The differ asks it for
comparison keys (`type_key`, `default_key`); the planner asks it for DDL; the applier
asks it how to bound locks. Nothing else in the package knows a dialect's quirks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ..database import run_sql
from ..snapshot import CheckConstraint, Column, EnumType, ForeignKey, Index, Snapshot, Table, TableKey, UniqueConstraint

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.engine import Dialect as SADialect

_OWN_DEFAULT = object()
# Seconds a catalog read waits for a table lock (the default of --lock-timeout).
READ_LOCK_TIMEOUT = 2.0
_QUOTED = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


_V = TypeVar("_V")


class _Keys(dict[str | None, _V]):
    """A dict that works out a missing key's value once, with `normalize`."""

    def __init__(self, normalize: Callable[[Any], _V]) -> None:
        super().__init__()
        self.normalize = normalize

    def __missing__(self, spelling: Any) -> _V:
        value = self[spelling] = self.normalize(spelling)
        return value


class Dialect:
    name: ClassVar[str]
    default_schema: ClassVar[str]
    supports_schemas: ClassVar[bool] = True
    supports_alter_column: ClassVar[bool] = True
    supports_identity: ClassVar[bool] = True  # GENERATED ... AS IDENTITY
    # Several ADD COLUMN clauses in one ALTER TABLE statement.
    multi_add_column: ClassVar[bool] = True
    # Synonyms for the current time, all compared as now().
    now_synonyms: ClassVar[tuple[str, ...]] = ("current_timestamp", "now()", "current_timestamp()")

    def __init__(self, sa_dialect: SADialect) -> None:
        self.sa_dialect = sa_dialect
        self.preparer = sa_dialect.identifier_preparer
        # Comparison keys are asked for once per column per side and spellings repeat a
        # lot: each is worked out once, then read as a plain dict lookup (see type_key).
        self.type_keys: _Keys[str] = _Keys(self._normalize_type)
        self.default_keys: _Keys[str | None] = _Keys(lambda default: None if default is None else self._normalize_default(default))
        self.numbering_defaults: _Keys[bool] = _Keys(self.numbers_rows)  # see numbers_rows

    @cached_property
    def render_dialect(self) -> SADialect:
        """The SQLAlchemy dialect used to render the models' SQL as text.

        The engine's driver may use the pyformat paramstyle (psycopg2), for which
        SQLAlchemy doubles every % in rendered text: DEFAULT '100%' would become '100%%'.
        DDL here is literal SQL, so it is rendered for a paramstyle without that escaping.
        """
        render = type(self.sa_dialect)(paramstyle="named")
        render.server_version_info = getattr(self.sa_dialect, "server_version_info", None)
        return render

    # -- inspection ----------------------------------------------------------------

    def inspect(self, conn: Connection, schemas: set[str] | None, lock_timeout: float = READ_LOCK_TIMEOUT) -> Snapshot:
        """Read the live schema with a fixed number of catalog queries. A table lock that
        cannot be had within `lock_timeout` seconds raises (see `database.is_lock_timeout`)."""
        return self.read_catalog(self.fetch_catalog(conn, schemas, lock_timeout))

    # Inspection comes in two halves so that the server's work can overlap Python's:
    # `fetch_catalog` runs the queries and yields each one's rows as soon as they are
    # fetched; `read_catalog` consumes them in the same order and builds the Snapshot.
    queries_per_inspect: ClassVar[int] = 0
    # True where the driver lets fetch_catalog run on another thread than read_catalog.
    fetch_in_background: ClassVar[bool] = False

    def fetch_catalog(self, conn: Connection, schemas: set[str] | None, lock_timeout: float = READ_LOCK_TIMEOUT) -> Iterator[Any]:
        raise NotImplementedError

    def read_catalog(self, results: Iterator[Any]) -> Snapshot:
        raise NotImplementedError

    def nonempty_tables(self, conn: Connection, tables: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these tables hold at least one row, in one query (no scan: LIMIT 1)."""
        if not tables:
            return set()
        keys = sorted(tables)
        sql = " UNION ALL ".join(
            f"SELECT {i} AS k FROM (SELECT 1 FROM {self.table_name(schema, name)} LIMIT 1) AS t{i}" for i, (schema, name) in enumerate(keys)
        )
        return {keys[row.k] for row in run_sql(conn, sql)}

    def count_rows(self, conn: Connection, tables: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Exact row counts of a few tables, in one query (used only where a report needs them)."""
        if not tables:
            return {}
        keys = sorted(tables)
        sql = " UNION ALL ".join(
            f"SELECT {i} AS k, count(*) AS n FROM {self.table_name(schema, name)}" for i, (schema, name) in enumerate(keys)
        )
        return {keys[row.k]: row.n for row in run_sql(conn, sql)}

    def respell_defaults(
        self, conn: Connection, desired: Snapshot, actual: Snapshot | None = None, tables: Collection[TableKey] | None = None
    ) -> Snapshot:
        """The models' literal defaults spelled the way this database stores them, in
        `tables` only if given (those that are not known to be in sync already)."""
        return desired

    # -- comparison keys -----------------------------------------------------------

    def type_key(self, type_: str) -> str:
        """The type as the database spells it, for comparison. (Hot loops read
        `self.type_keys[type_]`, the same without a method call.)"""
        return self.type_keys[type_]

    def default_key(self, default: str | None) -> str | None:
        """A normalized default: casts, case, parentheses and synonyms are not differences.
        (Hot loops read `self.default_keys[default]`.)"""
        return self.default_keys[default]

    def numbers_rows(self, default: str | None) -> bool:
        """Whether a column default makes the database number new rows itself, as an
        autoincrement key does (PostgreSQL: nextval() of a sequence, what SERIAL stands
        for). Models that spell SERIAL out, as sqlacodegen writes them, then compare equal
        to it. (Hot loops read `self.numbering_defaults[default]`.)"""
        return False

    def _normalize_type(self, type_: str) -> str:
        return " ".join(type_.lower().replace(", ", ",").split())

    def _normalize_default(self, default: str) -> str | None:
        text = default.strip()
        while _wrapped_in_parens(text):
            text = text[1:-1].strip()
        text = self._strip_casts(text)
        while _wrapped_in_parens(text):
            text = text[1:-1].strip()
        if _QUOTED.fullmatch(text):
            inner = text[1:-1].replace("''", "'")
            if _NUMBER.match(inner) or inner.lower() in ("true", "false"):
                text = inner  # '5' on an integer column is the number 5
            else:
                return text
        low = _lower_outside_quotes(text)
        if low in self.now_synonyms:
            return "now()"
        if _NUMBER.match(low):
            try:
                return format(Decimal(low).normalize(), "f")
            except InvalidOperation:
                return low
        return low

    def _strip_casts(self, text: str) -> str:
        return text

    def can_add_column_with_default(self, default: str) -> bool:
        return True

    def autoincrement_kind(self, type_key: str) -> str | None:
        """How the database numbers an autoincrement key of this type, if it does."""
        return None

    # -- DDL -----------------------------------------------------------------------

    def quote(self, identifier: str) -> str:
        return self.preparer.quote(identifier)

    def table_name(self, schema: str, name: str) -> str:
        if schema == self.default_schema:
            return self.quote(name)
        return f"{self.quote(schema)}.{self.quote(name)}"

    def column_type_sql(self, column: Column) -> str:
        return column.type

    def column_sql(self, column: Column, *, force_nullable: bool = False, default: str | None | object = _OWN_DEFAULT) -> str:
        """The column's definition; `default` replaces the column's own (None: no default)."""
        parts = [self.quote(column.name), self.column_type_sql(column)]
        default = column.default if default is _OWN_DEFAULT else default
        if default is not None:
            parts.append(f"DEFAULT {default}")
        if column.autoincrement and column.autoincrement.startswith("identity"):
            kind = "ALWAYS" if column.autoincrement == "identity_always" else "BY DEFAULT"
            parts.append(f"GENERATED {kind} AS IDENTITY")
        if not column.nullable and not force_nullable:
            parts.append("NOT NULL")
        return " ".join(parts)

    def columns_list(self, names: tuple[str, ...]) -> str:
        return ", ".join(self.quote(n) for n in names)

    def create_schema_sql(self, schema: str) -> str:
        return f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)}"

    def create_enum_sql(self, enum: EnumType) -> str:
        raise NotImplementedError(f"{self.name} has no enum types")

    def create_table_sql(self, table: Table, foreign_keys: tuple[ForeignKey, ...]) -> str:
        lines = [self.column_sql(c) for c in table.columns]
        if table.primary_key:
            lines.append(self._named(table.primary_key_name) + f"PRIMARY KEY ({self.columns_list(table.primary_key)})")
        lines += [self.unique_sql(u) for u in table.uniques]
        lines += [self.check_sql(c) for c in table.checks]
        lines += [self.foreign_key_sql(fk) for fk in foreign_keys]
        body = ",\n    ".join(lines)
        return f"CREATE TABLE {self.table_name(table.schema, table.name)} (\n    {body}\n)"

    def _named(self, name: str | None) -> str:
        return f"CONSTRAINT {self.quote(name)} " if name else ""

    def unique_sql(self, unique: UniqueConstraint) -> str:
        return self._named(unique.name) + f"UNIQUE ({self.columns_list(unique.columns)})"

    def check_sql(self, check: CheckConstraint) -> str:
        return self._named(check.name) + f"CHECK ({check.sqltext})"

    def foreign_key_sql(self, fk: ForeignKey) -> str:
        return self._named(fk.name) + self.foreign_key_body(fk)

    def foreign_key_body(self, fk: ForeignKey) -> str:
        sql = (
            f"FOREIGN KEY ({self.columns_list(fk.columns)}) REFERENCES "
            + f"{self.table_name(fk.ref_schema, fk.ref_table)} ({self.columns_list(fk.ref_columns)})"
        )
        if fk.on_delete:
            sql += f" ON DELETE {fk.on_delete}"
        if fk.on_update:
            sql += f" ON UPDATE {fk.on_update}"
        return sql

    def add_foreign_key_sql(self, table: Table, fk: ForeignKey) -> str:
        return f"ALTER TABLE {self.table_name(table.schema, table.name)} ADD {self.foreign_key_sql(fk)}"

    def add_columns_sql(self, table: Table, columns: list[tuple[Column, str | None]]) -> list[str]:
        """ADD COLUMN statements for (column, default) pairs, each added as nullable."""
        target = self.table_name(table.schema, table.name)
        clauses = [f"ADD COLUMN {self.column_sql(c, force_nullable=True, default=d)}" for c, d in columns]
        if self.multi_add_column:
            return [f"ALTER TABLE {target} " + ", ".join(clauses)]
        return [f"ALTER TABLE {target} {clause}" for clause in clauses]

    def create_index_sql(self, table: Table, index: Index) -> str:
        unique = "UNIQUE " if index.unique else ""
        name = self.quote(index.name) + " " if index.name else ""
        # Expressions are kept wrapped in parentheses; anything else is a column name.
        exprs = ", ".join(e if e.startswith("(") else self.quote(e) for e in index.expressions)
        sql = f"CREATE {unique}INDEX {name}ON {self.table_name(table.schema, table.name)} ({exprs})"
        if index.where:
            sql += f" WHERE {index.where}"
        return sql

    def create_index_steps(self, table: Table, index: Index, online: bool, replace: bool = False) -> tuple[list[str], bool, tuple[str, ...]]:
        """(statements, transactional, hazards) that build an index on an existing table."""
        sql = [self.create_index_sql(table, index)]
        if replace:
            sql.insert(0, self.drop_index_sql(table, index))
        return sql, True, (("builds the index while writes to the table wait",) if online else ())

    def add_unique_steps(self, table: Table, unique: UniqueConstraint, online: bool) -> tuple[list[str], bool]:
        if not self.supports_alter_column:
            return [], True
        return [f"ALTER TABLE {self.table_name(table.schema, table.name)} ADD {self.unique_sql(unique)}"], True

    def alter_type_sql(self, table: Table, column: Column) -> str | None:
        return None

    def set_not_null_sql(self, table: Table, column_name: str) -> str | None:
        return None

    def set_not_null_steps(self, table: Table, column_name: str) -> tuple[list[str], bool, tuple[str, ...]]:
        """(statements, transactional, hazards) that add NOT NULL to a column holding data."""
        sql = self.set_not_null_sql(table, column_name)
        return ([sql] if sql else []), True, ("scans the table under an ACCESS EXCLUSIVE lock",)

    def add_foreign_key_steps(self, table: Table, fk: ForeignKey) -> tuple[list[str], bool]:
        """(statements, transactional) that add a foreign key to a table holding data."""
        return ([self.add_foreign_key_sql(table, fk)] if self.supports_alter_column else []), True

    def add_check_steps(self, table: Table, check: CheckConstraint) -> tuple[list[str], bool]:
        if not self.supports_alter_column:
            return [], True
        return [f"ALTER TABLE {self.table_name(table.schema, table.name)} ADD {self.check_sql(check)}"], True

    def rename_index_sql(self, table: Table, old: str, new: str) -> str | None:
        return None

    def drop_constraint_sql(self, table: Table, name: str) -> str | None:
        if not self.supports_alter_column:
            return None
        return f"ALTER TABLE {self.table_name(table.schema, table.name)} DROP CONSTRAINT {self.quote(name)}"

    def rename_table_sql(self, table: Table, new_name: str) -> str:
        return f"ALTER TABLE {self.table_name(table.schema, table.name)} RENAME TO {self.quote(new_name)}"

    def rename_column_sql(self, table: Table, old: str, new: str) -> str:
        return f"ALTER TABLE {self.table_name(table.schema, table.name)} RENAME COLUMN {self.quote(old)} TO {self.quote(new)}"

    def unconvertible_rows_sql(self, table: Table, column_name: str, new_type: str) -> tuple[str, ...]:
        """Statements whose last counts the rows whose value would not survive a type change."""
        return ()

    def drop_not_null_sql(self, table: Table, column_name: str) -> str | None:
        return None

    def set_default_sql(self, table: Table, column_name: str, default: str | None) -> str | None:
        return None

    def drop_column_sql(self, table: Table, column_name: str) -> str:
        return f"ALTER TABLE {self.table_name(table.schema, table.name)} DROP COLUMN {self.quote(column_name)}"

    def drop_table_sql(self, table: Table) -> str:
        return f"DROP TABLE {self.table_name(table.schema, table.name)}"

    def drop_index_sql(self, table: Table, index: Index) -> str:
        return f"DROP INDEX {self.quote(index.name or '')}"

    # -- applying ------------------------------------------------------------------

    def bound_locks(self, conn: Connection, lock_timeout: float, statement_timeout: float, local: bool = True) -> None:
        """Called before DDL runs: at the start of each transaction (`local`), or once on an
        autocommit connection."""

    def behind_pooler(self, engine: Engine, conn: Connection) -> bool:
        """True when `conn` does not own its server session (a transaction-mode pooler)."""
        return False

    def try_run_lock(self, conn: Connection) -> bool:
        """Take the one-run-at-a-time lock on `conn` without waiting; True if taken."""
        return True

    def release_run_lock(self, conn: Connection) -> None:
        """Release what try_run_lock took."""


def _wrapped_in_parens(text: str) -> bool:
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    in_quote = False
    for i, ch in enumerate(text):
        if ch == "'":
            in_quote = not in_quote
        elif not in_quote and ch == "(":
            depth += 1
        elif not in_quote and ch == ")":
            depth -= 1
            if depth == 0 and i != len(text) - 1:
                return False
    return depth == 0


def _lower_outside_quotes(text: str) -> str:
    out, last = [], 0
    for m in _QUOTED.finditer(text):
        out.append(text[last : m.start()].lower())
        out.append(m.group(0))
        last = m.end()
    out.append(text[last:].lower())
    return " ".join("".join(out).split())
