"""Turn changes into steps: the SQL that would fix each one, with its hazards.

The planner never decides whether a step runs; it only states what a step needs
(`requires`, the `--allow` class) and what it risks (`hazards`). The `Policy` decides.
Steps come out in execution order and grouped by table, so that the applier can run
each table's steps in one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .dialects import Dialect
from .dialects.base import sql_literal
from .diff import Change, Kind, there_name
from .snapshot import (
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
    qualified,
)

# --allow classes: what a user opts in to. Steps with requires=None are always safe.
ALLOW_CLASSES = ("type-change", "set-not-null", "default-change", "constraint", "rename", "rewrite", "drop")
RELAX_NOT_NULL = "relax-not-null"  # on by default; --no-relax-not-null turns it off
# Never permitted: an object of a reference database the tool does not create (a view, a
# function, a trigger...). Its SQL, where the server spelled it, is there to review and run by hand.
BY_HAND = "by-hand"


@dataclass
class Step:
    description: str
    sql: list[str]
    changes: tuple[Change, ...]
    table: TableKey | None = None
    requires: str | None = None
    hazards: tuple[str, ...] = ()
    transactional: bool = True
    # Read-only SQL run just before the step; its last statement returns the number of
    # rows the step would fail on or damage. Non-zero: the step is refused with
    # `refusal` (formatted with {count}) and the rest of the table goes on.
    precheck: tuple[str, ...] = ()
    refusal: str = ""
    # False for a step that only helps (relaxing a column that a pending drop or rename
    # concerns): the change's status is that of the steps that resolve it.
    resolves: bool = True
    # True for a step that runs in a transaction of its own and whose failure holds back
    # nothing else (an index of a new table: the table stays, the index is reported).
    independent: bool = False
    # Run after the step failed or waited in vain for a lock (in a transaction of its own),
    # before it is tried again: what an interrupted statement outside a transaction
    # leaves behind (the INVALID index of a stopped CREATE INDEX CONCURRENTLY).
    cleanup: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    allow: frozenset[str] = frozenset()
    relax_not_null: bool = True

    def permits(self, step: Step) -> bool:
        if not step.sql:
            return False
        if step.requires is None:
            return True
        if step.requires == RELAX_NOT_NULL:
            return self.relax_not_null
        return step.requires != BY_HAND and step.requires in self.allow


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def tables_to_count(changes: list[Change]) -> set[TableKey]:
    """Tables whose exact row count the report shows (drops, columns that break INSERTs)."""
    kinds = (Kind.EXTRA_TABLE, Kind.EXTRA_COLUMN)
    return {(c.schema, c.table) for c in changes if c.kind in kinds and c.table}


def tables_to_probe(changes: list[Change]) -> set[TableKey]:
    """Tables where an index would be built: online (CONCURRENTLY) if they hold rows."""
    kinds = (Kind.MISSING_INDEX, Kind.INVALID_INDEX, Kind.MISSING_UNIQUE, Kind.RENAME_INDEX)
    return {
        (c.schema, c.table) for c in changes
        if c.table and (c.kind in kinds or (c.kind is Kind.MISSING_COLUMN and getattr(c.desired, "generated", None) is not None))
    }


def addition_definitions(changes: list[Change], dialect: Dialect) -> dict[tuple[TableKey, str], tuple[str, str]]:
    """For each column to add to an existing table: its definition as ADD COLUMN would
    give it (the planned default, nullable), and without the default, to ask the server
    which of them rewrite a table with rows (Dialect.rewriting_additions)."""
    definitions = {}
    for change in changes:
        column = change.desired
        if change.kind is not Kind.MISSING_COLUMN or not isinstance(column, Column) or column.generated is not None or change.table is None:
            continue
        probe = column._replace(name="c")
        default = column.default_to_add
        definitions[((change.schema, change.table), column.name)] = (  # without the name ("c "): the dialect names each
            dialect.column_sql(probe, force_nullable=True, default=default)[2:],
            dialect.column_sql(probe, force_nullable=True, default=None)[2:],  # an identity stays: it cannot be attached later to rows
        )
    return definitions


def plan_changes(
    changes: list[Change],
    desired: Snapshot,
    actual: Snapshot,
    dialect: Dialect,
    row_counts: dict[TableKey, int] | None = None,
    nonempty: set[TableKey] | None = None,
    rewrites: dict[tuple[TableKey, str], str] | None = None,
) -> Plan:
    """`row_counts`: exact counts for the report; `nonempty`: tables known to hold rows
    (their indexes are built online); `rewrites`: columns whose ADD COLUMN rewrites a
    table with rows, "default" where only their default does, "column" where the column
    itself does (an identity, a domain with a CHECK), "unknown" where the server could not
    say (judged by the default's spelling then). All from the live database, see run.py."""
    planner = _Planner(desired, actual, dialect, row_counts or {}, nonempty or set(), rewrites)
    return planner.plan(changes)


class _Planner:
    def __init__(
        self, desired: Snapshot, actual: Snapshot, dialect: Dialect, row_counts: dict[TableKey, int], nonempty: set[TableKey],
        rewrites: dict[tuple[TableKey, str], str] | None = None,
    ) -> None:
        self.desired = desired
        self.actual = actual
        self.dialect = dialect
        self.row_counts = row_counts
        self.nonempty = nonempty
        self.rewrites = rewrites  # None: the server was not asked
        self.plan_ = Plan()
        self.renamed_tables: dict[TableKey, TableKey] = {}  # new key -> old key
        self.new_unique_keys: set[tuple[TableKey, frozenset[str]]] = set()  # made unasked in this run, before the new tables

    def actual_table(self, key: TableKey) -> Table:
        return self.actual.tables[self.renamed_tables.get(key, key)]

    def rows(self, table: Table) -> str:
        if table.key in self.row_counts:
            count = self.row_counts[table.key]
            return f"{count} row{'s' if count != 1 else ''}"
        if table.row_estimate is None:
            return "row count unknown"
        return f"about {table.row_estimate} rows"

    def name(self, change: Change) -> str:
        base = qualified(change.schema, change.table or "", self.desired.default_schema)
        return f"{base}.{change.name}" if change.name and change.table else (change.name or base)

    def add(self, step: Step) -> None:
        self.plan_.steps.append(step)

    def plan(self, changes: list[Change]) -> Plan:
        by_kind: dict[Kind, list[Change]] = {}
        for change in changes:
            by_kind.setdefault(change.kind, []).append(change)

        for change in by_kind.get(Kind.MISSING_SCHEMA, []):
            self.add(Step(f"create schema {change.schema}", [self.dialect.create_schema_sql(change.schema)], (change,)))
        # What a reference's tables may need and the tool does not create (an extension's
        # types and operator classes, a domain) is named first, then views, functions and
        # triggers after the tables they use.
        not_synced = by_kind.get(Kind.NOT_SYNCED, [])
        for change in not_synced:
            if isinstance(change.desired, OtherObject) and change.desired.kind in _PREREQUISITES:
                self._not_synced(change)
        for change in by_kind.get(Kind.MISSING_ENUM, []):
            assert isinstance(change.desired, EnumType)
            self.add(Step(f"create enum type {change.name}", [self.dialect.create_enum_sql(change.desired)], (change,)))
        for change in by_kind.get(Kind.MISSING_ENUM_VALUES, []):
            self._enum_values(change)

        per_table: dict[TableKey, list[Change]] = {}
        for change in by_kind.get(Kind.RENAME_TABLE, []):
            assert isinstance(change.actual, Table)
            self.renamed_tables[(change.schema, change.table or "")] = change.actual.key
        for change in changes:
            if change.table is not None and change.kind not in (Kind.MISSING_TABLE, Kind.EXTRA_TABLE):
                per_table.setdefault((change.schema, change.table), []).append(change)
        # Existing tables' new columns (and the keys on them) first: a new table's
        # foreign key may reference them.
        rest = {key: self._existing_table_columns(key, table_changes) for key, table_changes in per_table.items()}
        waiting = self._new_tables(by_kind.get(Kind.MISSING_TABLE, []))
        for key, kinds in rest.items():
            self._existing_table_rest(key, kinds)
        for waiting_fk in waiting:
            self._waiting_foreign_key(*waiting_fk)
        for change in not_synced:
            if isinstance(change.desired, OtherObject) and change.desired.kind not in _PREREQUISITES:
                self._not_synced(change)
        for change in by_kind.get(Kind.EXTRA_TABLE, []):
            table = change.actual
            assert isinstance(table, Table)
            self.add(
                Step(
                    f"drop table {self.name(change)}", [self.dialect.drop_table_sql(table)], (change,), table.key,
                    requires="drop", hazards=(f"deletes the table and its data ({self.rows(table)})",),
                )
            )
        return self.plan_

    # -- whole objects ---------------------------------------------------------------

    def _not_synced(self, change: Change) -> None:
        other = change.desired
        assert isinstance(other, OtherObject)
        self.add(Step(f"not synced: {other.kind} {qualified(other.schema, other.name, self.desired.default_schema)} (create it by hand)",
                      [other.definition] if other.definition else [], (change,), requires=BY_HAND))

    def _enum_values(self, change: Change) -> None:
        assert isinstance(change.desired, EnumType) and isinstance(change.actual, EnumType)
        target = self.dialect.table_name(change.schema, change.name or "")
        sql = [
            f"ALTER TYPE {target} ADD VALUE IF NOT EXISTS {sql_literal(value)}"
            for value in change.desired.values
            if value not in change.actual.values
        ]
        # ADD VALUE cannot run inside a transaction block before PostgreSQL 12.
        self.add(Step(f"add values to enum type {change.name}", sql, (change,), transactional=False))

    def _new_tables(self, changes: list[Change]) -> list[tuple[Change, Table, ForeignKey]]:
        """CREATE TABLE for each, referenced tables first; returns the foreign keys that
        reference a key an existing table does not have (yet): they wait for it, so that
        the table itself is made."""
        available = set(self.actual.tables)
        deferred: list[tuple[Change, Table, ForeignKey]] = []
        waiting: list[tuple[Change, Table, ForeignKey]] = []
        for change in _referenced_first(changes):
            table = change.desired
            assert isinstance(table, Table)
            inline = []
            for fk in table.foreign_keys:
                ref_key = (fk.ref_schema, fk.ref_table)
                if self.dialect.supports_alter_column and ref_key in self.actual.tables and not self._holds_key(ref_key, fk.ref_columns):
                    waiting.append((change, table, fk))  # e.g. a primary key the models widened, still for review
                    continue
                # Without ALTER TABLE ... ADD (SQLite), every key goes into CREATE TABLE, as
                # create_all() puts them: the referenced table need not exist yet there.
                if not self.dialect.supports_alter_column or (
                    (ref_key in available or ref_key == table.key) and not _use_alter(table, fk, self.dialect)
                ):
                    inline.append(fk)
                else:
                    deferred.append((change, table, fk))  # created later in this run: a cycle
            self.add(Step(f"create table {self.name(change)}", self.dialect.create_table_sql(table, tuple(inline)), (change,), table.key))
            # Each index in a transaction of its own: one the server rejects (a bad
            # declaration in the models) is reported, and the table stays.
            for index in table.indexes:
                index_change = Change(Kind.MISSING_INDEX, table.schema, table.name, index.name, index, None)
                self.add(Step(f"create index {self.name(index_change)}", [self.dialect.create_index_sql(table, index)], (index_change,), table.key,
                              independent=True))
            available.add(table.key)
        for change, table, fk in deferred:
            self.add(
                Step(
                    f"add foreign key {self.name(change)} -> {fk.ref_table}",
                    [self.dialect.add_foreign_key_sql(table, fk)], (change,), table.key,
                )
            )
        return waiting

    def _holds_key(self, key: TableKey, columns: tuple[str, ...]) -> bool:
        """Whether an existing table has (or gets in this run, unasked) a primary key or
        unique key on exactly these columns, as a foreign key needs."""
        table = self.actual.tables[key]
        wanted = frozenset(columns)
        return frozenset(table.primary_key) == wanted or wanted in table.unique_keys() or (key, wanted) in self.new_unique_keys

    def _waiting_foreign_key(self, change: Change, table: Table, fk: ForeignKey) -> None:
        ref = qualified(fk.ref_schema, fk.ref_table, self.desired.default_schema)
        self.add(
            Step(
                f"add foreign key {self.name(change)} -> {ref} ({', '.join(fk.ref_columns)}): {ref} has no key on those columns yet "
                f"(a key change for review above); the table was created without it",
                [self.dialect.add_foreign_key_sql(table, fk)], (change,), table.key, requires="constraint",
                hazards=("fails until the referenced key exists",), independent=True, resolves=False,
            )
        )

    # -- changes inside an existing table -------------------------------------------

    def _existing_table_columns(self, key: TableKey, changes: list[Change]) -> dict[Kind, list[Change]]:
        """A table's renames, relaxed columns, new columns and the unique keys that only
        new columns make up, in one transaction; what is left, by kind, for
        _existing_table_rest (after the new tables are created)."""
        table = self.desired.tables.get(key) or self.actual_table(key)
        kinds: dict[Kind, list[Change]] = {}
        for change in changes:
            kinds.setdefault(change.kind, []).append(change)

        # Safe first, in one transaction: renames, relax what breaks INSERTs, add, index.
        for change in kinds.get(Kind.RENAME_TABLE, []):
            self.add(Step(f"rename table {self.actual_table(key).name} to {table.name} (declared in the {there_name()})",
                          [self.dialect.rename_table_sql(self.actual_table(key), table.name)], (change,), key))
        for change in kinds.get(Kind.RENAME_COLUMN, []):
            assert isinstance(change.actual, Column)
            self.add(Step(f"rename column {self.name(change).rsplit('.', 1)[0]}.{change.actual.name} to {change.name} (declared in the {there_name()})",
                          [self.dialect.rename_column_sql(table, change.actual.name, change.name or "")], (change,), key))
        for change in kinds.get(Kind.LIKELY_RENAME, []):
            self._likely_rename(table, change)
        # An index on a column to drop goes first: SQLite refuses to drop an indexed column,
        # and PostgreSQL drops the index with the column, leaving the index's step nothing.
        dropped = {c.name for c in kinds.get(Kind.EXTRA_COLUMN, [])}
        for change in [c for c in kinds.get(Kind.EXTRA_INDEX, []) if dropped & set(getattr(c.actual, "expressions", ()))]:
            self._drop_index(table, change)
            kinds[Kind.EXTRA_INDEX].remove(change)
        for change in kinds.get(Kind.EXTRA_COLUMN, []):
            self._extra_column(table, change)
        for change in kinds.get(Kind.NULLABLE_MISMATCH, []):
            self._nullability(table, change)
        if kinds.get(Kind.MISSING_COLUMN):
            added = self._add_columns(table, kinds[Kind.MISSING_COLUMN])
            # A unique key on columns added just now, without a default, holds nothing but
            # NULLs: it cannot fail, so it is made in the same run (online on a table with rows).
            for change in list(kinds.get(Kind.MISSING_UNIQUE, [])):
                assert isinstance(change.desired, UniqueConstraint)
                if all(c in added for c in change.desired.columns):
                    self._unique(table, change, safe=True)
                    self.new_unique_keys.add((key, frozenset(change.desired.columns)))
                    kinds[Kind.MISSING_UNIQUE].remove(change)
        return kinds

    def _existing_table_rest(self, key: TableKey, kinds: dict[Kind, list[Change]]) -> None:
        table = self.desired.tables.get(key) or self.actual_table(key)
        for change in kinds.get(Kind.RENAME_INDEX, []):
            assert isinstance(change.actual, Index)
            sql = self.dialect.rename_index_sql(table, change.actual.name or "", change.name or "")
            if sql:
                self.add(Step(f"rename index {change.actual.name} to {change.name} (same definition)", [sql], (change,), key))
            else:
                self._index(table, change)
        for change in kinds.get(Kind.MISSING_INDEX, []) + kinds.get(Kind.INVALID_INDEX, []):
            self._index(table, change)
        for change in kinds.get(Kind.TYPE_MISMATCH, []):
            self._type_change(table, change)
        for change in kinds.get(Kind.DEFAULT_MISMATCH, []):
            self._default(table, change)
        for change in kinds.get(Kind.MISSING_UNIQUE, []):
            self._unique(table, change)
        for change in kinds.get(Kind.MISSING_FOREIGN_KEY, []):
            self._foreign_key(table, change)
        for change in kinds.get(Kind.FOREIGN_KEY_MISMATCH, []):
            self._foreign_key_actions(table, change)
        for change in kinds.get(Kind.MISSING_CHECK, []):
            self._check(table, change)
        for change in kinds.get(Kind.CHECK_MISMATCH, []):
            self._check(table, change, replace=True)
        for change in kinds.get(Kind.PRIMARY_KEY_MISMATCH, []):
            self._primary_key(table, change)
        for change in kinds.get(Kind.COMMENT_MISMATCH, []):
            self._comment(table, change)
        for change in kinds.get(Kind.GENERATED_MISMATCH, []):
            self._generated(table, change)
        for change in kinds.get(Kind.EXTRA_UNIQUE, []) + kinds.get(Kind.EXTRA_FOREIGN_KEY, []) + kinds.get(Kind.EXTRA_CHECK, []):
            constraint = getattr(change.actual, "name", None)
            sql = self.dialect.drop_constraint_sql(table, constraint) if constraint else None
            what = {"extra_unique": "unique constraint", "extra_foreign_key": "foreign key", "extra_check": "check constraint"}[change.kind.value]
            self.add(
                Step(f"drop {what} {self.name(change)} (not in the {there_name()}; writes that follow the {there_name()} may violate it)", [sql] if sql else [],
                     (change,), key, requires="drop")
            )
        for change in kinds.get(Kind.INDEX_MISMATCH, []):
            assert isinstance(change.desired, Index)
            rebuild, transactional, hazards = self.dialect.create_index_steps(table, change.desired, online=True, replace=True)
            self.add(Step(f"rebuild index {self.name(change)}: {change.detail}", rebuild, (change,), key, requires="drop",
                          hazards=("drops the index first: queries that use it slow down until it is rebuilt", *hazards), transactional=transactional))
        for change in kinds.get(Kind.EXTRA_INDEX, []):
            self._drop_index(table, change)

    def _drop_index(self, table: Table, change: Change) -> None:
        assert isinstance(change.actual, Index)
        self.add(Step(f"drop index {self.name(change)} (not in the {there_name()})", [self.dialect.drop_index_sql(table, change.actual)],
                      (change,), table.key, requires="drop"))

    def _add_columns(self, table: Table, changes: list[Change]) -> set[str]:
        """One step adding the columns (a stored generated column on a table with rows has
        its own, for review: it rewrites the table); the names of the columns added,
        without a default, in that step."""
        columns: list[tuple[Column, str | None]] = []
        added: list[Change] = []  # the changes this step resolves (not those given steps of their own)
        later_defaults: list[str] = []
        without_default: set[str] = set()
        for change in changes:
            column = change.desired
            assert isinstance(column, Column)
            where = self.name(change)
            if column.generated is not None:
                if table.key in self.nonempty:
                    self._add_generated_column(table, change)
                else:
                    columns.append((column, None))
                    added.append(change)
                continue
            default = column.default_to_add
            rewrite = self._rewrite(table, column, default)
            if rewrite == "column":  # an identity or a domain with a CHECK: no online way to add it
                self._add_rewriting_column(table, change, default)
                continue
            if rewrite == "default":
                # A volatile default in ADD COLUMN rewrites the whole table under an ACCESS
                # EXCLUSIVE lock (PostgreSQL), or is refused (SQLite). Add the column bare;
                # set the default afterwards, for new rows, where the database can.
                set_default = self.dialect.set_default_sql(table, column.name, default)
                if set_default:
                    later_defaults.append(set_default)
                self.plan_.warnings.append(
                    f"{where}: the default {default} is not a constant, and adding it with the column would "
                    + ("rewrite the table; it is set for new rows only" if set_default else f"fail on {self.dialect.name}; it is left out")
                    + ", existing rows get NULL (backfill them in batches if needed)"
                )
                default = None
            if column.default is None and column.python_default is None and column.python_default_is_callable:
                self.plan_.warnings.append(
                    f"{where}: its default is computed in Python, so the column is added without one; existing rows get NULL"
                )
            if not column.nullable and not column.autoincrement and default is None:
                # Existing rows would have no value: added nullable, finished by a person.
                self.plan_.warnings.append(f"{where} is NOT NULL in the {there_name()}; added as nullable. To finish: " + self._finish_not_null(table, column, default))
                column = column._replace(nullable=True)
            elif not column.nullable and column.autoincrement:
                column = column._replace(nullable=True)  # as before: the database numbers new rows, old ones stay NULL
            # Otherwise NOT NULL with a constant default: existing rows get the default, in
            # the catalog only (PostgreSQL 11+), and nothing is left to finish.
            if default is None:
                without_default.add(column.name)
            columns.append((column, default))
            added.append(change)
        if not columns:
            return set()
        names = ", ".join(c.name for c, _ in columns)
        self.add(Step(f"add column{'s' if len(columns) > 1 else ''} {qualified(table.schema, table.name, self.desired.default_schema)}: {names}",
                      self.dialect.add_columns_sql(table, columns) + later_defaults, tuple(added), table.key,
                      hazards=self.dialect.add_columns_hazards(table)))
        return without_default

    def _rewrite(self, table: Table, column: Column, default: str | None) -> str | None:
        """What of ADD COLUMN would rewrite this table: "column", "default" or None."""
        asked = self.rewrites.get((table.key, column.name)) if self.rewrites is not None else "unknown"
        if asked != "unknown":  # the server's answer (None: no rewrite)
            return asked if table.key in self.nonempty else None  # no rows, nothing to rewrite
        if default is not None and not self.dialect.can_add_column_with_default(default):
            return "default"  # by its spelling: the server could not be asked
        return None

    def _add_rewriting_column(self, table: Table, change: Change, default: str | None) -> None:
        column = change.desired
        assert isinstance(column, Column)
        if default is None and not column.autoincrement:
            column = column._replace(nullable=True)  # existing rows get no value
        what = "an identity" if column.autoincrement and column.autoincrement.startswith("identity") else "its type (a domain with a CHECK?)"
        self.add(
            Step(
                f"add column {self.name(change)} (rewrites the table: {what})",
                self.dialect.add_columns_sql(table, [(column, default)]),
                (change,), table.key, requires="rewrite",
                hazards=(f"rewrites the table under {self.dialect.exclusive_lock}, reads and writes waiting ({self.rows(self.actual_table(table.key))})",),
            )
        )

    def _add_generated_column(self, table: Table, change: Change) -> None:
        column = change.desired
        assert isinstance(column, Column)
        self.add(
            Step(
                f"add generated column {self.name(change)}", self.dialect.add_columns_sql(table, [(column, None)]), (change,), table.key,
                requires="rewrite",
                hazards=(f"rewrites the table under {self.dialect.exclusive_lock} to compute the column for every row ({self.rows(self.actual_table(table.key))})",),
            )
        )

    def _primary_key(self, table: Table, change: Change) -> None:
        desired, actual = change.desired, change.actual
        assert isinstance(desired, Table) and isinstance(actual, Table)
        target = self.dialect.table_name(table.schema, table.name)
        clauses = []
        if actual.primary_key and actual.primary_key_name:
            clauses.append(f"DROP CONSTRAINT {self.dialect.quote(actual.primary_key_name)}")
        if desired.primary_key:
            clauses.append("ADD " + self.dialect.primary_key_sql(desired))
        sql = [f"ALTER TABLE {target} " + ", ".join(clauses)] if clauses and self.dialect.supports_alter_column else []
        precheck: tuple[str, ...] = ()
        if desired.primary_key:
            cols = self.dialect.columns_list(desired.primary_key)
            nulls = " OR ".join(f"{self.dialect.quote(c)} IS NULL" for c in desired.primary_key)
            precheck = (
                f"SELECT (SELECT count(*) FROM {target} WHERE {nulls}) + "
                f"(SELECT count(*) FROM (SELECT 1 FROM {target} GROUP BY {cols} HAVING count(*) > 1) AS duplicates)",
            )
        self.add(
            Step(
                f"change primary key of {qualified(table.schema, table.name, self.desired.default_schema)}: {change.detail}", sql, (change,), table.key,
                requires="constraint",
                hazards=(f"builds the key's unique index under {self.dialect.exclusive_lock}",
                         "fails if rows hold NULL or duplicates, or if foreign keys reference the old key"),
                precheck=precheck,
                refusal=f"{{count}} rows of {table.name} hold NULL in ({', '.join(desired.primary_key)}) or repeat a value; fix them first",
            )
        )

    def _comment(self, table: Table, change: Change) -> None:
        if change.name is None:
            want = change.desired
        else:
            assert isinstance(change.desired, Column)
            want = change.desired.comment
        sql = self.dialect.comment_sql(table, change.name, want if isinstance(want, str) else None)
        what = f"column {self.name(change)}" if change.name else f"table {qualified(table.schema, table.name, self.desired.default_schema)}"
        # Setting the models' comment is metadata only; removing one the database has is
        # the database's information lost, so it waits for --allow drop like other extras.
        self.add(Step(f"set comment on {what}: {change.detail}", [sql] if sql else [], (change,), table.key,
                      requires="drop" if want is None else None))

    def _generated(self, table: Table, change: Change) -> None:
        column = change.desired
        assert isinstance(column, Column)
        target = self.dialect.table_name(table.schema, table.name)
        sql = [f"ALTER TABLE {target} DROP COLUMN {self.dialect.quote(column.name)}, ADD COLUMN {self.dialect.column_sql(column)}"]
        self.add(
            Step(
                f"recreate column {self.name(change)}: {change.detail}", sql if self.dialect.supports_alter_column else [], (change,), table.key,
                requires="drop", hazards=(f"deletes the column's values and rewrites the table under {self.dialect.exclusive_lock}",),
            )
        )

    def _finish_not_null(self, table: Table, column: Column, default: str | None) -> str:
        set_not_null = self.dialect.set_not_null_sql(table, column.name)
        if set_not_null is None:
            return f"{self.dialect.name} cannot add NOT NULL to an existing column; rebuild the table by hand"
        if default is not None:
            return set_not_null  # existing rows received the default
        target, col = self.dialect.table_name(table.schema, table.name), self.dialect.quote(column.name)
        return f"UPDATE {target} SET {col} = <value> WHERE {col} IS NULL; {set_not_null}"

    def _index(self, table: Table, change: Change) -> None:
        index = change.desired
        assert isinstance(index, Index)
        online = table.key in self.nonempty
        sql, transactional, hazards = self.dialect.create_index_steps(table, index, online=online, replace=change.kind is Kind.INVALID_INDEX)
        verb = "rebuild invalid index" if change.kind is Kind.INVALID_INDEX else "create index"
        precheck: tuple[str, ...] = ()
        refusal = ""
        if index.unique and online:
            # Duplicates would fail the build (and leave an INVALID index to drop and
            # rebuild, and fail again, on every deploy): counted first, refused with the count.
            keys = [e if isinstance(e, Expression) else self.dialect.quote(e) for e in index.expressions]
            precheck = (self._duplicates_sql(table, keys, index.where),)
            refusal = (f"{{count}} values of ({', '.join(index.expressions)}) appear more than once in {self.name(change).rsplit('.', 1)[0]}; "
                       "deduplicate first: the unique index cannot be built")
        self.add(Step(f"{verb} {self.name(change)}", sql, (change,), table.key, hazards=hazards, transactional=transactional,
                      precheck=precheck, refusal=refusal, cleanup=() if transactional else self.dialect.invalid_index_cleanup(table, index)))

    def _duplicates_sql(self, table: Table, keys: list[str], where: str | None = None) -> str:
        """Counts the key values (SQL: quoted names or expressions) that appear more than
        once among the rows a unique key or index covers (NULLs never conflict)."""
        conditions = " AND ".join([*(f"{k} IS NOT NULL" for k in keys), *([f"({where})"] if where else [])])
        return (f"SELECT count(*) FROM (SELECT 1 FROM {self.dialect.table_name(table.schema, table.name)} WHERE {conditions} "
                f"GROUP BY {', '.join(keys)} HAVING count(*) > 1) AS duplicates")

    def _likely_rename(self, table: Table, change: Change) -> None:
        old = change.actual
        assert isinstance(old, Column)
        where = self.name(change).rsplit(".", 1)[0]
        # No relaxing of the old column here: the models' INSERTs name the new column,
        # so they fail until the rename is done, whatever the old column allows.
        self.add(
            Step(
                f"likely rename {where}.{old.name} -> {change.name}: {change.name} is not added next to {old.name}'s data; "
                f"confirm with info={{'sync_schema': {{'renamed_from': '{old.name}'}}}} or --allow rename",
                [self.dialect.rename_column_sql(table, old.name, change.name or "")], (change,), table.key, requires="rename",
            )
        )

    def _relax_if_breaking_inserts(self, table: Table, change: Change, column: Column) -> None:
        actual_table = self.actual_table(table.key)
        breaks_inserts = not column.nullable and column.default is None and not column.autoincrement and column.name not in actual_table.primary_key
        if breaks_inserts:
            sql, hazards, unasked = self.dialect.relax_not_null_steps(table, column)
            self.add(
                Step(
                    f"relax {self.name(change).rsplit('.', 1)[0]}.{column.name}: not in the {there_name()}, NOT NULL without a default, "
                    f"so INSERTs from the {there_name()} will fail ({self.rows(actual_table)})",
                    sql, (change,), table.key, requires=RELAX_NOT_NULL if unasked else "rewrite", hazards=hazards, resolves=False,
                )
            )

    def _extra_column(self, table: Table, change: Change) -> None:
        column = change.actual
        assert isinstance(column, Column)
        actual_table = self.actual_table(table.key)
        self._relax_if_breaking_inserts(table, change, column)
        self.add(
            Step(
                f"drop column {self.name(change)} (not in the {there_name()}; {self.rows(actual_table)})",
                [self.dialect.drop_column_sql(table, column.name)], (change,), table.key,
                requires="drop", hazards=("deletes the column's data",),
            )
        )

    def _nullability(self, table: Table, change: Change) -> None:
        desired, actual = change.desired, change.actual
        assert isinstance(desired, Column) and isinstance(actual, Column)
        if desired.nullable:
            # NOT NULL in the database only. Relaxing keeps every row; without a
            # default, the models' INSERTs that omit the column would fail.
            drop_sql, hazards, unasked = self.dialect.relax_not_null_steps(table, actual)
            breaks_inserts = actual.default is None and not actual.autoincrement
            self.add(
                Step(
                    f"drop NOT NULL on {self.name(change)} (nullable in the {there_name()}"
                    + ("; INSERTs that omit it fail)" if breaks_inserts else ")"),
                    drop_sql, (change,), table.key,
                    requires=RELAX_NOT_NULL if unasked else "rewrite", hazards=hazards,
                )
            )
        else:
            sql, transactional, hazards = self.dialect.set_not_null_steps(table, desired.name)
            target, col = self.dialect.table_name(table.schema, table.name), self.dialect.quote(desired.name)
            self.add(
                Step(
                    f"set NOT NULL on {self.name(change)}", sql, (change,), table.key,
                    requires="set-not-null", hazards=("fails if any row holds NULL", *hazards), transactional=transactional,
                    precheck=(f"SELECT count(*) FROM {target} WHERE {col} IS NULL",),
                    refusal=f"{{count}} rows hold NULL in {self.name(change)}; fill them first: UPDATE {target} SET {col} = <value> WHERE {col} IS NULL",
                )
            )

    def _type_change(self, table: Table, change: Change) -> None:
        desired = change.desired
        assert isinstance(desired, Column) and isinstance(change.actual, Column)
        sql = self.dialect.type_change_sql(table, change.actual, desired)
        old, new = self.dialect.type_key(change.actual.type), self.dialect.type_key(desired.type)
        unasked = self.dialect.safe_type_change(change.actual, desired)  # e.g. MySQL: ENUM values appended, metadata only
        self.add(
            Step(
                f"change type of {self.name(change)}: {old} -> {new}", sql, (change,), table.key,
                requires="type-change" if unasked is None else None,
                hazards=_type_change_hazards(old, new, self.dialect.exclusive_lock) if unasked is None else unasked,
                precheck=self.dialect.unconvertible_rows_sql(table, desired.name, change.actual.type, desired.type),
                refusal=f"{{count}} rows of {self.name(change)} would not convert to {new} without loss; fix or clear them first",
            )
        )

    def _foreign_key_actions(self, table: Table, change: Change) -> None:
        fk, existing = change.desired, change.actual
        assert isinstance(fk, ForeignKey) and isinstance(existing, ForeignKey)
        target = self.dialect.table_name(table.schema, table.name)
        name = existing.name or fk.name
        renamed = fk._replace(name=name)
        add_sql, _ = self.dialect.add_foreign_key_steps(table, renamed)
        sql = [f"ALTER TABLE {target} DROP CONSTRAINT {self.dialect.quote(name or '')}", *add_sql] if name and add_sql else []
        self.add(Step(f"change foreign key actions of {self.name(change)}: {change.detail}", sql, (change,), table.key,
                      requires="constraint", hazards=("the key is briefly not enforced between DROP and ADD",), transactional=False))

    def _check(self, table: Table, change: Change, replace: bool = False) -> None:
        """`replace`: the database has a CHECK of this name with another expression."""
        check = change.desired
        assert isinstance(check, CheckConstraint)
        sql, transactional = self.dialect.add_check_steps(table, check)
        drop = self.dialect.drop_constraint_sql(table, check.name) if replace and check.name else None
        if replace and not (drop and sql):
            sql = []
        elif drop:
            sql = [drop, *sql]
        verb = f"replace check constraint {self.name(change)}: {change.detail}" if replace else f"add check constraint {self.name(change)}"
        self.add(
            Step(
                verb, sql, (change,), table.key, requires="constraint",
                hazards=("fails if existing rows violate it",) + (("the old CHECK is not enforced between DROP and ADD",) if replace and not transactional else ()),
                transactional=transactional,
                precheck=(f"SELECT count(*) FROM {self.dialect.table_name(table.schema, table.name)} WHERE NOT ({check.sqltext})",),
                refusal=f"{{count}} rows violate CHECK ({check.sqltext}); fix them first",
            )
        )

    def _default(self, table: Table, change: Change) -> None:
        desired = change.desired
        assert isinstance(desired, Column)
        sql = None if desired.autoincrement else self.dialect.set_default_sql(table, desired.name, desired.default)
        self.add(Step(f"change default of {self.name(change)}: {change.detail}", [sql] if sql else [], (change,), table.key, requires="default-change"))

    def _unique(self, table: Table, change: Change, safe: bool = False) -> None:
        """`safe`: on columns just added without a default (all NULL), so it cannot fail."""
        unique = change.desired
        assert isinstance(unique, UniqueConstraint)
        sql, transactional = self.dialect.add_unique_steps(table, unique, online=table.key in self.nonempty)
        self.add(
            Step(
                f"add unique constraint {self.name(change)} ({', '.join(unique.columns)})", sql,
                (change,), table.key, requires=None if safe else "constraint",
                hazards=() if safe else ("fails if duplicates exist",), transactional=transactional,
                precheck=(self._duplicates_sql(table, [self.dialect.quote(c) for c in unique.columns]),),
                refusal=f"{{count}} values of ({', '.join(unique.columns)}) appear more than once in {self.name(change).rsplit('.', 1)[0]}; deduplicate first",
            )
        )

    def _foreign_key(self, table: Table, change: Change) -> None:
        fk = change.desired
        assert isinstance(fk, ForeignKey)
        sql, transactional = self.dialect.add_foreign_key_steps(table, fk)
        child, parent = self.dialect.table_name(table.schema, table.name), self.dialect.table_name(fk.ref_schema, fk.ref_table)
        joins = " AND ".join(f"p.{self.dialect.quote(r)} = c.{self.dialect.quote(c)}" for c, r in zip(fk.columns, fk.ref_columns, strict=True))
        not_null = " AND ".join(f"c.{self.dialect.quote(c)} IS NOT NULL" for c in fk.columns)
        self.add(
            Step(
                f"add foreign key {self.name(change)} -> {fk.ref_table}", sql, (change,), table.key,
                requires="constraint", hazards=("fails if rows reference missing keys",), transactional=transactional,
                precheck=(f"SELECT count(*) FROM {child} AS c WHERE {not_null} AND NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE {joins})",),
                refusal=f"{{count}} rows of {table.name} reference missing {fk.ref_table} rows; fix them first",
            )
        )


_VARCHAR = re.compile(r"^character varying(\((\d+)\))?$")


def _type_change_hazards(old: str, new: str, lock: str) -> tuple[str, ...]:
    old_m, new_m = _VARCHAR.match(old), _VARCHAR.match(new)
    if old_m and (new == "text" or (new_m and (not new_m.group(2) or (old_m.group(2) and int(new_m.group(2)) >= int(old_m.group(2)))))):
        return (f"takes {lock} briefly (metadata only)",)
    return (f"rewrites the table under {lock}", "fails, refused, where a value would not convert without loss")


# Objects the tool does not create that a table may depend on (a type, an operator class).
_PREREQUISITES = frozenset({"extension", "domain", "composite type", "sequence"})


def _use_alter(table: Table, fk: ForeignKey, dialect: Dialect) -> bool:
    """Whether the models declare this key use_alter=True: create_all() adds it after the tables."""
    source = table.source.table if table.source is not None else None  # type: ignore[attr-defined]
    if source is None:
        return False
    key = (fk.columns, fk.ref_schema, fk.ref_table)
    return any(fkc.use_alter for fkc in source.foreign_key_constraints if dialect.source_fk_key(fkc) == key)


def _referenced_first(changes: list[Change]) -> list[Change]:
    """New tables in an order where a table referenced by another new one's foreign key
    comes first, so that the key can be part of CREATE TABLE; otherwise the models'
    order. In a cycle, one key must wait: its table is created first, the key added after.
    (A depth-first walk kept on an explicit stack: a chain of new tables can be longer
    than Python's recursion limit.)"""
    by_key = {(c.schema, c.table): c for c in changes}
    refs = {
        key: [target for fk in change.desired.foreign_keys if (target := (fk.ref_schema, fk.ref_table)) in by_key and target != key]  # type: ignore[attr-defined]
        for key, change in by_key.items()
    }
    ordered: list[Change] = []
    placed: set[tuple[str, str | None]] = set()
    for root in by_key:
        if root in placed:
            continue
        on_path = {root}
        stack = [(root, iter(refs[root]))]
        while stack:
            key, pending = stack[-1]
            ref = next(pending, None)
            if ref is None:
                stack.pop()
                on_path.discard(key)
                placed.add(key)
                ordered.append(by_key[key])
            elif ref not in placed and ref not in on_path:  # on the path: a cycle, this key waits
                on_path.add(ref)
                stack.append((ref, iter(refs[ref])))
    return ordered
