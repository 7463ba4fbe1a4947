"""The desired schema: SQLAlchemy MetaData compiled for the target dialect into a Snapshot."""

from __future__ import annotations

import decimal
import enum
import logging
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.sql.schema import DefaultClause

from .dialects import Dialect
from .snapshot import CheckConstraint, Column, EnumType, ForeignKey, Index, Snapshot, Table, UniqueConstraint

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
    warnings = warnings if warnings is not None else []
    ddl = dialect.render_dialect.ddl_compiler(dialect.render_dialect, None)
    tables: dict[tuple[str, str], Table] = {}
    enums: dict[tuple[str, str], EnumType] = {}
    type_cache: dict = {}  # type: ignore[type-arg]
    for metadata in metadatas:
        for sa_table in metadata.sorted_tables:
            schema = sa_table.schema or dialect.default_schema
            if sa_table.schema and not dialect.supports_schemas:
                warnings.append(f"{sa_table.fullname}: {dialect.name} has no schemas; table skipped")
                continue
            if (schema, sa_table.name) in tables:
                warnings.append(f"{sa_table.fullname} is declared in several metadata objects; using the first")
                continue
            tables[(schema, sa_table.name)] = _table(sa_table, schema, dialect, ddl, enums, warnings, type_cache)
    schemas = frozenset({dialect.default_schema} | {key[0] for key in tables})
    return Snapshot(dialect.name, dialect.default_schema, schemas, tables, enums)


def _table(sa_table: sa.Table, schema: str, dialect: Dialect, ddl, enums, warnings, type_cache) -> Table:  # type: ignore[no-untyped-def]
    columns = []
    for sa_column in sa_table.columns:
        if sa_column.computed is not None:
            continue  # generated columns are the database's business
        try:
            columns.append(_column(sa_table, sa_column, dialect, ddl, type_cache))
        except sa.exc.CompileError as exc:
            warnings.append(f"{sa_table.fullname}.{sa_column.name}: {exc}; column skipped")
            continue
        _collect_enum(sa_column.type, schema, dialect, enums)

    pk = sa_table.primary_key
    indexes = tuple(_index(ix, dialect) for ix in sorted(sa_table.indexes, key=lambda i: str(i.name)))
    uniques, fks, checks = [], [], []
    for constraint in sorted(sa_table.constraints, key=lambda c: str(c.name)):
        name = _name(constraint.name)
        if isinstance(constraint, sa.UniqueConstraint):
            uniques.append(UniqueConstraint(name, tuple(c.name for c in constraint.columns)))
        elif isinstance(constraint, sa.ForeignKeyConstraint):
            ref = constraint.referred_table
            fks.append(
                ForeignKey(
                    name,
                    tuple(c.name for c in constraint.columns),
                    ref.schema or dialect.default_schema,
                    ref.name,
                    tuple(el.column.name for el in constraint.elements),
                    constraint.ondelete.upper() if constraint.ondelete else None,
                    constraint.onupdate.upper() if constraint.onupdate else None,
                )
            )
        elif isinstance(constraint, sa.CheckConstraint):
            checks.append(CheckConstraint(name, _sql(constraint.sqltext, dialect)))
    return Table(
        schema=schema,
        name=sa_table.name,
        columns=tuple(columns),
        primary_key=tuple(c.name for c in pk.columns),
        primary_key_name=_name(pk.name),
        indexes=indexes,
        uniques=tuple(uniques),
        foreign_keys=tuple(fks),
        checks=tuple(checks),
        renamed_from=rename_hint(sa_table),
    )


# Generic types whose rendering depends only on SQLAlchemy's cache key for the type (the
# exact classes: subclasses such as Enum or a TypeDecorator carry more than the key says).
_PLAIN_TYPES = frozenset({
    sa.String, sa.Unicode, sa.Text, sa.UnicodeText, sa.Integer, sa.BigInteger, sa.SmallInteger, sa.Boolean,
    sa.Numeric, sa.Float, sa.Double, sa.Date, sa.DateTime, sa.Time, sa.Interval, sa.LargeBinary, sa.JSON, sa.Uuid,
    sa.VARCHAR, sa.CHAR, sa.TEXT, sa.INTEGER, sa.BIGINT, sa.SMALLINT, sa.BOOLEAN, sa.NUMERIC, sa.TIMESTAMP,
})


def _type_sql(type_: sa.types.TypeEngine, dialect: Dialect, cache: dict) -> str:  # type: ignore[type-arg]
    """The type as create_all() renders it; plain generic types are rendered once per spelling."""
    if type(type_) not in _PLAIN_TYPES:
        return type_.compile(dialect=dialect.render_dialect)
    key = type_._static_cache_key
    rendered = cache.get(key)
    if rendered is None:
        rendered = cache[key] = type_.compile(dialect=dialect.render_dialect)
    return rendered


def _column(sa_table: sa.Table, sa_column: sa.Column, dialect: Dialect, ddl, type_cache: dict) -> Column:  # type: ignore[no-untyped-def,type-arg]
    type_sql = _type_sql(sa_column.type, dialect, type_cache)
    default = None
    autoincrement = None
    if isinstance(sa_column.server_default, sa.Identity) and dialect.supports_identity:
        autoincrement = "identity_always" if sa_column.server_default.always else "identity"
    elif isinstance(sa_column.server_default, DefaultClause):
        default = ddl.get_column_default_string(sa_column)
    elif sa_column is sa_table.autoincrement_column and _numbered_by_database(sa_column):
        # SERIAL on PostgreSQL, the rowid on SQLite (where Identity is ignored too).
        autoincrement = dialect.autoincrement_kind(dialect.type_key(type_sql))

    python_default, is_callable = None, False
    column_default = sa_column.default
    if column_default is not None and not isinstance(column_default, sa.Sequence):
        if getattr(column_default, "is_scalar", False) and isinstance(column_default.arg, _SCALAR_DEFAULT_TYPES):
            python_default = _literal(column_default.arg, sa_column.type, dialect)
        else:
            is_callable = True
    return Column(
        name=sa_column.name,
        type=type_sql,
        nullable=bool(sa_column.nullable),
        default=default,
        autoincrement=autoincrement,
        python_default=python_default,
        python_default_is_callable=is_callable,
        renamed_from=rename_hint(sa_column),
    )


def rename_hint(item: sa.Table | sa.Column) -> str | None:
    """The old name declared with info={"sync_schema": {"renamed_from": "old_name"}}."""
    if "info" not in item.__dict__:
        return None  # reading .info would create an empty dict on every column
    hint = (item.info or {}).get("sync_schema", {})
    old = hint.get("renamed_from") if isinstance(hint, dict) else None
    return str(old) if old else None


def _numbered_by_database(sa_column: sa.Column) -> bool:
    default = sa_column.default
    return default is None or (isinstance(default, sa.Sequence) and bool(default.optional))


def _literal(value: object, type_: sa.types.TypeEngine, dialect: Dialect) -> str | None:
    try:
        return str(sa.literal(value, type_).compile(dialect=dialect.render_dialect, compile_kwargs={"literal_binds": True}))
    except Exception:  # noqa: BLE001 - a type without a literal renderer simply gets no default
        return None


def _index(index: sa.Index, dialect: Dialect) -> Index:
    expressions = []
    for expr in index.expressions:
        if isinstance(expr, sa.Column):
            expressions.append(expr.name)
        else:
            expressions.append(f"({_sql(expr, dialect)})")
    options = index.dialect_options.get(dialect.name, {}) if dialect.name in ("postgresql", "sqlite") else {}
    where = options.get("where") if options else None
    method = options.get("using") if dialect.name == "postgresql" else None
    return Index(
        _name(index.name),
        tuple(expressions),
        bool(index.unique),
        _sql(where, dialect) if where is not None else None,
        method.lower() if method and method.lower() != "btree" else None,
    )


def _sql(clause: object, dialect: Dialect) -> str:
    if isinstance(clause, str):
        return clause
    compiled = clause.compile(dialect=dialect.render_dialect, compile_kwargs={"literal_binds": True, "include_table": False})  # type: ignore[attr-defined]
    return str(compiled)


def _collect_enum(type_: sa.types.TypeEngine, schema: str, dialect: Dialect, enums: dict) -> None:  # type: ignore[type-arg]
    if dialect.name != "postgresql":
        return
    item_type = getattr(type_, "item_type", None)  # ARRAY(Enum(...))
    if item_type is not None:
        _collect_enum(item_type, schema, dialect, enums)
    if isinstance(type_, sa.Enum) and type_.native_enum and type_.name:
        enum_schema = type_.schema or dialect.default_schema
        enums.setdefault((enum_schema, type_.name), EnumType(enum_schema, type_.name, tuple(type_.enums)))


def _name(name: object) -> str | None:
    # Unnamed constraints carry a sentinel, not None; naming conventions give conv() strings.
    return str(name) if isinstance(name, str) else None
