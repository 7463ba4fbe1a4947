"""A table's signature lets the differ skip tables with nothing to report. It must never
hide a difference: wherever the full comparison finds one, the signatures differ."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from sync_schema.dialects import dialect_for
from sync_schema.diff import _diff_table
from sync_schema.from_models import snapshot_from_metadata
from sync_schema.signature import table_signature
from sync_schema.snapshot import CheckConstraint, Column, ForeignKey, Index, Table, UniqueConstraint

from conftest import execute_script

BASE = Table(
    "public", "orders",
    columns=(
        Column("id", "INTEGER", False, None, "serial"),
        Column("status", "VARCHAR(20)", True, "'new'"),
        Column("qty", "INTEGER", False, "0"),
        Column("customer_id", "INTEGER", True),
    ),
    primary_key=("id",),
    indexes=(Index("ix_orders_status", ("status",)),),
    uniques=(UniqueConstraint("uq_orders_qty", ("qty",)),),
    foreign_keys=(ForeignKey("fk_orders_customer", ("customer_id",), "public", "customers", ("id",), "CASCADE"),),
    checks=(CheckConstraint("ck_qty", "qty > 0"),),
)


def variant(**changes: object) -> Table:
    return replace(BASE, **changes)


def with_column(i: int, **fields: object) -> tuple[Column, ...]:
    columns = list(BASE.columns)
    columns[i] = columns[i]._replace(**fields)
    return tuple(columns)


VARIANTS = {
    "type": variant(columns=with_column(1, type="VARCHAR(40)")),
    "nullable": variant(columns=with_column(1, nullable=False)),
    "default": variant(columns=with_column(2, default="1")),
    "default removed": variant(columns=with_column(2, default=None)),
    "autoincrement": variant(columns=with_column(0, autoincrement=None)),
    "column missing": variant(columns=BASE.columns[:3]),
    "column renamed": variant(columns=with_column(3, name="client_id")),
    "index partial": variant(indexes=(Index("ix_orders_status", ("status",), where="status <> 'done'"),)),
    "index unique": variant(indexes=(Index("ix_orders_status", ("status",), unique=True),)),
    "index method": variant(indexes=(Index("ix_orders_status", ("status",), method="hash"),)),
    "index columns": variant(indexes=(Index("ix_orders_status", ("status", "qty")),)),
    "index invalid": variant(indexes=(Index("ix_orders_status", ("status",), valid=False),)),
    "index renamed": variant(indexes=(Index("ix_status", ("status",)),)),
    "index unnamed": variant(indexes=(Index(None, ("status",)),)),
    "unique": variant(uniques=(UniqueConstraint("uq_orders_qty", ("qty", "status")),)),
    "foreign key action": variant(foreign_keys=(ForeignKey("fk_orders_customer", ("customer_id",), "public", "customers", ("id",)),)),
    "foreign key target": variant(foreign_keys=(ForeignKey("fk_orders_customer", ("customer_id",), "public", "clients", ("id",), "CASCADE"),)),
    "check": variant(checks=(CheckConstraint("ck_qty_positive", "qty > 0"),)),
    "check unnamed": variant(checks=(CheckConstraint(None, "qty > 0"),)),
    "check expression": variant(checks=(CheckConstraint("ck_qty", "qty > 1"),)),
    "generated": variant(columns=with_column(2, default=None, generated="id * 2")),
    "generated expression": variant(columns=with_column(2, default=None, generated="id * 3")),
    "column comment": variant(columns=with_column(1, comment="the status")),
    "index include": variant(indexes=(Index("ix_orders_status", ("status",), include=("qty",)),)),
    "index descending": variant(indexes=(Index("ix_orders_status", ("status",), options=("DESC",)),)),
    "index operator class": variant(indexes=(Index("ix_orders_status", ("status",), options=("text_pattern_ops",)),)),
    "primary key": variant(primary_key=("id", "qty")),
    "table comment": variant(comment="orders placed"),
    "column collation": variant(columns=with_column(1, collation="C")),
    "foreign key deferrable": variant(foreign_keys=(ForeignKey("fk_orders_customer", ("customer_id",), "public", "customers", ("id",), "CASCADE", None, True),)),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_difference_changes_the_signature(name: str) -> None:
    dialect = dialect_for(postgresql.psycopg2.dialect())
    other = VARIANTS[name]
    directions = [(BASE, other), (other, BASE)]
    found = [_diff_table(desired, actual, dialect) for desired, actual in directions]
    assert any(found), f"{name}: the full comparison sees no difference either way, the case tests nothing"
    for (desired, actual), differences in zip(directions, found, strict=True):
        if differences:
            assert table_signature(desired, dialect) != table_signature(actual, dialect), (name, differences)


def test_equal_tables_spelled_differently_have_equal_signatures() -> None:
    """The point of the signature: a table as the models spell it and as the server spells it."""
    dialect = dialect_for(postgresql.psycopg2.dialect())
    spelled_by_server = variant(columns=(
        Column("id", "integer", False, None, "serial"),
        Column("status", "character varying(20)", True, "'new'::character varying"),
        Column("qty", "integer", False, "0"),
        Column("customer_id", "integer", True),
    ))
    assert _diff_table(BASE, spelled_by_server, dialect) == []
    assert table_signature(BASE, dialect) == table_signature(spelled_by_server, dialect)


def test_the_catalog_readers_column_entries_are_the_signatures_own(pg_engine: sa.Engine) -> None:
    """PostgreSQL's reader builds each column's signature entry in its row loop; it must be
    the very entry table_signature works out from the Column, for every kind of column."""
    execute_script(pg_engine, """
        CREATE TYPE mood AS ENUM ('sad', 'ok');
        CREATE TABLE kinds (
            id SERIAL PRIMARY KEY,
            big BIGINT GENERATED ALWAYS AS IDENTITY,
            small SMALLINT GENERATED BY DEFAULT AS IDENTITY,
            name VARCHAR(40) NOT NULL DEFAULT 'x',
            price NUMERIC(10, 2) DEFAULT 0,
            at TIME DEFAULT '08:30',
            created TIMESTAMPTZ NOT NULL DEFAULT now(),
            doubled INTEGER GENERATED ALWAYS AS (id * 2) STORED,
            feeling mood DEFAULT 'ok',
            tags TEXT[] DEFAULT '{}',
            payload JSONB DEFAULT '{"a": [1]}'::jsonb,
            plain TEXT
        );
        COMMENT ON COLUMN kinds.plain IS 'a comment';
        CREATE TABLE empty ();
    """)
    dialect = dialect_for(pg_engine.dialect)
    with pg_engine.connect() as conn:
        snapshot = dialect.inspect(conn, {"public"})
    assert set(snapshot.tables) == {("public", "kinds"), ("public", "empty")}
    for table in snapshot.tables.values():
        read_by_the_reader = table_signature(table, dialect)
        worked_out_again = table_signature(replace(table), dialect)  # a copy: nothing kept on it
        assert read_by_the_reader == worked_out_again, table.name
    assert len(table_signature(snapshot.tables[("public", "kinds")], dialect)[0]) == 12  # the generated column too


def test_the_models_column_entries_are_the_signatures_own() -> None:
    """The models' compiler builds each column's signature entry as it compiles the
    column; it must be the very entry table_signature works out from the Column."""
    md = sa.MetaData()
    sa.Table(
        "kinds", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("big", sa.BigInteger, sa.Identity(always=True)),
        sa.Column("name", sa.String(40), nullable=False, server_default="x"),
        sa.Column("price", sa.Numeric(10, 2), server_default=sa.text("0")),
        sa.Column("created", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("touched", sa.DateTime, server_default=sa.text("CURRENT_TIMESTAMP")),  # compared as now()
        sa.Column("flag", sa.Boolean, default=False),
        sa.Column("feeling", sa.Enum("sad", "ok", name="mood"), server_default="ok"),
        sa.Column("doubled", sa.Integer, sa.Computed("id * 2")),
        sa.Column("plain", sa.Text, comment="a comment"),
    )
    sa.Table("links", md, sa.Column("kind_id", sa.ForeignKey("kinds.id"), primary_key=True), sa.Column("rank", sa.SmallInteger, primary_key=True))
    dialect = dialect_for(postgresql.psycopg2.dialect())
    snapshot = snapshot_from_metadata([md], dialect)
    for table in snapshot.tables.values():
        assert table_signature(table, dialect) == table_signature(replace(table), dialect), table.name
    assert len(table_signature(snapshot.tables[("public", "kinds")], dialect)[0]) == 10  # the computed column too
