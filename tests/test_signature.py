"""A table's signature lets the differ skip tables with nothing to report. It must never
hide a difference: wherever the full comparison finds one, the signatures differ."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql

from sync_schema.dialects import dialect_for
from sync_schema.diff import _diff_table
from sync_schema.signature import table_signature
from sync_schema.snapshot import CheckConstraint, Column, ForeignKey, Index, Table, UniqueConstraint

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
    from dataclasses import replace

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
