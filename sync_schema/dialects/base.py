"""What every dialect provides: spelling normalization, catalog inspection and DDL.

A dialect is a small class of facts plus overridable hooks. The differ asks it for
comparison keys (`type_key`, `default_key`); the planner asks it for DDL; the applier
asks it how to bound locks. Nothing else in the package knows a dialect's quirks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from sqlalchemy.schema import CreateIndex, CreateTable, SetColumnComment, SetTableComment

from ..database import run_sql
from ..snapshot import (
    CheckConstraint,
    Column,
    EnumType,
    Expression,
    ForeignKey,
    Index,
    OtherObject,
    Snapshot,
    Table,
    TableKey,
    UniqueConstraint,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.engine import Dialect as SADialect

_OWN_DEFAULT = object()
# Attributes of an engine's dialect that belong to its driver's paramstyle, not the server.
_PARAMSTYLE_FACTS = frozenset({"paramstyle", "positional", "_paramstyle", "dbapi", "loaded_dbapi"})
# Seconds a catalog read waits for a table lock (the default of --lock-timeout).
READ_LOCK_TIMEOUT = 2.0
_QUOTED = re.compile(r"'(?:[^']|'')*'")
_UNSPELLED = re.compile(r"[()\s\"]")  # what expression_key drops outside quoted literals
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


# Tables up to this size (data and indexes, bytes) are rebuilt online without being asked
# where a dialect must rebuild one to keep the models' INSERTs working (MySQL: relaxing NOT
# NULL); bigger ones are left for review. The run sets it from the rebuild_limit setting.
DEFAULT_REBUILD_LIMIT = 1_000_000_000


class NeedsReview(Exception):
    """Raised by Dialect.run_ddl for a statement the server would run only in a way the
    tool does not use unasked (MySQL: by copying the table): the step is left for review."""


def sql_literal(text: str) -> str:
    """`text` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def milliseconds(seconds: float) -> int:
    """A time-out as the server takes it: whole milliseconds, rounded up (0 would mean none)."""
    return max(1, math.ceil(seconds * 1000))


class Dialect:
    name: ClassVar[str]
    # Where the models' tables without a schema live: for PostgreSQL the server's
    # current_schema() (the first schema of the role's search_path that exists), where
    # create_all() puts them. Every statement names it: never left to the search_path.
    default_schema: str
    supports_schemas: ClassVar[bool] = True
    supports_alter_column: ClassVar[bool] = True
    supports_identity: ClassVar[bool] = True  # GENERATED ... AS IDENTITY
    # Several ADD COLUMN clauses in one ALTER TABLE statement.
    multi_add_column: ClassVar[bool] = True
    # Whether the catalog reader sees CHECK constraints and comments (SQLite's pragmas
    # show neither): where it does not, the models' are not compared.
    reads_checks: ClassVar[bool] = True
    reads_collations: ClassVar[bool] = True
    reads_deferrable: ClassVar[bool] = True  # a foreign key's DEFERRABLE / INITIALLY DEFERRED
    # Longest name the server keeps, in bytes; longer ones are cut (0: no limit).
    max_identifier_bytes: ClassVar[int] = 0
    supports_comments: ClassVar[bool] = True
    # How a hazard names the lock that keeps every other session off a table.
    exclusive_lock: ClassVar[str] = "an exclusive lock"
    # Whether DDL can be rolled back: the applier then runs a table's steps in one
    # transaction. Where every statement commits by itself (MySQL), each step runs alone.
    transactional_ddl: ClassVar[bool] = True
    # Where a unique constraint is nothing but a unique index (MySQL), a unique index of the
    # database that makes up one of the models' unique constraints is not an extra index.
    unique_constraints_are_indexes: ClassVar[bool] = False
    # Where ON DELETE / ON UPDATE RESTRICT is what no action means (InnoDB), the two compare equal.
    restrict_is_no_action: ClassVar[bool] = False
    rebuild_limit: int = DEFAULT_REBUILD_LIMIT
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
        # expression_key() of each expression (generated column, index key or predicate, CHECK), worked out once.
        self.expression_keys: _Keys[str | None] = _Keys(lambda sql: None if sql is None else self.expression_key(sql))

    @property
    def render_dialect(self) -> SADialect:
        """The SQLAlchemy dialect used to render the models' SQL as text.

        The engine's driver may use the pyformat paramstyle (psycopg2), for which
        SQLAlchemy doubles every % in rendered text: DEFAULT '100%' would become '100%%'.
        DDL here is literal SQL, so it is rendered for a paramstyle without that escaping.
        It knows what the engine's dialect learnt from the server on connecting (version,
        identity and generated-column support...): create_all() renders with those facts.
        """
        version = getattr(self.sa_dialect, "server_version_info", None)
        kept = self.__dict__.get("_render_dialect")
        if kept is not None and kept[0] == version:
            return kept[1]  # type: ignore[no-any-return]
        render = type(self.sa_dialect)(paramstyle="named")  # type: ignore[call-arg]  # every concrete dialect takes it
        for name, value in vars(self.sa_dialect).items():
            if name not in _PARAMSTYLE_FACTS and isinstance(value, bool | int | str | tuple | None):
                setattr(render, name, value)
        self.__dict__["_render_dialect"] = (version, render)
        return render

    # -- inspection ----------------------------------------------------------------

    def inspect(self, conn: Connection, schemas: set[str] | None, lock_timeout: float = READ_LOCK_TIMEOUT) -> Snapshot:
        """Read the live schema with a fixed number of catalog queries. A table lock that
        cannot be had within `lock_timeout` seconds raises (see `database.is_lock_timeout`)."""
        return self.read_catalog(self.fetch_catalog(conn, schemas, lock_timeout))

    # Inspection comes in two halves so that the server's work can overlap Python's:
    # `fetch_catalog` runs the queries and yields each one's rows as soon as they are
    # fetched; `read_catalog` consumes them in the same order and builds the Snapshot.
    queries_per_inspect: int = 0  # as the report counts them (a dialect may add one on some servers)
    # True where the driver lets fetch_catalog run on another thread than read_catalog.
    fetch_in_background: ClassVar[bool] = False

    def fetch_catalog(self, conn: Connection, schemas: set[str] | None, lock_timeout: float = READ_LOCK_TIMEOUT) -> Iterator[Any]:
        raise NotImplementedError

    def read_catalog(self, results: Iterator[Any]) -> Snapshot:
        raise NotImplementedError

    def read_other_objects(self, conn: Connection, schemas: Collection[str]) -> tuple[OtherObject, ...]:
        """The objects of `schemas` the tool does not create (views, functions, triggers,
        policies, extensions...), in one query: where a database is the desired side, the
        ones the target lacks are listed. None here: the dialect cannot tell."""
        return ()

    def rewriting_additions(self, conn: Connection, definitions: list[str]) -> list[bool | None]:
        """For each column definition (all but the name: "TEXT DEFAULT now()::text"),
        whether ADD COLUMN with it rewrites a table that holds rows (None: not known; the
        planner then judges by the default's spelling)."""
        return [None] * len(definitions)

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

    def respell_expressions(
        self, conn: Connection, desired: Snapshot, actual: Snapshot,
        indexes: Collection[tuple[TableKey, str]], checks: Collection[tuple[TableKey, str]] = (),
    ) -> Snapshot:
        """The models' expressions and predicates of these indexes, and the expressions of
        these CHECK constraints, each (table, name), as the server spells them, where the
        dialect can ask it."""
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

    def model_type_and_collation(self, type_sql: str, collation: str | None) -> tuple[str, str | None]:
        """A model column's type (as create_all() renders it, without COLLATE) and
        collation, spelled as the catalog reader spells a column's."""
        return type_sql, collation

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

    def expression_key(self, sql: str) -> str:
        """An SQL expression (a generated column's, an index key's, a CHECK's) reduced to
        what SQLAlchemy's and the server's spellings of it share: case outside quotes,
        casts the server adds to name the types it resolved, parentheses and white space
        are dropped. Coarse on purpose: it may take `a - (b - c)` for `a - b - c`, never
        two spellings of one expression for different ones."""
        out, last = [], 0
        for m in _QUOTED.finditer(sql):
            out.append(_UNSPELLED.sub("", self._strip_inner_casts(sql[last : m.start()].lower())).replace("!=", "<>"))
            out.append(m.group(0))
            last = m.end()
        out.append(_UNSPELLED.sub("", self._strip_inner_casts(sql[last:].lower())).replace("!=", "<>"))
        return "".join(out)

    def _strip_inner_casts(self, sql: str) -> str:
        """`sql` (lower case, no quoted literal in it) without the casts the server writes."""
        return sql

    def can_add_column_with_default(self, default: str) -> bool:
        return True

    def autoincrement_kind(self, type_key: str) -> str | None:
        """How the database numbers an autoincrement key of this type, if it does."""
        return None

    # -- DDL -----------------------------------------------------------------------

    def quote(self, identifier: str) -> str:
        return self.preparer.quote(identifier)

    def table_name(self, schema: str, name: str) -> str:
        """The table as every statement names it: with its schema, always (unqualified,
        the server would look it up in the search_path, maybe in another schema than the
        one inspected)."""
        return f"{self.quote(schema)}.{self.quote(name)}"

    def column_type_sql(self, column: Column) -> str:
        return column.type

    def column_sql(self, column: Column, *, force_nullable: bool = False, default: str | None | object = _OWN_DEFAULT) -> str:
        """The column's definition; `default` replaces the column's own (None: no default)."""
        parts = [self.quote(column.name), self.column_type_sql(column)]
        if column.collation is not None:
            parts.append(f"COLLATE {self.quote(column.collation)}")
        default = column.default if default is _OWN_DEFAULT else default
        if column.generated is not None:
            parts.append(self.generated_sql(column.generated))
        elif default is not None:
            parts.append(f"DEFAULT {default}")
        if column.autoincrement and column.autoincrement.startswith("identity"):
            kind = "ALWAYS" if column.autoincrement == "identity_always" else "BY DEFAULT"
            parts.append(f"GENERATED {kind} AS IDENTITY" + (f" ({column.identity_options})" if column.identity_options else ""))
        if not column.nullable and not force_nullable:
            parts.append("NOT NULL")
        return " ".join(parts)

    def generated_sql(self, expression: str) -> str:
        return f"GENERATED ALWAYS AS ({expression}) STORED"

    def comment_sql(self, table: Table, column_name: str | None, comment: str | None) -> str | None:
        """COMMENT ON the table or one of its columns (None: the comment removed)."""
        if not self.supports_comments:
            return None
        target = self.table_name(table.schema, table.name)
        if column_name is not None:
            target += "." + self.quote(column_name)
        text = "NULL" if comment is None else sql_literal(comment)
        return f"COMMENT ON {'COLUMN' if column_name is not None else 'TABLE'} {target} IS {text}"

    def primary_key_sql(self, table: Table) -> str:
        return self._named(table.primary_key_name) + f"PRIMARY KEY ({self.columns_list(table.primary_key)})"

    def columns_list(self, names: tuple[str, ...]) -> str:
        return ", ".join(self.quote(n) for n in names)

    def create_schema_sql(self, schema: str) -> str:
        return f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)}"

    def create_enum_sql(self, enum: EnumType) -> str:
        raise NotImplementedError(f"{self.name} has no enum types")

    def create_table_sql(self, table: Table, foreign_keys: tuple[ForeignKey, ...]) -> list[str]:
        """CREATE TABLE with these of its foreign keys, and its comments. A table of the
        models is rendered by SQLAlchemy's own DDL compiler, as create_all() renders it; a
        table of a reference database, from its snapshot."""
        if table.source is not None:
            return self._create_model_table_sql(table, foreign_keys)
        lines = [self.column_sql(c) for c in table.columns]
        if table.primary_key:
            lines.append(self.primary_key_sql(table))
        lines += [self.unique_sql(u) for u in table.uniques]
        lines += [self.check_sql(c) for c in table.checks]
        lines += [self.foreign_key_sql(fk) for fk in foreign_keys]
        body = ",\n    ".join(lines)
        sql = [f"CREATE TABLE {self.table_name(table.schema, table.name)} (\n    {body}\n)"]
        comments: list[tuple[str | None, str]] = [(None, table.comment)] if table.comment is not None else []
        comments += [(c.name, c.comment) for c in table.columns if c.comment is not None]
        return sql + [s for name, text in comments if (s := self.comment_sql(table, name, text))]

    def _create_model_table_sql(self, table: Table, foreign_keys: tuple[ForeignKey, ...]) -> list[str]:
        source = table.source.table  # type: ignore[attr-defined]
        wanted = {(fk.columns, fk.ref_schema, fk.ref_table) for fk in foreign_keys}
        inline = [fkc for fkc in source.foreign_key_constraints if self.source_fk_key(fkc) in wanted]
        sql = [self._compiled(CreateTable(source, include_foreign_key_constraints=inline))]
        render = self.render_dialect
        if render.supports_comments and not render.inline_comments:  # as create_all() does it
            if source.comment is not None:
                sql.append(self._compiled(SetTableComment(source)))
            sql += [self._compiled(SetColumnComment(c)) for c in source.columns if c.comment is not None]
        return sql

    def source_fk_key(self, fkc: Any) -> tuple[tuple[str, ...], str, str]:
        """A models' ForeignKeyConstraint as the snapshot's ForeignKey names it: (columns, schema, table)."""
        ref = fkc.referred_table
        return (tuple([self.stored_name(c.name) for c in fkc.columns]), ref.schema or self.default_schema, self.stored_name(ref.name))

    def stored_name(self, name: str) -> str:
        """A name as the server stores it: cut to max_identifier_bytes at a character's
        end, as PostgreSQL cuts any identifier (with a NOTICE only)."""
        limit = self.max_identifier_bytes
        if not limit or len(name) <= limit // 4:
            return name
        encoded = name.encode()
        return name if len(encoded) <= limit else encoded[:limit].decode(errors="ignore")

    def _compiled(self, element: Any) -> str:
        """SQLAlchemy's DDL for a models' object, its schema-less names qualified with the
        default schema (see table_name)."""
        if not self.supports_schemas:
            return str(element.compile(dialect=self.render_dialect)).strip()
        translate = {None: self.default_schema}
        return str(element.compile(dialect=self.render_dialect, schema_translate_map=translate, render_schema_translate=True)).strip()

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
        if fk.deferrable:
            sql += " DEFERRABLE INITIALLY DEFERRED" if fk.initially_deferred else " DEFERRABLE"
        return sql

    def add_foreign_key_sql(self, table: Table, fk: ForeignKey) -> str:
        return f"ALTER TABLE {self.table_name(table.schema, table.name)} ADD {self.foreign_key_sql(fk)}"

    def add_columns_sql(self, table: Table, columns: list[tuple[Column, str | None]]) -> list[str]:
        """ADD COLUMN statements for (column, default) pairs, NOT NULL where the column is
        (the planner makes a column nullable where existing rows would get no value)."""
        target = self.table_name(table.schema, table.name)
        clauses = [f"ADD COLUMN {self.column_sql(c, default=d)}" for c, d in columns]
        if self.multi_add_column:
            return [f"ALTER TABLE {target} " + ", ".join(clauses)]
        return [f"ALTER TABLE {target} {clause}" for clause in clauses]

    def create_index_sql(self, table: Table, index: Index) -> str:
        """CREATE INDEX; for an index of the models, as create_all() renders it."""
        sa_index = table.source.indexes.get(index.name) if table.source is not None else None  # type: ignore[attr-defined]
        if sa_index is not None:
            return self._compiled(CreateIndex(sa_index))
        unique = "UNIQUE " if index.unique else ""
        name = self.quote(index.name) + " " if index.name else ""
        elements = [e if isinstance(e, Expression) else self.quote(e) for e in index.expressions]
        if index.options:
            elements = [f"{e} {o}" if o else e for e, o in zip(elements, index.options, strict=False)]
        using = f"USING {index.method} " if index.method else ""
        sql = f"CREATE {unique}INDEX {name}ON {self.table_name(table.schema, table.name)} {using}({', '.join(elements)})"
        if index.include:
            sql += f" INCLUDE ({self.columns_list(index.include)})"
        if index.where:
            sql += f" WHERE {index.where}"
        return sql

    def invalid_index_cleanup(self, table: Table, index: Index) -> tuple[str, ...]:
        """SQL that drops what a stopped online build of `index` left behind, if anything."""
        return ()

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
        return ([sql] if sql else []), True, (f"scans the table under {self.exclusive_lock}",)

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

    def safe_type_change(self, old: Column, new: Column) -> tuple[str, ...] | None:
        """The hazards of a type change safe enough to apply unasked, as new enum values are
        (MySQL: values appended to an ENUM, metadata only); None for any other (--allow type-change)."""
        return None

    def unconvertible_rows_sql(self, table: Table, column_name: str, old_type: str, new_type: str) -> tuple[str, ...]:
        """Statements whose last counts the rows whose value would not survive a type change."""
        return ()

    def type_change_sql(self, table: Table, old: Column, new: Column) -> list[str]:
        """The statements of a type change (none where the dialect cannot alter a column)."""
        sql = self.alter_type_sql(table, new)
        return [sql] if sql else []

    def drop_not_null_sql(self, table: Table, column_name: str) -> str | None:
        return None

    def relax_not_null_steps(self, table: Table, column: Column) -> tuple[list[str], tuple[str, ...], bool]:
        """(statements, hazards, unasked) that let the database's `column` hold NULL,
        keeping every row; `unasked` False where that costs too much to run by default (a
        big table's rebuild): the step then waits for --allow rewrite."""
        sql = self.drop_not_null_sql(table, column.name)
        return ([sql] if sql else []), (), True

    def add_columns_hazards(self, table: Table) -> tuple[str, ...]:
        """What adding columns to this table costs beyond the usual (nothing, mostly)."""
        return ()

    def set_default_sql(self, table: Table, column_name: str, default: str | None) -> str | None:
        return None

    def drop_column_sql(self, table: Table, column_name: str) -> str:
        return f"ALTER TABLE {self.table_name(table.schema, table.name)} DROP COLUMN {self.quote(column_name)}"

    def drop_table_sql(self, table: Table) -> str:
        return f"DROP TABLE {self.table_name(table.schema, table.name)}"

    def drop_index_sql(self, table: Table, index: Index) -> str:
        # IF EXISTS: the planner drops an index on a column to drop first, but an expression
        # index on it is not seen as one, and goes with the column (a step run earlier).
        return f"DROP INDEX IF EXISTS {self.quote(index.name or '')}"

    # -- applying ------------------------------------------------------------------

    def run_ddl(self, conn: Connection, sql: str) -> None:
        """Run one statement of a step; raise NeedsReview where the server would do it only
        in a way the tool does not use unasked."""
        run_sql(conn, sql)

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

    def try_schema_lock(self, conn: Connection, schema: str) -> bool:
        """Take the run lock of one schema (a tenant's, fleet.py) on `conn` without waiting:
        runs on the database's other schemas go on. True if taken."""
        return True

    def release_schema_lock(self, conn: Connection, schema: str) -> None:
        """Release what try_schema_lock took."""


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
