"""Acceptance cases as data: the database before, the models, what must be found, and
what must be true after applying with the given allowances.

Every case is also checked for the invariants in test_acceptance.py: after the run,
a second inspection finds exactly `remaining` (empty by default), and every row that
existed before still exists with the same values (except in what was dropped on purpose).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    name: str
    before: str  # SQL, statements separated by ";"
    models: str  # class bodies; `sa`, `Base`, `Mapped`, `mapped_column`, `Optional`, `enum` are in scope
    expect: set[tuple[str, str | None, str | None]]  # (kind, table, column or name) found before the run
    allow: tuple[str, ...] = ()
    status: dict[tuple[str, str | None], str] = field(default_factory=dict)  # (kind, column/name) -> status after the run
    hazards: dict[str, str] = field(default_factory=dict)  # kind -> a hazard text that must be attached
    remaining: set[tuple[str, str | None, str | None]] = field(default_factory=set)  # left after the run
    dropped: set[str] = field(default_factory=set)  # "table" or "table.column": data removed on purpose
    renamed: dict[str, str] = field(default_factory=dict)  # old -> new ("table" or "table.column")
    extra_sql_check: tuple[str, object] | None = None  # (query, expected scalar) after the run


# What every case's models module starts with.
PRELUDE = '''
import enum
from datetime import datetime
from decimal import Decimal
from typing import Optional
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

class Base(DeclarativeBase):
    pass

'''

ITEMS_TABLE = "CREATE TABLE items (id SERIAL PRIMARY KEY, name VARCHAR(50) NOT NULL)"
ITEMS_ROWS = "INSERT INTO items (name) VALUES ('apple'), ('banana'), ('cherry')"


def items(*extra: str) -> str:
    lines = [
        "class Item(Base):",
        "    __tablename__ = 'items'",
        "    id: Mapped[int] = mapped_column(primary_key=True)",
    ]
    lines += [f"    {line}" for line in extra]
    return "\n".join(lines) + "\n"


NAME_50 = "name: Mapped[str] = mapped_column(sa.String(50))"

CASES = [
    Case(
        "missing column with a constant default fills existing rows",
        f"{ITEMS_TABLE}; {ITEMS_ROWS}",
        items(NAME_50, "stock: Mapped[Optional[int]] = mapped_column(default=7)"),
        {("missing_column", "items", "stock")},
        status={("missing_column", "stock"): "applied"},
        extra_sql_check=("SELECT count(*) FROM items WHERE stock = 7", 3),
    ),
    Case(
        "varchar widened is metadata-only",
        f"{ITEMS_TABLE}; {ITEMS_ROWS}",
        items("name: Mapped[str] = mapped_column(sa.String(255))"),
        {("type_mismatch", "items", "name")},
        allow=("type-change",),
        status={("type_mismatch", "name"): "applied"},
        hazards={"type_mismatch": "metadata only"},
    ),
    Case(
        "type change is reported, not applied, by default",
        f"{ITEMS_TABLE}; {ITEMS_ROWS}",
        items("name: Mapped[str] = mapped_column(sa.String(255))"),
        {("type_mismatch", "items", "name")},
        status={("type_mismatch", "name"): "review"},
        remaining={("type_mismatch", "items", "name")},
    ),
    Case(
        "varchar narrowed over long values is refused with the count",
        f"{ITEMS_TABLE}; {ITEMS_ROWS}",
        items("name: Mapped[str] = mapped_column(sa.String(5))"),
        {("type_mismatch", "items", "name")},
        allow=("type-change",),
        status={("type_mismatch", "name"): "refused:2 rows"},
        remaining={("type_mismatch", "items", "name")},
    ),
    Case(
        "text to integer converts when every value is a number",
        "CREATE TABLE items (id SERIAL PRIMARY KEY, qty TEXT); INSERT INTO items (qty) VALUES ('1'), ('22'), (NULL)",
        items("qty: Mapped[Optional[int]] = mapped_column()"),
        {("type_mismatch", "items", "qty")},
        allow=("type-change",),
        status={("type_mismatch", "qty"): "applied"},
        hazards={"type_mismatch": "rewrites the table"},
        extra_sql_check=("SELECT sum(qty) FROM items", 23),
    ),
    Case(
        "text to integer is refused when a value is not a number",
        "CREATE TABLE items (id SERIAL PRIMARY KEY, qty TEXT); INSERT INTO items (qty) VALUES ('1'), ('many'), ('3.5')",
        items("qty: Mapped[Optional[int]] = mapped_column()"),
        {("type_mismatch", "items", "qty")},
        allow=("type-change",),
        status={("type_mismatch", "qty"): "refused:2 rows"},
        remaining={("type_mismatch", "items", "qty")},
    ),
    Case(
        "integer to bigint and timestamp to timestamptz",
        "CREATE TABLE items (id SERIAL PRIMARY KEY, n INTEGER, at TIMESTAMP); INSERT INTO items (n, at) VALUES (2147483647, '2024-01-02 03:04:05')",
        items("n: Mapped[Optional[int]] = mapped_column(sa.BigInteger)", "at: Mapped[Optional[datetime]] = mapped_column(sa.DateTime(timezone=True))"),
        {("type_mismatch", "items", "n"), ("type_mismatch", "items", "at")},
        allow=("type-change",),
        status={("type_mismatch", "n"): "applied", ("type_mismatch", "at"): "applied"},
    ),
    Case(
        "SET NOT NULL is refused while NULLs exist",
        "CREATE TABLE items (id SERIAL PRIMARY KEY, name VARCHAR(50)); INSERT INTO items (name) VALUES ('a'), (NULL), (NULL)",
        items(NAME_50),
        {("nullable_mismatch", "items", "name")},
        allow=("set-not-null",),
        status={("nullable_mismatch", "name"): "refused:2 rows hold NULL"},
        remaining={("nullable_mismatch", "items", "name")},
    ),
    Case(
        "SET NOT NULL through a validated check when no NULLs exist",
        "CREATE TABLE items (id SERIAL PRIMARY KEY, name VARCHAR(50)); INSERT INTO items (name) VALUES ('a'), ('b')",
        items(NAME_50),
        {("nullable_mismatch", "items", "name")},
        allow=("set-not-null",),
        status={("nullable_mismatch", "name"): "applied"},
        hazards={"nullable_mismatch": "lets reads and writes go on"},
        extra_sql_check=("SELECT count(*) FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype = 'c'", 0),
    ),
    Case(
        "NOT NULL in the database only is relaxed by default",
        f"{ITEMS_TABLE}; {ITEMS_ROWS}",
        items("name: Mapped[Optional[str]] = mapped_column(sa.String(50))"),
        {("nullable_mismatch", "items", "name")},
        status={("nullable_mismatch", "name"): "applied"},
    ),
    Case(
        "server default changed",
        "CREATE TABLE items (id SERIAL PRIMARY KEY, state VARCHAR(10) DEFAULT 'new'); INSERT INTO items DEFAULT VALUES",
        items("state: Mapped[Optional[str]] = mapped_column(sa.String(10), server_default='draft')"),
        {("default_mismatch", "items", "state")},
        allow=("default-change",),
        status={("default_mismatch", "state"): "applied"},
    ),
    Case(
        "new enum value is added without a transaction block",
        "CREATE TYPE color AS ENUM ('red', 'green'); CREATE TABLE items (id SERIAL PRIMARY KEY, color color); INSERT INTO items (color) VALUES ('red')",
        items("color: Mapped[Optional[str]] = mapped_column(sa.Enum('red', 'green', 'blue', name='color'))"),
        {("missing_enum_values", None, "color")},
        status={("missing_enum_values", "color"): "applied"},
    ),
    Case(
        "foreign key added NOT VALID then validated",
        "CREATE TABLE owners (id SERIAL PRIMARY KEY); INSERT INTO owners DEFAULT VALUES; "
        "CREATE TABLE items (id SERIAL PRIMARY KEY, owner_id INTEGER); INSERT INTO items (owner_id) VALUES (1), (NULL)",
        "class Owner(Base):\n    __tablename__ = 'owners'\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
        + items("owner_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey('owners.id'))"),
        {("missing_foreign_key", "items", "owner_id")},
        allow=("constraint",),
        status={("missing_foreign_key", "owner_id"): "applied"},
        extra_sql_check=("SELECT bool_and(convalidated) FROM pg_constraint WHERE contype = 'f'", True),
    ),
    Case(
        "foreign key over orphan rows is refused with the count",
        "CREATE TABLE owners (id SERIAL PRIMARY KEY); CREATE TABLE items (id SERIAL PRIMARY KEY, owner_id INTEGER); INSERT INTO items (owner_id) VALUES (41), (42)",
        "class Owner(Base):\n    __tablename__ = 'owners'\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
        + items("owner_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey('owners.id'))"),
        {("missing_foreign_key", "items", "owner_id")},
        allow=("constraint",),
        status={("missing_foreign_key", "owner_id"): "refused:2 rows of items reference missing owners"},
        remaining={("missing_foreign_key", "items", "owner_id")},
    ),
    Case(
        "ON DELETE action changed",
        "CREATE TABLE owners (id SERIAL PRIMARY KEY); CREATE TABLE items (id SERIAL PRIMARY KEY, owner_id INTEGER REFERENCES owners (id))",
        "class Owner(Base):\n    __tablename__ = 'owners'\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
        + items("owner_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey('owners.id', ondelete='CASCADE'))"),
        {("foreign_key_mismatch", "items", "items_owner_id_fkey")},
        allow=("constraint",),
        status={("foreign_key_mismatch", "items_owner_id_fkey"): "applied"},
    ),
    Case(
        "unique constraint over duplicates is refused",
        f"{ITEMS_TABLE}; INSERT INTO items (name) VALUES ('a'), ('a'), ('b')",
        items("name: Mapped[str] = mapped_column(sa.String(50), unique=True)"),
        {("missing_unique", "items", "name")},
        allow=("constraint",),
        status={("missing_unique", "name"): "refused:1 values of (name) appear more than once"},
        remaining={("missing_unique", "items", "name")},
    ),
    Case(
        "named check constraint added",
        "CREATE TABLE items (id SERIAL PRIMARY KEY, price NUMERIC(8, 2)); INSERT INTO items (price) VALUES (1), (2)",
        items("price: Mapped[Optional[Decimal]] = mapped_column(sa.Numeric(8, 2))", "__table_args__ = (sa.CheckConstraint('price >= 0', name='ck_items_price'),)"),
        {("missing_check", "items", "ck_items_price")},
        allow=("constraint",),
        status={("missing_check", "ck_items_price"): "applied"},
    ),
    Case(
        "missing index on a table with rows",
        f"{ITEMS_TABLE}; {ITEMS_ROWS}",
        items("name: Mapped[str] = mapped_column(sa.String(50), index=True)"),
        {("missing_index", "items", "ix_items_name")},
        status={("missing_index", "ix_items_name"): "applied"},
        hazards={"missing_index": "CONCURRENTLY"},
        extra_sql_check=("SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = 'items'::regclass", True),
    ),
    Case(
        # The catalog state a failed CREATE INDEX CONCURRENTLY leaves behind.
        "an INVALID index is rebuilt",
        f"{ITEMS_TABLE}; {ITEMS_ROWS}; CREATE INDEX ix_items_name ON items (name); "
        "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'ix_items_name'::regclass",
        items("name: Mapped[str] = mapped_column(sa.String(50), index=True)"),
        {("invalid_index", "items", "ix_items_name")},
        status={("invalid_index", "ix_items_name"): "applied"},
        extra_sql_check=("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_items_name'::regclass", True),
    ),
    Case(
        "unique constraint on a table with rows is built from a concurrent index",
        f"{ITEMS_TABLE}; {ITEMS_ROWS}",
        items("name: Mapped[str] = mapped_column(sa.String(50), unique=True)"),
        {("missing_unique", "items", "name")},
        allow=("constraint",),
        status={("missing_unique", "name"): "applied"},
        extra_sql_check=("SELECT count(*) FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype = 'u'", 1),
    ),
    Case(
        "an index made partial in the models is reported with its difference",
        f"{ITEMS_TABLE}; {ITEMS_ROWS}; CREATE INDEX ix_items_name ON items (name)",
        items(NAME_50, "__table_args__ = (sa.Index('ix_items_name', 'name', postgresql_where=sa.text(\"name <> ''\")),)"),
        {("index_mismatch", "items", "ix_items_name")},
        status={("index_mismatch", "ix_items_name"): "review"},
        remaining={("index_mismatch", "items", "ix_items_name")},
    ),
    Case(
        "an index made partial in the models is rebuilt with --allow drop",
        f"{ITEMS_TABLE}; {ITEMS_ROWS}; CREATE INDEX ix_items_name ON items (name)",
        items(NAME_50, "__table_args__ = (sa.Index('ix_items_name', 'name', postgresql_where=sa.text(\"name <> ''\")),)"),
        {("index_mismatch", "items", "ix_items_name")},
        allow=("drop",),
        status={("index_mismatch", "ix_items_name"): "applied"},
        extra_sql_check=("SELECT pg_get_expr(indpred, indrelid) IS NOT NULL FROM pg_index WHERE indexrelid = 'ix_items_name'::regclass", True),
    ),
    Case(
        "extra table, column and index are reported, never dropped by default",
        f"{ITEMS_TABLE}; {ITEMS_ROWS}; ALTER TABLE items ADD COLUMN note TEXT; CREATE INDEX ix_items_note ON items (note); "
        "CREATE TABLE legacy (id INTEGER); INSERT INTO legacy VALUES (1), (2)",
        items(NAME_50),
        {("extra_column", "items", "note"), ("extra_index", "items", "ix_items_note"), ("extra_table", "legacy", None)},
        status={("extra_table", None): "review", ("extra_column", "note"): "review"},
        hazards={"extra_table": "2 rows"},
        remaining={("extra_column", "items", "note"), ("extra_index", "items", "ix_items_note"), ("extra_table", "legacy", None)},
    ),
    Case(
        "drops only with --allow drop",
        f"{ITEMS_TABLE}; {ITEMS_ROWS}; ALTER TABLE items ADD COLUMN note TEXT; CREATE TABLE legacy (id INTEGER); INSERT INTO legacy VALUES (1)",
        items(NAME_50),
        {("extra_column", "items", "note"), ("extra_table", "legacy", None)},
        allow=("drop",),
        status={("extra_table", None): "applied", ("extra_column", "note"): "applied"},
        dropped={"legacy", "items.note"},
    ),
    Case(
        "declared column rename keeps the data",
        f"{ITEMS_TABLE}; {ITEMS_ROWS}",
        items("title: Mapped[str] = mapped_column(sa.String(50), info={'sync_schema': {'renamed_from': 'name'}})"),
        {("rename_column", "items", "title")},
        status={("rename_column", "title"): "applied"},
        renamed={"items.name": "items.title"},
    ),
    Case(
        "declared table rename keeps the data",
        f"{ITEMS_TABLE}; {ITEMS_ROWS}",
        "class Product(Base):\n    __tablename__ = 'products'\n    __table_args__ = {'info': {'sync_schema': {'renamed_from': 'items'}}}\n"
        "    id: Mapped[int] = mapped_column(primary_key=True)\n    name: Mapped[str] = mapped_column(sa.String(50))\n",
        {("rename_table", "products", None)},
        status={("rename_table", None): "applied"},
        renamed={"items": "products"},
    ),
    Case(
        "undeclared rename is reported, and the new column is not added next to the old data",
        f"{ITEMS_TABLE}; {ITEMS_ROWS}",
        items("title: Mapped[str] = mapped_column(sa.String(50))"),
        {("likely_rename", "items", "title")},
        status={("likely_rename", "title"): "review"},
        remaining={("likely_rename", "items", "title")},
        extra_sql_check=("SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'title'", 0),
    ),
    Case(
        "undeclared rename applied with --allow rename",
        f"{ITEMS_TABLE}; {ITEMS_ROWS}",
        items("title: Mapped[str] = mapped_column(sa.String(50))"),
        {("likely_rename", "items", "title")},
        allow=("rename",),
        status={("likely_rename", "title"): "applied"},
        renamed={"items.name": "items.title"},
    ),
    Case(
        "missing schema and a table in it",
        f"{ITEMS_TABLE}",
        items(NAME_50) + "class Invoice(Base):\n    __tablename__ = 'invoices'\n    __table_args__ = {'schema': 'billing'}\n"
        "    id: Mapped[int] = mapped_column(primary_key=True)\n    item_id: Mapped[int] = mapped_column(sa.ForeignKey('items.id'))\n",
        {("missing_schema", None, "billing"), ("missing_table", "invoices", None)},
        status={("missing_schema", "billing"): "applied", ("missing_table", None): "applied"},
    ),
]
