"""The desired schema: SQLAlchemy MetaData compiled for the target dialect into a Snapshot."""

from __future__ import annotations

import copy
import decimal
import enum
import logging
import sys
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.schema import AddConstraint, CreateIndex
from sqlalchemy.sql import functions, operators
from sqlalchemy.sql.base import _NONE_NAME
from sqlalchemy.sql.elements import False_, TextClause, True_, UnaryExpression
from sqlalchemy.sql.schema import DefaultClause

from .dialects import Dialect
from .signature import table_signature
from .snapshot import (
    CheckConstraint,
    Column,
    EnumType,
    Expression,
    ForeignKey,
    Index,
    Snapshot,
    Table,
    UniqueConstraint,
    index_element_options,
)

log = logging.getLogger(__name__)

# Python defaults that can become a constant DEFAULT on a new column.
_SCALAR_DEFAULT_TYPES = (bool, int, float, str, decimal.Decimal, enum.Enum)


def snapshot_from_metadata(
    metadatas: Iterable[sa.MetaData], dialect: Dialect, warnings: list[str] | None = None
) -> Snapshot:
    """Compile every table of the models with the target dialect into a Snapshot.

    Types and defaults are rendered exactly as `create_all()` would render them, so that a
    database made by `create_all()` from the same models compares equal.
    """
    compiler = _ModelsCompiler(dialect, warnings if warnings is not None else [])
    tables: dict[tuple[str, str], Table] = {}
    declared: dict[tuple[str, str], sa.Table] = {}  # what each of `tables` was compiled from
    for metadata in metadatas:
        for sa_table in metadata.tables.values():  # not sorted_tables: 9 ms at 1,000 tables, and only new tables need an order (plan.py)
            schema = sa_table.schema or dialect.default_schema
            if sa_table.schema and not dialect.supports_schemas:
                compiler.warnings.append(f"{sa_table.fullname}: {dialect.name} has no schemas; table skipped")
                continue
            if (schema, sa_table.name) in tables:
                compiler.warnings.append(f"{sa_table.fullname} is declared in several metadata objects; using the first")
                continue
            table = compiler.table(sa_table, schema)
            first_source = declared.get((schema, table.name)) if table.name != sa_table.name else None  # a cut name
            if first_source is not None:
                compiler.warnings.append(
                    f"{sa_table.fullname} is declared in several metadata objects; using the first" if first_source.name == sa_table.name else
                    f"{sa_table.fullname} is the same table to {dialect.name} as {first_source.fullname} "
                    f"(both are stored as {table.name!r}): rename one in the models; this one is left out"
                )
                continue
            tables[(schema, table.name)] = table
            declared[(schema, table.name)] = sa_table
    schemas = frozenset({dialect.default_schema} | {key[0] for key in tables})
    return Snapshot(dialect.name, dialect.default_schema, schemas, tables, compiler.enums)


class ModelSource(NamedTuple):
    """What a table of the models was compiled from (Table.source): SQLAlchemy's own DDL
    compiler renders a new table and its indexes from it, exactly as create_all() would."""

    table: sa.Table
    indexes: dict[str, sa.Index]  # by the name the snapshot's Index has


_new_tuple = tuple.__new__  # a record built from a tuple of its fields, without the NamedTuple's Python-level __new__


class _ModelsCompiler:
    """Renders the models' types and defaults as create_all() would, each distinct one once.

    A schema of a thousand tables has tens of thousands of columns but a few dozen distinct
    types and defaults; SQLAlchemy's compiler costs microseconds per call, a dict lookup
    nanoseconds. Only what provably renders the same for the same key is cached.
    """

    def __init__(self, dialect: Dialect, warnings: list[str]) -> None:
        self.dialect = dialect
        self.warnings = warnings
        self.enums: dict[tuple[str, str], EnumType] = {}
        self._ddl = dialect.render_dialect.ddl_compiler(dialect.render_dialect, None)  # type: ignore[arg-type]  # for its helpers only: no statement
        self._types: dict[object, tuple[str, str | None, str]] = {}  # see _type_facts
        self._defaults: dict[object, tuple[str, bool, object]] = {}  # see _default_facts
        self._literals: dict[object, str | None] = {}
        self._type_keys, self._default_keys, self._numbering_defaults = dialect.type_keys, dialect.default_keys, dialect.numbering_defaults
        self._expression_keys = dialect.expression_keys
        self._comments = dialect.supports_comments
        self._index_names: dict[str, set[str]] = {}  # per schema: index names share its namespace
        render = dialect.render_dialect  # names up to this long SQLAlchemy neither shortens nor refuses
        self._max_name_length = min(
            render.max_index_name_length or render.max_identifier_length, render.max_constraint_name_length or render.max_identifier_length
        )
        self._collect_enums = dialect.name == "postgresql"
        self._identity = dialect.supports_identity
        self._restrict_is_no_action = dialect.restrict_is_no_action
        # Names of up to this many characters fit the server's byte limit whatever they
        # hold (4 bytes a character at most): only longer ones are measured.
        self._short_name = dialect.max_identifier_bytes // 4 if dialect.max_identifier_bytes else sys.maxsize
        self._cut_names: set[str] = set()
        self._cut_column_name = False

    def table(self, sa_table: sa.Table, schema: str) -> Table:
        columns = []
        # Each column's signature entry (see signature.column_entry) is worked out while
        # the column is at hand: a second pass over tens of thousands of columns costs
        # as much again, in cache misses more than in work.
        entries = []
        numbered = sa_table.autoincrement_column  # a property that walks the key: read once per table
        column_checks: list[sa.CheckConstraint] = []
        compiled = []  # the SQLAlchemy columns of `columns`
        self._cut_column_name = False  # set by column()
        for sa_column in sa_table.columns:
            if sa_column.constraints:
                column_checks += [c for c in sa_column.constraints if isinstance(c, sa.CheckConstraint)]
            try:
                column, entry = self.column(sa_column, sa_column is numbered)
            except sa.exc.CompileError as exc:
                # Still a column of the models (Table.source has it): never reported as
                # extra, and so never dropped.
                self.warnings.append(f"{sa_table.fullname}.{sa_column.name}: {exc}; column not compared")
                continue
            columns.append(column)
            entries.append(entry)
            compiled.append(sa_column)

        constraints = sa_table.constraints
        uniques, fks, checks = [], [], []
        ddl = self._ddl
        for constraint in [*(sorted(constraints, key=_by_name) if len(constraints) > 1 else constraints), *column_checks]:
            if isinstance(constraint, sa.PrimaryKeyConstraint):
                continue
            if (constraint._create_rule is not None or constraint._ddl_if is not None) and not _created(constraint, ddl):
                continue  # e.g. Boolean(create_constraint=True)'s CHECK where booleans are native
            name = self.name(constraint, sa_table)
            if isinstance(constraint, sa.ForeignKeyConstraint):
                ref = constraint.referred_table
                fks.append(
                    _new_tuple(ForeignKey, (
                        name,
                        tuple([c.name for c in constraint.columns]),
                        ref.schema or self.dialect.default_schema,
                        ref.name if len(ref.name) <= self._short_name else self.stored_name(ref.name, ref.fullname),
                        tuple([n if len(n := el.column.name) <= self._short_name else self.stored_name(n, ref.fullname) for el in constraint.elements]),
                        _fk_action(constraint.ondelete, self._restrict_is_no_action) if constraint.ondelete else None,
                        _fk_action(constraint.onupdate, self._restrict_is_no_action) if constraint.onupdate else None,
                        *(_deferral(constraint) if constraint.deferrable and self.dialect.reads_deferrable else _NOT_DEFERRABLE),
                    ))
                )
            elif isinstance(constraint, sa.UniqueConstraint):
                uniques.append(UniqueConstraint(name, tuple([c.name for c in constraint.columns])))
            elif isinstance(constraint, sa.CheckConstraint) and self.dialect.reads_checks:
                checks.append(CheckConstraint(name, _sql(constraint.sqltext, self.dialect)))
        indexes, sources = [], {}
        names = self._index_names.setdefault(schema, set()) if sa_table.indexes else set()
        for sa_index in sorted(sa_table.indexes, key=_by_name) if len(sa_table.indexes) > 1 else sa_table.indexes:
            if sa_index._ddl_if is not None and not sa_index._ddl_if._should_execute(CreateIndex(sa_index), sa_index, None, compiler=ddl):
                continue  # Index(...).ddl_if(dialect="sqlite") and the like: create_all() leaves it out here
            if not sa_index.expressions:
                self.warnings.append(
                    f"{sa_table.fullname}: index {sa_index.name} has no columns; create_all() rejects it too. "
                    "It is left out: give it its columns in the models"
                )
                continue
            index = self.index(sa_index, sa_table)
            if index.name in names:
                # Two declarations of one name (index=True under a naming convention and an
                # explicit Index of the same name, say): create_all() fails on the second too.
                self.warnings.append(f"{sa_table.fullname}: index {index.name} is declared twice in the models; the second is left out")
                continue
            if index.name:
                names.add(index.name)
                sources[index.name] = sa_index
            indexes.append(index)
        pk = sa_table.primary_key
        name = sa_table.name
        table = Table(
            schema,
            name if len(name) <= self._short_name else self.stored_name(name, sa_table.fullname),
            tuple(columns),
            tuple([c.name for c in pk.columns]),
            self.name(pk, sa_table) if pk.columns else None,
            tuple(indexes),
            tuple(uniques),
            tuple(fks),
            tuple(checks),
            sa_table.comment if self._comments else None,
            renamed_from=rename_hint(sa_table),
            source=ModelSource(sa_table, sources),
        )
        if self._cut_column_name:
            table, entries = self._with_stored_column_names(table, entries, compiled)
        table_signature(table, self.dialect, tuple(entries))
        return table

    def stored_name(self, name: str, where: str) -> str:
        """A table's or column's name as the server stores it: cut to its identifier
        length in bytes at a character's end, as PostgreSQL cuts any name (saying so in
        a NOTICE only). Compared uncut, such a table or column would be missing on every
        run, and its CREATE or ADD COLUMN fail with "already exists"."""
        cut = self.dialect.stored_name(name)
        if cut == name:
            return name
        if where not in self._cut_names:  # a referenced table's name is met again in each foreign key
            self._cut_names.add(where)
            self.warnings.append(f"{where}: the name is longer than {self.dialect.max_identifier_bytes} bytes; {self.dialect.name} stores it as {cut!r}")
        return cut

    def _with_stored_column_names(
        self, table: Table, entries: list[tuple[object, ...]], compiled: list[sa.Column]  # type: ignore[type-arg]
    ) -> tuple[Table, list[tuple[object, ...]]]:
        """The table with its cut column names everywhere they appear (keys, indexes,
        uniques, foreign keys); of two columns whose names are one to the server, the
        first is kept and the collision reported as a problem in the models."""
        stored = {sa_column.name: column.name for column, sa_column in zip(table.columns, compiled, strict=True)}
        columns, kept_entries, seen = [], [], set()
        for column, entry, sa_column in zip(table.columns, entries, compiled, strict=True):
            if column.name in seen:
                self.warnings.append(
                    f"{sa_column.table.fullname}.{sa_column.name} is the same column to {self.dialect.name} as an earlier one "
                    f"(both are stored as {column.name!r}): rename one in the models; this one is left out"
                )
                continue
            seen.add(column.name)
            columns.append(column)
            kept_entries.append(entry)

        def names(items: tuple[str, ...]) -> tuple[str, ...]:
            return tuple([stored.get(n, n) for n in items])

        table = replace(
            table,
            columns=tuple(columns),
            primary_key=names(table.primary_key),
            indexes=tuple([ix._replace(expressions=tuple([e if isinstance(e, Expression) else stored.get(e, e) for e in ix.expressions]),
                                       include=names(ix.include)) for ix in table.indexes]),
            uniques=tuple([u._replace(columns=names(u.columns)) for u in table.uniques]),
            foreign_keys=tuple([fk._replace(columns=names(fk.columns)) for fk in table.foreign_keys]),
            # SQLAlchemy's CREATE TABLE would name a column twice (create_all() fails on
            # it): such a table is rendered from this snapshot, without the second.
            source=table.source if len(columns) == len(table.columns) else None,
        )
        return table, kept_entries

    def name(self, item: sa.Constraint | sa.Index, sa_table: sa.Table) -> str | None:
        """The name as the server will store it: a naming convention's name shortened the
        way SQLAlchemy shortens it (63 characters, the last 4 a hash of the whole), then
        cut to the server's identifier length in bytes, as PostgreSQL cuts any name."""
        name = item.name
        if isinstance(name, str) and len(name) <= self._max_name_length and name.isascii():
            return name if type(name) is str else str(name)  # the usual case: SQLAlchemy keeps it as it is, and so does the server
        if not isinstance(name, str) and name is not _NONE_NAME:
            return None  # unnamed: the server names it
        try:
            name = self._ddl.preparer.format_constraint(item, _alembic_quote=False)
        except sa.exc.IdentifierError:
            name = str(item.name)  # create_all() refuses it; the server would cut it
        if name is None:
            return None
        cut = self.dialect.stored_name(name)
        if cut != name:
            self.warnings.append(
                f"{sa_table.fullname}: the name {name!r} is longer than {self.dialect.max_identifier_bytes} bytes; {self.dialect.name} stores it as {cut!r}"
            )
        return str(cut)

    def index(self, sa_index: sa.Index, sa_table: sa.Table) -> Index:
        """An index as create_all() makes it: key elements without their ordering (kept
        apart, in `options`), operator classes, INCLUDE, method and predicate."""
        dialect = self.dialect
        # The options given for this dialect (dialect_options is built on first use, and
        # only an index declared with dialect keywords has one yet: most have none).
        given = sa_index.__dict__.get("dialect_options")
        if given is None:
            keys = sa_index.expressions
            if all(type(expr) is sa.Column for expr in keys):  # the usual index: plain columns, no options
                return _new_tuple(Index, (self.name(sa_index, sa_table), tuple([c.name for c in keys]), bool(sa_index.unique), None, None, True, (), ()))  # type: ignore[union-attr]  # all Columns
        options = given[dialect.name]._non_defaults if given is not None and dialect.name in given else {}
        ops = (options.get("ops") or {}) if dialect.name == "postgresql" else {}
        expressions, element_options = [], []
        for expr in sa_index.expressions:
            if type(expr) is sa.Column and not ops:  # the usual key: a plain column, no options
                expressions.append(expr.name)
                element_options.append("")
                continue
            opclass = ops.get(expr.key) if ops and hasattr(expr, "key") else None
            descending, nulls_first = False, None
            while isinstance(expr, UnaryExpression) and expr.modifier in _ORDERING:
                if expr.modifier is operators.desc_op:
                    descending = True
                elif expr.modifier is operators.nulls_first_op:
                    nulls_first = True
                elif expr.modifier is operators.nulls_last_op:
                    nulls_first = False
                expr = expr.element
            expressions.append(expr.name if isinstance(expr, sa.Column) else Expression(f"({_sql(expr, dialect)})"))
            element_options.append(index_element_options(opclass, descending, nulls_first))
        where = options.get("where") if options else None
        method = options.get("using") if dialect.name == "postgresql" else None
        include = options.get("include") if dialect.name == "postgresql" else None
        return Index(
            self.name(sa_index, sa_table),
            tuple(expressions),
            bool(sa_index.unique),
            _sql(where, dialect) if where is not None else None,
            method.lower() if method and method.lower() != "btree" else None,
            True,
            tuple([c if isinstance(c, str) else c.name for c in include]) if include else (),
            tuple(element_options) if any(element_options) else (),
        )

    def column(self, sa_column: sa.Column, is_autoincrement_column: bool) -> tuple[Column, tuple[object, ...]]:  # type: ignore[type-arg]
        """The column, and its signature entry (see signature.table_signature)."""
        type_ = sa_column.type
        # The same class with the same attributes renders the same. (SQLAlchemy's own
        # _static_cache_key would do, but costs 5 us per type the first time.)
        attributes = type_.__dict__
        try:
            key: object = (type(type_), *attributes.items()) if "dispatch" not in attributes else _schema_type_key(type_)
            facts = self._types.get(key)
        except TypeError:  # an unhashable attribute: rendered each time
            key, facts = None, None
        if facts is None:
            facts = self._type_facts(type_, key)
        type_sql, collation, type_key = facts

        default = autoincrement = generated = default_key = None
        numbered = False  # by a default of the database's (a sequence's nextval, say)
        server_default = sa_column.server_default
        if sa_column.computed is not None:
            generated = _sql(sa_column.computed.sqltext, self.dialect)
        elif server_default is None:
            if is_autoincrement_column and _numbered_by_database(sa_column):
                # SERIAL on PostgreSQL, the rowid on SQLite (where Identity is ignored too).
                autoincrement = self.dialect.autoincrement_kind(type_key)
        elif isinstance(server_default, DefaultClause):
            arg = server_default.arg  # a string, the commonest, is its own key; the rest has one or None (never kept)
            default, numbered, default_key = self._defaults.get(arg if type(arg) is str else _default_cache_key(arg)) or self._default_facts(arg)
        elif isinstance(server_default, sa.Identity) and self._identity:
            autoincrement = "identity_always" if server_default.always else "identity"
        elif is_autoincrement_column and _numbered_by_database(sa_column):
            autoincrement = self.dialect.autoincrement_kind(type_key)

        python_default, is_callable = None, False
        column_default = sa_column.default
        if column_default is not None and not isinstance(column_default, sa.Sequence):
            value = getattr(column_default, "arg", None)  # a ScalarElementColumnDefault's; callables have one too
            if getattr(column_default, "is_scalar", False) and isinstance(value, _SCALAR_DEFAULT_TYPES):
                python_default = self._python_default_sql(value, type_, key)
            else:
                is_callable = True
        name, nullable = sa_column.name, bool(sa_column.nullable)
        if len(name) > self._short_name:
            name = self.stored_name(name, f"{sa_column.table.fullname}.{name}")
            self._cut_column_name = name is not sa_column.name
        renamed_from = rename_hint(sa_column) if "info" in sa_column.__dict__ else None  # (reading .info would create it)
        comment = sa_column.comment if self._comments else None
        # Built as a plain tuple: a NamedTuple's own __new__ is Python code, and this runs
        # once per column of the models. The fields in order; the last two are respelling's.
        column = _new_tuple(
            Column, (name, type_sql, nullable, default, autoincrement, generated, comment, collation, python_default, is_callable, renamed_from, None, None, None)
        )
        if autoincrement is not None:
            numbered, default_key = True, None
        entry = (name, type_key, nullable, numbered, default_key, None if generated is None else self._expression_keys[generated], comment, collation)
        return column, entry

    def _type_facts(self, type_: sa.types.TypeEngine, key: object | None) -> tuple[str, str | None, str]:  # type: ignore[type-arg]
        """(type as create_all() renders it, its collation, its key in signatures), kept
        under `key`. The enum type it is or holds is collected here: an equal key is an
        equal enum."""
        type_sql, collation = self._type_and_collation(type_)
        facts = (type_sql, collation, self._type_keys[type_sql])
        if key is not None:
            self._types[key] = facts
        if self._collect_enums:
            self._collect_enum(type_)
        return facts

    def _type_and_collation(self, type_: sa.types.TypeEngine) -> tuple[str, str | None]:  # type: ignore[type-arg]
        """The type as create_all() renders it, without the COLLATE clause of a
        String(collation=...): the catalog spells a type and its collation apart."""
        type_sql = type_.compile(dialect=self.dialect.render_dialect)
        if " COLLATE " not in type_sql:
            return type_sql, None
        type_sql, _, collation = type_sql.partition(" COLLATE ")
        if not self.dialect.reads_collations:
            return type_sql, None
        return self.dialect.model_type_and_collation(type_sql, collation.strip().strip('"'))

    def _python_default_sql(self, value: object, type_: sa.types.TypeEngine, type_key: object) -> str | None:  # type: ignore[type-arg]
        """A constant Python default as SQL, once per type and value (default=False or
        default=0 on many columns is common)."""
        if type_key is None:
            return _literal(value, type_, self.dialect)
        key = (type_key, type(value), repr(value))  # repr: Decimal("1.0") == Decimal("1.00"), yet they render apart
        if key not in self._literals:
            self._literals[key] = _literal(value, type_, self.dialect)
        return self._literals[key]

    def _default_facts(self, arg: Any) -> tuple[str, bool, object]:
        """(server default as create_all() renders it, whether it numbers rows, its key in
        signatures), kept where its rendering depends on the argument alone (column()
        looks it up first)."""
        sql = self._ddl.render_default_string(arg)
        numbering = self._numbering_defaults[sql]
        facts = (sql, numbering, None if numbering else self._default_keys[sql])
        key = arg if type(arg) is str else _default_cache_key(arg)
        if key is not None:
            self._defaults[key] = facts
        return facts

    def _collect_enum(self, type_: sa.types.TypeEngine) -> None:  # type: ignore[type-arg]
        item_type = getattr(type_, "item_type", None)  # ARRAY(Enum(...))
        if item_type is not None:
            self._collect_enum(item_type)
        if isinstance(type_, sa.Enum) and type_.native_enum and type_.name:
            enum_schema = type_.schema or self.dialect.default_schema
            self.enums.setdefault((enum_schema, type_.name), EnumType(enum_schema, type_.name, tuple(type_.enums)))


def _schema_type_key(type_: sa.types.TypeEngine) -> tuple[object, ...]:  # type: ignore[type-arg]
    """A SchemaType's (Boolean, Enum) cache key: its attributes but its own event
    dispatcher, which renders nothing."""
    # tuple() copies the attributes in one C call: a Python loop over a live __dict__ could
    # see another thread add an attribute SQLAlchemy memoizes (the catalog read runs beside).
    return (type(type_), *[item for item in tuple(type_.__dict__.items()) if item[0] != "dispatch"])


def _default_cache_key(arg: object) -> object | None:
    """A key under which a server default's rendering can be reused, or None.

    Strings, text() without bound parameters, true()/false() and argument-less functions
    (now(), gen_random_uuid()) render the same wherever they appear; anything else (a
    function with arguments, an expression with bound values) is rendered every time.
    """
    if isinstance(arg, str):
        return str(arg)  # the commonest: the string itself (every other key is a tuple or a class)
    cls = type(arg)
    if cls is TextClause:
        return None if arg._bindparams else (TextClause, arg.text)  # type: ignore[attr-defined]
    if cls is True_ or cls is False_:
        return cls
    if isinstance(arg, functions.FunctionElement) and not arg.clauses.clauses:
        return (cls, getattr(arg, "name", None), getattr(arg, "packagenames", None))
    return None


def _by_name(item: sa.Index | sa.Constraint) -> str:
    return str(item.name)


def rename_hint(item: sa.Table | sa.Column[Any]) -> str | None:
    """The old name declared with info={"sync_schema": {"renamed_from": "old_name"}}."""
    if "info" not in item.__dict__:
        return None  # reading .info would create an empty dict on every column
    hint = (item.info or {}).get("sync_schema", {})
    old = hint.get("renamed_from") if isinstance(hint, dict) else None
    return str(old) if old else None


def _numbered_by_database(sa_column: sa.Column[Any]) -> bool:
    default = sa_column.default
    return default is None or (isinstance(default, sa.Sequence) and bool(default.optional))


def _literal(value: object, type_: sa.types.TypeEngine[Any], dialect: Dialect) -> str | None:
    try:
        return str(sa.literal(value, type_).compile(dialect=dialect.render_dialect, compile_kwargs={"literal_binds": True}))
    except Exception:  # noqa: BLE001 - a type without a literal renderer simply gets no default
        return None


def _sql(clause: object, dialect: Dialect) -> str:
    if isinstance(clause, str):
        return clause
    compiled = clause.compile(dialect=dialect.render_dialect, compile_kwargs={"literal_binds": True, "include_table": False})  # type: ignore[attr-defined]
    return str(compiled)


def _created(constraint: sa.Constraint, compiler: object) -> bool:
    """Whether create_all() makes this constraint on this dialect: its create rule (a
    Boolean's or a non-native Enum's CHECK where the type is native) and ddl_if(). A rule
    that AddConstraint set only moves the constraint out of CREATE TABLE into an ALTER
    (create_all() does that for use_alter keys, in this very process): it is still made."""
    rule = constraint._create_rule
    owner = getattr(rule, "__self__", None)
    if owner is None:
        owner = getattr(rule, "target", None)  # util.portable_instancemethod
    if isinstance(owner, AddConstraint):
        constraint = copy.copy(constraint)
        constraint._create_rule = None
    return bool(constraint._should_create_for_compiler(compiler))  # type: ignore[arg-type]


def _fk_action(action: str | None, restrict_is_no_action: bool = False) -> str | None:
    """ON DELETE / ON UPDATE as compared: NO ACTION is what no clause means (and so is
    RESTRICT where the server makes no difference between them)."""
    if not action or action.strip().upper() == "NO ACTION" or restrict_is_no_action and action.strip().upper() == "RESTRICT":
        return None
    return " ".join(action.upper().split())


_NOT_DEFERRABLE = (False, False)


def _deferral(constraint: sa.ForeignKeyConstraint) -> tuple[bool, bool]:
    """(DEFERRABLE, INITIALLY DEFERRED) as compared."""
    return True, (constraint.initially or "").upper() == "DEFERRED"


_ORDERING = (operators.desc_op, operators.asc_op, operators.nulls_first_op, operators.nulls_last_op)
