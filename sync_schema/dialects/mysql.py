"""MySQL and MariaDB: catalog inspection in four set-based information_schema queries,
type and default spelling, online DDL and metadata-lock bounds.

DDL is not transactional here: every statement commits on its own (transactional_ddl is
False, so the applier runs each step by itself). Every step is one the next run's diff
detects again if it did not happen, and none loses data when it stops half-way.

Online DDL: an ALTER that the server can do in the data dictionary alone is asked for as
`ALGORITHM=INSTANT` (ADD / DROP COLUMN, SET / DROP DEFAULT, RENAME COLUMN / INDEX,
comments), with no LOCK clause (INSTANT with LOCK is an error), in an ALTER of its own
(one clause that is not instant makes the whole statement lose INSTANT). Refused (errors
1845, 1846), it is retried as `ALGORITHM=INPLACE, LOCK=NONE` (reads and writes go on);
refused again, it is left for review (`NeedsReview`): the tool never makes the server copy
a table unasked. Index builds and rebuilds (relaxing NOT NULL) ask for INPLACE directly.

A "schema" is a database of the server. The default schema is the URL's database
(DATABASE()); a table of the models with schema="other" lives in database `other` of the
same server. Every statement names the database the run inspected.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from functools import cache
from importlib.resources import files
from string import Template
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa

from ..database import run_sql
from ..snapshot import (
    CheckConstraint,
    Column,
    Expression,
    ForeignKey,
    Index,
    Snapshot,
    Table,
    TableKey,
    UniqueConstraint,
    index_element_options,
)
from .base import _OWN_DEFAULT, READ_LOCK_TIMEOUT, Dialect, NeedsReview, _lower_outside_quotes, milliseconds

if TYPE_CHECKING:
    from collections.abc import Collection

    from sqlalchemy.engine import Connection

# ER_ALTER_OPERATION_NOT_SUPPORTED(_REASON): the ALGORITHM or LOCK asked for is refused.
_REFUSED = frozenset({1845, 1846})
_INSTANT = ", ALGORITHM=INSTANT"
_INPLACE = ", ALGORITHM=INPLACE, LOCK=NONE"
_INPLACE_INDEX = " ALGORITHM=INPLACE LOCK=NONE"  # CREATE INDEX takes its options without commas
# MySQL 8.0.29+: a table's instant ADD / DROP COLUMNs count against 64 row versions; at the
# limit INSTANT is refused until the table is rebuilt. Near it, ask for INPLACE instead.
ROW_VERSION_LIMIT = 64
ROW_VERSION_MARGIN = 4
_INTEGERS = ("tinyint", "smallint", "mediumint", "int", "bigint")
_TYPE_ALIASES = {
    "integer": "int", "int1": "tinyint", "int2": "smallint", "int3": "mediumint", "middleint": "mediumint", "int4": "int",
    "int8": "bigint", "bool": "tinyint", "boolean": "tinyint", "numeric": "decimal", "dec": "decimal", "fixed": "decimal",
    "double precision": "double", "real": "double", "float4": "float", "float8": "double", "character varying": "varchar",
    "character": "char", "char varying": "varchar", "long varchar": "mediumtext", "long": "mediumtext",
    "long varbinary": "mediumblob", "nchar": "char", "nvarchar": "varchar", "national char": "char",
    "national varchar": "varchar", "national character": "char", "national character varying": "varchar",
}
# TEXT(n) and BLOB(n) are made the smallest type that holds n characters (bytes).
_SIZED_TYPES = {"text": ("tinytext", "text", "mediumtext", "longtext"), "blob": ("tinyblob", "blob", "mediumblob", "longblob")}
_BYTES_PER_CHARACTER = {"latin1": 1, "ascii": 1, "binary": 1, "utf8mb3": 3, "ucs2": 2, "utf16": 4, "utf32": 4}
_TYPE = re.compile(r"^(?P<base>[a-z][a-z0-9 ]*?)\s*(?:\((?P<args>.*)\))?$", re.DOTALL)
_NOW = re.compile(r"^(?:now|current_timestamp|localtimestamp|localtime)(?:\((?P<fsp>\d*)\))?$")
_ON_UPDATE = re.compile(r"\s+on\s+update\s+", re.IGNORECASE)
_EXTRA_ON_UPDATE = re.compile(r"on update (?P<expression>.+)$", re.IGNORECASE)
_CHARSET_INTRODUCER = re.compile(r"(?<![\w`])_[a-z][a-z0-9]*$")  # _utf8mb4'a': MySQL 8 writes them in CHECKs
# Functions MariaDB writes back under another of their names (lower(x) is stored as lcase(x)).
_FUNCTION_SYNONYMS = re.compile(r"\b(lcase|ucase|substr|current_timestamp\(\)|now\(\)|curdate|current_date\b|character_length)(?=\(|\b)")
_SYNONYM_OF = {"lcase": "lower", "ucase": "upper", "substr": "substring", "current_timestamp()": "now()", "now()": "now()",
               "curdate": "current_date", "current_date": "current_date", "character_length": "char_length"}
# DEFAULT CURRENT_DATE / CURRENT_TIME as the server writes them back (MariaDB: curdate(), curtime()).
_DATE_TIME_SYNONYMS = {"curdate()": "current_date", "current_date()": "current_date", "curtime()": "current_time", "current_time()": "current_time"}
# information_schema's text of an expression, on MySQL escaped once more; a literal in it.
_BACKSLASH_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'", re.DOTALL)
_NEGATED_NUMBER = re.compile(r"^-\(\s*([0-9.]+(?:e[+-]?[0-9]+)?)\s*\)$")  # MySQL keeps DEFAULT -1 as -(1)
_GROUP_CONCAT_LIMIT = 64 * 1024 * 1024  # bytes, per table
_PREFIXED_TYPE = re.compile(r"^(?:(?:var)?(?:char|binary)\((\d+)\)|(?:tiny|medium|long)?(?:text|blob)\b)")
_INT_TYPES = {"tinyint": (-(2**7), 2**7 - 1), "smallint": (-(2**15), 2**15 - 1), "mediumint": (-(2**23), 2**23 - 1),
              "int": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
_FK_ACTIONS = {"CASCADE": "CASCADE", "SET NULL": "SET NULL", "SET DEFAULT": "SET DEFAULT"}  # RESTRICT = NO ACTION in InnoDB
_SIMPLE_DEFAULT = re.compile(r"^(?:'(?:[^'\\]|''|\\.)*'|[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?|null|true|false|b'[01]*'|x'[0-9a-f]*')$", re.I)


@cache
def _sql_file(name: str) -> Template:
    """sql/mysql_<name>.sql, its $placeholders to fill in for the server (MySQL or MariaDB, version)."""
    return Template(files(__package__).joinpath("sql").joinpath(f"mysql_{name}.sql").read_text(encoding="utf-8"))


@cache
def _query(name: str, **parts: str) -> sa.TextClause:
    return sa.text(_sql_file(name).substitute(parts)).bindparams(sa.bindparam("schemas", expanding=True))


def literal(text: str) -> str:
    """`text` as a MySQL string literal: a backslash is an escape character there (unless
    NO_BACKSLASH_ESCAPES), so it is doubled as well as the quote."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def errno(exc: BaseException) -> int | None:
    """The server's error number of a PyMySQL / mysqlclient error (None for any other)."""
    args = getattr(getattr(exc, "orig", exc), "args", ())
    return args[0] if args and isinstance(args[0], int) else None


class MySQLDialect(Dialect):
    name = "mysql"
    exclusive_lock = "an exclusive metadata lock"
    queries_per_inspect = 4  # and one more on MySQL 8.0.29+, for the row versions (see __init__, fetch_catalog)
    fetch_in_background = True  # a PyMySQL / mysqlclient connection may be used from any thread, one at a time
    transactional_ddl = False  # every DDL statement commits by itself
    unique_constraints_are_indexes = True
    supports_identity = False  # AUTO_INCREMENT: SQLAlchemy renders Identity() as it
    reads_deferrable = False  # InnoDB checks every key at once (DEFERRABLE is a syntax error)
    restrict_is_no_action = True
    now_synonyms = ("current_timestamp", "now()", "current_timestamp()", "localtimestamp", "localtimestamp()", "localtime", "localtime()")

    def __init__(self, sa_dialect) -> None:  # type: ignore[no-untyped-def]
        super().__init__(sa_dialect)
        # DATABASE() as SQLAlchemy read it on connecting: the URL's database.
        self.default_schema = getattr(sa_dialect, "default_schema_name", None) or ""
        self.is_mariadb = bool(getattr(sa_dialect, "is_mariadb", False))
        self.server_version: tuple[int, ...] = tuple(getattr(sa_dialect, "server_version_info", None) or ())
        self.queries_per_inspect = 4 + self.counts_row_versions
        # Facts of the last catalog read, by table: size on disk (data and indexes), instant
        # row versions used (MySQL 8.0.29+), and the tables themselves (MODIFY COLUMN repeats
        # a column's whole definition: the database's own is taken, never the models').
        self.table_bytes: dict[TableKey, int] = {}
        self.row_versions: dict[TableKey, int] = {}
        self.tables: dict[TableKey, Table] = {}

    # -- server facts ----------------------------------------------------------------

    def _at_least(self, mariadb: tuple[int, ...], mysql: tuple[int, ...]) -> bool:
        return self.server_version >= (mariadb if self.is_mariadb else mysql)

    @property
    def instant(self) -> bool:
        """ALGORITHM=INSTANT is known (MariaDB 10.3, MySQL 8.0.12)."""
        return self._at_least((10, 3), (8, 0, 12))

    @property
    def counts_row_versions(self) -> bool:
        return not self.is_mariadb and self.server_version >= (8, 0, 29)

    @property
    def server(self) -> str:
        return ("MariaDB " if self.is_mariadb else "MySQL ") + ".".join(str(p) for p in self.server_version[:3])

    # -- inspection ----------------------------------------------------------------

    def fetch_catalog(self, conn: Connection, schemas: set[str] | None, lock_timeout: float = READ_LOCK_TIMEOUT) -> Iterator[Any]:
        # information_schema opens each table's definition: behind another session's
        # exclusive metadata lock (an ALTER at its commit) the read waits at most this.
        seconds = _whole_seconds(lock_timeout)
        # MySQL 8 caches table sizes and row counts for a day: read them fresh.
        fresh = ", information_schema_stats_expiry = 0" if not self.is_mariadb and self.server_version >= (8, 0, 3) else ""
        # GROUP_CONCAT's limit (MySQL's default is 1,024 bytes) raised for the packed columns.
        run_sql(conn, f"SET SESSION lock_wait_timeout = {seconds}, group_concat_max_len = {_GROUP_CONCAT_LIMIT}{fresh}")
        params = {"schemas": sorted(schemas) if schemas else [self.default_schema]}
        yield _fetch_tuples(conn, _query("tables"), params)
        yield _fetch_packed(conn, "columns", _PACKED_COLUMNS, params)
        checks = ""
        if self.is_mariadb and self.server_version >= (10, 2, 22):  # its CHECK_CONSTRAINTS names the table
            checks = _sql_file("checks").substitute(check_table="cc.TABLE_NAME", check_join="")
        elif not self.is_mariadb and self.server_version >= (8, 0, 16):  # a data dictionary view: a join is cheap
            checks = _sql_file("checks").substitute(check_table="tc.TABLE_NAME", check_join=(
                "JOIN information_schema.TABLE_CONSTRAINTS tc ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA "
                "AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME AND tc.CONSTRAINT_TYPE = 'CHECK'"))
        yield _fetch_tuples(conn, _query("constraints", checks=checks), params)
        expression = "s.EXPRESSION" if not self.is_mariadb and self.server_version >= (8, 0, 13) else "NULL"
        yield _fetch_packed(conn, "indexes", _PACKED_INDEXES, params, expression=expression)
        versions: list[tuple[Any, ...]] = []
        if self.counts_row_versions:
            try:
                versions = _fetch_tuples(conn, _query("row_versions"), params)
            except sa.exc.DBAPIError:
                pass  # no PROCESS privilege: INSTANT is asked for, and retried as INPLACE if refused
        yield versions

    def read_catalog(self, results: Iterator[Any]) -> Snapshot:
        schemas: set[str] = set()
        facts: dict[TableKey, tuple[str, str | None, int | None]] = {}  # collation, comment, row estimate
        charset_collations: dict[str, str] = {}  # each character set's default collation
        self.table_bytes, self.row_versions = {}, {}
        for kind, schema, table, collation, comment, rows, size in next(results):
            if kind == "c":
                charset_collations[table] = collation
                continue
            schemas.add(schema)
            if table is not None:
                facts[(schema, table)] = (collation or "", comment or None, None if rows is None else int(rows))
                self.table_bytes[(schema, table)] = int(size or 0)
        columns = self._read_columns(next(results), facts, charset_collations)
        foreign_keys, checks = _read_constraints(next(results), self._server_sql)
        indexes = _read_indexes(next(results), self._server_sql)
        self.row_versions = {(schema, table): int(n) for schema, table, n in next(results)}
        tables: dict[TableKey, Table] = {}
        for key, table_columns in columns.items():
            table_checks = checks.get(key, [])
            if self.is_mariadb:
                table_columns, table_checks = _json_columns(table_columns, table_checks)
            fks = foreign_keys.get(key, [])
            primary_key, table_indexes = indexes.get(key, ((), []))
            table = Table(
                key[0], key[1], tuple(table_columns), primary_key, None, tuple(_without_implicit_fk_indexes(table_indexes, fks)),
                (), tuple(fks), tuple(table_checks), facts[key][1], row_estimate=facts[key][2],
            )
            tables[key] = table
        self.tables = tables
        return Snapshot("mysql", self.default_schema, frozenset(schemas), tables, {})

    def _read_columns(
        self, rows: Iterable[Sequence[Any]], facts: dict[TableKey, tuple[str, str | None, int | None]], charset_collations: dict[str, str],
    ) -> dict[TableKey, list[Column]]:
        columns: dict[TableKey, list[Column]] = {}
        quoted_defaults = self.is_mariadb and self.server_version >= (10, 2, 7)  # MariaDB writes a literal default as SQL ('x'); MySQL bare (x)
        for schema, table, name, column_type, is_nullable, default, extra, generation, comment, charset, collation in rows:
            key = (schema, table)
            if key not in facts:
                continue  # a view's columns
            table_collation = facts[key][0]
            type_ = column_type
            own_collation = None
            if charset is not None and charset != table_collation.split("_", 1)[0]:
                own_collation = collation if collation != charset_collations.get(charset) else None
                if own_collation is None:  # a collation names its character set: the type need not
                    type_ += f" character set {charset}"  # as SQLAlchemy spells String(charset=...)
            elif collation is not None and collation != table_collation:
                own_collation = collation
            extra = extra or ""
            low = extra.lower()
            generated = self._server_sql(generation) if generation else None
            if generated is not None or "generated" in low and ("virtual" in low or "stored" in low):
                columns.setdefault(key, []).append(Column(name, type_, is_nullable == "YES", None, None, generated or "?", comment or None, own_collation))
                continue
            if default is not None and quoted_defaults:
                if default == "NULL":
                    default = None  # no default: a literal 'NULL' would be quoted
                else:
                    default = self._server_sql(default)
            elif default is not None and "default_generated" not in low and not _NOW.match(default.lower()):
                default = literal(default)  # a literal shown bare ('x' as x): quoted, as the models spell it
            elif default is not None:
                default = self._server_sql(default)  # an expression (MySQL 8.0.13+)
            on_update = _EXTRA_ON_UPDATE.search(extra)
            if on_update:
                default = f"{default or 'NULL'} ON UPDATE {on_update.group('expression')}"
            autoincrement = "auto_increment" if "auto_increment" in low else None
            columns.setdefault(key, []).append(Column(name, type_, is_nullable == "YES", default, autoincrement, None, comment or None, own_collation))
        for key in facts:
            columns.setdefault(key, [])  # every table of the overview has its entry, even one read without its columns
        return columns

    def _server_sql(self, sql: str) -> str:
        """An expression as information_schema shows it (a CHECK, a generated column, a key
        part, an expression default), as SQLAlchemy would write it. MySQL escapes that text
        once more ('a' as \\'a\\'): undone. Both servers escape a quote inside a literal
        with a backslash (it\\'s), SQLAlchemy doubles it (it''s)."""
        if not self.is_mariadb:
            sql = _BACKSLASH_ESCAPE.sub(r"\1", sql)
        if "\\'" not in sql:
            return sql
        return _LITERAL.sub(lambda m: _BACKSLASH_ESCAPE.sub(lambda e: "''" if e.group(1) == "'" else e.group(0), m.group(0)), sql)

    def respell_expressions(
        self, conn: Connection, desired: Snapshot, actual: Snapshot,
        indexes: Collection[tuple[TableKey, str]], checks: Collection[tuple[TableKey, str]] = (),
    ) -> Snapshot:
        """What SQLAlchemy keeps as index options rather than in the index's SQL: a key's
        prefix length (mysql_length) and FULLTEXT / SPATIAL (mysql_prefix), taken from the
        models' Index itself. No query: the server need not be asked."""
        respelled: dict[TableKey, dict[str, Index]] = {}
        for key, name in indexes:
            table, existing = desired.tables.get(key), actual.tables.get(key)
            source = table.source.indexes.get(name) if table is not None and table.source is not None else None  # type: ignore[attr-defined]
            if table is None or existing is None or source is None:
                continue
            index = next((ix for ix in table.indexes if ix.name == name), None)
            if index is None:
                continue
            options = {k.split("_", 1)[1]: v for k, v in source.kwargs.items() if k.startswith(("mysql_", "mariadb_")) and v is not None}
            lengths = options.get("length")
            prefix, using = str(options.get("prefix") or "").lower(), str(options.get("using") or "").lower()
            method = prefix if prefix in ("fulltext", "spatial") else using if using in ("hash",) else None
            was = next((ix for ix in existing.indexes if ix.name == name), None)
            if method == "hash" and was is not None and was.method is None:
                method = None  # InnoDB builds a BTREE for USING HASH
            element_options = list(index.options or ("",) * len(index.expressions))
            types = {c.name: c.type for c in table.columns}
            for i, element in enumerate(index.expressions):
                # An int is every key part's prefix (as SQLAlchemy renders it), a dict names the columns.
                length = lengths.get(element) if isinstance(lengths, dict) else lengths if isinstance(lengths, int) else None
                if length and not isinstance(element, Expression) and _keeps_prefix(self.type_key(types.get(element, "")), int(length)):
                    descending = "DESC" in element_options[i]
                    element_options[i] = index_element_options(f"({int(length)})", descending, None)
            respelled.setdefault(key, {})[name] = index._replace(method=method, options=tuple(element_options) if any(element_options) else ())
        if not respelled:
            return desired
        tables = dict(desired.tables)
        for key, by_name in respelled.items():
            tables[key] = replace(tables[key], indexes=tuple(by_name.get(ix.name or "", ix) for ix in tables[key].indexes))
        return replace(desired, tables=tables)

    # -- comparison keys -----------------------------------------------------------

    def _normalize_type(self, type_: str) -> str:
        """A type as information_schema.COLUMNS.COLUMN_TYPE spells it, display widths and
        the server's defaults made explicit: INTEGER = int(11), BOOL = tinyint(1),
        NUMERIC = decimal(10,0), FLOAT(53) = double, TEXT(1000) = text,
        NATIONAL VARCHAR(3) = varchar(3) character set utf8mb3."""
        text = _lower_outside_quotes(type_).strip()
        charset = None
        if text.startswith("national "):
            charset, text = "utf8mb3", text[len("national "):]
        elif text.startswith(("nchar", "nvarchar")):
            charset = "utf8mb3"
        match = re.search(r"\s(?:character set|charset)\s+([a-z0-9_]+)", _outside_quotes_mask(text))
        if match:
            charset = text[match.start(1) : match.end(1)]
            text = (text[: match.start()] + text[match.end() :]).strip()
        if charset == "utf8":
            charset = "utf8mb3"
        flags: list[str] = []
        for flag in ("zerofill", "unsigned", "signed", "binary"):
            if re.search(rf"\s{flag}\b", _outside_quotes_mask(text)):
                text = re.sub(rf"\s{flag}\b", "", text, count=1) if flag != "binary" or not text.startswith("binary") else text
                flags.append(flag)
        if "zerofill" in flags and "unsigned" not in flags:
            flags.append("unsigned")  # ZEROFILL implies UNSIGNED
        parsed = _TYPE.match(text)
        if not parsed:
            return " ".join(text.split())
        base = " ".join(parsed.group("base").split())
        args = _without_spaces(parsed.group("args") or "")
        if base in ("bool", "boolean"):
            base, args = "tinyint", "1"
        base = _TYPE_ALIASES.get(base, base)
        if base in _INTEGERS:
            args = "1" if base == "tinyint" and args == "1" else ""  # display widths mean nothing, but tinyint(1) is a Boolean
        elif base == "decimal":
            args = "10,0" if not args else args if "," in args else f"{args},0"
        elif base == "float" and args and "," not in args:
            base, args = ("float" if int(args) <= 24 else "double"), ""
        elif base in ("char", "binary", "bit") and not args:
            args = "1"
        elif base in ("year",) or base in ("datetime", "time", "timestamp") and args == "0":
            args = ""
        elif base in _SIZED_TYPES and args:
            size = int(args) * (_BYTES_PER_CHARACTER.get(charset or "", 4) if base == "text" else 1)
            base, args = _SIZED_TYPES[base][0 if size < 2**8 else 1 if size < 2**16 else 2 if size < 2**24 else 3], ""
        kept: list[str] = [f for f in ("unsigned", "zerofill") if f in flags]
        if "binary" in flags and base in ("char", "varchar", "text", "tinytext", "mediumtext", "longtext", "enum", "set"):
            kept.append("binary")
        return f"{base}{f'({args})' if args else ''}{''.join(' ' + f for f in kept)}{f' character set {charset}' if charset else ''}"

    def model_type_and_collation(self, type_sql: str, collation: str | None) -> tuple[str, str | None]:
        """A collation names its character set (utf8mb3_bin: utf8mb3): where a column has
        one, its type does not repeat the charset, as the catalog reader spells it too
        (String(collation="utf8mb3_bin") = VARCHAR(n) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin)."""
        if collation is not None and " CHARACTER SET " in type_sql.upper():
            type_sql = re.sub(r"\s+CHARACTER SET\s+\w+", "", type_sql, count=1, flags=re.IGNORECASE)
        return type_sql, collation

    def _normalize_default(self, default: str) -> str | None:
        """Normalized as on any server, then the spellings MySQL treats as one:
        true = 1, CURRENT_TIMESTAMP(6) = now(6); ON UPDATE is compared part by part."""
        parts = _ON_UPDATE.split(default.strip(), maxsplit=1)
        keys = []
        for part in parts:
            key = super()._normalize_default(part)
            if key is not None and _NEGATED_NUMBER.match(key):
                key = super()._normalize_default(_NEGATED_NUMBER.sub(r"-\1", key))
            if key in ("true", "false"):
                key = "1" if key == "true" else "0"
            elif key is not None:
                now = _NOW.match(key)
                if now:
                    key = f"now({now.group('fsp')})" if now.group("fsp") not in (None, "", "0") else "now()"
                elif not _SIMPLE_DEFAULT.match(key) and key not in _DATE_TIME_SYNONYMS:
                    # An expression (concat('a', 'b')): no server call re-spells the models'
                    # here, so compared as any expression is (spaces, backquotes, introducers).
                    key = self.expression_key(key)
            keys.append(_DATE_TIME_SYNONYMS.get(key, key) if key else "null")
        if keys == ["null"]:
            return None
        return " on update ".join(keys)

    def _strip_inner_casts(self, sql: str) -> str:
        # Backquoted names (`i` + 1) and charset introducers (_utf8mb4'a') are how the
        # server writes what SQLAlchemy writes bare.
        sql = _FUNCTION_SYNONYMS.sub(lambda m: _SYNONYM_OF[m.group(1)], sql.replace("`", ""))
        return _CHARSET_INTRODUCER.sub("", sql)

    def autoincrement_kind(self, type_key: str) -> str | None:
        return "auto_increment" if type_key.split("(")[0].split(" ")[0] in _INTEGERS else None

    # -- DDL -----------------------------------------------------------------------

    def create_schema_sql(self, schema: str) -> str:
        return f"CREATE DATABASE IF NOT EXISTS {self.quote(schema)}"

    def column_sql(self, column: Column, *, force_nullable: bool = False, default: str | None | object = _OWN_DEFAULT) -> str:
        """The column's definition as MODIFY / ADD COLUMN take it: type, collation, generation
        or default (with its ON UPDATE), NULL, AUTO_INCREMENT, comment."""
        parts = [self.quote(column.name), column.type]
        if column.collation is not None:
            parts.append(f"COLLATE {column.collation}")
        default = column.default if default is _OWN_DEFAULT else default
        if column.generated is not None:
            parts.append(f"GENERATED ALWAYS AS ({column.generated}) STORED")
        parts.append("NULL" if column.nullable or force_nullable else "NOT NULL")
        if column.generated is None and isinstance(default, str):
            parts.append(f"DEFAULT {_default_clause(default)}")
        if column.autoincrement:
            parts.append("AUTO_INCREMENT")
        if column.comment is not None:
            parts.append(f"COMMENT {literal(column.comment)}")
        return " ".join(parts)

    def comment_sql(self, table: Table, column_name: str | None, comment: str | None) -> str | None:
        target = self.table_name(table.schema, table.name)
        if column_name is None:
            return f"ALTER TABLE {target} COMMENT = {literal(comment or '')}{self._instant(table)}"
        column = self._existing_column(table, column_name)
        if column is None:
            return None
        return f"ALTER TABLE {target} MODIFY COLUMN {self.column_sql(column._replace(comment=comment))}{self._instant(table)}"

    def create_table_sql(self, table: Table, foreign_keys: tuple[ForeignKey, ...]) -> list[str]:
        if table.source is not None:
            return super().create_table_sql(table, foreign_keys)  # SQLAlchemy's own, comments inline
        lines = [self.column_sql(c) for c in table.columns]
        if table.primary_key:
            lines.append(f"PRIMARY KEY ({self.columns_list(table.primary_key)})")
        lines += [self.unique_sql(u) for u in table.uniques]
        lines += [self.check_sql(c) for c in table.checks]
        lines += [self.foreign_key_sql(fk) for fk in foreign_keys]
        comment = f" COMMENT={literal(table.comment)}" if table.comment is not None else ""
        return [f"CREATE TABLE {self.table_name(table.schema, table.name)} (\n    " + ",\n    ".join(lines) + f"\n){comment}"]

    def create_index_sql(self, table: Table, index: Index) -> str:
        if table.source is not None and index.name in table.source.indexes:  # type: ignore[attr-defined]
            return super().create_index_sql(table, index)
        kind = "UNIQUE " if index.unique else f"{index.method.upper()} " if index.method in ("fulltext", "spatial") else ""
        elements = [e if isinstance(e, Expression) else self.quote(e) for e in index.expressions]
        if index.options:
            elements = [f"{e} {o}" if o else e for e, o in zip(elements, index.options, strict=False)]
        using = " USING HASH" if index.method == "hash" else ""
        return f"CREATE {kind}INDEX {self.quote(index.name or '')} ON {self.table_name(table.schema, table.name)} ({', '.join(elements)}){using}"

    def create_index_steps(self, table: Table, index: Index, online: bool, replace: bool = False) -> tuple[list[str], bool, tuple[str, ...]]:
        sql = [self.create_index_sql(table, index)]
        hazards: tuple[str, ...] = ()
        if online:  # on a table with rows: reads and writes go on while the index is built
            sql[0] += _INPLACE_INDEX
            hazards = (f"builds the index in place (ALGORITHM=INPLACE, LOCK=NONE{self._size(table)}): reads and writes go on",)
        if replace:
            sql.insert(0, self.drop_index_sql(table, index))
        return sql, True, hazards

    def add_unique_steps(self, table: Table, unique: UniqueConstraint, online: bool) -> tuple[list[str], bool]:
        return [f"ALTER TABLE {self.table_name(table.schema, table.name)} ADD {self.unique_sql(unique)}{_INPLACE if online else ''}"], True

    def add_columns_sql(self, table: Table, columns: list[tuple[Column, str | None]]) -> list[str]:
        target = self.table_name(table.schema, table.name)
        clauses = ", ".join(f"ADD COLUMN {self.column_sql(c, default=d)}" for c, d in columns)
        return [f"ALTER TABLE {target} {clauses}{self._instant(table, row_versions=True)}"]

    def add_columns_hazards(self, table: Table) -> tuple[str, ...]:
        used = self.row_versions.get(table.key)
        if used is None or self._instant(table, row_versions=True) == _INSTANT:
            return ()
        return (f"{used} of the table's {ROW_VERSION_LIMIT} instant row versions are used: rebuilt in place "
                f"(ALGORITHM=INPLACE, LOCK=NONE{self._size(table)}) instead, which resets them",)

    def drop_column_sql(self, table: Table, column_name: str) -> str:
        return f"ALTER TABLE {self.table_name(table.schema, table.name)} DROP COLUMN {self.quote(column_name)}{self._instant(table, row_versions=True)}"

    def add_foreign_key_steps(self, table: Table, fk: ForeignKey) -> tuple[list[str], bool]:
        # With foreign_key_checks on, the server adds a key only by copying the table. Off,
        # it adds it in place, reads and writes going on, without checking existing rows:
        # the planner's precheck has just counted the orphans (zero, or the step is refused).
        return [
            "SET SESSION foreign_key_checks = 0",
            f"ALTER TABLE {self.table_name(table.schema, table.name)} ADD {self.foreign_key_sql(fk)}{_INPLACE}",
            "SET SESSION foreign_key_checks = 1",
        ], True

    def add_check_steps(self, table: Table, check: CheckConstraint) -> tuple[list[str], bool]:
        return [f"ALTER TABLE {self.table_name(table.schema, table.name)} ADD {self.check_sql(check)}{_INPLACE}"], True

    def _existing_column(self, table: Table, column_name: str) -> Column | None:
        """The database's own definition of a column (MODIFY COLUMN repeats all of it), else
        the models' (a column this run adds)."""
        existing = self.tables.get(table.key)
        column = existing.column(column_name) if existing is not None else None
        return column if column is not None else table.column(column_name)

    def _modify(self, table: Table, column: Column, tail: str = _INPLACE) -> str:
        return f"ALTER TABLE {self.table_name(table.schema, table.name)} MODIFY COLUMN {self.column_sql(column)}{tail}"

    def alter_type_sql(self, table: Table, column: Column) -> str | None:
        existing = self._existing_column(table, column.name) or column
        return self._modify(table, existing._replace(type=column.type, collation=column.collation))

    def type_change_sql(self, table: Table, old: Column, new: Column) -> list[str]:
        # The database's column with the models' type: nullability, default and the rest
        # are other changes, each with its own allowance.
        tail = self._instant(table) if self.safe_type_change(old, new) else _INPLACE
        return [self._modify(table, old._replace(type=new.type, collation=new.collation), tail)]

    def safe_type_change(self, old: Column, new: Column) -> tuple[str, ...] | None:
        """Values appended to an ENUM or a SET, their storage size the same: the server
        changes only the table's metadata (INSTANT), existing values keep their numbers."""
        before, after = _members(self.type_key(old.type)), _members(self.type_key(new.type))
        if before is None or after is None or before[0] != after[0] or old.collation != new.collation:
            return None
        kind, old_values, old_rest = before
        _, new_values, new_rest = after
        if old_rest != new_rest or len(new_values) <= len(old_values) or new_values[: len(old_values)] != old_values:
            return None
        if _member_bytes(kind, len(old_values)) != _member_bytes(kind, len(new_values)):
            return None
        return (f"appends {kind.upper()} values: metadata only (ALGORITHM=INSTANT)",)

    def unconvertible_rows_sql(self, table: Table, column_name: str, old_type: str, new_type: str) -> tuple[str, ...]:
        """Counts the rows a type change would cut (strict mode makes the ALTER itself fail
        on them too, with nothing changed: this names the count first)."""
        col, new = self.quote(column_name), self.type_key(new_type)
        sized = re.match(r"^(?:var)?char\((\d+)\)", new)
        base = new.split("(")[0].split(" ")[0]
        if sized:
            condition = f"CHAR_LENGTH({col}) > {sized.group(1)}"
        elif base in _INT_TYPES:
            low, high = _INT_TYPES[base]
            if " unsigned" in new:
                low, high = 0, high * 2 + 1
            condition = (f"NOT CAST({col} AS CHAR) REGEXP '^[[:space:]]*[-+]?[0-9]+[[:space:]]*$' "
                         f"OR CAST({col} AS DECIMAL(65,0)) NOT BETWEEN {low} AND {high}")
        else:
            decimal = re.match(r"^decimal\((\d+),(\d+)\)", new)
            if not decimal or not self.type_key(old_type).startswith(("decimal", *_INTEGERS, "float", "double")):
                return ()
            precision, scale = int(decimal.group(1)), int(decimal.group(2))
            condition = f"{col} <> ROUND({col}, {scale}) OR ABS({col}) >= POW(10, {precision - scale})"
        return (f"SELECT count(*) FROM {self.table_name(table.schema, table.name)} WHERE {col} IS NOT NULL AND ({condition})",)

    def set_not_null_sql(self, table: Table, column_name: str) -> str | None:
        column = self._existing_column(table, column_name)
        return None if column is None else self._modify(table, column._replace(nullable=False))

    def set_not_null_steps(self, table: Table, column_name: str) -> tuple[list[str], bool, tuple[str, ...]]:
        sql = self.set_not_null_sql(table, column_name)
        return ([sql] if sql else []), True, (f"rebuilds the table in place (ALGORITHM=INPLACE, LOCK=NONE{self._size(table)}): reads and writes go on",)

    def drop_not_null_sql(self, table: Table, column_name: str) -> str | None:
        column = self._existing_column(table, column_name)
        return None if column is None else self._modify(table, column._replace(nullable=True))

    def relax_not_null_steps(self, table: Table, column: Column) -> tuple[list[str], tuple[str, ...], bool]:
        """Making a column NULL rebuilds the table here (MariaDB may do it instantly; MySQL
        never does). In place, reads and writes go on, but a big table takes long and
        needs its size again in free disk: above the size limit, left for review."""
        sql = self._modify(table, column._replace(nullable=True))
        size = self.table_bytes.get(table.key)
        if size is not None and size > self.rebuild_limit:
            return [sql], (f"rebuilds the table ({_megabytes(size)}, over the {_megabytes(self.rebuild_limit)} limit of "
                           "rebuild_limit): run it in a quiet hour, or raise the limit",), False
        return [sql], (f"rebuilds the table in place (ALGORITHM=INPLACE, LOCK=NONE{self._size(table)}): reads and writes go on",), True

    def set_default_sql(self, table: Table, column_name: str, default: str | None) -> str | None:
        target = self.table_name(table.schema, table.name)
        if default is not None and (_ON_UPDATE.search(default) or not self._at_least((10, 2), (8, 0, 13)) and not _SIMPLE_DEFAULT.match(default)):
            # ON UPDATE is part of the column's definition: only MODIFY COLUMN sets it.
            column = self._existing_column(table, column_name)
            return None if column is None else self._modify(table, column._replace(default=default), self._instant(table))
        action = "DROP DEFAULT" if default is None else f"SET DEFAULT {_default_clause(default)}"
        return f"ALTER TABLE {target} ALTER COLUMN {self.quote(column_name)} {action}{self._instant(table)}"

    def rename_table_sql(self, table: Table, new_name: str) -> str:
        # RENAME TO with a bare name would move the table into the session's database.
        return f"RENAME TABLE {self.table_name(table.schema, table.name)} TO {self.table_name(table.schema, new_name)}"

    def rename_column_sql(self, table: Table, old: str, new: str) -> str:
        return f"{super().rename_column_sql(table, old, new)}{self._instant(table)}"

    def rename_index_sql(self, table: Table, old: str, new: str) -> str | None:
        return f"ALTER TABLE {self.table_name(table.schema, table.name)} RENAME INDEX {self.quote(old)} TO {self.quote(new)}{self._instant(table)}"

    def drop_index_sql(self, table: Table, index: Index) -> str:
        # IF EXISTS (MariaDB): dropping a column drops the indexes on it, a step run earlier.
        exists = "IF EXISTS " if self.is_mariadb else ""
        return f"DROP INDEX {exists}{self.quote(index.name or '')} ON {self.table_name(table.schema, table.name)}"

    def _instant(self, table: Table, row_versions: bool = False) -> str:
        """The clause of a change the server may make in its data dictionary alone."""
        if not self.instant:
            return _INPLACE
        if row_versions and self.row_versions.get(table.key, 0) >= ROW_VERSION_LIMIT - ROW_VERSION_MARGIN:
            return _INPLACE
        return _INSTANT

    def _size(self, table: Table) -> str:
        size = self.table_bytes.get(table.key)
        return f"; {_megabytes(size)}" if size else ""

    # -- applying ------------------------------------------------------------------

    def run_ddl(self, conn: Connection, sql: str) -> None:
        """INSTANT refused: INPLACE with LOCK=NONE; refused too: left for review, since the
        server would only do it by copying the table (writes wait the whole copy)."""
        try:
            run_sql(conn, sql)
            return
        except sa.exc.DBAPIError as exc:
            if errno(exc) not in _REFUSED:
                raise
            refusal: sa.exc.DBAPIError = exc
        if sql.endswith(_INSTANT):
            try:
                run_sql(conn, sql[: -len(_INSTANT)] + _INPLACE)
                return
            except sa.exc.DBAPIError as exc:
                if errno(exc) not in _REFUSED:
                    raise
                refusal = exc
        args: tuple[object, ...] = getattr(refusal.orig, "args", ())
        reason = str(args[1] if len(args) > 1 else refusal.orig).strip().splitlines()[0]
        raise NeedsReview(f"not done: {self.server} would copy the table, writes waiting meanwhile ({reason}); run it in a quiet hour")

    def bound_locks(self, conn: Connection, lock_timeout: float, statement_timeout: float, local: bool = True) -> None:
        # lock_wait_timeout bounds the wait for a metadata lock (an ALTER's; its default is a
        # year), innodb_lock_wait_timeout for a row lock; both whole seconds, at least 1.
        # MariaDB's max_statement_time bounds any statement; MySQL's max_execution_time
        # only SELECTs. Strict mode: a change that would cut a value fails instead.
        seconds = _whole_seconds(lock_timeout)
        bound = f"max_statement_time = {statement_timeout:.3f}" if self.is_mariadb else f"max_execution_time = {milliseconds(statement_timeout)}"
        conn.exec_driver_sql(
            f"SET SESSION lock_wait_timeout = {seconds}, innodb_lock_wait_timeout = {seconds}, {bound}, "
            "sql_mode = IF(FIND_IN_SET('STRICT_ALL_TABLES', @@SESSION.sql_mode), @@SESSION.sql_mode, "
            "CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES'))"
        )

    @property
    def run_lock_name(self) -> str:
        """GET_LOCK names are server-wide (64 characters at most): one per database."""
        name = f"sync_schema.{self.default_schema}"
        return name if len(name) <= 64 else "sync_schema." + hashlib.sha1(self.default_schema.encode()).hexdigest()

    def try_run_lock(self, conn: Connection) -> bool:
        taken = conn.execute(sa.text("SELECT GET_LOCK(:name, 0)"), {"name": self.run_lock_name}).scalar()
        conn.commit()  # the lock belongs to the session, not the transaction
        return taken == 1

    def release_run_lock(self, conn: Connection) -> None:
        conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": self.run_lock_name})
        conn.commit()


def _members(type_key: str) -> tuple[str, list[str], str] | None:
    """(enum or set, its values, what follows) of an ENUM or SET type's key."""
    match = re.match(r"^(enum|set)\((.*)\)((?: [a-z0-9_ ]+)?)$", type_key, re.DOTALL)
    if not match:
        return None
    return match.group(1), re.findall(r"'((?:[^']|'')*)'", match.group(2)), match.group(3)


def _member_bytes(kind: str, count: int) -> int:
    """Bytes a row's ENUM (1 up to 255 values, else 2) or SET (1, 2, 3, 4 or 8) takes."""
    if kind == "enum":
        return 1 if count <= 255 else 2
    return (count + 7) // 8 if count <= 32 else 8


def _keeps_prefix(type_key: str, length: int) -> bool:
    """Whether the server keeps a key part's prefix length: on a string or binary column
    only (MariaDB drops one on DATETIME(6)), and only one shorter than the column (an equal
    one is dropped: the whole column is indexed)."""
    match = _PREFIXED_TYPE.match(type_key)
    return match is not None and (match.group(1) is None or length < int(match.group(1)))


def _whole_seconds(seconds: float) -> int:
    """lock_wait_timeout takes whole seconds; less than 1 would mean no wait at all (MariaDB) or is refused (MySQL)."""
    return max(1, math.ceil(seconds))


def _megabytes(size: int) -> str:
    """A size as a person reads it: 1.2 GB, 310.5 MB, 16 kB."""
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def _default_clause(default: str) -> str:
    """A default as DEFAULT takes it: a literal, a number or CURRENT_TIMESTAMP as it is,
    any other expression in parentheses (MySQL 8.0.13+ and MariaDB take those)."""
    parts = _ON_UPDATE.split(default.strip(), maxsplit=1)
    head = parts[0]
    if not (_SIMPLE_DEFAULT.match(head) or _NOW.match(head.lower()) or head.startswith("(")):
        head = f"({head})"
    return head if len(parts) == 1 else f"{head} ON UPDATE {parts[1]}"


def _outside_quotes_mask(text: str) -> str:
    """`text` with every quoted literal's inside blanked (same length), for searching keywords."""
    return re.sub(r"'(?:[^']|'')*'", lambda m: "'" + " " * (len(m.group(0)) - 2) + "'", text)


def _without_spaces(args: str) -> str:
    """Type arguments without the spaces outside quotes: (10, 2) = (10,2), ('a', 'b') = ('a','b')."""
    out, last = [], 0
    for m in re.finditer(r"'(?:[^']|'')*'", args):
        out.append(re.sub(r"\s+", "", args[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(re.sub(r"\s+", "", args[last:]))
    return "".join(out)


def _unpacked(tables: list[tuple[Any, ...]], layout: _Packing) -> list[tuple[Any, ...]] | None:
    """A packed query's rows (a table each: schema, table, count, records) as its plain
    query's (a record each: schema, table, then the record's fields but the first, which
    orders the table's records); None where a table's records or fields do not count up (a
    separator inside a value, a cut GROUP_CONCAT): the caller then asks the plain query."""
    rows: list[tuple[Any, ...]] = []
    nullable, integers, fields, key = layout
    for schema, table, count, packed in tables:
        if isinstance(packed, bytes):
            packed = packed.decode("utf-8")
        records = [record.split("\x1f") for record in (packed or "").split("\x1d")]
        if len(records) != count or any(len(record) != fields for record in records):
            return None
        records.sort(key=key)
        for record in records:
            values: list[Any] = record[1:]
            for i in nullable:
                values[i - 1] = values[i - 1][1:] if values[i - 1] else None
            for i in integers:
                values[i - 1] = None if values[i - 1] is None else int(values[i - 1])
            rows.append((schema, table, *values))
    return rows


class _Packing(NamedTuple):
    """A packed query's records: the fields that may be NULL and those that are numbers
    (by position), how many fields, and the order of a table's records (the plain query's
    ORDER BY)."""

    nullable: frozenset[int]
    integers: frozenset[int]
    fields: int
    key: Callable[[list[str]], Any]


# mysql_columns_packed.sql: ORDINAL_POSITION, then mysql_columns.sql's fields after the table.
_PACKED_COLUMNS = _Packing(frozenset({4, 6, 8, 9}), frozenset(), 10, lambda record: int(record[0]))
# mysql_indexes_packed.sql: SEQ_IN_INDEX, then mysql_indexes.sql's fields after the table.
_PACKED_INDEXES = _Packing(frozenset({3, 4, 5, 7}), frozenset({2, 4}), 8, lambda record: (record[1], int(record[0])))


def _fetch_packed(conn: Connection, name: str, layout: _Packing, params: dict[str, Any], **parts: str) -> list[tuple[Any, ...]]:
    """mysql_<name>.sql's rows, read through mysql_<name>_packed.sql where they unpack."""
    rows = _unpacked(_fetch_tuples(conn, _query(f"{name}_packed", **parts), params), layout)
    return rows if rows is not None else _fetch_tuples(conn, _query(name, **parts), params)


def _fetch_tuples(conn: Connection, statement: sa.TextClause, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    result = conn.execute(statement, params)
    try:
        return result.cursor.fetchall()  # type: ignore[return-value]  # a DB-API cursor: tuples
    finally:
        result.close()


def _read_constraints(rows: Iterable[Sequence[Any]], server_sql: Callable[[str], str]) -> tuple[dict[TableKey, list[ForeignKey]], dict[TableKey, list[CheckConstraint]]]:
    """Foreign keys from their column rows ('k') and action rows ('r'), CHECKs ('c')."""
    parts: dict[tuple[str, str, str], list[Sequence[Any]]] = {}
    actions: dict[tuple[str, str, str], tuple[str | None, str | None]] = {}
    checks: dict[TableKey, list[CheckConstraint]] = {}
    for kind, schema, table, name, text, position, ref_schema, ref_table, ref_column in rows:
        if kind == "k":
            parts.setdefault((schema, table, name), []).append((position, text, ref_schema, ref_table, ref_column))
        elif kind == "r":
            actions[(schema, table, name)] = (_FK_ACTIONS.get(text), _FK_ACTIONS.get(ref_column))  # DELETE_RULE, UPDATE_RULE
        else:
            checks.setdefault((schema, table), []).append(CheckConstraint(name, server_sql(text)))
    fks: dict[TableKey, list[ForeignKey]] = {}
    for (schema, table, name), key_rows in sorted(parts.items()):
        key_rows.sort(key=lambda r: r[0])
        _, _, ref_schema, ref_table, _ = key_rows[0]
        on_delete, on_update = actions.get((schema, table, name), (None, None))
        fks.setdefault((schema, table), []).append(ForeignKey(
            name, tuple(r[1] for r in key_rows), ref_schema, ref_table, tuple(r[4] for r in key_rows), on_delete, on_update,
        ))
    for table_checks in checks.values():
        table_checks.sort(key=lambda c: c.name or "")
    return fks, checks


def _read_indexes(rows: Iterable[Sequence[Any]], server_sql: Callable[[str], str]) -> dict[TableKey, tuple[tuple[str, ...], list[Index]]]:
    """Per table: the primary key's columns and the other indexes, unique keys included."""
    grouped: dict[tuple[str, str, str], list[Sequence[Any]]] = {}
    for row in rows:
        grouped.setdefault((row[0], row[1], row[2]), []).append(row)
    tables: dict[TableKey, tuple[tuple[str, ...], list[Index]]] = {}
    for (schema, table, name), parts in grouped.items():
        primary_key, indexes = tables.setdefault((schema, table), ((), []))
        if name == "PRIMARY":
            tables[(schema, table)] = (tuple(r[4] for r in parts), indexes)
            continue
        expressions: list[str] = []
        options: list[str] = []
        for _, _, _, _, column, sub_part, collation, _, expression in parts:
            expressions.append(Expression(f"({server_sql(expression)})") if expression else column)
            options.append(index_element_options(f"({sub_part})" if sub_part else None, collation == "D", None))
        index_type = (parts[0][7] or "BTREE").lower()
        indexes.append(Index(name, tuple(expressions), not int(parts[0][3]), None, None if index_type == "btree" else index_type, True, (),
                             tuple(options) if any(options) else ()))
    for _, indexes in tables.values():
        indexes.sort(key=lambda ix: ix.name or "")
    return tables


def _without_implicit_fk_indexes(indexes: list[Index], fks: list[ForeignKey]) -> list[Index]:
    """InnoDB makes an index for a foreign key that has none, named after the constraint
    (or its first column): not the models' business, so not reported as extra."""
    if not fks:
        return indexes
    implicit = {(name, fk.columns) for fk in fks for name in (fk.name, fk.columns[0]) if name}
    return [ix for ix in indexes if ix.unique or ix.options or (ix.name, tuple(ix.expressions)) not in implicit]


def _json_columns(columns: list[Column], checks: list[CheckConstraint]) -> tuple[list[Column], list[CheckConstraint]]:
    """MariaDB stores JSON as LONGTEXT (utf8mb4_bin) with a CHECK (json_valid(`column`))
    named after the column: read as the JSON the models declare."""
    json = {c.name for c in checks if c.name and c.sqltext.replace(" ", "").lower() == f"json_valid(`{c.name.lower()}`)"}
    if not json:
        return columns, checks
    json = {c.name for c in columns if c.name in json and c.type.startswith("longtext")}
    columns = [c._replace(type="json", collation=None) if c.name in json else c for c in columns]
    return columns, [c for c in checks if c.name not in json]
