"""End to end through the CLI: a drifted database is brought up to the models."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import execute_script, run_sync, write_models

MODELS = '''
import enum
from datetime import datetime
from decimal import Decimal
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Plan(enum.Enum):
    free = "free"
    pro = "pro"


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    plan: Mapped[Plan] = mapped_column(sa.Enum(Plan, name="user_plan"), default=Plan.free)
    balance: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2), default=Decimal("0.00"))
    nickname: Mapped[str | None] = mapped_column(sa.String(50), server_default="anon")
    last_seen: Mapped[datetime | None] = mapped_column(default=datetime.utcnow)
    login_count: Mapped[int] = mapped_column(server_default=sa.text("0"))
    __table_args__ = (sa.Index("ix_users_email", "email"),)


class Course(Base):
    __tablename__ = "courses"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200), index=True)
    teacher_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = {"schema": "school"}
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id"))
'''

OLD_SCHEMA = """
CREATE TABLE users (id SERIAL PRIMARY KEY, email VARCHAR(255) NOT NULL);
INSERT INTO users (email) VALUES ('ada@example.com'), ('alan@example.com'), ('grace@example.com');
"""


def rows(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


def test_drifted_postgresql_database_is_synced_and_data_kept(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    execute_script(pg_engine, OLD_SCHEMA)
    before = rows(pg_engine, "SELECT id, email FROM users ORDER BY id")
    models = write_models(app_dir, MODELS)

    code, out = run_sync("--database-url", pg_url, "--models", models, "--critical-columns", "users.is_active,school.enrollments.user_id")

    assert code == 0, out
    assert "verification           PASSED (2 critical columns present)" in out
    assert 'CREATE SCHEMA IF NOT EXISTS school' in out
    assert "CREATE TYPE public.user_plan AS ENUM ('free', 'pro')" in out
    # All missing columns of a table in one ALTER TABLE.
    assert out.count('ALTER TABLE public.users ADD COLUMN') == 1
    assert 'ADD COLUMN is_active BOOLEAN DEFAULT true' in out
    assert "ADD COLUMN plan user_plan DEFAULT 'free'" in out
    assert "ADD COLUMN balance NUMERIC(10, 2) DEFAULT 0.00" in out
    assert "last_seen: its default is computed in Python" in out
    # NOT NULL columns with a constant default are added NOT NULL: the old rows get the default.
    assert "ADD COLUMN is_active BOOLEAN DEFAULT true NOT NULL" in out
    assert "added as nullable" not in out
    assert "columns added          6" in out
    assert "tables created         2" in out
    assert "indexes created        2" in out  # users.email, and the new table courses' title

    # Every old row is still there, and the constant defaults filled the new columns.
    assert rows(pg_engine, "SELECT id, email FROM users ORDER BY id") == before
    assert rows(pg_engine, "SELECT DISTINCT is_active, plan::text, balance::text, nickname, login_count FROM users") == [
        (True, "free", "0.00", "anon", 0)
    ]
    assert rows(pg_engine, "SELECT count(*) FROM users WHERE last_seen IS NULL") == [(3,)]
    assert rows(pg_engine, "SELECT to_regclass('school.enrollments') IS NOT NULL, to_regclass('ix_courses_title') IS NOT NULL") == [(True, True)]

    # A second run has nothing to add, and nothing is left: every column is as the models declare it.
    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0
    assert "columns added          0" in out and "tables created         0" in out
    assert "APPLIED" not in out
    assert run_sync("--database-url", pg_url, "--models", models, "--check")[0] == 0


def test_sqlite_database_is_synced(app_dir: Path, sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url)
    execute_script(engine, "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL); INSERT INTO users (email) VALUES ('a@b.c')")
    models = write_models(app_dir, MODELS.replace('__table_args__ = {"schema": "school"}', ""))

    code, out = run_sync("--database-url", sqlite_url, "--models", models, "--critical-columns", "users.is_active")

    assert code == 0, out
    assert "verification           PASSED" in out
    assert rows(engine, "SELECT id, email, is_active, plan, nickname FROM users") == [(1, "a@b.c", 1, "free", "anon")]
    code, out = run_sync("--database-url", sqlite_url, "--models", models, "--check")
    assert "APPLIED" not in out
    engine.dispose()


@pytest.mark.parametrize("mode", ["--dry-run", "--check"])
def test_dry_run_and_check_change_nothing(app_dir: Path, pg_url: str, pg_engine: sa.Engine, mode: str) -> None:
    execute_script(pg_engine, OLD_SCHEMA)
    models = write_models(app_dir, MODELS)
    catalog = "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 3"
    before = rows(pg_engine, catalog)

    code, out = run_sync("--database-url", pg_url, "--models", models, mode)

    assert rows(pg_engine, catalog) == before
    assert "APPLIED" not in out
    assert "WOULD    add columns users: is_active, plan, balance, nickname, last_seen, login_count" in out
    assert code == (1 if mode == "--check" else 0)


def test_check_passes_on_a_synced_database(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    models = write_models(app_dir, MODELS)
    assert run_sync("--database-url", pg_url, "--models", models)[0] == 0
    code, out = run_sync("--database-url", pg_url, "--models", models, "--check")
    assert code == 0, out
    assert "0 differences" in out


def test_check_fails_while_drift_is_left_for_review(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    execute_script(pg_engine, OLD_SCHEMA)
    # A NOT NULL column without a default: the existing rows have no value for it.
    with_code = MODELS.replace('    login_count: Mapped[int] = mapped_column(server_default=sa.text("0"))\n',
                               '    login_count: Mapped[int] = mapped_column(server_default=sa.text("0"))\n    code: Mapped[str] = mapped_column(sa.String(8))\n')
    assert with_code != MODELS
    models = write_models(app_dir, with_code)
    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0 and "users.code is NOT NULL in the models; added as nullable" in out
    # It was added nullable, so drift remains until a reviewer finishes it.
    code, out = run_sync("--database-url", pg_url, "--models", models, "--check")
    assert code == 1 and "set NOT NULL on users.code" in out


def test_critical_column_verification_fails_and_strict_exits_1(app_dir: Path, pg_url: str) -> None:
    models = write_models(app_dir, MODELS)
    code, out = run_sync("--database-url", pg_url, "--models", models, "--critical-columns", "users.is_active,users.missing_col,nope.x")
    assert code == 0
    assert "verification           FAILED" in out
    assert "critical column users.missing_col does not exist" in out
    assert "critical column nope.x: table nope does not exist" in out
    code, _ = run_sync("--database-url", pg_url, "--models", models, "--critical-columns", "users.missing_col", "--strict")
    assert code == 1


def test_password_never_printed(app_dir: Path, pg_admin: sa.Engine, pg_url: str) -> None:
    with pg_admin.connect() as conn:
        conn.exec_driver_sql("DROP ROLE IF EXISTS sync_schema_pw_user")
        conn.exec_driver_sql("CREATE ROLE sync_schema_pw_user LOGIN SUPERUSER PASSWORD 's3cr3t-Pa55'")
    try:
        url = sa.make_url(pg_url).set(username="sync_schema_pw_user", password="s3cr3t-Pa55")
        models = write_models(app_dir, MODELS)
        code, out = run_sync("--database-url", url.render_as_string(hide_password=False), "--models", models, "--verbose")
        assert code == 0 and "verification           PASSED" in out
        bad = url.set(password="wrong-Pa55word", port=1)
        code, out_bad = run_sync("--database-url", bad.render_as_string(hide_password=False), "--models", models)
        assert code == 0 and "ERROR" in out_bad
        for text in (out, out_bad):
            assert "s3cr3t-Pa55" not in text and "wrong-Pa55word" not in text
        assert "sync_schema_pw_user:***@" in out
    finally:
        owner = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with owner.connect() as conn:
            conn.exec_driver_sql("REASSIGN OWNED BY sync_schema_pw_user TO postgres")
        owner.dispose()
        with pg_admin.connect() as conn:
            conn.exec_driver_sql("DROP ROLE IF EXISTS sync_schema_pw_user")


def test_postgres_scheme_and_env_url_accepted(app_dir: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    heroku_style = "postgres://" + pg_url.split("://", 1)[1]
    monkeypatch.setenv("DATABASE_URL", heroku_style)
    models = write_models(app_dir, MODELS)
    code, out = run_sync("--models", models)
    assert code == 0 and "verification           PASSED" in out


def test_identifiers_are_quoted(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    models = write_models(app_dir, '''
import sqlalchemy as sa
metadata = sa.MetaData()
order = sa.Table("order", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("select", sa.String(10), index=True),
                 sa.Column("Total Amount", sa.Numeric(8, 2), server_default="0"),
                 sa.Column("discount", sa.String(10), server_default="10%"), sa.Column("note", sa.Text, server_default=sa.text("'100% ok'")))
sa.Table("MixedCase", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("order_id", sa.ForeignKey("order.id")),
         schema="Weird Schema")
''')
    execute_script(pg_engine, 'CREATE TABLE "order" (id SERIAL PRIMARY KEY); INSERT INTO "order" DEFAULT VALUES')
    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0 and "verification           PASSED" in out, out
    assert 'ALTER TABLE public."order" ADD COLUMN "select" VARCHAR(10), ADD COLUMN "Total Amount" NUMERIC(8, 2) DEFAULT \'0\'' in out
    assert 'CREATE SCHEMA IF NOT EXISTS "Weird Schema"' in out
    assert rows(pg_engine, 'SELECT id, "select", "Total Amount", discount, note FROM "order"') == [(1, None, 0, "10%", "100% ok")]
    assert rows(pg_engine, 'SELECT count(*) FROM "Weird Schema"."MixedCase"') == [(0,)]
    assert "0 differences" in run_sync("--database-url", pg_url, "--models", models)[1]


def test_added_columns_never_rewrite_the_table(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """A constant default is stored in the catalog (PostgreSQL 11+); a volatile one would
    rewrite every row, so it is set for new rows only. Either way the table's file stays."""
    execute_script(pg_engine, "CREATE TABLE events (id SERIAL PRIMARY KEY); INSERT INTO events SELECT FROM generate_series(1, 1000)")
    relfilenode = "SELECT relfilenode FROM pg_class WHERE relname = 'events'"
    before = rows(pg_engine, relfilenode)
    models = write_models(app_dir, '''
import sqlalchemy as sa
metadata = sa.MetaData()
sa.Table("events", metadata, sa.Column("id", sa.Integer, primary_key=True),
         sa.Column("kind", sa.String(20), server_default="click"),
         sa.Column("token", sa.Uuid, server_default=sa.text("gen_random_uuid()")))
''')
    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0 and "verification           PASSED" in out, out
    assert "ALTER TABLE public.events ADD COLUMN kind VARCHAR(20) DEFAULT 'click', ADD COLUMN token UUID; " \
           "ALTER TABLE public.events ALTER COLUMN token SET DEFAULT gen_random_uuid()" in out, out
    assert "events.token: the default gen_random_uuid() is not a constant" in out
    assert rows(pg_engine, relfilenode) == before
    assert rows(pg_engine, "SELECT count(*) FILTER (WHERE kind = 'click'), count(token) FROM events") == [(1000, 0)]
    execute_script(pg_engine, "INSERT INTO events DEFAULT VALUES")
    assert rows(pg_engine, "SELECT count(token) FROM events") == [(1,)]
    assert "0 differences" in run_sync("--database-url", pg_url, "--models", models)[1]


def test_foreign_key_into_a_schema_that_is_not_synced(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """Referenced columns of a table outside --schemas are named by the catalog query itself."""
    models = write_models(app_dir, '''
import sqlalchemy as sa
metadata = sa.MetaData()
sa.Table("accounts", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("code", sa.String(5), unique=True))
sa.Table("invoices", metadata, sa.Column("id", sa.Integer, primary_key=True),
         sa.Column("account_code", sa.String(5), sa.ForeignKey("accounts.code", ondelete="CASCADE")), schema="billing")
''')
    assert run_sync("--database-url", pg_url, "--models", models)[0] == 0
    code, out = run_sync("--database-url", pg_url, "--models", models, "--schemas", "billing", "--check")
    assert code == 0 and "0 differences" in out, out
    execute_script(pg_engine, "ALTER TABLE billing.invoices DROP CONSTRAINT invoices_account_code_fkey")
    code, out = run_sync("--database-url", pg_url, "--models", models, "--schemas", "billing", "--check")
    assert code == 1 and "add foreign key billing.invoices.account_code -> accounts" in out, out


def test_new_tables_are_created_referenced_first_whatever_the_models_order(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """The models' tables are read in declaration order; the planner puts a new table that
    another new table references first, so that the foreign key goes into CREATE TABLE.
    Only a cycle needs its keys added afterwards."""
    models = write_models(app_dir, '''
import sqlalchemy as sa
metadata = sa.MetaData()
sa.Table("lines", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("order_id", sa.ForeignKey("orders.id")))
sa.Table("orders", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("customer_id", sa.ForeignKey("customers.id")))
sa.Table("customers", metadata, sa.Column("id", sa.Integer, primary_key=True))
sa.Table("eggs", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("hen_id", sa.ForeignKey("hens.id")))
sa.Table("hens", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("egg_id", sa.ForeignKey("eggs.id", use_alter=True)))
''')
    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0, out
    created = [line.split("create table ", 1)[1].split(":")[0] for line in out.splitlines() if "create table " in line]
    assert created.index("customers") < created.index("orders") < created.index("lines"), out
    added_later = [line for line in out.splitlines() if "add foreign key" in line]
    assert len(added_later) == 1 and ("hens -> eggs" in added_later[0] or "eggs -> hens" in added_later[0]), out
    with pg_engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT count(*) FROM pg_constraint WHERE contype = 'f'")).scalar()
    assert keys == 4


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_allow_drop_of_a_column_with_its_own_index(app_dir: Path, backend: str, request: pytest.FixtureRequest) -> None:
    """--allow drop: the column goes, and with it its index; the index's own drop step,
    planned after, finds it gone and is not a failure."""
    url = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    engine = sa.create_engine(url)
    key = "SERIAL PRIMARY KEY" if backend == "postgresql" else "INTEGER PRIMARY KEY"  # numbered by the database, as the models say
    execute_script(engine, f"CREATE TABLE items (id {key}, name VARCHAR(50), old_code VARCHAR(10));"
                           "CREATE INDEX ix_items_old_code ON items (old_code); INSERT INTO items (id, name, old_code) VALUES (1, 'a', 'x')")
    models = write_models(app_dir, "import sqlalchemy as sa\nmetadata = sa.MetaData()\n"
                                   "items = sa.Table('items', metadata, sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.String(50)))\n")

    code, out = run_sync("--database-url", url, "--models", models, "--allow", "drop", "--strict")

    assert code == 0 and "FAILED" not in out, out
    assert [c["name"] for c in sa.inspect(engine).get_columns("items")] == ["id", "name"]
    assert run_sync("--database-url", url, "--models", models, "--check")[0] == 0
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT id, name FROM items").all() == [(1, "a")]
    engine.dispose()
