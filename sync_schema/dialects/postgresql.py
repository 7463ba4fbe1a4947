"""PostgreSQL: catalog inspection in four set-based queries, type spelling, DDL, lock bounds."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from functools import cache
from importlib.resources import files
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa

from ..database import run_sql
from ..signature import match_columns, table_signature
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
    index_element_options,
)
from .base import READ_LOCK_TIMEOUT, Dialect, _wrapped_in_parens, milliseconds, sql_literal

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

_FK_ACTIONS = {"a": None, "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")
_SERIAL_DEFAULT = re.compile(r"^nextval\('[^']+'(::regclass)?\)$")  # the server always writes the cast; models may not
_CAST = re.compile(r"^(?P<value>'(?:[^']|'')*'|\(.*\)|[^:()']+)::[\w\s.\"\[\]]+(\(\d+(,\s*\d+)?\))?(\[\])*$")
# A cast anywhere in an expression, as pg_get_expr writes them: (email)::text, 'a'::character varying(20)[]
_INNER_CAST = re.compile(
    r'::(?:"[^"]+"|[a-z_][\w$]*)(?:\.(?:"[^"]+"|[a-z_][\w$]*))?'
    r"(?:\s+(?:varying|precision|with\s+time\s+zone|without\s+time\s+zone))*(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])*"
)
_TYPE_ALIASES = {
    "varchar": "character varying",
    "char": "character",
    "bpchar": "character",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "int2": "smallint",
    "serial": "integer",
    "serial4": "integer",
    "bigserial": "bigint",
    "serial8": "bigint",
    "smallserial": "smallint",
    "serial2": "smallint",
    "bool": "boolean",
    "decimal": "numeric",
    "float8": "double precision",
    "double": "double precision",
    "float4": "real",
    "timestamptz": "timestamp with time zone",
    "timetz": "time with time zone",
    "varbit": "bit varying",
}
# Key of the session advisory lock that keeps concurrent runs (several dynos, several
# instances starting together) from applying the same change twice: "sync" in ASCII.
RUN_LOCK_KEY = 0x73796E63
_SERIAL_TYPES = {"integer": "SERIAL", "bigint": "BIGSERIAL", "smallint": "SMALLSERIAL"}


@cache
def _query(name: str) -> sa.TextClause:
    return sa.text(files(__package__).joinpath("sql").joinpath(f"pg_{name}.sql").read_text(encoding="utf-8"))


class PostgreSQLDialect(Dialect):
    name = "postgresql"
    exclusive_lock = "an ACCESS EXCLUSIVE lock"
    queries_per_inspect = 4
    max_identifier_bytes = 63  # NAMEDATALEN - 1
    fetch_in_background = True  # psycopg2 and psycopg connections may be used from any thread, one at a time

    def __init__(self, sa_dialect) -> None:  # type: ignore[no-untyped-def]
        super().__init__(sa_dialect)
        # What SQLAlchemy read with current_schema() on connecting; "public" before any
        # connection (offline rendering) or where no schema of the search_path exists.
        self.default_schema = getattr(sa_dialect, "default_schema_name", None) or "public"
        self.server_version = 0

    def quote(self, identifier: str) -> str:
        """A name as SQL. One holding a control character (a newline, say: the database
        may have such names) is written with Unicode escapes, U&"evil\\000a...", so that no
        SQL text ever spans lines or ends a comment where a name does."""
        if _CONTROL_CHARACTER.search(identifier) is None:  # a regular expression: this runs for every name of every statement
            return super().quote(identifier)
        escaped = "".join(
            f"\\{ord(c):04x}" if ord(c) < 32 or ord(c) == 127 else "\\\\" if c == "\\" else '""' if c == '"' else c for c in identifier
        )
        return f'U&"{escaped}"'

    # -- inspection ----------------------------------------------------------------

    def fetch_catalog(self, conn: Connection, schemas: set[str] | None, lock_timeout: float = READ_LOCK_TIMEOUT) -> Iterator[Any]:
        overview = conn.execute(_query("overview"), {"lock_timeout": f"{milliseconds(lock_timeout)}ms"}).one()
        yield overview
        params = {"schemas": sorted(set(overview.schemas) if schemas is None else set(overview.schemas) & schemas)}
        # The columns query, by far the longest, comes first: it runs while the caller
        # compiles the models, and the caller takes in its rows while the constraints and
        # indexes queries run (see read.read_both_sides). Columns last left this thread
        # idle, then the caller alone with all the rows: measured 5-10% slower.
        for name in ("columns", "constraints", "indexes"):
            yield _fetch_tuples(conn, _query(name), params)

    def read_catalog(self, results: Iterator[Any]) -> Snapshot:
        overview = next(results)
        self.server_version = overview.server_version
        enums = {(schema, name): EnumType(schema, name, tuple(labels)) for schema, name, labels in overview.enums or ()}
        read = _read_columns(next(results), self.type_keys, self.default_keys, self.numbering_defaults, self.expression_keys)
        constraint_rows, index_rows = _by_table(next(results)), _by_table(next(results))
        opclasses = {int(oid): name for oid, name in (overview.opclasses or {}).items()}
        comments: dict[TableKey, str] = {}
        for schema, name, column, comment in overview.comments or ():
            if column is None:
                comments[(schema, name)] = comment
            elif (schema, name) in read.columns:
                _set_column_comment(read, (schema, name), column, comment)
        for schema, name, column, *options in overview.identity_options or ():
            if (schema, name) in read.columns:
                _set_identity_options(read, (schema, name), column, _identity_options(*options))
        tables = {}
        for key, table_columns in read.columns.items():
            table = tables[key] = _table(
                key, table_columns, read.estimates[key], read.attnames, constraint_rows.get(key, ()), index_rows.get(key, ()),
                opclasses, comments.get(key),
            )
            table_signature(table, self, tuple(read.entries[key]))
        return Snapshot("postgresql", overview.current_schema or "public", frozenset(overview.schemas), tables, enums)

    def read_other_objects(self, conn: Connection, schemas: Collection[str]) -> tuple[OtherObject, ...]:
        rows = conn.execute(_query("other_objects"), {"schemas": sorted(schemas)}).all()
        conn.commit()
        return tuple(sorted(OtherObject(*row) for row in rows))

    def respell_defaults(
        self, conn: Connection, desired: Snapshot, actual: Snapshot | None = None, tables: Collection[TableKey] | None = None
    ) -> Snapshot:
        """PostgreSQL stores a typed literal default in its type's canonical spelling
        (time '08:30' as '08:30:00', jsonb '{"a":[1]}' as '{"a": [1]}', boolean '0' as
        false). Ask the server to spell the models' literals the same way, all in one
        query. Only casts of constants run, inside a function that turns a failed cast
        into NULL, so this cannot fail the run; without TEMP privilege it is skipped.

        Only literals that differ as text from the database's default are asked about, so
        a database in sync costs no query at all. A literal is spelled for the type the
        database column has: that is how the database spelled its own default, so equal
        values compare equal even when the types differ (that is reported on its own)."""

        # (table key, column name) -> (literal text of default, of python_default, type to spell it as)
        candidates: dict[tuple[tuple[str, str], str], tuple[str | None, str | None, str]] = {}
        for key in desired.tables if tables is None else tables:
            table = desired.tables[key]
            existing = actual.tables.get(key) if actual else None
            if existing is None:
                continue  # nothing to compare with: every column is added as the models spell it
            unequal, appended = match_columns(table, existing, self)
            if appended:
                continue  # new columns only: added as the models spell them, the rest is equal as it is
            for column in unequal:
                default, python_default = column.default, column.python_default
                if not ((default is not None and "'" in default) or (python_default is not None and "'" in python_default)):
                    continue  # the common case, kept cheap: no default, or a function call
                existing_column = existing.column(column.name)
                if existing_column is None:
                    continue  # nothing to compare with: the column is added as the models spell it
                if existing_column.default == default:
                    continue  # the same text
                stored = self.default_key(existing_column.default)
                # The Python default stands in only where there is no server default
                # (see diff.compare_columns): server_default="0" with default=False is '0'.
                if stored == self.default_key(column.default_to_add):
                    continue  # already equal as text: no query needed (the usual case)
                type_ = existing_column.type
                if self.type_key(type_).split("(")[0] in _TEXT_TYPES:
                    continue  # text is stored as written
                literals = (_literal_text(self, column.default), _literal_text(self, column.python_default))
                if literals != (None, None):
                    candidates[(key, column.name)] = (*literals, type_)
        wanted = sorted({(value, type_) for *values, type_ in candidates.values() for value in values if value is not None})
        if not wanted:
            return desired
        try:
            results = _call_for_each(conn, _SPELLING_FUNCTION, "sync_schema_spelling",
                                     {"value": ("text", [w[0] for w in wanted]), "type_name": ("text", [w[1] for w in wanted])})
            conn.commit()
        except sa.exc.DBAPIError:
            conn.rollback()
            return desired
        spelled = {want: sql_literal(result) for want, result in zip(wanted, results, strict=True) if result is not None}

        tables = dict(desired.tables)
        for key in {k for k, _ in candidates}:
            columns = []
            for column in tables[key].columns:
                default_text, python_text, type_ = candidates.get((key, column.name), (None, None, ""))
                stored = spelled.get((default_text, type_)) if default_text is not None else None
                python_stored = spelled.get((python_text, type_)) if python_text is not None else None
                if stored or python_stored:
                    column = column._replace(default_as_stored=stored, python_default_as_stored=python_stored)
                columns.append(column)
            tables[key] = replace(tables[key], columns=tuple(columns))
        return replace(desired, tables=tables)

    def respell_expressions(
        self, conn: Connection, desired: Snapshot, actual: Snapshot,
        indexes: Collection[tuple[TableKey, str]], checks: Collection[tuple[TableKey, str]] = (),
    ) -> Snapshot:
        """SQLAlchemy and the server spell one expression differently (CAST(a AS TEXT) and
        a::text, kind IN ('a', 'b') and kind::text = ANY (ARRAY[...]), added parentheses and
        casts), too differently for any normalizing of text. So the server spells the
        models' expressions: each index is built, each CHECK added, on an empty temporary
        copy of its table's columns (CREATE TEMP TABLE ... (LIKE table)) and read back with
        the same catalog functions as the database's own, all in one query, in a
        transaction that is rolled back. Asked only for what differs as text; a declaration
        the server rejects keeps its spelling (and is reported)."""
        wanted: list[tuple[TableKey, Index | CheckConstraint, str, str, str | None, int]] = []
        for (key, name), kind in [*((item, "index") for item in sorted(indexes)), *((item, "check") for item in sorted(checks))]:
            table, existing = desired.tables.get(key), actual.tables.get(key)
            if table is None or existing is None:
                continue
            if kind == "index":
                index = next((ix for ix in table.indexes if ix.name == name), None)
                if index is not None:
                    elements = ", ".join(e if isinstance(e, Expression) else self.quote(e) for e in index.expressions)
                    wanted.append((key, index, kind, elements, index.where, len(index.expressions)))
            else:
                check = next((c for c in table.checks if c.name == name), None)
                if check is not None:
                    wanted.append((key, check, kind, check.sqltext, None, 1))
        if not wanted:
            return desired
        try:
            rows = _call_for_each(conn, _SPELLING_PROBE_FUNCTION, "sync_schema_spelling_probe", {
                "source": ("text", [self.table_name(*w[0]) for w in wanted]), "kind": ("text", [w[2] for w in wanted]),
                "body": ("text", [w[3] for w in wanted]), "predicate": ("text", [w[4] for w in wanted]), "n": ("int", [w[5] for w in wanted]),
            })
        except sa.exc.DBAPIError:
            rows = []  # no TEMP privilege, a read-only standby: compared as spelled
        finally:
            conn.rollback()  # the temporary tables, their indexes and constraints and the function go with it
        respelled: dict[TableKey, dict[tuple[str, str], Index | CheckConstraint]] = {}
        for (key, item, kind, *_), spelled in zip(wanted, rows, strict=False):
            if not spelled:
                continue
            if isinstance(item, Index):
                *keys, predicate = spelled
                expressions = tuple(Expression(f"({k})") if isinstance(e, Expression) else e for e, k in zip(item.expressions, keys, strict=True))
                respelled.setdefault(key, {})[(kind, item.name or "")] = item._replace(expressions=expressions, where=predicate if item.where else None)
            else:
                respelled.setdefault(key, {})[(kind, item.name or "")] = item._replace(sqltext=_check_body(spelled[0]))
        if not respelled:
            return desired
        tables = dict(desired.tables)
        for key, by_name in respelled.items():
            table = tables[key]
            tables[key] = replace(
                table,
                indexes=tuple([by_name.get(("index", ix.name or ""), ix) for ix in table.indexes]),  # type: ignore[misc]
                checks=tuple([by_name.get(("check", c.name or ""), c) for c in table.checks]),  # type: ignore[misc]
            )
        return replace(desired, tables=tables)

    # -- comparison keys -----------------------------------------------------------

    def _normalize_type(self, type_: str) -> str:
        """Spell a type the way format_type() does: VARCHAR(255) -> character varying(255)."""
        text = " ".join(type_.strip().lower().split())
        array = ""
        while text.endswith("[]"):
            array += "[]"
            text = text[:-2].rstrip()
        args = ""
        match = re.search(r"\(([^)]*)\)", text)
        if match:
            args = match.group(1).replace(" ", "")
            text = (text[: match.start()] + text[match.end() :]).strip()
            text = " ".join(text.split())
        zone = ""
        for suffix in (" with time zone", " without time zone"):
            if text.endswith(suffix):
                zone, text = suffix, text[: -len(suffix)]
        base = _TYPE_ALIASES.get(text, text)
        if base.endswith(" with time zone"):  # timestamptz / timetz aliases
            base, zone = base[: -len(" with time zone")], " with time zone"
        if base in ("timestamp", "time") and not zone:
            zone = " without time zone"
        if base == "float":
            base = "real" if args and int(args) <= 24 else "double precision"
            args = ""
        if base == "character" and not args:
            args = "1"
        if "." in base or '"' in base:  # enum or domain: the schema prefix depends on search_path
            base = base.replace('"', "").rsplit(".", 1)[-1]
        return f"{base}{f'({args})' if args else ''}{zone}{array}"

    def can_add_column_with_default(self, default: str) -> bool:
        # Only where the server could not be asked (rewriting_additions): PostgreSQL 11+
        # stores a non-volatile default in the catalog instead of rewriting the table.
        # A constant and the transaction's time qualify; any other function call might be
        # volatile (gen_random_uuid(), 'u-' || gen_random_uuid()::text, clock_timestamp()).
        key = self.default_key(default) or ""
        return "(" not in key.replace("now()", "") or _literal_text(self, default) is not None

    def rewriting_additions(self, conn: Connection, definitions: list[str]) -> list[bool | None]:
        """The server's own answer: each definition is added to a temporary table of one
        row, and a new relfilenode means a rewrite (a volatile default, however spelled;
        an identity; a domain with a CHECK), all in one query, rolled back. A definition
        the server rejects (a type this run has yet to create) is None."""
        if not definitions:
            return []
        try:
            run_sql(conn, "CREATE TEMP TABLE sync_schema_rewrite_probe (x integer)")
            run_sql(conn, "INSERT INTO pg_temp.sync_schema_rewrite_probe VALUES (1)")
            named = [f"c{i} {definition}" for i, definition in enumerate(definitions)]
            return _call_for_each(conn, _REWRITE_PROBE_FUNCTION, "sync_schema_rewrites", {"definition": ("text", named)})
        except sa.exc.DBAPIError:
            return [None] * len(definitions)  # no TEMP privilege, a read-only standby
        finally:
            conn.rollback()

    def autoincrement_kind(self, type_key: str) -> str | None:
        return "serial" if type_key in _SERIAL_TYPES else None

    def numbers_rows(self, default: str | None) -> bool:
        return default is not None and default[:8] == "nextval(" and _SERIAL_DEFAULT.match(default) is not None

    def _strip_inner_casts(self, sql: str) -> str:
        return _INNER_CAST.sub("", sql)

    def _strip_casts(self, text: str) -> str:
        while True:
            match = _CAST.match(text)
            if not match:
                return text
            text = match.group("value").strip()

    # -- DDL -----------------------------------------------------------------------

    def column_type_sql(self, column: Column) -> str:
        if column.autoincrement == "serial":
            return _SERIAL_TYPES.get(self.type_key(column.type), column.type)
        return column.type

    def create_enum_sql(self, enum: EnumType) -> str:
        labels = ", ".join(sql_literal(v) for v in enum.values)
        return f"CREATE TYPE {self.table_name(enum.schema, enum.name)} AS ENUM ({labels})"

    def alter_type_sql(self, table: Table, column: Column) -> str:
        name = self.quote(column.name)
        collate = f" COLLATE {self.quote(column.collation)}" if column.collation else ""
        return (
            f"ALTER TABLE {self.table_name(table.schema, table.name)} ALTER COLUMN {name} "
            f"TYPE {column.type}{collate} USING {name}::{column.type}"
        )

    def set_not_null_sql(self, table: Table, column_name: str) -> str:
        return f"ALTER TABLE {self.table_name(table.schema, table.name)} ALTER COLUMN {self.quote(column_name)} SET NOT NULL"

    def drop_not_null_sql(self, table: Table, column_name: str) -> str:
        return f"ALTER TABLE {self.table_name(table.schema, table.name)} ALTER COLUMN {self.quote(column_name)} DROP NOT NULL"

    def set_default_sql(self, table: Table, column_name: str, default: str | None) -> str:
        target = f"ALTER TABLE {self.table_name(table.schema, table.name)} ALTER COLUMN {self.quote(column_name)}"
        return f"{target} DROP DEFAULT" if default is None else f"{target} SET DEFAULT {default}"

    def create_index_steps(self, table: Table, index: Index, online: bool, replace: bool = False) -> tuple[list[str], bool, tuple[str, ...]]:
        if not online:  # an empty table: the plain build inside the table's transaction is instant
            return super().create_index_steps(table, index, online, replace)
        # CONCURRENTLY lets reads and writes go on during the build; it cannot run in a
        # transaction block, and a failed build leaves an INVALID index that the next run
        # detects and rebuilds.
        sql = self.create_index_sql(table, index).replace("INDEX ", "INDEX CONCURRENTLY ", 1)
        drop = [f"DROP INDEX CONCURRENTLY IF EXISTS {self.table_name(table.schema, index.name or '')}"] if replace else []
        return [*drop, sql], False, ("builds the index CONCURRENTLY: reads and writes go on",)

    def invalid_index_cleanup(self, table: Table, index: Index) -> tuple[str, ...]:
        """A CREATE INDEX CONCURRENTLY stopped by lock_timeout leaves an INVALID index of
        that name: the retry would fail with "already exists". Only an INVALID index of
        this name on this very table is dropped (briefly under the lock time-out)."""
        if not index.name:
            return ()
        name, target = self.table_name(table.schema, index.name), self.table_name(table.schema, table.name)
        body = (
            f"BEGIN IF EXISTS (SELECT FROM pg_index WHERE indexrelid = to_regclass({sql_literal(name)}) "
            f"AND indrelid = to_regclass({sql_literal(target)}) AND NOT indisvalid) THEN EXECUTE {sql_literal('DROP INDEX ' + name)}; END IF; END"
        )
        return (f"DO {_dollar_quoted(body)}",)

    def add_unique_steps(self, table: Table, unique: UniqueConstraint, online: bool) -> tuple[list[str], bool]:
        if not online:
            return super().add_unique_steps(table, unique, online)
        target = self.table_name(table.schema, table.name)
        name = unique.name or _short_name(f"{table.name}_{'_'.join(unique.columns)}_key")
        return [
            f"CREATE UNIQUE INDEX CONCURRENTLY {self.quote(name)} ON {target} ({self.columns_list(unique.columns)})",
            f"ALTER TABLE {target} ADD CONSTRAINT {self.quote(name)} UNIQUE USING INDEX {self.quote(name)}",
        ], False

    def rename_index_sql(self, table: Table, old: str, new: str) -> str:
        return f"ALTER INDEX {self.table_name(table.schema, old)} RENAME TO {self.quote(new)}"

    def drop_index_sql(self, table: Table, index: Index) -> str:
        # IF EXISTS: the planner drops an index on a column to drop first, but an expression
        # index on it is not seen as one, and goes with the column (a step run earlier).
        return f"DROP INDEX IF EXISTS {self.table_name(table.schema, index.name or '')}"

    # -- applying ------------------------------------------------------------------

    def bound_locks(self, conn: Connection, lock_timeout: float, statement_timeout: float, local: bool = True) -> None:
        # An ALTER waiting for its lock queues every later query on the table behind it;
        # lock_timeout bounds how long production traffic can be held up by us.
        # One round trip for both (set_config: a SELECT, where two SETs would be two).
        local_ = "true" if local else "false"
        conn.exec_driver_sql(f"SELECT set_config('lock_timeout', '{milliseconds(lock_timeout)}ms', {local_}), "
                             f"set_config('statement_timeout', '{milliseconds(statement_timeout)}ms', {local_})")

    def set_not_null_steps(self, table: Table, column_name: str) -> tuple[list[str], bool, tuple[str, ...]]:
        target = self.table_name(table.schema, table.name)
        if self.server_version and self.server_version < 120000:
            return [self.set_not_null_sql(table, column_name)], True, ("scans the table under an ACCESS EXCLUSIVE lock",)
        # PostgreSQL 12+ skips the scan of SET NOT NULL when a validated CHECK proves it.
        # VALIDATE scans under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on;
        # each statement commits on its own so that no ACCESS EXCLUSIVE lock is held across the scan.
        check = self.quote(_short_name(f"{table.name}_{column_name}_not_null_sync"))
        return [
            f"ALTER TABLE {target} DROP CONSTRAINT IF EXISTS {check}",
            f"ALTER TABLE {target} ADD CONSTRAINT {check} CHECK ({self.quote(column_name)} IS NOT NULL) NOT VALID",
            f"ALTER TABLE {target} VALIDATE CONSTRAINT {check}",
            self.set_not_null_sql(table, column_name),
            f"ALTER TABLE {target} DROP CONSTRAINT {check}",
        ], False, ("validates with a scan that lets reads and writes go on",)

    def add_foreign_key_steps(self, table: Table, fk: ForeignKey) -> tuple[list[str], bool]:
        # NOT VALID takes the locks only briefly; VALIDATE then checks existing rows under
        # SHARE UPDATE EXCLUSIVE, with reads and writes going on. Separate transactions.
        name = fk.name or _short_name(f"{table.name}_{'_'.join(fk.columns)}_fkey")
        return self._not_valid_then_validate(table, name, self.foreign_key_body(fk)), False

    def add_check_steps(self, table: Table, check: CheckConstraint) -> tuple[list[str], bool]:
        name = check.name or _short_name(f"{table.name}_check_sync")
        return self._not_valid_then_validate(table, name, f"CHECK ({check.sqltext})"), False

    def _not_valid_then_validate(self, table: Table, name: str, definition: str) -> list[str]:
        """Add a constraint without checking existing rows (brief lock), then check them
        under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on."""
        target = self.table_name(table.schema, table.name)
        return [
            f"ALTER TABLE {target} ADD CONSTRAINT {self.quote(name)} {definition} NOT VALID",
            f"ALTER TABLE {target} VALIDATE CONSTRAINT {self.quote(name)}",
        ]

    def unconvertible_rows_sql(self, table: Table, column_name: str, old_type: str, new_type: str) -> tuple[str, ...]:
        """Count the rows whose value would not come back the same: those that do not
        convert at all, and those that convert with a loss (the round trip
        value::new::old differs: 9.999 to numeric(10,2), a timestamp to date, {abcdefghij}
        to varchar(5)[], duplicate keys to jsonb)."""
        lossy = self._lossy_condition(self.quote(column_name), old_type, new_type)
        if lossy is None:
            return ()
        return (
            _CASTABLE_FUNCTION,
            f"SELECT count(*) FROM {self.table_name(table.schema, table.name)} WHERE {self.quote(column_name)} IS NOT NULL AND CASE "
            f"WHEN pg_temp.sync_schema_castable({self.quote(column_name)}::text, {sql_literal(new_type)}) THEN {lossy} ELSE true END",
        )

    def type_change_sql(self, table: Table, old: Column, new: Column) -> list[str]:
        """Where the change may lose something: under a SHARE lock (reads go on, writes
        wait), every row is checked again in the ALTER's own transaction, and the ALTER
        runs only if none would change. A row written after the precheck can then never
        be cut by the USING cast, which truncates where an assignment would raise."""
        alter = self.alter_type_sql(table, new)
        lossy = self._lossy_condition(self.quote(new.name), old.type, new.type)
        if lossy is None:
            return [alter]
        target = self.table_name(table.schema, table.name)
        message = f"sync-schema: rows of {table.name}.{new.name} would not convert to {new.type} without loss; nothing was changed"
        body = (
            f"BEGIN IF EXISTS (SELECT FROM {target} WHERE {self.quote(new.name)} IS NOT NULL AND {lossy}) "
            f"THEN RAISE EXCEPTION '%', {sql_literal(message)}; END IF; END"
        )
        return [f"LOCK TABLE {target} IN SHARE MODE", f"DO {_dollar_quoted(body)}", alter]

    def _lossy_condition(self, col: str, old_type: str, new_type: str) -> str | None:
        """SQL true for a value the change from old_type to new_type would alter (None:
        the change cannot alter any: a widening)."""
        old_key, new_key = self.type_key(old_type), self.type_key(new_type)
        if _widens(old_key, new_key):
            return None
        if old_key == "json" and new_key == "jsonb":  # jsonb keeps the last of duplicate keys; spacing and key order are not data
            return (
                f"EXISTS (WITH RECURSIVE walk(j) AS (SELECT {col} UNION ALL SELECT x.v FROM walk CROSS JOIN LATERAL ("
                "SELECT e.value FROM json_each(CASE WHEN json_typeof(walk.j) = 'object' THEN walk.j END) e UNION ALL "
                "SELECT a FROM json_array_elements(CASE WHEN json_typeof(walk.j) = 'array' THEN walk.j END) a) x(v)) "
                "SELECT FROM walk WHERE json_typeof(j) = 'object' "
                "AND (SELECT count(*) FROM json_object_keys(j)) <> (SELECT count(DISTINCT k) FROM json_object_keys(j) k))"
            )
        if old_key.removesuffix("[]") in _NO_EQUALITY:  # compared as text
            return f"(({col}::{new_type})::{old_type})::text IS DISTINCT FROM {col}::text"
        return f"({col}::{new_type})::{old_type} IS DISTINCT FROM {col}"

    def behind_pooler(self, engine: Engine, conn: Connection) -> bool:
        # A direct connection keeps its backend and never shares it with another client
        # connection. Behind a transaction-mode pooler either shows: when it is idle, the
        # pooler hands the server connection our last transaction used to the next client
        # that asks (PgBouncer reuses the most recent one), so a second connection lands on
        # our backend pid; when other clients are busy (several runs starting together), one
        # of them takes it, and our own next transaction runs on another backend.
        def pid(connection: Connection) -> int:
            value = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar()
            connection.commit()
            return int(value or 0)

        with engine.connect() as other:
            for _ in range(5):
                ours = pid(conn)
                if pid(other) == ours or pid(conn) != ours:
                    return True
        return False

    def try_run_lock(self, conn: Connection) -> bool:
        taken = conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": RUN_LOCK_KEY}).scalar()
        conn.commit()  # the lock belongs to the session and outlives the transaction
        return bool(taken)

    def release_run_lock(self, conn: Connection) -> None:
        conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": RUN_LOCK_KEY})
        conn.commit()

    # A tenant schema's lock: the two-key form, a lock space apart from the one-key run lock
    # (a run on public and runs on the tenants go on together), one key per schema name.
    # Two names whose hashes meet share a lock: they are then never synced at once, no harm.
    def try_schema_lock(self, conn: Connection, schema: str) -> bool:
        taken = conn.execute(sa.text("SELECT pg_try_advisory_lock(CAST(:key AS integer), hashtext(:schema))"),
                             {"key": RUN_LOCK_KEY, "schema": schema}).scalar()
        conn.commit()
        return bool(taken)

    def release_schema_lock(self, conn: Connection, schema: str) -> None:
        conn.execute(sa.text("SELECT pg_advisory_unlock(CAST(:key AS integer), hashtext(:schema))"), {"key": RUN_LOCK_KEY, "schema": schema})
        conn.commit()


# A value converts if its text form casts to the new type. Stricter than some direct
# casts (1.5 -> integer rounds; through text it fails), which is the safe side: rounding
# is a loss. A temporary function needs no privilege beyond TEMP.
# Types without an equality operator: a round trip is compared as text.
_NO_EQUALITY = frozenset({"json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle"})
_INTEGERS = ("smallint", "integer", "bigint")
_SIZED = re.compile(r"^(character varying|numeric)(?:\((\d+)(?:,\s*(\d+))?\))?$")


def _widens(old: str, new: str) -> bool:
    """Whether every value of `old` is a value of `new`, unchanged (no check needed)."""
    if new == "text" and (old == "text" or old.startswith("character varying")):
        return True
    if old in _INTEGERS and (new in _INTEGERS[_INTEGERS.index(old):] or new == "numeric"):
        return True
    old_m, new_m = _SIZED.match(old), _SIZED.match(new)
    if not old_m or not new_m or old_m.group(1) != new_m.group(1):
        return False
    if new_m.group(2) is None:
        return True  # varchar, numeric: unbounded
    if old_m.group(2) is None:
        return False
    old_scale, new_scale = int(old_m.group(3) or 0), int(new_m.group(3) or 0)
    whole = int(new_m.group(2)) - new_scale >= int(old_m.group(2)) - old_scale
    return whole and new_scale >= old_scale


def _dollar_quoted(body: str) -> str:
    """`body` between dollar quotes whose tag it does not hold (it may quote any name)."""
    tag, n = "$sync_schema$", 0
    while tag in body:
        n += 1
        tag = f"$sync_schema_{n}$"
    return f"{tag} {body} {tag}"


_REWRITE_PROBE_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.sync_schema_rewrites(definition text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    before oid;
BEGIN
    SELECT relfilenode INTO before FROM pg_class WHERE oid = 'pg_temp.sync_schema_rewrite_probe'::regclass;
    EXECUTE 'ALTER TABLE pg_temp.sync_schema_rewrite_probe ADD COLUMN ' || definition;
    RETURN before <> (SELECT relfilenode FROM pg_class WHERE oid = 'pg_temp.sync_schema_rewrite_probe'::regclass);
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$
"""


_CASTABLE_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.sync_schema_castable(value text, type_name text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT %L::%s', value, type_name);
    RETURN true;
EXCEPTION WHEN others THEN
    RETURN false;
END
$$
"""


_SPELLING_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.sync_schema_spelling(value text, type_name text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    spelled text;
BEGIN
    EXECUTE format('SELECT (%L::%s)::text', value, type_name) INTO spelled;
    RETURN spelled;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$
"""
_TEXT_TYPES = {"text", "character varying", "character"}

# Builds an index of the given elements and predicate, or adds a CHECK of the given
# expression, on an empty temporary table LIKE the source (its columns and types), and
# returns how the catalog reader would read it: the key definitions then the predicate, or
# the constraint's definition; NULL where the server rejects it. The caller rolls back.
_SPELLING_PROBE_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.sync_schema_spelling_probe(source text, kind text, body text, predicate text, n int) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    probe text := 'sync_schema_probe_' || md5(source);
    object_oid oid;
    spelled text[];
BEGIN
    EXECUTE format('CREATE TEMP TABLE IF NOT EXISTS %I (LIKE %s)', probe, source);
    IF kind = 'check' THEN
        EXECUTE format('ALTER TABLE pg_temp.%I ADD CONSTRAINT sync_schema_probe_check CHECK (%s)', probe, body);
        SELECT ARRAY[pg_get_constraintdef(con.oid, true)] INTO spelled FROM pg_constraint con
        WHERE con.conname = 'sync_schema_probe_check' AND con.connamespace = pg_my_temp_schema();
        EXECUTE format('ALTER TABLE pg_temp.%I DROP CONSTRAINT sync_schema_probe_check', probe);
        RETURN spelled;
    END IF;
    EXECUTE format('CREATE INDEX sync_schema_probe_index ON pg_temp.%I (%s)%s', probe, body, coalesce(' WHERE ' || predicate, ''));
    SELECT i.oid INTO object_oid FROM pg_class i WHERE i.relname = 'sync_schema_probe_index' AND i.relnamespace = pg_my_temp_schema();
    SELECT array_agg(pg_get_indexdef(object_oid, k, true) ORDER BY k) INTO spelled FROM generate_series(1, n) AS k;
    spelled := spelled || (SELECT pg_get_expr(ix.indpred, ix.indrelid, true) FROM pg_index ix WHERE ix.indexrelid = object_oid);
    EXECUTE 'DROP INDEX pg_temp.sync_schema_probe_index';
    RETURN spelled;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$
"""


def _call_for_each(conn: Connection, definition: str, function: str, arguments: dict[str, tuple[str, list[Any]]]) -> list[Any]:
    """Define a pg_temp function and call it once for each row of the argument arrays
    (name -> (SQL type, values)), all in one query; its results in the rows' order."""
    run_sql(conn, definition)
    names = list(arguments)
    arrays = ", ".join(f"CAST(:{name} AS {sql_type}[])" for name, (sql_type, _) in arguments.items())
    result = conn.execute(
        sa.text(f"SELECT v.i, pg_temp.{function}({', '.join('v.' + n for n in names)}) AS result "
                f"FROM unnest({arrays}) WITH ORDINALITY AS v({', '.join(names)}, i)"),
        {name: values for name, (_, values) in arguments.items()},
    ).all()
    by_row = {row.i: row.result for row in result}
    return [by_row.get(i + 1) for i in range(len(arguments[names[0]][1]))]


def _literal_text(dialect: Dialect, default: str | None) -> str | None:
    """The text inside a quoted literal default ('08:30', '{"a":[1]}'), else None."""
    if default is None:
        return None
    text = dialect._strip_casts(default.strip())
    while _wrapped_in_parens(text):
        text = dialect._strip_casts(text[1:-1].strip())
    if len(text) >= 2 and text[0] == text[-1] == "'" and "'" not in text[1:-1].replace("''", ""):
        return text[1:-1].replace("''", "'")
    return None


def _short_name(name: str) -> str:
    return name[:63]


def _read_columns(
    rows: Sequence[Sequence],  # type: ignore[type-arg]
    type_keys: Mapping[str | None, str],
    default_keys: Mapping[str | None, str | None],
    numbering_defaults: Mapping[str | None, bool],
    expression_keys: Mapping[str | None, str | None],
) -> _ColumnsRead:
    """Columns by table, their signature entries (see signature.table_signature), column
    names by attribute number (to name constraint and index keys) and row estimates, from
    the columns query. This loop runs once per column of the database, so it is kept to
    the bone: rows come grouped by table, a table's lists are looked up once, when its
    first row arrives, and each Column is built directly as a tuple (a NamedTuple's
    generated __new__ fills its defaults in Python)."""
    read = _ColumnsRead({}, {}, {}, {})
    current_schema = current_table = None
    append: Callable[[Column], None] = list[Column]().append  # replaced at the first row
    add_entry: Callable[[tuple[object, ...]], None] = list[tuple[object, ...]]().append
    names: dict[int, str] = {}
    for schema, table, estimate, name, attnum, type_, not_null, default, identity, generated, collation in rows:
        if table != current_table or schema != current_schema:
            current_schema, current_table = schema, table
            key = (schema, table)
            append = read.columns.setdefault(key, []).append
            add_entry = read.entries.setdefault(key, []).append
            names = read.attnames.setdefault(key, {})
            read.estimates[key] = estimate if estimate >= 0 else None
        if name is None:
            continue  # a table without columns
        names[attnum] = name
        nullable = not not_null
        # Column's fields in order (the last five only the models' side fills; the comment
        # is set afterwards, from the overview), and its signature entry as
        # signature.column_entry spells it.
        if generated is not None:
            append(_new_tuple(Column, (name, type_, nullable, None, None, generated, None, collation, None, False, None, None, None, None)))
            add_entry((name, type_keys[type_], nullable, False, None, expression_keys[generated], None, collation))
        elif identity:
            append(_new_tuple(Column, (name, type_, nullable, default, "identity_always" if identity == "a" else "identity", None, None,
                                       collation, None, False, None, None, None, None)))
            add_entry((name, type_keys[type_], nullable, True, None, None, None, collation))
        elif numbering_defaults[default]:  # nextval() of a sequence: SERIAL, spelled out by the server
            append(_new_tuple(Column, (name, type_, nullable, None, "serial", None, None, collation, None, False, None, None, None, None)))
            add_entry((name, type_keys[type_], nullable, True, None, None, None, collation))
        else:
            append(_new_tuple(Column, (name, type_, nullable, default, None, None, None, collation, None, False, None, None, None, None)))
            add_entry((name, type_keys[type_], nullable, False, default_keys[default], None, None, collation))
    return read


def _set_column_comment(read: _ColumnsRead, key: TableKey, column_name: str, comment: str) -> None:
    """A column's comment, and its signature entry's (the sixth field), set after the row loop."""
    columns, entries = read.columns[key], read.entries[key]
    for i, column in enumerate(columns):
        if column.name == column_name:
            columns[i] = column._replace(comment=comment)
            entries[i] = (*entries[i][:6], comment, *entries[i][7:])
            return


def _set_identity_options(read: _ColumnsRead, key: TableKey, column_name: str, options: str) -> None:
    """An identity column's sequence options (not compared: the signature stays)."""
    columns = read.columns[key]
    for i, column in enumerate(columns):
        if column.name == column_name:
            columns[i] = column._replace(identity_options=options)
            return


def _identity_options(start: int, increment: int, minimum: int, maximum: int, cache: int, cycle: bool) -> str:
    """An identity's sequence options as CREATE TABLE takes them, every one spelled out: the
    overview lists only sequences with some option other than the default."""
    return (f"START WITH {start} INCREMENT BY {increment} MINVALUE {minimum} MAXVALUE {maximum} CACHE {cache}"
            + (" CYCLE" if cycle else ""))


class _ColumnsRead(NamedTuple):
    columns: dict[TableKey, list[Column]]
    entries: dict[TableKey, list[tuple[object, ...]]]  # signature entries, one per column
    attnames: dict[TableKey, dict[int, str]]
    estimates: dict[TableKey, int | None]


def _fetch_tuples(conn: Connection, statement: sa.TextClause, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """All rows as the driver makes them: plain tuples. SQLAlchemy's Row objects would
    double the cost of taking in the columns query's rows (9 ms more at 1,000 tables),
    and the rows are only ever unpacked by position."""
    result = conn.execute(statement, params)
    try:
        return result.cursor.fetchall()  # type: ignore[return-value]  # a DB-API cursor: tuples
    finally:
        result.close()


def _by_table(rows: Iterable[Sequence[Any]]) -> dict[TableKey, list[Sequence[Any]]]:
    """Rows whose first three fields are the schema, the table and the object's name,
    grouped by table and sorted by name: the queries leave the order to the server (a
    sort there costs more than here, where it is done before the columns arrive), and a
    report should not depend on it."""
    grouped: dict[TableKey, list[Sequence[Any]]] = {}
    for row in rows:
        grouped.setdefault((row[0], row[1]), []).append(row)
    for group in grouped.values():
        if len(group) > 1:
            group.sort(key=_by_name)
    return grouped


_by_name = itemgetter(2)


_new_tuple = tuple.__new__


def _table(
    key: TableKey, columns: list[Column], estimate: int | None, attnames: dict[TableKey, dict[int, str]],
    constraint_rows: Iterable[Any], index_rows: Iterable[Any], opclasses: dict[int, str], comment: str | None,
) -> Table:
    """One table from its columns and its rows of the constraints and indexes queries,
    unpacked by position: attribute access on a result row costs about a microsecond, and
    this runs once per constraint and index of the database."""
    names = attnames.get(key, _NO_NAMES)
    primary_key: tuple[str, ...] = ()
    primary_key_name = None
    uniques, fks, checks = [], [], []
    for (_, _, name, kind, keys, ref_schema, ref_table, ref_keys, ref_names,
         on_delete, on_update, definition, _validated, deferrable, deferred) in constraint_rows:
        cols = tuple([names.get(k, "?") for k in keys]) if keys else ()
        if kind == "p":
            primary_key, primary_key_name = cols, name
        elif kind == "f":
            if ref_names is None:  # the referenced table was inspected too: name its columns here
                ref_attnames = attnames.get((ref_schema, ref_table), _NO_NAMES)
                ref_names = [ref_attnames.get(k, "?") for k in ref_keys or ()]
            fks.append(_new_tuple(ForeignKey, (name, cols, ref_schema, ref_table, tuple(ref_names), _FK_ACTIONS.get(on_delete),
                                               _FK_ACTIONS.get(on_update), deferrable, deferred)))
        elif kind == "u":
            uniques.append(UniqueConstraint(name, cols))
        elif kind == "c":
            checks.append(CheckConstraint(name, _check_body(definition)))
    indexes = []
    for _, _, name, is_unique, is_valid, method, predicate, keys, include_keys, key_options, key_opclasses, definitions in index_rows:
        if definitions is None:  # column keys only, the common case
            expressions = tuple([names.get(attnum, _UNKNOWN_KEY) for attnum in keys])
        else:
            expressions = _index_keys(keys, definitions, names)
        include = tuple([names.get(attnum, "?") for attnum in include_keys]) if include_keys else ()
        options: tuple[str, ...] = ()
        if key_options is not None:  # some key is DESC, NULLS FIRST or has an operator class of its own
            # indoption bits: 1 DESC, 2 NULLS FIRST (the server's defaults: NULLS LAST ascending, FIRST descending)
            options = tuple([
                index_element_options(opclasses.get(oid), bool(bits & 1), bool(bits & 2))
                for bits, oid in zip(key_options[: len(keys)], key_opclasses[: len(keys)], strict=False)
            ])
            if not any(options):
                options = ()
        # Records built directly as tuples, their fields in order (see _read_columns).
        indexes.append(_new_tuple(Index, (name, expressions, is_unique, predicate, method if method != "btree" else None, is_valid, include, options)))
    return Table(
        key[0], key[1], tuple(columns), primary_key, primary_key_name, tuple(indexes),
        tuple(uniques), tuple(fks), tuple(checks), comment, row_estimate=estimate,
    )


_NO_NAMES: dict[int, str] = {}
_UNKNOWN_KEY = Expression("(?)")  # a key whose column the catalog did not name


def _index_keys(keys: Sequence[int], definitions: Sequence[str], names: dict[int, str]) -> tuple[str, ...]:
    """Key columns by name, expression keys (attribute number 0) as their SQL in parentheses."""
    return tuple(
        names.get(attnum, _UNKNOWN_KEY) if attnum else Expression(f"({definitions[i]})") if i < len(definitions) else _UNKNOWN_KEY
        for i, attnum in enumerate(keys)
    )


def _check_body(definition: str) -> str:
    body = definition.strip()
    if body.upper().startswith("CHECK "):
        body = body[6:].strip()
    if body.upper().endswith(" NOT VALID"):
        body = body[: -len(" NOT VALID")].strip()
    while _wrapped_in_parens(body):
        body = body[1:-1].strip()
    return body
