"""A database made by create_all() from the models shows no difference at all."""

from __future__ import annotations

import decimal
import enum

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from sync_schema.dialects import dialect_for
from sync_schema.from_models import snapshot_from_metadata
from sync_schema.read import read_and_diff, read_both_sides
from sync_schema.run import model_schemas


class Mood(enum.Enum):
    happy = "happy"
    sad = "sad"


def every_type_metadata(dialect: str) -> sa.MetaData:
    md = sa.MetaData()
    columns = [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("s255", sa.String(255), server_default="x"),
        sa.Column("s", sa.String),
        sa.Column("uni", sa.Unicode(40)),
        sa.Column("txt", sa.Text, server_default=sa.text("'hello'")),
        sa.Column("i", sa.Integer, server_default=sa.text("0")),
        sa.Column("i_str", sa.Integer, server_default="5"),
        sa.Column("neg", sa.Integer, server_default=sa.text("-1")),
        sa.Column("si", sa.SmallInteger),
        sa.Column("bi", sa.BigInteger, nullable=False, server_default=sa.text("42")),
        sa.Column("b", sa.Boolean, server_default=sa.true()),
        sa.Column("b_false", sa.Boolean, server_default=sa.false()),
        sa.Column("b_text", sa.Boolean, server_default=sa.text("false")),
        sa.Column("d", sa.Date),
        sa.Column("dt", sa.DateTime, server_default=sa.func.now()),
        sa.Column("dtz", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp()),
        sa.Column("dtz_text", sa.DateTime(timezone=True), server_default=sa.text("now()")),
        sa.Column("tm", sa.Time),
        sa.Column("iv", sa.Interval),
        sa.Column("n", sa.Numeric(10, 2), server_default="1.50"),
        sa.Column("n_plain", sa.Numeric),
        sa.Column("f", sa.Float),
        sa.Column("f24", sa.Float(24)),
        sa.Column("dbl", sa.Double),
        sa.Column("lb", sa.LargeBinary),
        sa.Column("j", sa.JSON),
        sa.Column("u", sa.Uuid),
        sa.Column("e", sa.Enum(Mood, name="mood"), server_default="happy"),
        sa.Column("e_str", sa.Enum("a", "b", name="ab_kind")),
        sa.Column("ch", sa.CHAR(3)),
    ]
    if dialect == "postgresql":
        columns += [
            sa.Column("jb", pg.JSONB, server_default=sa.text("'{}'::jsonb")),
            sa.Column("pg_uuid", pg.UUID(as_uuid=True)),
            sa.Column("arr", pg.ARRAY(sa.Integer)),
            sa.Column("arr_s", pg.ARRAY(sa.String(20))),
            sa.Column("ts3", pg.TIMESTAMP(precision=3)),
            sa.Column("inet", pg.INET),
            # Literals the server stores respelled: '08:30:00', '02:00:00', '{"a": [1]}', false.
            sa.Column("tm_default", sa.Time, server_default="08:30"),
            sa.Column("iv_default", sa.Interval, server_default=sa.text("'2 hours'")),
            sa.Column("jb_default", pg.JSONB, server_default=sa.text("""'{"a":[1]}'""")),
            sa.Column("b_zero", sa.Boolean, server_default="0"),
        ]
    t = sa.Table("every_type", md, *columns)
    sa.Index("ix_every_type_i", t.c.i)
    sa.Index("ix_every_type_multi", t.c.i, t.c.si, unique=True)
    sa.UniqueConstraint(t.c.s, t.c.si, name="uq_every_type_s_si")
    sa.CheckConstraint("i >= -1", name="ck_every_type_i")
    sa.Table(
        "bigkey", md,
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("every_type_id", sa.ForeignKey("every_type.id", ondelete="CASCADE"), index=True),
        sa.Column("email", sa.String(100), unique=True),
    )
    sa.Table("smallkey", md, sa.Column("id", sa.SmallInteger, primary_key=True), sa.Column("x", sa.Integer))
    sa.Table("ident", md, sa.Column("id", sa.Integer, sa.Identity(), primary_key=True), sa.Column("y", sa.Integer, sa.Identity(always=True)))
    sa.Table("composite", md, sa.Column("a", sa.Integer, primary_key=True), sa.Column("b", sa.String(10), primary_key=True))
    if dialect == "postgresql":
        other = sa.Table(
            "in_schema", md,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("kind", sa.Enum("x", "y", name="other_kind", schema="extra")),
            sa.Column("label", sa.String(50)),
            sa.Column("every_type_id", sa.ForeignKey("every_type.id")),
            schema="extra",
        )
        sa.Index("ix_in_schema_partial", other.c.kind, postgresql_where=other.c.kind == "x")
        sa.Index("ix_in_schema_lower", sa.func.lower(other.c.label))
    return md


def diff_live(engine: sa.Engine, md: sa.MetaData) -> list:
    """The differences between the models and the live database, as run.py finds them
    (catalog fetched on a worker thread while the models compile, literals respelled)."""
    dialect = dialect_for(engine.dialect)
    schemas = model_schemas([md], dialect)
    with engine.connect() as conn:
        return read_and_diff(conn, dialect, [md], schemas, set(), [])[2]


def test_the_sequential_inspection_reads_the_same_snapshot(pg_engine: sa.Engine) -> None:
    """dialect.inspect (used by compare and verify) and the pipelined read agree."""
    md = every_type_metadata("postgresql")
    diff_after_create_all(pg_engine, md)
    dialect = dialect_for(pg_engine.dialect)
    with pg_engine.connect() as conn:
        sequential = dialect.inspect(conn, {"public", "extra"})
        conn.commit()
        pipelined = read_both_sides(conn, dialect, [md], {"public", "extra"}, [])[1]
    assert sequential == pipelined
    assert set(sequential.tables) == {(t.schema or "public", t.name) for t in md.tables.values()}
    assert len(sequential.enums) == 3


def diff_after_create_all(engine: sa.Engine, md: sa.MetaData) -> list:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE SCHEMA extra")
    md.create_all(engine)
    return diff_live(engine, md)


def test_postgresql_create_all_has_no_differences(pg_engine: sa.Engine) -> None:
    changes = diff_after_create_all(pg_engine, every_type_metadata("postgresql"))
    assert changes == []


def test_sqlite_create_all_has_no_differences(sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url)
    changes = diff_after_create_all(engine, every_type_metadata("sqlite"))
    engine.dispose()
    assert changes == []


@pytest.mark.parametrize("dialect_name", ["postgresql", "sqlite"])
def test_a_real_difference_is_seen(dialect_name: str, pg_engine: sa.Engine, sqlite_url: str) -> None:
    """The zero-diff tests above would pass for a differ that sees nothing; this one would not."""
    engine = pg_engine if dialect_name == "postgresql" else sa.create_engine(sqlite_url)
    md = every_type_metadata(dialect_name)
    diff_after_create_all(engine, md)
    md.tables["every_type"].append_column(sa.Column("added_later", sa.Integer))
    kinds = [(c.kind.value, c.table, c.name) for c in diff_live(engine, md)]
    assert kinds == [("missing_column", "every_type", "added_later")]


class Lowercase(sa.types.TypeDecorator):
    impl = sa.String
    cache_ok = True


def test_each_type_is_rendered_once_per_spelling_and_never_mixed_up() -> None:
    """Types are rendered once per class and attributes: the same spelling is reused, a
    different attribute (or a decorator around another length) never is."""
    md = sa.MetaData()
    sa.Table(
        "t", md,
        sa.Column("a", sa.String(10)), sa.Column("b", sa.String(20)), sa.Column("c", sa.String(10)),
        sa.Column("d", sa.Numeric(5, 2)), sa.Column("e", sa.Numeric(6, 2)),
        sa.Column("f", sa.DateTime(timezone=True)), sa.Column("g", sa.DateTime()),
        sa.Column("h", Lowercase(30)), sa.Column("i", Lowercase(40)),
        sa.Column("j", sa.Enum("x", "y", name="first_kind")), sa.Column("k", sa.Enum("x", "y", name="second_kind")),
        sa.Column("l", pg.ARRAY(sa.Integer)), sa.Column("m", pg.ARRAY(sa.String(5))),
        sa.Column("n", sa.Boolean()), sa.Column("o", sa.Boolean(create_constraint=True, name="o_is_bool")),
        sa.Column("p", sa.Enum("x", "y", name="first_kind", schema="other")),
    )
    dialect = dialect_for(pg.psycopg2.dialect())
    types = {c.name: c.type for c in snapshot_from_metadata([md], dialect).tables[("public", "t")].columns}
    assert types == {
        "a": "VARCHAR(10)", "b": "VARCHAR(20)", "c": "VARCHAR(10)", "d": "NUMERIC(5, 2)", "e": "NUMERIC(6, 2)",
        "f": "TIMESTAMP WITH TIME ZONE", "g": "TIMESTAMP WITHOUT TIME ZONE", "h": "VARCHAR(30)", "i": "VARCHAR(40)",
        "j": "first_kind", "k": "second_kind", "l": "INTEGER[]", "m": "VARCHAR(5)[]",
        "n": "BOOLEAN", "o": "BOOLEAN", "p": "other.first_kind",
    }


def test_python_defaults_are_rendered_once_per_type_and_value_and_never_mixed_up() -> None:
    md = sa.MetaData()
    sa.Table(
        "t", md,
        sa.Column("a", sa.Numeric(5, 2), default=decimal.Decimal("1.0")), sa.Column("b", sa.Numeric(5, 2), default=decimal.Decimal("1.00")),
        sa.Column("c", sa.Boolean, default=True), sa.Column("d", sa.Integer, default=1), sa.Column("e", sa.Integer, default=1),
        sa.Column("f", sa.String(5), default="x"), sa.Column("g", sa.String(5), default="y"), sa.Column("h", sa.String(5), default="x"),
    )
    columns = snapshot_from_metadata([md], dialect_for(pg.psycopg2.dialect())).tables[("public", "t")].columns
    assert {c.name: c.python_default for c in columns} == {
        "a": "1.0", "b": "1.00", "c": "true", "d": "1", "e": "1", "f": "'x'", "g": "'y'", "h": "'x'",
    }


def test_enum_labels_are_read_whole_and_in_their_order(pg_engine: sa.Engine) -> None:
    """Enum types come in the overview row as JSON: quotes, commas, braces and non-ASCII
    letters in labels survive, and a value added BEFORE another is read in its place."""
    with pg_engine.begin() as conn:
        conn.exec_driver_sql("""CREATE TYPE awkward AS ENUM ('it''s', 'a,b', '{x}', 'naïve')""")
        conn.exec_driver_sql("ALTER TYPE awkward ADD VALUE 'first' BEFORE 'it''s'")
    md = sa.MetaData()
    sa.Table("t", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("k", sa.Enum("first", "it's", "a,b", "{x}", "naïve", name="awkward")))
    dialect = dialect_for(pg_engine.dialect)
    with pg_engine.connect() as conn:
        enums = dialect.inspect(conn, {"public"}).enums
    assert enums[("public", "awkward")].values == ("first", "it's", "a,b", "{x}", "naïve")
    md.create_all(pg_engine)  # the type exists: create_all leaves it, and the models agree with it
    assert diff_live(pg_engine, md) == []


def test_serial_spelled_out_in_the_models_is_serial(pg_engine: sa.Engine) -> None:
    """sqlacodegen writes a SERIAL key as server_default=text("nextval('t_id_seq'::regclass)"):
    the database numbers new rows either way, so that is no difference. Where the database
    does not number them, the models' nextval() is reported."""
    with pg_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE orders (id SERIAL PRIMARY KEY, ref INTEGER)")
        conn.exec_driver_sql("CREATE SEQUENCE orders_ref_seq")
    md = sa.MetaData()
    sa.Table(
        "orders", md,
        sa.Column("id", sa.Integer, primary_key=True, server_default=sa.text("nextval('orders_id_seq'::regclass)")),
        sa.Column("ref", sa.Integer, server_default=sa.text("nextval('orders_ref_seq')")),
    )
    changes = diff_live(pg_engine, md)
    assert [(c.kind.value, c.name, c.detail) for c in changes] == [("default_mismatch", "ref", "the database does not number new rows")]
    with pg_engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE orders ALTER COLUMN ref SET DEFAULT nextval('orders_ref_seq')")
    assert diff_live(pg_engine, md) == []
