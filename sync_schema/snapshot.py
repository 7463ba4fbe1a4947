"""One schema format for both sides of a diff.

The models and a live database each produce a `Snapshot`. Keeping a single, plain
format makes the differ a comparison of dataclasses and makes database-to-database
diffs free. Types and defaults are kept as the source spells them (so they can be
rendered back into DDL); dialects normalize them only when comparing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import NamedTuple

TableKey = tuple[str, str]  # (schema, table)


class Column(NamedTuple):
    """A column. A NamedTuple rather than a frozen dataclass: both sides build one per
    column of the schema, and a tuple is built about ten times faster."""

    name: str
    type: str  # DDL spelling, e.g. "VARCHAR(255)" or "character varying(255)"
    nullable: bool = True
    default: str | None = None  # server default as SQL text, e.g. "now()" or "'x'"
    autoincrement: str | None = None  # "serial", "identity", "identity_always", "rowid" or None
    generated: str | None = None  # a generated (computed) column's expression as SQL; None for a stored value
    comment: str | None = None
    collation: str | None = None  # a collation other than the type's default, e.g. "C"
    # Models side only: a constant Python-side default rendered as SQL, used when the
    # column is added to a table that already holds rows; and whether it is a callable.
    python_default: str | None = None
    python_default_is_callable: bool = False
    # Models side only: info={"sync_schema": {"renamed_from": "old_name"}}.
    renamed_from: str | None = None
    # Models side only: `default` and `python_default` as the database would store them
    # (PostgreSQL respells typed literals: '08:30' as '08:30:00'). Compared instead of the
    # originals when set; DDL keeps the models' own spelling.
    default_as_stored: str | None = None
    python_default_as_stored: str | None = None
    # An identity column's sequence options where they are not the defaults, as SQL
    # ("START WITH 100 INCREMENT BY 5 ..."): rendered, not compared (a database read as the
    # desired side is copied with them; the models' Identity(...) is rendered by SQLAlchemy).
    identity_options: str | None = None

    @property
    def default_to_add(self) -> str | None:
        """What ADD COLUMN gives it: the server default, else a constant Python default."""
        return self.default if self.default is not None else self.python_default


# Indexes and constraints are NamedTuples too: one is built per index and constraint of
# the schema on each side, and a frozen dataclass's __init__ costs five times as much.
class Expression(str):
    """An index key that is SQL, in parentheses ("(lower(email))"), not a column name.

    Only an Expression is written into SQL as it is; any other key is a name, and is
    quoted, whatever it looks like: a column may be named "(id)); DELETE FROM t; --".
    It compares equal to the same text (signatures and diffs compare spellings)."""

    __slots__ = ()


class Index(NamedTuple):
    name: str | None
    expressions: tuple[str, ...]  # column names, or Expressions
    unique: bool = False
    where: str | None = None
    method: str | None = None  # e.g. "btree", "gin"; None means the dialect's default
    valid: bool = True  # PostgreSQL: False for an index left behind by a failed CONCURRENTLY build
    include: tuple[str, ...] = ()  # non-key columns (INCLUDE)
    # One entry per key element, what follows it: an operator class other than the
    # default, then DESC / NULLS FIRST / NULLS LAST where they differ from the default
    # ("gin_trgm_ops", "DESC", "DESC NULLS LAST"), "" for none; () when every one is "".
    # Spelled by index_element_options() on both sides, so equal means equal.
    options: tuple[str, ...] = ()


class UniqueConstraint(NamedTuple):
    name: str | None
    columns: tuple[str, ...]


def index_element_options(opclass: str | None, descending: bool, nulls_first: bool | None) -> str:
    """An index key element's options in the one spelling both sides use. `nulls_first`
    None means the default (NULLS LAST ascending, NULLS FIRST descending)."""
    parts = [opclass] if opclass else []
    if descending:
        parts.append("DESC")
    if nulls_first is not None and nulls_first != descending:
        parts.append("NULLS FIRST" if nulls_first else "NULLS LAST")
    return " ".join(parts)


class ForeignKey(NamedTuple):
    name: str | None
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str | None = None  # "CASCADE", "SET NULL", ... ; None means NO ACTION
    on_update: str | None = None
    deferrable: bool = False
    initially_deferred: bool = False


class CheckConstraint(NamedTuple):
    name: str | None
    sqltext: str


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    primary_key_name: str | None = None
    indexes: tuple[Index, ...] = ()
    uniques: tuple[UniqueConstraint, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[CheckConstraint, ...] = ()
    comment: str | None = None
    row_estimate: int | None = None  # live databases only; planner statistics, not a count
    renamed_from: str | None = None  # models side only, like Column.renamed_from
    # Models side only: what the table was compiled from (from_models.ModelSource: the
    # sqlalchemy.Table and its indexes), so that a new table, its indexes and comments are
    # created by SQLAlchemy's own DDL compiler, exactly as create_all() would.
    source: object = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> TableKey:
        return (self.schema, self.name)

    @property
    def columns_by_name(self) -> dict[str, Column]:
        # Built on first use and kept (functools.cached_property takes a lock on every
        # first use before Python 3.12: a quarter of the cost, twice per table per diff).
        by_name = self.__dict__.get("_columns_by_name")
        if by_name is None:
            by_name = {c.name: c for c in self.columns}
            object.__setattr__(self, "_columns_by_name", by_name)
        return by_name

    def column(self, name: str) -> Column | None:
        return self.columns_by_name.get(name)

    def unique_keys(self) -> set[frozenset[str]]:
        """The column sets its unique constraints, and its unique indexes without a
        predicate, hold unique: a unique index enforces the same rule."""
        keys = {frozenset(u.columns) for u in self.uniques}
        keys |= {frozenset(ix.expressions) for ix in self.indexes if ix.unique and not ix.where}
        return keys


@dataclass(frozen=True)
class EnumType:
    schema: str
    name: str
    values: tuple[str, ...]


class OtherObject(NamedTuple):
    """An object the tool reads but does not create (a view, a function, a trigger, a
    policy, an extension...): a database taken as the desired schema lists the ones the
    target lacks, so that none is skipped silently. `definition`: SQL that recreates it
    where the server can spell it (pg_get_viewdef, pg_get_functiondef...), else None."""

    kind: str  # "view", "function", "extension", ...
    schema: str
    name: str  # a function's with its argument types; a trigger's or policy's with its table
    definition: str | None = None

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.kind, self.schema, self.name)


@dataclass(frozen=True)
class Snapshot:
    dialect: str  # "postgresql", "sqlite", ...
    default_schema: str
    schemas: frozenset[str] = frozenset()
    tables: dict[TableKey, Table] = field(default_factory=dict)
    enums: dict[tuple[str, str], EnumType] = field(default_factory=dict)
    # Read only where a database is the desired side (Dialect.read_other_objects): the
    # objects outside tables and enum types, which are listed, never created.
    others: tuple[OtherObject, ...] = ()

    def table(self, schema: str, name: str) -> Table | None:
        return self.tables.get((schema, name))

    def only(self, schemas: set[str]) -> Snapshot:
        """The part of the schema that lives in `schemas` (enum types are kept: tables use them across schemas)."""
        tables = {key: table for key, table in self.tables.items() if key[0] in schemas}
        return Snapshot(self.dialect, self.default_schema, frozenset(self.schemas & schemas), tables, self.enums, self.others)

    def relocated(self, old: str, new: str) -> Snapshot:
        """The same schema with everything of schema `old` in schema `new` instead (and `new`
        the default schema where `old` was): its tables, the foreign keys that point into it,
        its enum types and other objects. A reference database whose default schema is named
        otherwise than the target's (MySQL: each database is a schema), or one tenant's
        schema compared with another's."""
        def moved(schema: str) -> str:
            return new if schema == old else schema

        tables = {}
        for (schema, name), table in self.tables.items():
            fks = tuple([fk._replace(ref_schema=new) if fk.ref_schema == old else fk for fk in table.foreign_keys])
            tables[(moved(schema), name)] = replace(table, schema=moved(schema), foreign_keys=fks)
        enums = {(moved(schema), name): replace(enum, schema=moved(schema)) for (schema, name), enum in self.enums.items()}
        others = tuple([o._replace(schema=moved(o.schema)) for o in self.others])
        return Snapshot(self.dialect, moved(self.default_schema), frozenset(moved(s) for s in self.schemas), tables, enums, others)


def qualified(schema: str, name: str, default_schema: str) -> str:
    """Human-readable table name: the default schema is left out."""
    return name if schema == default_schema else f"{schema}.{name}"
