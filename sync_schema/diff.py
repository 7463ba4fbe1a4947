"""Compare two snapshots: what the models want (desired) against what the database has.

The differ only says *what* differs; how to fix it, and whether that is safe, is the
planner's business. Every comparison goes through the dialect's normalization so that a
database made by `create_all()` from the same models shows no difference at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from .dialects import Dialect
from .snapshot import Column, ForeignKey, Index, Snapshot, Table


class Kind(str, Enum):
    MISSING_SCHEMA = "missing_schema"
    MISSING_ENUM = "missing_enum"
    MISSING_ENUM_VALUES = "missing_enum_values"
    MISSING_TABLE = "missing_table"
    MISSING_COLUMN = "missing_column"
    MISSING_INDEX = "missing_index"
    MISSING_UNIQUE = "missing_unique"
    MISSING_FOREIGN_KEY = "missing_foreign_key"
    TYPE_MISMATCH = "type_mismatch"
    NULLABLE_MISMATCH = "nullable_mismatch"
    DEFAULT_MISMATCH = "default_mismatch"
    INDEX_MISMATCH = "index_mismatch"
    INVALID_INDEX = "invalid_index"
    EXTRA_TABLE = "extra_table"
    EXTRA_COLUMN = "extra_column"
    EXTRA_INDEX = "extra_index"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Change:
    kind: Kind
    schema: str
    table: str | None  # None for schema- and type-level changes
    name: str | None  # column, index, constraint or enum name
    desired: object | None = None  # the models' side of the object, if any
    actual: object | None = None  # the database's side, if any
    detail: str = ""

    @property
    def identity(self) -> tuple[str, str, str | None, str | None]:
        return (self.kind.value, self.schema, self.table, self.name)


def diff_snapshots(
    desired: Snapshot, actual: Snapshot, dialect: Dialect, exclude_tables: Iterable[str] = ()
) -> list[Change]:
    excluded = set(exclude_tables)

    def is_excluded(schema: str, name: str) -> bool:
        return name in excluded or f"{schema}.{name}" in excluded

    changes: list[Change] = []
    if dialect.supports_schemas:
        for schema in sorted(desired.schemas - actual.schemas):
            changes.append(Change(Kind.MISSING_SCHEMA, schema, None, schema))
    changes += _diff_enums(desired, actual)

    for key, table in desired.tables.items():
        if is_excluded(*key):
            continue
        existing = actual.tables.get(key)
        if existing is None:
            changes.append(Change(Kind.MISSING_TABLE, key[0], key[1], None, table))
        else:
            changes += _diff_table(table, existing, dialect)

    for key, table in actual.tables.items():
        if key[0] in desired.schemas and key not in desired.tables and not is_excluded(*key):
            changes.append(Change(Kind.EXTRA_TABLE, key[0], key[1], None, None, table))
    return changes


def _diff_enums(desired: Snapshot, actual: Snapshot) -> list[Change]:
    changes = []
    for key, enum in desired.enums.items():
        existing = actual.enums.get(key)
        if existing is None:
            changes.append(Change(Kind.MISSING_ENUM, key[0], None, key[1], enum))
            continue
        missing = [v for v in enum.values if v not in existing.values]
        if missing:
            changes.append(
                Change(
                    Kind.MISSING_ENUM_VALUES, key[0], None, key[1], enum, existing,
                    "missing values: " + ", ".join(missing),
                )
            )
    return changes


def _diff_table(desired: Table, actual: Table, dialect: Dialect) -> list[Change]:
    changes: list[Change] = []

    def change(kind: Kind, name: str | None, want: object, have: object, detail: str = "") -> None:
        changes.append(Change(kind, desired.schema, desired.name, name, want, have, detail))

    for column in desired.columns:
        existing = actual.column(column.name)
        if existing is None:
            change(Kind.MISSING_COLUMN, column.name, column, None)
            continue
        changes += [
            Change(kind, desired.schema, desired.name, column.name, column, existing, detail)
            for kind, detail in compare_columns(column, existing, dialect)
        ]
    for column in actual.columns:
        if desired.column(column.name) is None:
            change(Kind.EXTRA_COLUMN, column.name, None, column)

    _diff_indexes(desired, actual, change)

    actual_uniques = {frozenset(u.columns) for u in actual.uniques}
    # A unique index on the same columns enforces the same rule.
    actual_uniques |= {frozenset(ix.expressions) for ix in actual.indexes if ix.unique and not ix.where}
    for unique in desired.uniques:
        if frozenset(unique.columns) not in actual_uniques:
            change(Kind.MISSING_UNIQUE, unique.name or "_".join(unique.columns), unique, None)

    actual_fks = {_fk_key(fk) for fk in actual.foreign_keys}
    for fk in desired.foreign_keys:
        if _fk_key(fk) not in actual_fks:
            change(Kind.MISSING_FOREIGN_KEY, fk.name or "_".join(fk.columns), fk, None)
    return changes


def compare_columns(desired: Column, actual: Column, dialect: Dialect) -> list[tuple[Kind, str]]:
    """The differences between two columns of the same name, each with its reason."""
    found = []
    want_type, have_type = dialect.type_key(desired.type), dialect.type_key(actual.type)
    if want_type != have_type:
        found.append((Kind.TYPE_MISMATCH, f"type {have_type} in the database, {want_type} in the models"))
    if desired.nullable != actual.nullable:
        found.append((Kind.NULLABLE_MISMATCH, "NULL allowed in the " + ("models" if desired.nullable else "database") + " only"))
    if bool(desired.autoincrement) != bool(actual.autoincrement):
        found.append(
            (Kind.DEFAULT_MISMATCH, "the database does not number new rows" if desired.autoincrement else "the database numbers new rows, the models do not")
        )
    elif not desired.autoincrement:
        want_default, have_default = dialect.default_key(desired.default), dialect.default_key(actual.default)
        if want_default != have_default:
            found.append((Kind.DEFAULT_MISMATCH, f"default {have_default or 'none'} in the database, {want_default or 'none'} in the models"))
    return found


def _diff_indexes(desired: Table, actual: Table, change) -> None:  # type: ignore[no-untyped-def]
    by_name = {ix.name: ix for ix in actual.indexes if ix.name}
    matched: set[str] = set()
    for index in desired.indexes:
        existing = by_name.get(index.name) if index.name else _same_columns(index, actual.indexes)
        if existing is None:
            change(Kind.MISSING_INDEX, index.name, index, None)
            continue
        matched.add(existing.name or "")
        if not existing.valid:
            change(Kind.INVALID_INDEX, index.name, index, existing, "left INVALID by a failed concurrent build")
        elif not _indexes_equal(index, existing):
            change(Kind.INDEX_MISMATCH, index.name, index, existing, _index_difference(index, existing))
    for index in actual.indexes:
        if index.name and index.name not in matched:
            change(Kind.EXTRA_INDEX, index.name, None, index)


def _same_columns(index: Index, candidates: Iterable[Index]) -> Index | None:
    for candidate in candidates:
        if candidate.expressions == index.expressions and candidate.unique == index.unique:
            return candidate
    return None


def _plain_columns(index: Index) -> bool:
    return not any(e.startswith("(") for e in index.expressions)


def _indexes_equal(desired: Index, actual: Index) -> bool:
    if desired.unique != actual.unique or (desired.method or None) != (actual.method or None):
        return False
    # Expressions and predicates are spelled differently by SQLAlchemy and the server;
    # only plain column lists are compared exactly.
    if _plain_columns(desired) and _plain_columns(actual):
        return desired.expressions == actual.expressions
    return len(desired.expressions) == len(actual.expressions)


def _index_difference(desired: Index, actual: Index) -> str:
    if desired.unique != actual.unique:
        return "unique in the " + ("models" if desired.unique else "database") + " only"
    if (desired.method or None) != (actual.method or None):
        return f"method {actual.method or 'btree'} in the database, {desired.method or 'btree'} in the models"
    return f"columns ({', '.join(actual.expressions)}) in the database, ({', '.join(desired.expressions)}) in the models"


def _fk_key(fk: ForeignKey) -> tuple:  # type: ignore[type-arg]
    return (fk.columns, fk.ref_schema, fk.ref_table, fk.ref_columns)

