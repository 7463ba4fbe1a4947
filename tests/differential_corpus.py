"""A seeded corpus of schemas for the differential test against Alembic.

Every entry is a base schema (plain data, below) turned into two SQLAlchemy MetaData:
the *models* and the *database* ("old production"). Drift is made by mutating one side:
what the database lacks or has differently is a mutation of the database side; what the
database has and the models do not ("extra") is a removal from the models side. Each
mutation records what it did as a `Finding` in the differ's vocabulary, so the test knows
the ground truth independently of both differs.

Deterministic: everything is drawn from random.Random(seed); the same seed gives the
same corpus, and a failure message names the seed and the entry.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

# (kind, table, key): key is a column, index or enum name, a frozenset of columns for a
# unique constraint (matched by column set, not name), a column tuple for a foreign key,
# or None for a table.
Finding = tuple[str, str | None, object]


# -- the schema as plain data ------------------------------------------------------


@dataclass(frozen=True)
class Default:
    kind: str  # "text" (sa.text), "literal" (a Python string), "true", "false", "now", "current_timestamp", "func"
    arg: str
    meaning: str  # two defaults with the same meaning are the same default, however spelled


@dataclass
class ColumnSpec:
    name: str
    type: str  # a key of TYPES, or "Enum:<name>"
    nullable: bool = True
    default: Default | None = None
    primary_key: bool = False


@dataclass
class IndexSpec:
    name: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass
class UniqueSpec:
    name: str | None  # None: unnamed, the server names it <table>_<col>_key
    columns: tuple[str, ...]


@dataclass
class ForeignKeySpec:
    name: str | None
    columns: tuple[str, ...]
    ref_table: str
    ondelete: str | None


@dataclass
class TableSpec:
    name: str
    columns: list[ColumnSpec]
    indexes: list[IndexSpec] = field(default_factory=list)
    uniques: list[UniqueSpec] = field(default_factory=list)
    foreign_keys: list[ForeignKeySpec] = field(default_factory=list)

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)

    def constrained(self) -> set[str]:
        """Columns some index, unique or foreign key (or the primary key) depends on."""
        used = {c.name for c in self.columns if c.primary_key}
        for item in (*self.indexes, *self.uniques, *self.foreign_keys):
            used |= set(item.columns)
        return used


@dataclass
class SchemaSpec:
    tables: list[TableSpec]
    enums: dict[str, tuple[str, ...]]

    def table(self, name: str) -> TableSpec:
        return next(t for t in self.tables if t.name == name)

    def enums_used(self) -> set[str]:
        return {c.type.split(":", 1)[1] for t in self.tables for c in t.columns if c.type.startswith("Enum:")}


TYPES: dict[str, Callable[[], sa.types.TypeEngine]] = {
    "Integer": sa.Integer,
    "BigInteger": sa.BigInteger,
    "SmallInteger": sa.SmallInteger,
    "String(50)": lambda: sa.String(50),
    "String(100)": lambda: sa.String(100),
    "String(200)": lambda: sa.String(200),
    "String": sa.String,
    "Text": sa.Text,
    "Boolean": sa.Boolean,
    "Numeric(10,2)": lambda: sa.Numeric(10, 2),
    "Numeric(12,4)": lambda: sa.Numeric(12, 4),
    "Float": sa.Float,
    "Date": sa.Date,
    "DateTime": sa.DateTime,
    "DateTime(tz)": lambda: sa.DateTime(timezone=True),
    "Time": sa.Time,
    "Interval": sa.Interval,
    "JSON": sa.JSON,
    "JSONB": pg.JSONB,
    "UUID": sa.Uuid,
    "LargeBinary": sa.LargeBinary,
    "ARRAY(Integer)": lambda: pg.ARRAY(sa.Integer),
}
COLUMN_TYPES = [*TYPES, "Enum"]  # "Enum" is resolved to one of the schema's enum types

# Server defaults of each family. Spellings vary on purpose (text(), a Python string,
# sa.true(), func, and literals the server stores in another spelling: time '08:30' as
# '08:30:00', interval '2 hours' as '02:00:00', jsonb without spaces, boolean '0' as
# false); `meaning` says which are the same default, so that a changed one is a real change.
_INT = [Default("text", "0", "0"), Default("literal", "5", "5"), Default("text", "-1", "-1"), Default("text", "(7)", "7")]
_STR = [Default("literal", "x", "x"), Default("text", "'abc'", "abc"), Default("literal", "it's", "it's"), Default("text", "''", "")]
_DEFAULTS: dict[str, list[Default]] = {
    "Integer": _INT,
    "BigInteger": _INT,
    "SmallInteger": _INT,
    "String(50)": _STR,
    "String(100)": _STR,
    "String(200)": _STR,
    "String": _STR,
    "Text": _STR,
    "Boolean": [Default("true", "", "true"), Default("false", "", "false"), Default("text", "false", "false"), Default("text", "true", "true"),
                Default("literal", "0", "false")],
    "Numeric(10,2)": [Default("literal", "1.50", "1.5"), Default("text", "0", "0"), Default("text", "2.25", "2.25")],
    "Numeric(12,4)": [Default("literal", "1.50", "1.5"), Default("text", "0", "0"), Default("text", "2.25", "2.25")],
    "Float": [Default("text", "0", "0"), Default("literal", "2.5", "2.5")],
    "Date": [Default("text", "CURRENT_DATE", "today"), Default("literal", "2000-01-01", "2000"), Default("literal", "2000-1-1", "2000")],
    "DateTime": [Default("now", "", "now"), Default("text", "now()", "now"), Default("current_timestamp", "", "now"),
                 Default("literal", "2000-01-01 00:00:00", "2000")],
    "DateTime(tz)": [Default("now", "", "now"), Default("text", "CURRENT_TIMESTAMP", "now"),
                     Default("literal", "2000-01-01 00:00:00+00", "2000")],
    "Time": [Default("literal", "12:00:00", "noon"), Default("text", "'08:30'", "08:30")],
    "Interval": [Default("text", "'1 day'", "1d"), Default("literal", "2 hours", "2h")],
    "JSON": [Default("text", "'{}'", "{}"), Default("text", "'[]'", "[]")],
    "JSONB": [Default("text", "'{}'::jsonb", "{}"), Default("text", "'[]'", "[]"), Default("text", """'{"a":[1]}'""", "a1")],
    "UUID": [Default("func", "gen_random_uuid", "random")],
    "LargeBinary": [],
    "ARRAY(Integer)": [Default("text", "'{}'", "{}"), Default("text", "'{1,2}'", "{1,2}"), Default("text", "'{ 3, 4 }'", "{3,4}")],
}

# Type drift: the database has the partner of the models' type.
TYPE_CHANGES: dict[str, tuple[str, ...]] = {
    "String(50)": ("String(100)",),
    "String(100)": ("String(50)",),
    "String(200)": ("Text",),
    "Text": ("String(200)", "String"),
    "String": ("Text",),
    "Integer": ("BigInteger", "SmallInteger"),
    "BigInteger": ("Integer",),
    "SmallInteger": ("Integer",),
    "DateTime": ("DateTime(tz)",),
    "DateTime(tz)": ("DateTime",),
    "Numeric(10,2)": ("Numeric(12,4)",),
    "Numeric(12,4)": ("Numeric(10,2)",),
    "JSON": ("JSONB",),
    "JSONB": ("JSON",),
}

# JSON has no equality operator, so no btree index or unique constraint on it.
_NOT_INDEXABLE = {"JSON"}
_WORDS = ["users", "orders", "items", "tags", "notes", "accounts", "events", "files", "teams", "posts"]
_SHORT = {
    "Integer": "int", "BigInteger": "bigint", "SmallInteger": "small", "String(50)": "s50", "String(100)": "s100",
    "String(200)": "s200", "String": "str", "Text": "txt", "Boolean": "flag", "Numeric(10,2)": "num", "Numeric(12,4)": "num4",
    "Float": "flt", "Date": "day", "DateTime": "ts", "DateTime(tz)": "tstz", "Time": "tm", "Interval": "ival", "JSON": "js",
    "JSONB": "jsb", "UUID": "uid", "LargeBinary": "blob", "ARRAY(Integer)": "arr",
}


def defaults_for(type_name: str, enums: dict[str, tuple[str, ...]]) -> list[Default]:
    if type_name.startswith("Enum:"):
        values = enums[type_name.split(":", 1)[1]]
        # Only the first two labels serve as defaults: the enum drift removes the last one.
        return [Default("literal", v, v) for v in values[:2]]
    return _DEFAULTS[type_name]


# -- building MetaData -------------------------------------------------------------


def _sa_default(default: Default | None) -> object:
    if default is None:
        return None
    if default.kind == "text":
        return sa.text(default.arg)
    if default.kind == "literal":
        return default.arg
    if default.kind == "true":
        return sa.true()
    if default.kind == "false":
        return sa.false()
    if default.kind == "now":
        return sa.func.now()
    if default.kind == "current_timestamp":
        return sa.func.current_timestamp()
    return getattr(sa.func, default.arg)()


def build_metadata(spec: SchemaSpec) -> sa.MetaData:
    md = sa.MetaData()
    enum_types = {name: sa.Enum(*values, name=name) for name, values in spec.enums.items()}
    for table in spec.tables:
        items: list[sa.schema.SchemaItem] = []
        for col in table.columns:
            type_ = enum_types[col.type.split(":", 1)[1]] if col.type.startswith("Enum:") else TYPES[col.type]()
            items.append(
                sa.Column(
                    col.name, type_, primary_key=col.primary_key, nullable=col.nullable,
                    server_default=_sa_default(col.default),  # type: ignore[arg-type]
                )
            )
        for fk in table.foreign_keys:
            items.append(
                sa.ForeignKeyConstraint(list(fk.columns), [f"{fk.ref_table}.id"], name=fk.name, ondelete=fk.ondelete)
            )
        for uq in table.uniques:
            items.append(sa.UniqueConstraint(*uq.columns, name=uq.name))
        sa_table = sa.Table(table.name, md, *items)
        for ix in table.indexes:
            sa.Index(ix.name, *(sa_table.c[c] for c in ix.columns), unique=ix.unique)
    return md


# -- the base schema ---------------------------------------------------------------


def _base_schema(rng: random.Random) -> SchemaSpec:
    enums: dict[str, tuple[str, ...]] = {}
    for k in range(rng.choice([0, 1, 1, 2])):
        enums[f"kind{k}"] = tuple(f"{w}{k}" for w in rng.sample(["red", "green", "blue", "low", "high", "new", "done"], 3))
    tables: list[TableSpec] = []
    for word in rng.sample(_WORDS, rng.randint(2, 4)):
        pk_type = rng.choice(["Integer", "Integer", "BigInteger"])
        columns = [ColumnSpec("id", pk_type, nullable=False, primary_key=True)]
        fks: list[ForeignKeySpec] = []
        # Foreign keys to earlier tables, and now and then to the table itself.
        targets = rng.sample(tables, min(len(tables), rng.randint(0, 2)))
        if rng.random() < 0.15:
            targets.append(TableSpec(word, columns))
        for target in targets:
            name = "parent_id" if target.name == word else f"{target.name}_id"
            columns.append(ColumnSpec(name, target.columns[0].type, nullable=rng.random() < 0.7))
            fk_name = rng.choice([None, f"fk_{word}_{name}"])
            fks.append(ForeignKeySpec(fk_name, (name,), target.name, rng.choice([None, None, "CASCADE", "SET NULL", "RESTRICT"])))
        for j in range(rng.randint(max(1, 2 - len(fks)), 7 - len(fks))):
            type_name = rng.choice(COLUMN_TYPES)
            if type_name == "Enum":
                if not enums:
                    type_name = "Text"
                else:
                    type_name = "Enum:" + rng.choice(sorted(enums))
            short = type_name.split(":", 1)[1] if type_name.startswith("Enum:") else _SHORT[type_name]
            options = defaults_for(type_name, enums)
            default = rng.choice(options) if options and rng.random() < 0.45 else None
            columns.append(ColumnSpec(f"{short}_{j}", type_name, nullable=rng.random() < 0.6, default=default))
        table = TableSpec(word, columns, foreign_keys=fks)
        _add_indexes(rng, table)
        tables.append(table)
    return SchemaSpec(tables, enums)


def _add_indexes(rng: random.Random, table: TableSpec) -> None:
    candidates = [c.name for c in table.columns if not c.primary_key and c.type not in _NOT_INDEXABLE]
    used: set[frozenset[str]] = set()

    def pick(n: int) -> tuple[str, ...] | None:
        if len(candidates) < n:
            return None
        cols = tuple(rng.sample(candidates, n))
        if frozenset(cols) in used:
            return None
        used.add(frozenset(cols))
        return cols

    for _ in range(rng.randint(0, 2)):
        shape = rng.choice(["plain", "multi", "unique", "unique-multi"])
        cols = pick(2 if "multi" in shape else 1)
        if cols:
            prefix = "uix" if shape.startswith("unique") else "ix"
            table.indexes.append(IndexSpec(f"{prefix}_{table.name}_{'_'.join(cols)}", cols, shape.startswith("unique")))
    if rng.random() < 0.6:
        cols = pick(rng.choice([1, 1, 2]))
        if cols:
            table.uniques.append(UniqueSpec(rng.choice([None, f"uq_{table.name}_{'_'.join(cols)}"]), cols))


# -- mutations ---------------------------------------------------------------------


@dataclass
class Drift:
    """Both sides of one entry while it is being drifted, and what was done."""

    models: SchemaSpec
    db: SchemaSpec
    rng: random.Random
    touched: set[tuple[str, str | None]] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)

    def free_tables(self) -> list[str]:
        """Tables present on both sides whose whole table no mutation has claimed."""
        db_names = {t.name for t in self.db.tables}
        return [t.name for t in self.models.tables if t.name in db_names and (t.name, None) not in self.touched]

    def untouched_tables(self) -> list[str]:
        return [name for name in self.free_tables() if not any(t == name for t, _ in self.touched)]

    def claim(self, table: str, item: str | None) -> None:
        self.touched.add((table, item))

    def is_free(self, table: str, item: str) -> bool:
        return (table, item) not in self.touched and (table, None) not in self.touched


def _plain_columns(d: Drift, table: str) -> list[ColumnSpec]:
    """Columns of the database side that nothing depends on and no mutation touched."""
    t = d.db.table(table)
    busy = t.constrained() | d.models.table(table).constrained()
    return [c for c in t.columns if c.name not in busy and d.is_free(table, "col:" + c.name)]


def _m_drop_column(d: Drift, table: str, enum_only: bool = False) -> str | None:
    cols = [c for c in _plain_columns(d, table) if c.type.startswith("Enum:") or not enum_only]
    if not cols:
        return None
    col = d.rng.choice(cols)
    d.db.table(table).columns.remove(d.db.table(table).column(col.name))
    d.claim(table, "col:" + col.name)
    d.findings.append(("missing_column", table, col.name))
    return f"{'drop_enum_column' if enum_only else 'drop_column'}({table}.{col.name})"


def _m_drop_enum_column(d: Drift, table: str) -> str | None:
    """drop_column on a column of an enum type: when it was the type's only user, the
    database never got the type either."""
    return _m_drop_column(d, table, enum_only=True)


def _m_undeclared_rename(d: Drift, table: str) -> str | None:
    """The database has the models' column under its old name (renamed in the models only)."""
    names = {c.name for c in d.db.table(table).columns}
    cols = [c for c in _plain_columns(d, table) if c.name + "_old" not in names]
    if not cols:
        return None
    col = d.rng.choice(cols)
    d.claim(table, "col:" + col.name)
    old = col.name + "_old"
    col.name = old
    d.findings += [("missing_column", table, old[: -len("_old")]), ("extra_column", table, old)]
    return f"undeclared_rename({table}.{old} in the database, {old[: -len('_old')]} in the models)"


def _m_extra_column(d: Drift, table: str) -> str | None:
    cols = _plain_columns(d, table)
    if not cols:
        return None
    col = d.rng.choice(cols)
    d.models.table(table).columns.remove(d.models.table(table).column(col.name))
    d.claim(table, "col:" + col.name)
    d.findings.append(("extra_column", table, col.name))
    return f"extra_column({table}.{col.name})"


def _m_change_type(d: Drift, table: str, pair: tuple[str, str] | None = None) -> str | None:
    """The database has another type; `pair` (models' type, database's type) forces one."""
    t = d.db.table(table)
    fk_cols = {c for fk in t.foreign_keys for c in fk.columns}
    indexed = {c for item in (*t.indexes, *t.uniques) for c in item.columns}

    def targets(col: ColumnSpec) -> list[str]:
        found = [pair[1]] if pair and col.type == pair[0] else [] if pair else list(TYPE_CHANGES.get(col.type, ()))
        return [x for x in found if x not in _NOT_INDEXABLE or col.name not in indexed]

    cols = [
        c for c in t.columns
        if targets(c) and not c.primary_key and c.name not in fk_cols and d.is_free(table, "col:" + c.name)
        and not (c.default and "::" in c.default.arg)  # a cast default belongs to its type
    ]
    if not cols:
        return None
    done = []
    for col in d.rng.sample(cols, 1 if pair else min(len(cols), d.rng.randint(1, 3))):  # a few at once: more pairs
        old = col.type
        col.type = d.rng.choice(targets(col))
        d.claim(table, "col:" + col.name)
        d.findings.append(("type_mismatch", table, col.name))
        done.append(f"{col.name}: {old} in the models, {col.type} in the database")
    return f"change_type({table}.{'; '.join(done)})"


def _m_flip_nullable(d: Drift, table: str) -> str | None:
    cols = [c for c in d.db.table(table).columns if not c.primary_key and d.is_free(table, "col:" + c.name)]
    if not cols:
        return None
    col = d.rng.choice(cols)
    col.nullable = not col.nullable
    d.claim(table, "col:" + col.name)
    d.findings.append(("nullable_mismatch", table, col.name))
    return f"flip_nullable({table}.{col.name})"


def _m_change_default(d: Drift, table: str) -> str | None:
    """Change, remove or add the database's server default."""
    t = d.db.table(table)
    fk_cols = {c for fk in t.foreign_keys for c in fk.columns}
    cols = [c for c in t.columns if not c.primary_key and c.name not in fk_cols and d.is_free(table, "col:" + c.name)
            and defaults_for(c.type, d.db.enums)]
    if not cols:
        return None
    col = d.rng.choice(cols)
    old = col.default
    if col.default is None:
        col.default = d.rng.choice(defaults_for(col.type, d.db.enums))  # added in the database
    else:
        others = [x for x in defaults_for(col.type, d.db.enums) if x.meaning != col.default.meaning]
        col.default = d.rng.choice(others) if others and d.rng.random() < 0.6 else None
    d.claim(table, "col:" + col.name)
    d.findings.append(("default_mismatch", table, col.name))
    return f"change_default({table}.{col.name}: {_show_default(old)} in the models, {_show_default(col.default)} in the database)"


def _show_default(default: Default | None) -> str:
    if default is None:
        return "none"
    return f"{default.kind}:{default.arg}" if default.arg else default.kind


def _m_drop_index(d: Drift, table: str) -> str | None:
    indexes = [ix for ix in d.db.table(table).indexes if d.is_free(table, "ix:" + ix.name)]
    if not indexes:
        return None
    ix = d.rng.choice(indexes)
    d.db.table(table).indexes.remove(ix)
    d.claim(table, "ix:" + ix.name)
    d.findings.append(("missing_index", table, ix.name))
    return f"drop_index({table}.{ix.name})"


def _m_rename_index(d: Drift, table: str) -> str | None:
    """The database has the models' index under another name (made by a migration, say)."""
    indexes = [ix for ix in d.db.table(table).indexes if d.is_free(table, "ix:" + ix.name)]
    if not indexes:
        return None
    ix = d.rng.choice(indexes)
    d.claim(table, "ix:" + ix.name)
    old, ix.name = ix.name, f"{table}_{'_'.join(ix.columns)}_idx"[:63]
    d.findings.append(("rename_index", table, old))
    return f"rename_index({table}.{old} -> {ix.name})"


def _m_extra_index(d: Drift, table: str) -> str | None:
    indexes = [ix for ix in d.models.table(table).indexes if d.is_free(table, "ix:" + ix.name)]
    if not indexes:
        return None
    ix = d.rng.choice(indexes)
    d.models.table(table).indexes.remove(ix)
    d.claim(table, "ix:" + ix.name)
    d.findings.append(("extra_index", table, ix.name))
    return f"extra_index({table}.{ix.name})"


def _m_drop_unique(d: Drift, table: str) -> str | None:
    uniques = [u for u in d.db.table(table).uniques if d.is_free(table, "uq:" + ",".join(u.columns))]
    if not uniques:
        return None
    uq = d.rng.choice(uniques)
    d.db.table(table).uniques.remove(uq)
    d.claim(table, "uq:" + ",".join(uq.columns))
    d.findings.append(("missing_unique", table, frozenset(uq.columns)))
    return f"drop_unique({table}{uq.columns})"


def _m_extra_unique(d: Drift, table: str) -> str | None:
    uniques = [u for u in d.models.table(table).uniques if d.is_free(table, "uq:" + ",".join(u.columns))]
    if not uniques:
        return None
    uq = d.rng.choice(uniques)
    d.models.table(table).uniques.remove(uq)
    d.claim(table, "uq:" + ",".join(uq.columns))
    d.findings.append(("extra_unique", table, frozenset(uq.columns)))
    return f"extra_unique({table}{uq.columns})"


def _free_fks(d: Drift, side: SchemaSpec, table: str) -> list[ForeignKeySpec]:
    db_tables = {t.name for t in d.db.tables}
    return [fk for fk in side.table(table).foreign_keys
            if d.is_free(table, "fk:" + ",".join(fk.columns)) and fk.ref_table in db_tables
            and (fk.ref_table, None) not in d.touched]


def _m_drop_fk(d: Drift, table: str) -> str | None:
    fks = _free_fks(d, d.db, table)
    if not fks:
        return None
    fk = d.rng.choice(fks)
    d.db.table(table).foreign_keys.remove(fk)
    d.claim(table, "fk:" + ",".join(fk.columns))
    d.findings.append(("missing_foreign_key", table, fk.columns))
    return f"drop_fk({table}{fk.columns})"


def _m_extra_fk(d: Drift, table: str) -> str | None:
    fks = _free_fks(d, d.models, table)
    if not fks:
        return None
    fk = d.rng.choice(fks)
    d.models.table(table).foreign_keys.remove(fk)
    d.claim(table, "fk:" + ",".join(fk.columns))
    d.findings.append(("extra_foreign_key", table, fk.columns))
    return f"extra_fk({table}{fk.columns})"


def _m_change_ondelete(d: Drift, table: str) -> str | None:
    fks = _free_fks(d, d.db, table)
    if not fks:
        return None
    fk = d.rng.choice(fks)
    old = fk.ondelete
    fk.ondelete = d.rng.choice([x for x in (None, "CASCADE", "SET NULL", "RESTRICT") if x != fk.ondelete])
    d.claim(table, "fk:" + ",".join(fk.columns))
    d.findings.append(("foreign_key_mismatch", table, fk.columns))
    return f"change_ondelete({table}{fk.columns}: {old} in the models, {fk.ondelete} in the database)"


def _referencing(side: SchemaSpec, table: str) -> list[tuple[TableSpec, ForeignKeySpec]]:
    return [(t, fk) for t in side.tables if t.name != table for fk in t.foreign_keys if fk.ref_table == table]


def _m_drop_table(d: Drift, table: str) -> str | None:
    """The database lacks a table; its foreign keys elsewhere go with it (as they would)."""
    refs = _referencing(d.db, table)
    if table not in d.untouched_tables() or any(not d.is_free(t.name, "fk:" + ",".join(fk.columns)) for t, fk in refs):
        return None
    for t, fk in refs:
        t.foreign_keys.remove(fk)
        d.claim(t.name, "fk:" + ",".join(fk.columns))
        d.findings.append(("missing_foreign_key", t.name, fk.columns))
    d.db.tables.remove(d.db.table(table))
    d.claim(table, None)
    d.findings.append(("missing_table", table, None))
    return f"drop_table({table})"


def _m_extra_table(d: Drift, table: str) -> str | None:
    """The models lost a table the database still has; so did the models' foreign keys to it."""
    refs = _referencing(d.models, table)
    if table not in d.untouched_tables() or any(not d.is_free(t.name, "fk:" + ",".join(fk.columns)) for t, fk in refs):
        return None
    for t, fk in refs:
        t.foreign_keys.remove(fk)
        d.claim(t.name, "fk:" + ",".join(fk.columns))
        d.findings.append(("extra_foreign_key", t.name, fk.columns))
    d.models.tables.remove(d.models.table(table))
    d.claim(table, None)
    d.findings.append(("extra_table", table, None))
    return f"extra_table({table})"


def _m_enum_missing_value(d: Drift, table: str) -> str | None:
    """The database's enum type lacks the models' last label (added to the models later)."""
    used = sorted(e for e in d.db.enums_used() if ("enum", e) not in d.touched)
    if not used:
        return None
    name = d.rng.choice(used)
    removed = d.db.enums[name][-1]
    d.db.enums[name] = d.db.enums[name][:-1]
    d.touched.add(("enum", name))
    # The finding is derived at the end, once it is known whether the type is still used.
    return f"enum_missing_value({name}: lacks {removed!r})"


MUTATIONS: dict[str, Callable[[Drift, str], str | None]] = {
    "drop_column": _m_drop_column,
    "drop_enum_column": _m_drop_enum_column,
    "extra_column": _m_extra_column,
    "undeclared_rename": _m_undeclared_rename,
    "change_type": _m_change_type,
    "flip_nullable": _m_flip_nullable,
    "change_default": _m_change_default,
    "drop_index": _m_drop_index,
    "rename_index": _m_rename_index,
    "extra_index": _m_extra_index,
    "drop_unique": _m_drop_unique,
    "extra_unique": _m_extra_unique,
    "drop_fk": _m_drop_fk,
    "extra_fk": _m_extra_fk,
    "change_ondelete": _m_change_ondelete,
    "drop_table": _m_drop_table,
    "extra_table": _m_extra_table,
    "enum_missing_value": _m_enum_missing_value,
}


# The random extra mutations: the kinds with many variants (type pairs, default kinds)
# are drawn more often.
_EXTRA_KINDS = sorted(MUTATIONS) + ["change_type"] * 3 + ["change_default"] * 2


# -- the corpus --------------------------------------------------------------------


@dataclass
class Entry:
    seed: int
    number: int
    models: SchemaSpec
    db: SchemaSpec
    mutations: list[str]  # e.g. "change_type(orders)", in the order applied
    expected: list[Finding]  # the ground truth: what a differ must report for the drift

    @property
    def id(self) -> str:
        return f"seed{self.seed}-{self.number:02d}"

    def models_metadata(self) -> sa.MetaData:
        return build_metadata(self.models)

    def db_metadata(self) -> sa.MetaData:
        return build_metadata(self.db)

    def describe(self) -> str:
        def side(spec: SchemaSpec) -> str:
            lines = [f"    enums {spec.enums}"] if spec.enums else []
            for t in spec.tables:
                cols = ", ".join(
                    f"{c.name} {c.type}{'' if c.nullable else ' NOT NULL'}{' PK' if c.primary_key else ''}"
                    f"{f' DEFAULT {_show_default(c.default)}' if c.default else ''}"
                    for c in t.columns
                )
                lines.append(f"    {t.name}({cols})")
                lines += [f"      index {ix.name} {ix.columns}{' unique' if ix.unique else ''}" for ix in t.indexes]
                lines += [f"      unique {u.name} {u.columns}" for u in t.uniques]
                lines += [f"      fk {fk.name} {fk.columns} -> {fk.ref_table} ondelete={fk.ondelete}" for fk in t.foreign_keys]
            return "\n".join(lines)

        return f"entry {self.id}, mutations {self.mutations}\n  models:\n{side(self.models)}\n  database:\n{side(self.db)}"


def make_entry(seed: int, number: int, first: str | None = None, type_pair: tuple[str, str] | None = None) -> Entry:
    """Entry `number`: a base schema drifted by `first` (if given), a change from
    `type_pair` (if given) and 0-3 random mutations.

    When `first` or `type_pair` fits nothing in the drawn schema, the schema is drawn again
    (a fixed sequence of attempts), so that the entry does get that drift.
    """
    for attempt in range(100):
        rng = random.Random(f"{seed}-{number}-{attempt}")
        base = _base_schema(rng)
        d = Drift(copy.deepcopy(base), copy.deepcopy(base), rng)
        if first and not _apply(d, first):
            continue
        if type_pair and not _apply(d, "change_type", type_pair):
            continue
        for _ in range(rng.randint(0, 3)):
            _apply(d, rng.choice(_EXTRA_KINDS))
        break
    else:
        raise AssertionError(f"mutation {first} / {type_pair} fits none of 100 schemas drawn for entry {number}")
    # Enum findings follow from the final state of both sides: a type the models use
    # that no database table uses was never created; one the database uses may lack labels.
    models_enums, db_enums = d.models.enums_used(), d.db.enums_used()
    for name in sorted(models_enums):
        if name not in db_enums:
            d.findings.append(("missing_enum", None, name))
        elif set(d.models.enums[name]) - set(d.db.enums[name]):
            d.findings.append(("missing_enum_values", None, name))
    return Entry(seed, number, d.models, d.db, d.applied, d.findings)


def _apply(d: Drift, kind: str, pair: tuple[str, str] | None = None) -> bool:
    """Apply one mutation of this kind to the first table (in random order) it fits."""
    tables = d.free_tables()
    for table in d.rng.sample(tables, len(tables)):
        done = _m_change_type(d, table, pair) if pair else MUTATIONS[kind](d, table)
        if done:
            d.applied.append(done)
            return True
    return False


TYPE_PAIRS = sorted((models, db) for models, dbs in TYPE_CHANGES.items() for db in dbs)


def build_corpus(seed: int, size: int) -> list[Entry]:
    """`size` entries. Entry i starts with mutation kind i (mod the number of kinds), so
    that every kind is drawn; the first len(TYPE_PAIRS) entries also get type pair i, so
    that every type change is drawn; then 0-3 random mutations follow."""
    kinds = sorted(MUTATIONS)
    return [
        make_entry(seed, i, kinds[i % len(kinds)], TYPE_PAIRS[i] if i < len(TYPE_PAIRS) else None)
        for i in range(size)
    ]
