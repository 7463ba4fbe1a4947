"""MySQL / MariaDB against the real server on 127.0.0.1:3306 (each test its own database):
create_all() shows no difference, a sync into an empty database makes what create_all()
makes, the acceptance cases that apply here, bad inputs, the catalog read's cost."""

from __future__ import annotations

import dataclasses
import enum
import importlib
import re
import socket
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Session

from sync_schema.dialects import MySQLDialect, dialect_for
from sync_schema.read import read_and_diff, read_both_sides
from sync_schema.run import model_schemas

from acceptance_cases import CASES as ACCEPTANCE_CASES
from acceptance_cases import PRELUDE
from acceptance_cases import Case as AcceptanceCase
from catalog_dump import catalog_differences
from catalog_dump import dump_mysql_catalog as dump_catalog
from conftest import found, new_database, run_sync, sync_json, write_models
from parity_cases import CASES as PARITY_CASES
from parity_cases import Case as ParityCase


class Mood(enum.Enum):
    happy = "happy"
    sad = "sad"


def every_type_metadata() -> sa.MetaData:
    """Every SQLAlchemy type MySQL can store, generic and MySQL's own, with the defaults
    and keys apps declare."""
    md = sa.MetaData()
    t = sa.Table(
        "every_type", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("s255", sa.String(255), server_default="x"),
        sa.Column("s_quote", sa.String(20), server_default="it's"),
        sa.Column("uni", sa.Unicode(40)),
        sa.Column("uni_text", sa.UnicodeText),
        sa.Column("txt", sa.Text),
        sa.Column("txt_sized", sa.Text(1000)),
        sa.Column("i", sa.Integer, server_default=sa.text("0")),
        sa.Column("i_str", sa.Integer, server_default="5"),
        sa.Column("neg", sa.Integer, server_default=sa.text("-1")),
        sa.Column("si", sa.SmallInteger),
        sa.Column("bi", sa.BigInteger, nullable=False, server_default=sa.text("42")),
        sa.Column("b", sa.Boolean, server_default=sa.true()),
        sa.Column("b_false", sa.Boolean, server_default=sa.false()),
        sa.Column("b_text", sa.Boolean, server_default=sa.text("false")),
        sa.Column("b_zero", sa.Boolean, server_default="0"),
        sa.Column("b_check", sa.Boolean(create_constraint=True, name="ck_every_type_b_check")),
        sa.Column("d", sa.Date),
        sa.Column("dt", sa.DateTime, server_default=sa.func.now()),
        sa.Column("dtz", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp()),
        sa.Column("tm", sa.Time),
        sa.Column("iv", sa.Interval),
        sa.Column("n", sa.Numeric(10, 2), server_default="1.50"),
        sa.Column("n_plain", sa.Numeric),
        sa.Column("dec", sa.DECIMAL(12, 4)),
        sa.Column("f", sa.Float),
        sa.Column("f24", sa.Float(24)),
        sa.Column("f53", sa.Float(53)),
        sa.Column("dbl", sa.Double),
        sa.Column("dbl_precision", sa.DOUBLE_PRECISION),
        sa.Column("real", sa.REAL),
        sa.Column("lb", sa.LargeBinary),
        sa.Column("lb_sized", sa.LargeBinary(70000)),
        sa.Column("pickled", sa.PickleType),
        sa.Column("j", sa.JSON),
        sa.Column("u", sa.Uuid),
        sa.Column("u_str", sa.Uuid(as_uuid=False)),
        sa.Column("e", sa.Enum(Mood, name="mood"), server_default="happy"),
        sa.Column("e_str", sa.Enum("a", "B", "it's", name="ab_kind")),
        sa.Column("e_plain", sa.Enum("x", "y", name="xy_kind", native_enum=False, create_constraint=True)),
        sa.Column("ch", sa.CHAR(3)),
        sa.Column("ch1", sa.CHAR),
        sa.Column("nch", sa.NCHAR(3)),
        sa.Column("nvch", sa.NVARCHAR(30)),
        sa.Column("bin", sa.BINARY(16)),
        sa.Column("vbin", sa.VARBINARY(20)),
        sa.Column("blob", sa.BLOB),
        sa.Column("ts", sa.TIMESTAMP, server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.Column("ts_tz", sa.TIMESTAMP(timezone=True)),
        sa.Column("int_", sa.INT),
        sa.Column("big", sa.BIGINT),
        sa.Column("small", sa.SMALLINT),
        sa.Column("vch", sa.VARCHAR(12)),
        sa.Column("tx", sa.TEXT),
        sa.Column("bool_", sa.BOOLEAN),
        sa.Column("dt_", sa.DATETIME),
        sa.Column("date_", sa.DATE),
        sa.Column("time_", sa.TIME),
        # MySQL's own types.
        sa.Column("ui", mysql.INTEGER(unsigned=True)),
        sa.Column("ubig", mysql.BIGINT(unsigned=True), server_default=sa.text("7")),
        sa.Column("ti", mysql.TINYINT(4)),
        sa.Column("ti1", mysql.TINYINT(1)),
        sa.Column("mi", mysql.MEDIUMINT(unsigned=True)),
        sa.Column("zf", mysql.INTEGER(display_width=8, zerofill=True)),
        sa.Column("dt6", mysql.DATETIME(fsp=6), server_default=sa.text("CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)")),
        sa.Column("ts_upd", mysql.TIMESTAMP, server_default=sa.text("CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP")),
        sa.Column("tm3", mysql.TIME(fsp=3)),
        sa.Column("st", mysql.SET("a", "b", "c"), server_default="a,b"),
        sa.Column("coll", sa.String(20, collation="utf8mb4_bin")),
        # A collation of another charset than the table's names that charset (Airflow's ids).
        sa.Column("coll_other", sa.String(20, collation="utf8mb3_bin")),
        sa.Column("latin", mysql.VARCHAR(20, charset="latin1")),
        sa.Column("latin_bin", mysql.VARCHAR(20, charset="latin1", collation="latin1_bin")),
        sa.Column("lt", mysql.LONGTEXT),
        sa.Column("mt", mysql.MEDIUMTEXT(charset="latin1")),
        sa.Column("tt", mysql.TINYTEXT),
        sa.Column("mb", mysql.MEDIUMBLOB),
        sa.Column("yr", mysql.YEAR),
        sa.Column("bit", mysql.BIT(3)),
        sa.Column("bit1", mysql.BIT),
        sa.Column("udec", mysql.DECIMAL(8, 3, unsigned=True)),
        sa.Column("udbl", mysql.DOUBLE(unsigned=True)),
        sa.Column("fl", mysql.FLOAT(unsigned=True)),
        sa.Column("mj", mysql.JSON),
        sa.Column("gen", sa.Integer, sa.Computed("i + 1")),
        sa.Column("gen_p", sa.Integer, sa.Computed("i * 2", persisted=True)),
        sa.Column("commented", sa.Integer, comment="it's a 'comment' with 100%"),
        comment="every type there is",
    )
    sa.Index("ix_every_type_i", t.c.i)
    sa.Index("ix_every_type_multi", t.c.i, t.c.si, unique=True)
    sa.Index("ix_every_type_desc", t.c.si.desc(), t.c.bi)
    sa.Index("ix_every_type_prefix", t.c.txt, mysql_length=20)
    sa.Index("ix_every_type_ft", t.c.s255, mysql_prefix="FULLTEXT")
    t.append_constraint(sa.UniqueConstraint(t.c.s255, t.c.si, name="uq_every_type_s_si"))
    t.append_constraint(sa.CheckConstraint("i >= -1", name="ck_every_type_i"))
    sa.Table(
        "bigkey", md,
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("every_type_id", sa.ForeignKey("every_type.id", ondelete="CASCADE"), index=True),
        sa.Column("plain_fk", sa.ForeignKey("every_type.id", onupdate="RESTRICT")),  # InnoDB makes its index
        sa.Column("named_fk", sa.Integer, sa.ForeignKey("every_type.id", name="fk_bigkey_named", ondelete="SET NULL")),
        sa.Column("email", sa.String(100), unique=True),
        sa.Column("qty", sa.Integer, sa.CheckConstraint("qty >= 0")),
    )
    sa.Table("smallkey", md, sa.Column("id", sa.SmallInteger, primary_key=True), sa.Column("x", sa.Integer))
    sa.Table("ident", md, sa.Column("id", sa.Integer, sa.Identity(), primary_key=True), sa.Column("y", sa.Integer))
    sa.Table("unsigned_key", md, sa.Column("id", mysql.BIGINT(unsigned=True), primary_key=True))
    sa.Table("composite", md, sa.Column("a", sa.Integer, primary_key=True), sa.Column("b", sa.String(10), primary_key=True))
    sa.Table("no_auto", md, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False), sa.Column("v", sa.String(5)))
    sa.Table(
        "latin_table", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(30)),
        sa.Column("utf", mysql.VARCHAR(30, charset="utf8mb4")),
        mysql_charset="latin1", mysql_engine="InnoDB",
    )
    return md


def diff_live(engine: sa.Engine, md: sa.MetaData) -> list:  # type: ignore[type-arg]
    with engine.connect() as conn:
        dialect = dialect_for(conn.dialect)
        return read_and_diff(conn, dialect, [md], model_schemas([md], dialect), set(), [])[2]


def test_create_all_has_no_differences(mysql_engine: sa.Engine) -> None:
    md = every_type_metadata()
    md.create_all(mysql_engine)
    changes = diff_live(mysql_engine, md)
    assert [(c.kind.value, c.table, c.name, c.detail) for c in changes] == []


def test_a_real_difference_is_seen(mysql_engine: sa.Engine) -> None:
    """The zero-diff test above would pass for a differ that sees nothing; this one would not."""
    md = every_type_metadata()
    md.create_all(mysql_engine)
    md.tables["every_type"].append_column(sa.Column("added_later", sa.Integer))
    md.tables["bigkey"].c.email.type = sa.String(200)
    kinds = sorted((c.kind.value, c.table, c.name) for c in diff_live(mysql_engine, md))
    assert kinds == [("missing_column", "every_type", "added_later"), ("type_mismatch", "bigkey", "email")]


def test_current_date_and_time_defaults_are_what_the_server_writes_back(mysql_engine: sa.Engine) -> None:
    """MariaDB keeps DEFAULT CURRENT_DATE as curdate() and CURRENT_TIME as curtime(): the
    same defaults, however the models spell them (bench/generate.py's apps declare them)."""
    # MySQL takes an expression default in parentheses only (DEFAULT (CURRENT_DATE)).
    bare = mysql_engine.dialect.is_mariadb  # type: ignore[attr-defined]
    md = sa.MetaData()
    dated = sa.Table(
        "dated", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("d", sa.Date, server_default=sa.text("CURRENT_DATE" if bare else "(CURRENT_DATE)")),
        sa.Column("d_func", sa.Date, nullable=False, server_default=sa.func.current_date() if bare else sa.text("(current_date())")),
        sa.Column("d_curdate", sa.Date, server_default=sa.text("(curdate())")),
        sa.Column("t", sa.Time, server_default=sa.text("CURRENT_TIME" if bare else "(CURRENT_TIME)")),
    )
    md.create_all(mysql_engine)
    assert diff_live(mysql_engine, md) == []
    dated.c.d.server_default = sa.DefaultClause(sa.text("'2024-01-02'"))
    dated.c.t.server_default = None
    assert sorted((c.kind.value, c.name) for c in diff_live(mysql_engine, md)) == [("default_mismatch", "d"), ("default_mismatch", "t")]


def test_quotes_and_backslashes_in_expressions_are_read_as_the_models_write_them(mysql_engine: sa.Engine) -> None:
    """The server writes a quote inside a literal as \\' (SQLAlchemy doubles it), and MySQL's
    information_schema escapes the whole expression once more: a CHECK, a generated column
    and an expression default holding both are no difference, and a changed literal is one."""
    md = sa.MetaData()
    quoted = sa.Table(
        "quoted", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(40), server_default=sa.text("(concat('it''s', 'a\\\\b'))")),
        sa.Column("label", sa.String(60), sa.Computed("concat(name, ' o''clock')", persisted=True)),
        sa.CheckConstraint("name <> 'it''s' AND name <> 'x\\\\y'", name="ck_quoted_name"),
    )
    md.create_all(mysql_engine)
    assert diff_live(mysql_engine, md) == []
    quoted.constraints.remove(next(c for c in quoted.constraints if c.name == "ck_quoted_name"))
    sa.CheckConstraint("name <> 'its' AND name <> 'x\\\\y'", name="ck_quoted_name", table=quoted)
    assert [(c.kind.value, c.name) for c in diff_live(mysql_engine, md)] == [("check_mismatch", "ck_quoted_name")]


def test_prefix_lengths_are_compared_as_the_server_keeps_them(mysql_engine: sa.Engine) -> None:
    """mysql_length as an int is every key part's prefix (SQLAlchemy renders it so); the
    server keeps a prefix on a string shorter than the column only: none on DATETIME(6)
    (MariaDB drops it) or on a VARCHAR(32) prefixed by 32. Dagster's models declare these."""
    md = sa.MetaData()
    runs = sa.Table(
        "runs", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("partition_set", sa.Text), sa.Column("partition", sa.Text),
        sa.Column("status", sa.String(63)), sa.Column("code", sa.String(32)),
        sa.Column("updated", mysql.DATETIME(fsp=6)),
    )
    sa.Index("idx_partitions", runs.c.partition_set, runs.c.partition, mysql_length=64)
    sa.Index("idx_range", runs.c.status, runs.c.updated, mysql_length={"status": 32, "updated": 8})
    sa.Index("idx_code", runs.c.code, runs.c.status, mysql_length=32)
    md.create_all(mysql_engine)
    assert diff_live(mysql_engine, md) == []
    runs.indexes.remove(next(ix for ix in runs.indexes if ix.name == "idx_partitions"))
    sa.Index("idx_partitions", runs.c.partition_set, runs.c.partition, mysql_length={"partition_set": 64, "partition": 32})
    assert [(c.kind.value, c.name) for c in diff_live(mysql_engine, md)] == [("index_mismatch", "idx_partitions")]


def test_the_sequential_inspection_reads_the_same_snapshot(mysql_engine: sa.Engine) -> None:
    md = every_type_metadata()
    md.create_all(mysql_engine)
    with mysql_engine.connect() as conn:
        dialect = dialect_for(conn.dialect)
        assert isinstance(dialect, MySQLDialect)
        schemas = {dialect.default_schema}
        sequential = dialect.inspect(conn, schemas)
        conn.commit()
        pipelined = read_both_sides(conn, dialect, [md], schemas, [])[1]
    assert sequential == pipelined
    assert set(sequential.tables) == {(dialect.default_schema, t) for t in md.tables}


# -- a sync into an empty database makes what create_all() makes -----------------------

# The parity cases that MySQL can hold: not PostgreSQL's types, operator classes,
# collations, NULLS FIRST / LAST or expression indexes (MariaDB has none), names over
# MySQL's 64 characters, a named CHECK in a column's definition (MariaDB's grammar has
# none), DEFERRABLE (MySQL has none): create_all() itself fails on those.
MYSQL_PARITY = [
    c for c in PARITY_CASES
    if not any(word in c.models for word in ("pg.", "postgresql_using", "nulls_", "collation=", "sa.func.lower(accounts", "überlangen", "valid_kind", "deferrable=True"))
] + [
    ParityCase("MySQL's own types, keys and options (the zero-diff models)", "from test_mysql import every_type_metadata\nmetadata = every_type_metadata()\n"),
    ParityCase("AUTO_INCREMENT, unsigned keys, ON UPDATE, a prefix index and a table of another charset", """
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
metadata = sa.MetaData(naming_convention={"ix": "ix_%(table_name)s_%(column_0_N_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s"})
users = sa.Table("users", metadata, sa.Column("id", mysql.BIGINT(unsigned=True), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False), sa.Column("bio", sa.Text),
    sa.Column("updated", mysql.DATETIME(fsp=6), server_default=sa.text("CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)")),
    mysql_charset="utf8mb4", mysql_collate="utf8mb4_unicode_ci", comment="people")
sa.Index(None, users.c.email, unique=True, mysql_length=100)
sa.Index(None, users.c.bio, mysql_prefix="FULLTEXT")
sa.Table("posts", metadata, sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", mysql.BIGINT(unsigned=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("state", sa.Enum("draft", "live", name="state"), server_default="draft", nullable=False),
    mysql_engine="InnoDB", mysql_charset="latin1")
"""),
]


def load_metadata(app_dir: Path, module: str) -> sa.MetaData:
    sys.path.insert(0, str(app_dir))
    try:
        return importlib.import_module(module).metadata  # type: ignore[no-any-return]
    finally:
        sys.path.remove(str(app_dir))


@pytest.mark.parametrize("case", MYSQL_PARITY, ids=[c.name for c in MYSQL_PARITY])
def test_sync_into_an_empty_database_makes_what_create_all_makes(case: ParityCase, app_dir: Path, mysql_admin: sa.Engine, mysql_url: str) -> None:
    models = write_models(app_dir, case.models)
    metadata = load_metadata(app_dir, models)
    synced = sa.create_engine(mysql_url)
    with new_database(mysql_admin) as reference_url:
        reference = sa.create_engine(reference_url)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a virtual Computed column's warning on other dialects
                metadata.create_all(reference)
            code, out = run_sync("--database-url", mysql_url, "--models", models)
            assert code == 0 and "FAILED" not in out and "ERROR" not in out and "REVIEW" not in out, out
            differences = catalog_differences(dump_catalog(reference), dump_catalog(synced))
            assert differences == [], "\n".join(differences)
            for url in (mysql_url, reference_url):
                code, out = run_sync("--database-url", url, "--models", models, "--check")
                assert code == 0 and "0 differences" in out, out
            code, out = run_sync("--database-url", mysql_url, "--models", models)
            assert code == 0 and "APPLIED" not in out, out
        finally:
            reference.dispose()
            synced.dispose()


# -- the acceptance cases that apply to MySQL ------------------------------------------

def _mysql_sql(before: str) -> str:
    # MySQL indexes a TEXT column by a prefix only (MariaDB by a hidden hash as well).
    return (before.replace("SERIAL PRIMARY KEY", "INT AUTO_INCREMENT PRIMARY KEY").replace("DEFAULT VALUES", "() VALUES ()")
            .replace("ON items (note)", "ON items (note(20))"))


# What differs on MySQL, by case name: the server's own way (DDL commits by itself, so a
# change it would only make by copying the table is left for review; no NOT VALID, no
# CONCURRENTLY; InnoDB's names), and checks that read MySQL's catalog instead of pg_catalog.
_COPY_ONLY = "review:would copy the table"
MYSQL_OVERRIDES: dict[str, dict[str, object]] = {
    # utf8mb4 varchar(50) -> (255) crosses 255 bytes: the length prefix grows, a copy.
    "varchar widened is metadata-only": {"status": {("type_mismatch", "name"): _COPY_ONLY}, "hazards": {},
                                         "remaining": {("type_mismatch", "items", "name")}},
    "text to integer converts when every value is a number": {"status": {("type_mismatch", "qty"): _COPY_ONLY}, "hazards": {},
                                                              "remaining": {("type_mismatch", "items", "qty")}, "extra_sql_check": None},
    "integer to bigint and timestamp to timestamptz": {
        # The table's later step waits with the first: it is left for review as well.
        "status": {("type_mismatch", "n"): _COPY_ONLY, ("type_mismatch", "at"): "review:not run: an earlier step on this table was left for review"},
        "remaining": {("type_mismatch", "items", "n"), ("type_mismatch", "items", "at")}},
    "SET NOT NULL through a validated check when no NULLs exist": {"hazards": {"nullable_mismatch": "in place (ALGORITHM=INPLACE, LOCK=NONE"},
                                                                  "extra_sql_check": ("SELECT is_nullable FROM information_schema.columns WHERE "
                                                                                      "table_schema = DATABASE() AND table_name = 'items' AND column_name = 'name'", "NO")},
    "foreign key added NOT VALID then validated": {
        "extra_sql_check": ("SELECT count(*) FROM information_schema.referential_constraints WHERE constraint_schema = DATABASE()", 1)},
    "ON DELETE action changed": {"expect": {("foreign_key_mismatch", "items", "items_ibfk_1")},
                                 "status": {("foreign_key_mismatch", "items_ibfk_1"): "applied"}},
    "named check constraint added": {"status": {("missing_check", "ck_items_price"): _COPY_ONLY}, "remaining": {("missing_check", "items", "ck_items_price")}},
    "missing index on a table with rows": {"hazards": {"missing_index": "ALGORITHM=INPLACE, LOCK=NONE"}, "extra_sql_check": None},
    "unique constraint on a table with rows is built from a concurrent index": {
        "extra_sql_check": ("SELECT count(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'items' "
                            "AND non_unique = 0 AND index_name <> 'PRIMARY'", 1)},
    "undeclared rename is reported, and the new column is not added next to the old data": {
        "extra_sql_check": ("SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'items' "
                            "AND column_name = 'title'", 0)},
}
# PostgreSQL's own: enum types, INVALID indexes, partial indexes (MySQL has none), and a
# schema (a database here: test_a_missing_schema_is_a_database_made_on_the_server has it).
MYSQL_SKIPPED = {
    "new enum value is added without a transaction block", "an INVALID index is rebuilt",
    "an index made partial in the models is reported with its difference", "an index made partial in the models is rebuilt with --allow drop",
    "missing schema and a table in it",
}
MYSQL_CASES = [
    dataclasses.replace(case, before=_mysql_sql(case.before), **MYSQL_OVERRIDES.get(case.name, {}))  # type: ignore[arg-type]
    for case in ACCEPTANCE_CASES if case.name not in MYSQL_SKIPPED
]


def table_rows(engine: sa.Engine) -> dict[str, list[dict[str, object]]]:
    """Every row of every table of the database, in primary-key order."""
    with engine.connect() as conn:
        names = [r[0] for r in conn.exec_driver_sql("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
                 if not r[0].startswith("sync_schema_")]
        return {name: [dict(row._mapping) for row in conn.exec_driver_sql(f"SELECT * FROM `{name}` ORDER BY 1")] for name in names}


@pytest.mark.parametrize("case", MYSQL_CASES, ids=[c.name for c in MYSQL_CASES])
def test_acceptance(case: AcceptanceCase, app_dir: Path, mysql_url: str, mysql_engine: sa.Engine) -> None:
    with mysql_engine.begin() as conn:
        for statement in filter(str.strip, case.before.split(";")):
            conn.exec_driver_sql(statement)
    before = table_rows(mysql_engine)
    models = write_models(app_dir, PRELUDE + case.models)
    target = ("--database-url", mysql_url, "--models", models)
    allow = ("--allow", ",".join(case.allow)) if case.allow else ()

    _, planned = sync_json(*target, "--dry-run", *allow)
    assert found(planned) == case.expect

    code, document = sync_json(*target, *allow)
    assert code == 0 and document["error"] is None, document
    statuses = {(c["kind"], c.get("column", c.get("name"))): c for c in document["changes"]}
    for key, expected in case.status.items():
        status, _, message = expected.partition(":")
        assert statuses[key]["status"] == status, statuses[key]
        if message:
            assert message in (statuses[key]["error"] or ""), statuses[key]
    for kind, hazard in case.hazards.items():
        hazards = [h for c in document["changes"] if c["kind"] == kind for h in c["hazards"]]
        assert any(hazard in h for h in hazards), hazards

    # Inspect again: only what the case says is left; a second run applies nothing.
    _, after = sync_json(*target, "--check")
    assert found(after) == case.remaining
    code, out = run_sync("--database-url", mysql_url, "--models", models, *allow)
    assert code == 0 and "APPLIED" not in out, out
    if case.extra_sql_check:
        query, expected_value = case.extra_sql_check
        with mysql_engine.connect() as conn:
            assert conn.exec_driver_sql(query).scalar() == expected_value

    # No row lost, no value changed (except what was dropped or renamed on purpose).
    now = table_rows(mysql_engine)
    for table, rows in before.items():
        if table in case.dropped:
            assert table not in now
            continue
        new_table = case.renamed.get(table, table)
        assert len(now[new_table]) == len(rows), table
        for old_row, new_row in zip(rows, now[new_table], strict=True):
            for column, value in old_row.items():
                if f"{table}.{column}" in case.dropped:
                    continue
                new_column = case.renamed.get(f"{table}.{column}", f"{new_table}.{column}").split(".", 1)[1]
                assert new_row[new_column] == value, (table, column)


def test_a_missing_schema_is_a_database_made_on_the_server(app_dir: Path, mysql_admin: sa.Engine, mysql_url: str, mysql_engine: sa.Engine) -> None:
    """A table of the models in another schema lives in that database of the same server:
    made where missing (as CREATE SCHEMA makes a PostgreSQL schema), and every statement
    names its database."""
    other = f"sync_schema_test_{uuid.uuid4().hex[:12]}"
    models = write_models(app_dir, PRELUDE + (
        "class Item(Base):\n    __tablename__ = 'items'\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
        f"class Invoice(Base):\n    __tablename__ = 'invoices'\n    __table_args__ = {{'schema': '{other}'}}\n"
        "    id: Mapped[int] = mapped_column(primary_key=True)\n    item_id: Mapped[int] = mapped_column(sa.ForeignKey('items.id'), index=True)\n"
    ))
    try:
        code, out = run_sync("--database-url", mysql_url, "--models", models)
        assert code == 0 and f"APPLIED  create schema {other}: CREATE DATABASE IF NOT EXISTS {other}" in out, out
        assert f"CREATE TABLE {other}.invoices" in out and f"REFERENCES {sa.make_url(mysql_url).database}.items (id)" in out, out
        code, out = run_sync("--database-url", mysql_url, "--models", models, "--check")
        assert code == 0 and "0 differences" in out, out
        with mysql_engine.connect() as conn:
            assert conn.exec_driver_sql(f"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{other}'").scalar() == 1
    finally:
        with mysql_admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{other}`")


# -- bad input: one line, exit 0, quickly ------------------------------------------------

GOOD_MODELS = "import sqlalchemy as sa\nmetadata = sa.MetaData()\nsa.Table('items', metadata, sa.Column('id', sa.Integer, primary_key=True))\n"


def one_error(out: str) -> str:
    errors = [line for line in out.splitlines() if "ERROR:" in line]
    assert len(errors) == 1 and "Traceback" not in out, out
    return errors[0]


def test_a_refused_connection_is_one_line(app_dir: Path) -> None:
    models = write_models(app_dir, GOOD_MODELS)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out = run_sync("--models", models, "--database-url", f"mysql://u:secret-pw@127.0.0.1:{port}/app")
    assert code == 0 and f"connection refused by 127.0.0.1:{port}" in one_error(out)
    assert "secret-pw" not in out


def test_a_silent_port_times_out_quickly(app_dir: Path) -> None:
    """A port that accepts and never greets (a black-holed proxy): PyMySQL's connect
    time-out covers the TCP connection only; the handshake's read is bounded too."""
    models = write_models(app_dir, GOOD_MODELS)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        started = time.monotonic()
        code, out = run_sync("--models", models, "--database-url", f"mariadb://u:pw@127.0.0.1:{port}/app", "--connect-timeout", "2")
        elapsed = time.monotonic() - started
    assert code == 0 and f"connecting to 127.0.0.1:{port} timed out after 2 s" in one_error(out)
    assert elapsed < 10, f"the connection attempt hung for {elapsed:.1f} s"


@pytest.fixture
def password_user(mysql_admin: sa.Engine) -> Iterator[str]:
    """A user that needs its password, dropped afterwards."""
    user = f"sync_pw_{uuid.uuid4().hex[:8]}"
    with mysql_admin.connect() as conn:
        for host in ("%", "localhost", "127.0.0.1"):
            conn.execute(sa.text(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY 'right-password'"))
            conn.execute(sa.text(f"GRANT ALL ON `sync\\_schema\\_test\\_%`.* TO '{user}'@'{host}'"))
    try:
        yield user
    finally:
        with mysql_admin.connect() as conn:
            for host in ("%", "localhost", "127.0.0.1"):
                conn.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'{host}'"))


def test_a_wrong_password_and_an_unknown_database_are_one_line(app_dir: Path, mysql_url: str, password_user: str) -> None:
    models = write_models(app_dir, GOOD_MODELS)
    url = sa.make_url(mysql_url).set(drivername="mysql", username=password_user)
    wrong = url.set(password="wrong-password").render_as_string(hide_password=False)
    at = f"{url.host}:{url.port or 3306}"
    code, out = run_sync("--models", models, "--database-url", wrong)
    assert code == 0 and f"authentication failed for user '{password_user}' at {at}" in one_error(out)
    assert "wrong-password" not in out
    assert run_sync("--models", models, "--database-url", wrong, "--strict")[0] == 1

    missing = url.set(password="right-password", database="sync_schema_test_no_such_db").render_as_string(hide_password=False)
    code, out = run_sync("--models", models, "--database-url", missing)
    assert code == 0 and f"database 'sync_schema_test_no_such_db' does not exist on {at}" in one_error(out)

    code, out = run_sync("--models", models, "--database-url", url.set(password="right-password").render_as_string(hide_password=False))
    assert code == 0 and "verification           PASSED" in out and "right-password" not in out, out


def test_urls_are_taken_as_platforms_hand_them_out(app_dir: Path) -> None:
    from sync_schema.database import parse_url
    from sync_schema.errors import ConfigError

    assert parse_url("mysql://u:p@db:3306/app").drivername == "mysql+pymysql"
    assert parse_url("mariadb://u:p@db/app").drivername == "mariadb+pymysql"
    assert parse_url("mysql+aiomysql://u:p@db/app").drivername == "mysql+pymysql"  # an async app's URL: the same database, synchronously
    assert parse_url("mysql+pymysql://u:p@db/app").drivername == "mysql+pymysql"
    with pytest.raises(ConfigError, match="no database name"):
        parse_url("mysql://u:p@db:3306/")
    with pytest.raises(ConfigError, match=r"the MySQL driver mysqlconnector is not installed.*sync-schema\[mysql\]"):
        parse_url("mysql+mysqlconnector://u:p@db/app")


def test_the_catalog_read_costs_the_same_queries_whatever_the_number_of_tables(mysql_engine: sa.Engine) -> None:
    """No query per table: 4 information_schema queries (5 on MySQL 8.0.29+, the row
    versions too), and the session's lock bound, for 2 tables as for 60."""
    statements: list[str] = []
    sa.event.listen(mysql_engine, "before_cursor_execute", lambda conn, cursor, sql, *args: statements.append(sql))
    counts = []
    for tables in (2, 60):
        md = sa.MetaData()
        for i in range(tables):
            sa.Table(f"t{i}", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("ref", sa.ForeignKey("t0.id"), index=True),
                     sa.Column("email", sa.String(50), unique=True), sa.CheckConstraint("ref > 0", name=f"ck_t{i}"))
        md.create_all(mysql_engine)
        statements.clear()
        assert diff_live(mysql_engine, md) == []
        counts.append(len([s for s in statements if "FROM information_schema." in s]))
        assert len(statements) == counts[-1] + 1, statements  # the SET of lock_wait_timeout
    with mysql_engine.connect() as conn:
        dialect = dialect_for(conn.dialect)
    assert isinstance(dialect, MySQLDialect)
    assert counts == [4 + dialect.counts_row_versions] * 2


def test_the_packed_reads_give_the_plain_queries_rows_and_a_separator_in_a_value_falls_back(mysql_engine: sa.Engine) -> None:
    """Columns and key parts are read one GROUP_CONCAT per table (a pure-Python driver
    parses a result field by field): unpacked, they are exactly the plain queries' rows,
    NULLs, expressions and comments included. A value holding a separator makes a table's
    count of records or fields wrong: the plain query is asked instead, and nothing differs."""
    from sync_schema.dialects import mysql as dialect_module

    md = every_type_metadata()
    md.create_all(mysql_engine)
    with mysql_engine.connect() as conn:
        dialect = dialect_for(conn.dialect)
        assert isinstance(dialect, MySQLDialect)
        expression = "NULL" if dialect.is_mariadb else "s.EXPRESSION"
        conn.exec_driver_sql("SET SESSION group_concat_max_len = 67108864")
        params = {"schemas": [dialect.default_schema]}
        for name, layout, parts in (("columns", dialect_module._PACKED_COLUMNS, {}),
                                    ("indexes", dialect_module._PACKED_INDEXES, {"expression": expression})):
            plain = dialect_module._fetch_tuples(conn, dialect_module._query(name, **parts), params)
            packed = dialect_module._unpacked(dialect_module._fetch_tuples(conn, dialect_module._query(f"{name}_packed", **parts), params), layout)
            assert packed is not None and len(packed) == len(plain) > 20
            # The same rows, in the order the reader needs: a table's columns, an index's key parts.
            def grouped(rows: list[tuple[object, ...]], by: int) -> dict[tuple[object, ...], list[tuple[object, ...]]]:
                groups: dict[tuple[object, ...], list[tuple[object, ...]]] = {}
                for row in rows:
                    groups.setdefault(tuple(row[:by]), []).append(tuple(row))
                return groups

            by = 2 if name == "columns" else 3
            assert grouped(packed, by) == grouped(plain, by), name

        conn.exec_driver_sql("CREATE TABLE odd (id INT PRIMARY KEY, v INT COMMENT 'a\x1fb\x1dc')")
        packed = dialect_module._unpacked(dialect_module._fetch_tuples(
            conn, dialect_module._query("columns_packed"), params), dialect_module._PACKED_COLUMNS)
        assert packed is None
    sa.Table("odd", md, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False), sa.Column("v", sa.Integer, comment="a\x1fb\x1dc"))
    assert diff_live(mysql_engine, md) == []
    md.tables["odd"].c.v.comment = "other"
    assert [(c.kind.value, c.table, c.name) for c in diff_live(mysql_engine, md)] == [("comment_mismatch", "odd", "v")]


def test_the_catalog_read_opens_no_table_of_the_servers_other_databases(mysql_engine: sa.Engine) -> None:
    """On a server shared by many apps' databases, no catalog query scans them all (MariaDB's
    EXPLAIN says "Scanned all databases" where one would: the overview's join of SCHEMATA
    and TABLES took 92 ms instead of 10 ms for 1,000 tables with another 1,000 beside them)."""
    md = sa.MetaData()
    sa.Table("t", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("ref", sa.ForeignKey("t.id"), index=True),
             sa.Column("email", sa.String(50), unique=True), sa.CheckConstraint("ref > 0", name="ck_t_ref"))
    md.create_all(mysql_engine)
    sent: list[str] = []
    # PyMySQL's cursor keeps the statement as sent, its parameters filled in.
    sa.event.listen(mysql_engine, "after_cursor_execute", lambda conn, cursor, *args: sent.append(cursor._executed))
    assert diff_live(mysql_engine, md) == []
    catalog = [s for s in sent if "FROM information_schema." in s]
    assert len(catalog) in (4, 5), sent  # 5: MySQL 8.0.29+ reads the row versions too
    with mysql_engine.connect() as conn:
        for statement in catalog:
            plan = [str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN " + statement.replace("%", "%%"))]
            assert not any("Scanned all databases" in extra for extra in plan), (statement, plan)


def test_relaxing_not_null_rebuilds_small_tables_online_and_leaves_big_ones_for_review(app_dir: Path, mysql_url: str, mysql_engine: sa.Engine) -> None:
    """Making a column NULL rebuilds the table on MySQL: up to the rebuild limit in place
    (reads and writes go on), above it left for review with the table's size."""
    with mysql_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL, legacy INT NOT NULL)")
        conn.exec_driver_sql("INSERT INTO items (name, legacy) VALUES ('a', 1), ('b', 2)")
    models = write_models(app_dir, "import sqlalchemy as sa\nmetadata = sa.MetaData()\n"
                                   "sa.Table('items', metadata, sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.String(50), nullable=False))\n")
    code, out = run_sync("--database-url", mysql_url, "--models", models, "--rebuild-limit", "10KB")
    assert code == 0 and "REVIEW   relax items.legacy" in out and "kB, over the 10 kB limit of rebuild_limit" in out, out
    # int(11) on MariaDB, int on MySQL 8.0.19+ (no display width): the server's own spelling.
    assert re.search(r"MODIFY COLUMN legacy int(\(11\))? NULL, ALGORITHM=INPLACE, LOCK=NONE", out), out

    code, out = run_sync("--database-url", mysql_url, "--models", models)  # the default limit, 1 GB
    assert code == 0 and "APPLIED  relax items.legacy" in out, out
    with mysql_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT is_nullable FROM information_schema.columns WHERE table_schema = DATABASE() "
                                    "AND table_name = 'items' AND column_name = 'legacy'").scalar() == "YES"
        assert conn.exec_driver_sql("SELECT sum(legacy) FROM items").scalar() == 3


def test_near_the_row_version_limit_a_column_is_added_in_place_which_resets_the_count(
    app_dir: Path, mysql_url: str, mysql_engine: sa.Engine
) -> None:
    """MySQL 8.0.29+ counts a table's instant ADD / DROP COLUMNs against 64 row versions and
    refuses INSTANT at the limit. Near it, the column is added in place (reads and writes go
    on), the report says why, and the rebuild gives the table its 64 versions back."""
    with mysql_engine.connect() as conn:
        dialect = dialect_for(conn.dialect)
    assert isinstance(dialect, MySQLDialect)
    if not dialect.counts_row_versions:
        pytest.skip(f"{dialect.server} has no instant row-version limit (MySQL 8.0.29+ has; CI runs this on MySQL: .ci/mysql-server)")

    def versions() -> int:
        with mysql_engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT TOTAL_ROW_VERSIONS FROM information_schema.INNODB_TABLES "
                                            "WHERE NAME = CONCAT(DATABASE(), '/items')").scalar())

    with mysql_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL)")
        conn.exec_driver_sql("INSERT INTO items (name) VALUES ('a'), ('b')")
        for i in range(31):  # an instant ADD and DROP: two row versions each
            conn.exec_driver_sql(f"ALTER TABLE items ADD COLUMN c{i} INT, ALGORITHM=INSTANT")
            conn.exec_driver_sql(f"ALTER TABLE items DROP COLUMN c{i}, ALGORITHM=INSTANT")
    assert versions() == 62
    models = write_models(app_dir, "import sqlalchemy as sa\nmetadata = sa.MetaData()\n"
                          "sa.Table('items', metadata, sa.Column('id', sa.Integer, primary_key=True),"
                          " sa.Column('name', sa.String(50), nullable=False), sa.Column('score', sa.Integer))\n")
    code, document = sync_json("--database-url", mysql_url, "--models", models)
    (step,) = document["steps"]
    assert code == 0 and step["status"] == "applied" and step["description"] == "add column items: score", document
    assert step["sql"][0].endswith(".items ADD COLUMN score INTEGER NULL, ALGORITHM=INPLACE, LOCK=NONE"), step
    assert any("62 of the table's 64 instant row versions are used: rebuilt in place" in h for h in step["hazards"]), step
    assert versions() == 0
    assert run_sync("--database-url", mysql_url, "--models", models, "--check")[0] == 0
    with mysql_engine.connect() as conn:
        assert [tuple(r) for r in conn.exec_driver_sql("SELECT id, name, score FROM items ORDER BY id")] == [(1, "a", None), (2, "b", None)]


def test_values_appended_to_an_enum_are_added_instantly_and_any_other_enum_change_is_for_review(
    app_dir: Path, mysql_url: str, mysql_engine: sa.Engine
) -> None:
    with mysql_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, color ENUM('red','green') NOT NULL DEFAULT 'red', "
                             "tags SET('a','b') NULL)")
        conn.exec_driver_sql("INSERT INTO items (color, tags) VALUES ('red', 'a'), ('green', 'a,b')")
    appended = write_models(app_dir, "import sqlalchemy as sa\nfrom sqlalchemy.dialects import mysql\nmetadata = sa.MetaData()\n"
                            "sa.Table('items', metadata, sa.Column('id', sa.Integer, primary_key=True),"
                            " sa.Column('color', sa.Enum('red', 'green', 'blue', name='color'), nullable=False, server_default='red'),"
                            " sa.Column('tags', mysql.SET('a', 'b', 'c')))\n")
    code, out = run_sync("--database-url", mysql_url, "--models", appended)
    assert code == 0 and "APPLIED  change type of items.color: enum('red','green') -> enum('red','green','blue')" in out, out
    assert "MODIFY COLUMN color ENUM('red','green','blue') NOT NULL DEFAULT 'red', ALGORITHM=INSTANT" in out, out
    assert "APPLIED  change type of items.tags" in out, out
    assert run_sync("--database-url", mysql_url, "--models", appended, "--check")[0] == 0
    with mysql_engine.connect() as conn:
        assert [tuple(r) for r in conn.exec_driver_sql("SELECT color, tags FROM items ORDER BY id")] == [("red", "a"), ("green", "a,b")]

    reordered = write_models(app_dir, "import sqlalchemy as sa\nmetadata = sa.MetaData()\n"
                             "sa.Table('items', metadata, sa.Column('id', sa.Integer, primary_key=True),"
                             " sa.Column('color', sa.Enum('blue', 'red', 'green', name='color'), nullable=False, server_default='red'),"
                             " sa.Column('tags', sa.String(10)))\n")
    code, out = run_sync("--database-url", mysql_url, "--models", reordered)
    assert code == 0 and "REVIEW   change type of items.color" in out and "APPLIED" not in out, out


# -- a real third-party package: optuna's RDB storage on MariaDB ------------------------

OPTUNA_LEGACY_DATA = """
INSERT INTO version_info (version_info_id, schema_version, library_version) VALUES (1, 12, '0.9.0');
INSERT INTO studies (study_name, direction) VALUES ('legacy-study', 'MINIMIZE');
INSERT INTO study_user_attributes (study_id, `key`, value_json) VALUES (1, 'owner', '"ada"');
INSERT INTO trials (study_id, state, value, datetime_start, datetime_complete) VALUES
    (1, 'COMPLETE', 0.25, '2019-03-12 10:00:00', '2019-03-12 10:01:00'),
    (1, 'PRUNED', NULL, '2019-03-12 10:02:00', '2019-03-12 10:02:30');
INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES
    (1, 'x', 0.5, '{"name": "UniformDistribution", "attributes": {"low": 0.0, "high": 1.0}}');
INSERT INTO trial_system_attributes (trial_id, `key`, value_json) VALUES (1, '_number', '0'), (2, '_number', '1');
INSERT INTO trial_values (trial_id, step, value) VALUES (1, 0, 0.9), (1, 1, 0.25)
"""


def test_optuna_2019_schema_on_mariadb_is_synced_and_used_by_current_optuna(app_dir: Path, mysql_url: str, mysql_engine: sa.Engine) -> None:
    """optuna's own Alembic history up to its first revision (v0.9.0.a, 2019) on MariaDB,
    filled as optuna 0.9 filled it, synced with the installed optuna's models, then used
    through those models and optuna's public API."""
    import logging
    import os

    optuna = pytest.importorskip("optuna", reason="optuna is not installed (pip install -e '.[test]' installs it)")
    from alembic import command as alembic_command
    from alembic import config as alembic_config
    from optuna.storages._rdb import models
    from optuna.trial import TrialState

    url = sa.make_url(mysql_url).set(drivername="mysql+pymysql").render_as_string(hide_password=False)
    rdb = os.path.dirname(models.__file__)
    config = alembic_config.Config(os.path.join(rdb, "alembic.ini"))
    config.set_main_option("script_location", os.path.join(rdb, "alembic").replace("%", "%%"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    root, guard = logging.getLogger(), logging.NullHandler()
    root.addHandler(guard)  # optuna's env.py would otherwise disable every logger (fileConfig)
    try:
        alembic_command.upgrade(config, "v0.9.0.a")
    finally:
        root.removeHandler(guard)
    with mysql_engine.begin() as conn:
        for statement in filter(str.strip, OPTUNA_LEGACY_DATA.split(";")):
            conn.execute(sa.text(statement))
    before = table_rows(mysql_engine)

    code, out = run_sync("--database-url", url, "--models", "optuna.storages._rdb.models:BaseModel", "--critical-columns", "trials.number")
    assert code == 0 and "FAILED" not in out and "ERROR" not in out, out
    applied = [line.strip() for line in out.splitlines() if line.startswith("  APPLIED")]
    expected = {
        "APPLIED  add columns trial_values: objective, value_type",
        "APPLIED  add column trials: number",
        "APPLIED  create table study_directions",
        "APPLIED  create table trial_intermediate_values",
        "APPLIED  create table trial_heartbeats",
        "APPLIED  create index trials.ix_trials_study_id",
        # optuna 0.9's NOT NULL studies.direction would make every new study's INSERT fail.
        "APPLIED  relax studies.direction",
        # The enum column's new label, appended: metadata only on MySQL.
        "APPLIED  change type of trials.state",
    }
    assert len(applied) == len(expected) and all(sum(line.startswith(e + ":") for line in applied) == 1 for e in expected), out
    assert "verification           PASSED (1 critical columns present)" in out, out
    now = table_rows(mysql_engine)
    for table, rows in before.items():
        assert [{k: r[k] for k in rows[0]} for r in now[table]] == rows, table

    engine = sa.create_engine(url)
    try:
        with Session(engine) as session:
            study = models.StudyModel(study_name="synced-study")
            trial = models.TrialModel(number=0, state=TrialState.WAITING, study=study)
            session.add_all([trial, models.TrialValueModel(trial=trial, objective=0, value=1.5, value_type=models.TrialValueModel.TrialValueType.FINITE),
                             models.TrialHeartbeatModel(trial=trial)])
            session.commit()
        with Session(engine) as session:
            (trial,) = models.StudyModel.find_or_raise_by_name("synced-study", session).trials
            assert (trial.number, trial.state, trial.values[0].value) == (0, TrialState.WAITING, 1.5)
            legacy = models.StudyModel.find_or_raise_by_name("legacy-study", session)
            assert sorted(t.state for t in legacy.trials) == sorted([TrialState.COMPLETE, TrialState.PRUNED])
    finally:
        engine.dispose()

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url, skip_compatibility_check=True, skip_table_creation=True)
    try:
        study = optuna.create_study(storage=storage, study_name="optuna-api", direction="minimize", sampler=optuna.samplers.RandomSampler(seed=7))
        study.optimize(lambda trial: trial.suggest_float("x", -1.0, 1.0) ** 2, n_trials=3)
        assert [t.state for t in optuna.load_study(study_name="optuna-api", storage=storage).get_trials()] == [TrialState.COMPLETE] * 3
        assert storage.get_study_user_attrs(storage.get_study_id_from_name("legacy-study")) == {"owner": "ada"}
    finally:
        storage.engine.dispose()


def test_what_instant_refuses_runs_in_place_and_what_needs_a_copy_is_left_for_review(app_dir: Path, mysql_url: str, mysql_engine: sa.Engine) -> None:
    """INSTANT refused (an indexed column dropped): retried as INPLACE, LOCK=NONE, done.
    Refused too (a column added to a table with a FULLTEXT index needs a lock): left for
    review with the server's reason, never run as a table copy; the table's later steps wait."""
    with mysql_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50), old INT, KEY ix_items_old (old))")
        conn.exec_driver_sql("CREATE TABLE docs (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT, FULLTEXT KEY ft_docs_body (body))")
        conn.exec_driver_sql("INSERT INTO items (name, old) VALUES ('a', 1), ('b', 2)")
        conn.exec_driver_sql("INSERT INTO docs (body) VALUES ('hello')")
        conn.exec_driver_sql("CREATE TABLE probe (id INT PRIMARY KEY, old INT, KEY ix_probe_old (old))")
        with pytest.raises(sa.exc.OperationalError, match="1846|1845"):  # the server's own answer to INSTANT here
            conn.exec_driver_sql("ALTER TABLE probe DROP COLUMN old, ALGORITHM=INSTANT")
        conn.exec_driver_sql("DROP TABLE probe")
    models = write_models(app_dir, "import sqlalchemy as sa\nmetadata = sa.MetaData()\n"
                          "sa.Table('items', metadata, sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.String(50)))\n"
                          "docs = sa.Table('docs', metadata, sa.Column('id', sa.Integer, primary_key=True), sa.Column('body', sa.Text),"
                          " sa.Column('title', sa.String(20)), sa.Index('ix_docs_title', 'title'))\n"
                          "sa.Index('ft_docs_body', docs.c.body, mysql_prefix='FULLTEXT')\n")
    code, out = run_sync("--database-url", mysql_url, "--models", models, "--allow", "drop")
    assert code == 0 and "FAILED" not in out, out
    assert "APPLIED  drop column items.old" in out and "APPLIED  drop index items.ix_items_old" in out, out
    # The server's reason: MariaDB "Try LOCK=SHARED"; MySQL "Try ALGORITHM=COPY" (its INSTANT
    # ADD COLUMN refuses a table with a FULLTEXT index, and INPLACE would rebuild that index).
    assert "REVIEW   add column docs: title" in out and "would copy the table" in out, out
    assert "Try LOCK=SHARED" in out or "Try ALGORITHM=COPY" in out, out
    assert "REVIEW   create index docs.ix_docs_title" in out and "not run: an earlier step on this table was left for review" in out, out
    code, out = run_sync("--database-url", mysql_url, "--models", models, "--check")
    assert "2 differences" in out and "WOULD    add column docs: title" in out and "WOULD    create index docs.ix_docs_title" in out, out
    with mysql_engine.connect() as conn:
        assert [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM items ORDER BY id")] == [(1, "a"), (2, "b")]
        assert conn.exec_driver_sql("SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'docs'").scalar() == 2
