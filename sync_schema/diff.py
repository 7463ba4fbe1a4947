"""Compare two snapshots: what the models want (desired) against what the database has.

The differ only says *what* differs; how to fix it, and whether that is safe, is the
planner's business. Every comparison goes through the dialect's normalization so that a
database made by `create_all()` from the same models shows no difference at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import Enum
from typing import NamedTuple

from .dialects import Dialect
from .signature import Signature, match_columns, table_signature
from .snapshot import Column, Expression, ForeignKey, Index, Snapshot, Table

# The two sides' names in a change's words: "... in the database, ... in the models", or
# against a reference database "... in the target, ... in the reference" (named_sides).
MODELS_SIDES, REFERENCE_SIDES = ("database", "models"), ("target", "reference")
_SIDES: ContextVar[tuple[str, str]] = ContextVar("sync_schema_sides", default=MODELS_SIDES)


def here_name() -> str:
    return _SIDES.get()[0]


def there_name() -> str:
    return _SIDES.get()[1]


@contextmanager
def named_sides(here: str, there: str) -> Iterator[None]:
    """Within the block, differences and steps name the two sides `here` and `there`."""
    token = _SIDES.set((here, there))
    try:
        yield
    finally:
        _SIDES.reset(token)


class Kind(str, Enum):
    MISSING_SCHEMA = "missing_schema"
    MISSING_ENUM = "missing_enum"
    MISSING_ENUM_VALUES = "missing_enum_values"
    MISSING_TABLE = "missing_table"
    MISSING_COLUMN = "missing_column"
    MISSING_INDEX = "missing_index"
    MISSING_UNIQUE = "missing_unique"
    MISSING_FOREIGN_KEY = "missing_foreign_key"
    MISSING_CHECK = "missing_check"
    RENAME_TABLE = "rename_table"
    RENAME_COLUMN = "rename_column"
    LIKELY_RENAME = "likely_rename"
    TYPE_MISMATCH = "type_mismatch"
    NULLABLE_MISMATCH = "nullable_mismatch"
    DEFAULT_MISMATCH = "default_mismatch"
    INDEX_MISMATCH = "index_mismatch"
    INVALID_INDEX = "invalid_index"
    RENAME_INDEX = "rename_index"
    FOREIGN_KEY_MISMATCH = "foreign_key_mismatch"
    CHECK_MISMATCH = "check_mismatch"
    PRIMARY_KEY_MISMATCH = "primary_key_mismatch"
    GENERATED_MISMATCH = "generated_mismatch"
    COMMENT_MISMATCH = "comment_mismatch"  # name: the column, or None for the table's own
    EXTRA_TABLE = "extra_table"
    EXTRA_COLUMN = "extra_column"
    EXTRA_INDEX = "extra_index"
    EXTRA_UNIQUE = "extra_unique"
    EXTRA_FOREIGN_KEY = "extra_foreign_key"
    EXTRA_CHECK = "extra_check"
    NOT_SYNCED = "not_synced"  # an object of the reference database the tool does not create (a view, a function...)

    def __str__(self) -> str:
        return self.value


class Change(NamedTuple):
    """One difference. A NamedTuple, like the snapshot's records: a diff of a drifted app
    makes thousands, and a frozen dataclass is built three times slower."""

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

    renamed_away: set[tuple[str, str]] = set()
    for key, table in desired.tables.items():
        if is_excluded(*key):
            continue
        existing = actual.tables.get(key)
        old_key = (key[0], table.renamed_from) if table.renamed_from else None
        if existing is None and old_key and old_key in actual.tables and old_key not in desired.tables:
            # Declared rename: keep the data, then compare the old table's contents.
            existing = actual.tables[old_key]
            renamed_away.add(old_key)
            changes.append(Change(Kind.RENAME_TABLE, key[0], key[1], None, table, existing, f"renamed from {old_key[1]}"))
        if existing is None:
            changes.append(Change(Kind.MISSING_TABLE, key[0], key[1], None, table))
            continue
        signatures = (table_signature(table, dialect), table_signature(existing, dialect))
        # Equal signatures: nothing to report, the usual case. (A column more or less needs
        # no comparison to tell, and the comparison is what _diff_table starts with.)
        if len(table.columns) != len(existing.columns) or signatures[0] != signatures[1]:
            changes += _diff_table(table, existing, dialect, signatures)

    for key, table in actual.tables.items():
        if key[0] in desired.schemas and key not in desired.tables and key not in renamed_away and not is_excluded(*key):
            changes.append(Change(Kind.EXTRA_TABLE, key[0], key[1], None, None, table))
    if desired.others:
        present = {other.identity for other in actual.others}
        changes += [Change(Kind.NOT_SYNCED, other.schema, None, f"{other.kind} {other.name}", other)
                    for other in desired.others if other.identity not in present]
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


def _diff_table(desired: Table, actual: Table, dialect: Dialect, signatures: tuple[Signature, Signature] | None = None) -> list[Change]:
    changes: list[Change] = []

    def change(kind: Kind, name: str | None, want: object, have: object, detail: str = "") -> None:
        changes.append(Change(kind, desired.schema, desired.name, name, want, have, detail))

    # The signatures, part by part, tell what is equal without comparing it again: the
    # columns whose entries the database has too, a kind of index or constraint whose
    # set is the same on both sides. What is left is compared in full.
    want, have = signatures or (table_signature(desired, dialect), table_signature(actual, dialect))
    unequal, appended = match_columns(desired, actual, dialect, (want, have))
    if appended:
        for column in unequal:
            change(Kind.MISSING_COLUMN, column.name, column, None)
    elif unequal or len(actual.columns) > len(desired.columns):
        _diff_columns(desired, actual, dialect, unequal, change)
    if want[1] != have[1]:
        _diff_indexes(desired, actual, dialect, change)
    if want[2] != have[2]:
        _diff_uniques(desired, actual, change)
    if want[3] != have[3]:
        _diff_foreign_keys(desired, actual, change)
    if want[4] != have[4]:
        _diff_checks(desired, actual, dialect, change)
    if want[5] != have[5]:
        if desired.primary_key != actual.primary_key:
            change(
                Kind.PRIMARY_KEY_MISMATCH, actual.primary_key_name or desired.primary_key_name, desired, actual,
                f"primary key ({', '.join(actual.primary_key) or 'none'}) in the {here_name()}, ({', '.join(desired.primary_key) or 'none'}) in the {there_name()}",
            )
        if desired.comment != actual.comment:
            change(Kind.COMMENT_MISMATCH, None, desired.comment, actual.comment, _comment_difference(desired.comment, actual.comment))
    return changes


def _comment_difference(want: str | None, have: str | None) -> str:
    if want is None:
        return f"a comment in the {here_name()} only"
    return f"no comment in the {here_name()}" if have is None else "the comment differs"


def _diff_columns(desired: Table, actual: Table, dialect: Dialect, unequal: tuple[Column, ...], change) -> None:  # type: ignore[no-untyped-def]
    """The columns not known to be equal, one by one, and the database's extra columns."""
    renamed_away: set[str] = set()
    missing: list[Column] = []
    actual_columns, desired_columns = actual.columns_by_name, desired.columns_by_name
    for column in unequal:
        existing = actual_columns.get(column.name)
        if existing is None:
            old = column.renamed_from
            if old and old in actual_columns and old not in desired_columns:
                existing = actual_columns[old]
                renamed_away.add(old)
                change(Kind.RENAME_COLUMN, column.name, column, existing, f"renamed from {old}")
            else:
                missing.append(column)
                continue
        for kind, detail in compare_columns(column, existing, dialect):
            change(kind, column.name, column, existing, detail)
    extra: list[Column] = []
    if len(actual.columns) > len(desired.columns) - len(unequal):  # otherwise every column of the database is matched
        declared = desired.source.table.columns if desired.source is not None else ()  # type: ignore[attr-defined]  # those the compiler skipped too
        extra = [c for c in actual.columns if c.name not in desired_columns and c.name not in renamed_away and c.name not in declared]
    if len(missing) == 1 and len(extra) == 1 and _compatible(missing[0], extra[0], dialect):
        # One column gone, one column new, same kind of data: most likely a rename that
        # the models did not declare. Adding the new column next to the old one's data
        # would hide the data from the app; say so and offer the RENAME instead.
        change(Kind.LIKELY_RENAME, missing[0].name, missing[0], extra[0], f"{extra[0].name} -> {missing[0].name}?")
    else:
        for column in missing:
            change(Kind.MISSING_COLUMN, column.name, column, None)
        for column in extra:
            change(Kind.EXTRA_COLUMN, column.name, None, column)


def _diff_uniques(desired: Table, actual: Table, change) -> None:  # type: ignore[no-untyped-def]
    actual_uniques = actual.unique_keys()
    for unique in desired.uniques:
        if frozenset(unique.columns) not in actual_uniques:
            change(Kind.MISSING_UNIQUE, unique.name or "_".join(unique.columns), unique, None)
    desired_uniques = desired.unique_keys()
    for unique in actual.uniques:
        # A leftover UNIQUE can make the models' INSERTs fail; it is reported, never dropped by default.
        if frozenset(unique.columns) not in desired_uniques and all(c in desired.columns_by_name or c in _renamed_from(desired) for c in unique.columns):
            change(Kind.EXTRA_UNIQUE, unique.name or "_".join(unique.columns), None, unique)


def _diff_foreign_keys(desired: Table, actual: Table, change) -> None:  # type: ignore[no-untyped-def]
    desired_fks = {_fk_key(fk) for fk in desired.foreign_keys}
    for fk in actual.foreign_keys:
        if _fk_key(fk) not in desired_fks and all(c in desired.columns_by_name for c in fk.columns):
            change(Kind.EXTRA_FOREIGN_KEY, fk.name or "_".join(fk.columns), None, fk)
    actual_fks = {_fk_key(fk): fk for fk in actual.foreign_keys}
    for fk in desired.foreign_keys:
        existing_fk = actual_fks.get(_fk_key(fk))
        if existing_fk is None:
            change(Kind.MISSING_FOREIGN_KEY, fk.name or "_".join(fk.columns), fk, None)
        elif fk[5:] != existing_fk[5:]:  # actions and deferral
            change(
                Kind.FOREIGN_KEY_MISMATCH, existing_fk.name or "_".join(fk.columns), fk, existing_fk,
                f"{_fk_behaviour(existing_fk)} in the {here_name()}, {_fk_behaviour(fk)} in the {there_name()}",
            )


def _diff_checks(desired: Table, actual: Table, dialect: Dialect, change) -> None:  # type: ignore[no-untyped-def]
    # Check constraints are matched by name (an unnamed check has no stable identity), then
    # their expressions compared by what SQLAlchemy's and the server's spellings share;
    # where that is not enough (kind IN ('a', 'b') against kind::text = ANY (ARRAY[...])),
    # the server spells the models' (see read.read_and_diff) and they are compared again.
    actual_checks = {c.name: c for c in actual.checks if c.name}
    keys = dialect.expression_keys
    for check in desired.checks:
        if not check.name:
            continue
        existing = actual_checks.get(check.name)
        if existing is None:
            change(Kind.MISSING_CHECK, check.name, check, None)
        elif check.sqltext != existing.sqltext and keys[check.sqltext] != keys[existing.sqltext]:
            change(Kind.CHECK_MISMATCH, check.name, check, existing, f"CHECK ({existing.sqltext}) in the {here_name()}, CHECK ({check.sqltext}) in the {there_name()}")
    if all(c.name for c in desired.checks):  # an unnamed model check could be any of them
        desired_checks = {c.name for c in desired.checks}
        for check in actual.checks:
            if check.name and check.name not in desired_checks:
                change(Kind.EXTRA_CHECK, check.name, None, check)


def _renamed_from(table: Table) -> set[str]:
    return {c.renamed_from for c in table.columns if c.renamed_from}


_FAMILIES = (
    ("character varying", "character", "text"),
    ("smallint", "integer", "bigint"),
    ("numeric", "real", "double precision"),
    ("timestamp", "date"),
)


def _compatible(desired: Column, actual: Column, dialect: Dialect) -> bool:
    want, have = dialect.type_key(desired.type).split("(")[0], dialect.type_key(actual.type).split("(")[0]
    if want == have:
        return True
    return any(any(want.startswith(t) for t in family) and any(have.startswith(t) for t in family) for family in _FAMILIES)


def compare_columns(desired: Column, actual: Column, dialect: Dialect) -> list[tuple[Kind, str]]:
    """The differences between two columns of the same name, each with its reason.

    Runs once per column of the schema: spellings that are equal as text are taken as
    equal without normalizing them (the usual case for defaults, and for types on a
    database compared with another database)."""
    found = []
    if desired.type != actual.type:
        type_keys = dialect.type_keys
        want_type, have_type = type_keys[desired.type], type_keys[actual.type]
        if want_type != have_type:
            found.append((Kind.TYPE_MISMATCH, f"type {have_type} in the {here_name()}, {want_type} in the {there_name()}"))
    if desired.collation != actual.collation and not any(kind is Kind.TYPE_MISMATCH for kind, _ in found):
        found.append((Kind.TYPE_MISMATCH, f"collation {actual.collation or 'default'} in the {here_name()}, {desired.collation or 'default'} in the {there_name()}"))
    if desired.nullable != actual.nullable:
        found.append((Kind.NULLABLE_MISMATCH, "NULL allowed in the " + (there_name() if desired.nullable else here_name()) + " only"))
    if desired.comment != actual.comment:
        found.append((Kind.COMMENT_MISMATCH, _comment_difference(desired.comment, actual.comment)))
    if desired.generated is not None or actual.generated is not None:
        expression_keys = dialect.expression_keys
        if expression_keys[desired.generated] != expression_keys[actual.generated]:
            found.append((Kind.GENERATED_MISMATCH, _generated_difference(desired.generated, actual.generated)))
        return found  # a generated column has no default of its own
    # Numbered by the database: an autoincrement key, or a default that is one spelled out.
    numbering = dialect.numbering_defaults
    want_numbered = bool(desired.autoincrement) or numbering[desired.default]
    if want_numbered != (bool(actual.autoincrement) or numbering[actual.default]):
        found.append(
            (Kind.DEFAULT_MISMATCH, f"the {here_name()} does not number new rows" if want_numbered else f"the {here_name()} numbers new rows, the {there_name()} do not")
        )
    elif not want_numbered:
        wanted = desired.default_as_stored or desired.default
        if wanted != actual.default:
            default_keys = dialect.default_keys
            want_default, have_default = default_keys[wanted], default_keys[actual.default]
            # A column added by us carries the models' constant Python default as its
            # server default: the value new rows get is the same either way.
            if want_default != have_default and not (
                desired.default is None and default_keys[desired.python_default_as_stored or desired.python_default] == have_default
            ):
                found.append((Kind.DEFAULT_MISMATCH, f"default {have_default or 'none'} in the {here_name()}, {want_default or 'none'} in the {there_name()}"))
    return found


def _generated_difference(want: str | None, have: str | None) -> str:
    if want is None:
        return f"generated as ({have}) in the {here_name()}, a stored value in the {there_name()}"
    if have is None:
        return f"a stored value in the {here_name()}, generated as ({want}) in the {there_name()}"
    return f"generated as ({have}) in the {here_name()}, as ({want}) in the {there_name()}"


def _diff_indexes(desired: Table, actual: Table, dialect: Dialect, change) -> None:  # type: ignore[no-untyped-def]
    by_name = {ix.name: ix for ix in actual.indexes if ix.name}
    desired_names = {ix.name for ix in desired.indexes if ix.name}
    matched: set[str] = set()
    for index in desired.indexes:
        existing = by_name.get(index.name) if index.name else _same_columns(index, actual.indexes)
        if existing is None:
            # The same index under another name (made by a migration, say): rename it
            # rather than build a duplicate.
            twin = next(
                (ix for ix in actual.indexes if ix.name and ix.name not in desired_names and ix.name not in matched
                 and ix.valid and ix.where is None and index.where is None and _indexes_equal(index, ix, dialect) and _plain_columns(ix)),
                None,
            )
            if twin is not None and index.name:
                matched.add(twin.name or "")
                change(Kind.RENAME_INDEX, index.name, index, twin, f"renamed from {twin.name}")
            else:
                change(Kind.MISSING_INDEX, index.name, index, None)
            continue
        matched.add(existing.name or "")
        if not existing.valid:
            change(Kind.INVALID_INDEX, index.name, index, existing, "left INVALID by a failed concurrent build")
        elif not _indexes_equal(index, existing, dialect):
            change(Kind.INDEX_MISMATCH, index.name, index, existing, _index_difference(index, existing))
    # Where a unique constraint is a unique index (MySQL), the index of one the models declare is no extra.
    constraint_keys = {frozenset(u.columns) for u in desired.uniques} if dialect.unique_constraints_are_indexes else set()
    for index in actual.indexes:
        if index.name and index.name not in matched and not (index.unique and frozenset(index.expressions) in constraint_keys):
            change(Kind.EXTRA_INDEX, index.name, None, index)


def _same_columns(index: Index, candidates: Iterable[Index]) -> Index | None:
    for candidate in candidates:
        if candidate.expressions == index.expressions and candidate.unique == index.unique:
            return candidate
    return None


def _plain_columns(index: Index) -> bool:
    return not any(isinstance(e, Expression) for e in index.expressions)


def _indexes_equal(desired: Index, actual: Index, dialect: Dialect) -> bool:
    if desired.unique != actual.unique or (desired.method or None) != (actual.method or None):
        return False
    if desired.include != actual.include or desired.options != actual.options:
        return False
    # Expressions and predicates are spelled differently by SQLAlchemy and the server
    # (casts, parentheses): compared by what the two spellings share; where that is not
    # enough (CAST(a AS TEXT) against a::text), the server spells the models' (see
    # read.read_and_diff) and they are compared again.
    keys = dialect.expression_keys
    if (desired.where is None) != (actual.where is None) or (desired.where != actual.where and keys[desired.where] != keys[actual.where]):
        return False
    if desired.expressions == actual.expressions:
        return True
    if len(desired.expressions) != len(actual.expressions):
        return False
    return all(a == b or keys[a] == keys[b] for a, b in zip(desired.expressions, actual.expressions, strict=True))


def _index_difference(desired: Index, actual: Index) -> str:
    if desired.unique != actual.unique:
        return "unique in the " + (there_name() if desired.unique else here_name()) + " only"
    if (desired.method or None) != (actual.method or None):
        return f"method {actual.method or 'btree'} in the {here_name()}, {desired.method or 'btree'} in the {there_name()}"
    if (desired.where is None) != (actual.where is None):
        return "partial (WHERE " + (desired.where or actual.where or "") + ") in the " + (there_name() if desired.where else here_name()) + " only"
    if desired.where != actual.where and desired.expressions == actual.expressions:
        return f"WHERE {actual.where} in the {here_name()}, WHERE {desired.where} in the {there_name()}"
    if desired.include != actual.include:
        return f"INCLUDE ({', '.join(actual.include)}) in the {here_name()}, ({', '.join(desired.include)}) in the {there_name()}"
    if desired.options != actual.options and desired.expressions == actual.expressions:
        return f"key options ({', '.join(actual.options) or 'defaults'}) in the {here_name()}, ({', '.join(desired.options) or 'defaults'}) in the {there_name()}"
    return f"columns ({', '.join(actual.expressions)}) in the {here_name()}, ({', '.join(desired.expressions)}) in the {there_name()}"


def _fk_behaviour(fk: ForeignKey) -> str:
    text = f"ON DELETE {fk.on_delete or 'NO ACTION'} / ON UPDATE {fk.on_update or 'NO ACTION'}"
    if fk.deferrable:
        text += " DEFERRABLE" + (" INITIALLY DEFERRED" if fk.initially_deferred else "")
    return text


def _fk_key(fk: ForeignKey) -> tuple:  # type: ignore[type-arg]
    return (fk.columns, fk.ref_schema, fk.ref_table, fk.ref_columns)

