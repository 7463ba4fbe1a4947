"""What real applications' models ask of a database that already holds rows: keys that
were widened, new tables that reference new columns, generated columns, bad index
declarations, models split over modules. Each case: the old state with rows, a sync, then
every row is still there, a second run applies nothing, and --check lists only what
needs a person."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from conftest import execute_script, run_sync, write_models

HEADER = "import sqlalchemy as sa\n"


def rows(engine: sa.Engine, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


def settled(url: str, models: str) -> None:
    """A second run applies nothing and --check finds nothing."""
    code, out = run_sync("--database-url", url, "--models", models)
    assert code == 0 and "APPLIED" not in out, out
    code, out = run_sync("--database-url", url, "--models", models, "--check")
    assert code == 0 and "0 differences" in out, out


def test_a_widened_primary_key_is_reported_with_sql_then_applied_with_allow_constraint(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    execute_script(pg_engine, """
        CREATE TABLE keys (workspace VARCHAR(40) NOT NULL, name VARCHAR(80) PRIMARY KEY);
        INSERT INTO keys VALUES ('w1', 'a'), ('w2', 'b')
    """)
    models = write_models(app_dir, HEADER + """
metadata = sa.MetaData()
sa.Table("keys", metadata, sa.Column("workspace", sa.String(40), primary_key=True), sa.Column("name", sa.String(80), primary_key=True))
""")
    code, out = run_sync("--database-url", pg_url, "--models", models, "--check")
    assert code == 1
    assert "change primary key of keys: primary key (name) in the database, (workspace, name) in the models" in out
    assert "ALTER TABLE public.keys DROP CONSTRAINT keys_pkey, ADD PRIMARY KEY (workspace, name)" in out

    code, out = run_sync("--database-url", pg_url, "--models", models, "--allow", "constraint")
    assert code == 0 and "APPLIED  change primary key of keys" in out, out
    assert rows(pg_engine, "SELECT workspace, name FROM keys ORDER BY name") == [("w1", "a"), ("w2", "b")]
    settled(pg_url, models)


def test_a_primary_key_that_existing_rows_would_break_is_refused_with_a_count(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    execute_script(pg_engine, """
        CREATE TABLE keys (workspace VARCHAR(40), name VARCHAR(80) PRIMARY KEY);
        INSERT INTO keys VALUES ('w1', 'a'), (NULL, 'b')
    """)
    models = write_models(app_dir, HEADER + """
metadata = sa.MetaData()
sa.Table("keys", metadata, sa.Column("workspace", sa.String(40), primary_key=True), sa.Column("name", sa.String(80), primary_key=True))
""")
    code, out = run_sync("--database-url", pg_url, "--models", models, "--allow", "constraint")
    assert code == 0
    assert "refused: 1 rows of keys hold NULL in (workspace, name) or repeat a value" in out, out
    assert rows(pg_engine, "SELECT count(*) FROM keys") == [(2,)]


def test_a_new_table_referencing_a_new_unique_column_of_an_old_table(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    execute_script(pg_engine, "CREATE TABLE parents (id SERIAL PRIMARY KEY); INSERT INTO parents DEFAULT VALUES; INSERT INTO parents DEFAULT VALUES")
    models = write_models(app_dir, HEADER + """
metadata = sa.MetaData()
sa.Table("parents", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("code", sa.String(20), unique=True))
sa.Table("children", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("parent_code", sa.ForeignKey("parents.code")))
""")
    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0 and "FAILED" not in out and "REVIEW" not in out, out
    # The column and its unique key come before the table whose foreign key needs them.
    assert out.index("add column parents: code") < out.index("add unique constraint parents.code (code)") < out.index("create table children")
    assert rows(pg_engine, "SELECT id FROM parents ORDER BY id") == [(1,), (2,)]
    settled(pg_url, models)


def test_a_unique_column_added_with_a_default_is_left_for_review(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    execute_script(pg_engine, "CREATE TABLE parents (id SERIAL PRIMARY KEY); INSERT INTO parents DEFAULT VALUES; INSERT INTO parents DEFAULT VALUES")
    models = write_models(app_dir, HEADER + """
metadata = sa.MetaData()
sa.Table("parents", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("code", sa.String(20), unique=True, server_default="x"))
""")
    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0 and "APPLIED  add column parents: code" in out
    assert "REVIEW   add unique constraint parents.code (code)" in out, out  # both rows hold 'x'
    code, out = run_sync("--database-url", pg_url, "--models", models, "--allow", "constraint")
    assert "refused: 1 values of (code) appear more than once in parents" in out, out


def test_a_generated_column_on_a_table_with_rows_waits_for_allow_rewrite(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    execute_script(pg_engine, "CREATE TABLE spans (id SERIAL PRIMARY KEY, start_ns BIGINT, end_ns BIGINT); INSERT INTO spans (start_ns, end_ns) VALUES (1, 5), (2, 9)")
    models = write_models(app_dir, HEADER + """
metadata = sa.MetaData()
sa.Table("spans", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("start_ns", sa.BigInteger), sa.Column("end_ns", sa.BigInteger),
         sa.Column("duration_ns", sa.BigInteger, sa.Computed("end_ns - start_ns", persisted=True)))
""")
    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0 and "REVIEW   add generated column spans.duration_ns" in out, out
    assert "rewrites the table under an ACCESS EXCLUSIVE lock" in out
    code, out = run_sync("--database-url", pg_url, "--models", models, "--allow", "rewrite")
    assert code == 0 and "APPLIED  add generated column spans.duration_ns" in out, out
    assert rows(pg_engine, "SELECT id, duration_ns FROM spans ORDER BY id") == [(1, 4), (2, 7)]
    settled(pg_url, models)


def test_an_index_the_server_rejects_does_not_lose_its_table(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    models = write_models(app_dir, HEADER + """
metadata = sa.MetaData()
tags = sa.Table("tags", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("label", sa.String(40)))
sa.Index("ix_tags_label_gin", tags.c.label, postgresql_using="gin")  # varchar has no GIN operator class
sa.Index("ix_tags_label", tags.c.label)
sa.Table("posts", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("tag_id", sa.ForeignKey("tags.id")))
""")
    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0
    assert "APPLIED  create table tags" in out and "APPLIED  create table posts" in out, out
    assert "FAILED   create index tags.ix_tags_label_gin" in out and "no default operator class" in out
    assert "APPLIED  create index tags.ix_tags_label" in out
    code, out = run_sync("--database-url", pg_url, "--models", models, "--check")
    assert code == 1 and "1 difference" in out and "create index tags.ix_tags_label_gin" in out, out


def test_an_index_without_columns_is_reported_as_a_models_problem(app_dir: Path, pg_url: str) -> None:
    models = write_models(app_dir, HEADER + """
metadata = sa.MetaData()
sa.Table("things", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Index("ix_things_nothing"))
""")
    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0 and "APPLIED  create table things" in out and "FAILED" not in out, out
    assert "things: index ix_things_nothing has no columns; create_all() rejects it too" in out
    settled(pg_url, models)


def test_models_split_over_modules_sharing_one_base(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    (app_dir / "appmodels").mkdir()
    (app_dir / "appmodels" / "__init__.py").write_text("")
    (app_dir / "appmodels" / "core.py").write_text(HEADER + """
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
class Base(DeclarativeBase):
    pass
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
""")
    (app_dir / "appmodels" / "registry.py").write_text(HEADER + """
from sqlalchemy.orm import Mapped, mapped_column
from appmodels.core import Base
class Entry(Base):
    __tablename__ = "entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
""")
    code, out = run_sync("--database-url", pg_url, "--models", "appmodels.core, appmodels.registry")
    assert code == 0 and "APPLIED  create table users" in out and "APPLIED  create table entries" in out, out
    settled(pg_url, "appmodels.core,appmodels.registry")


def test_a_check_whose_expression_changed_is_reported_and_one_spelled_differently_is_not(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    # The database's CHECKs as the server spells them; the models' as SQLAlchemy does.
    execute_script(pg_engine, """
        CREATE TABLE items (id SERIAL PRIMARY KEY, kind VARCHAR(10), qty INTEGER,
            CONSTRAINT valid_kind CHECK (kind IN ('a', 'b')), CONSTRAINT qty_bound CHECK (qty < 100));
        INSERT INTO items (kind, qty) VALUES ('a', 5), ('b', 50)
    """)
    models = write_models(app_dir, HEADER + """
metadata = sa.MetaData()
sa.Table("items", metadata, sa.Column("id", sa.Integer, primary_key=True),
         sa.Column("kind", sa.String(10), sa.CheckConstraint("kind IN ('a','b')", name="valid_kind")),
         sa.Column("qty", sa.Integer), sa.CheckConstraint("qty < 1000", name="qty_bound"))
""")
    code, out = run_sync("--database-url", pg_url, "--models", models, "--check")
    assert code == 1 and "1 difference" in out, out
    assert "replace check constraint items.qty_bound: CHECK (qty < 100) in the database, CHECK (qty < 1000) in the models" in out
    code, out = run_sync("--database-url", pg_url, "--models", models, "--allow", "constraint")
    assert code == 0 and "APPLIED  replace check constraint items.qty_bound" in out, out
    assert rows(pg_engine, "SELECT kind, qty FROM items ORDER BY id") == [("a", 5), ("b", 50)]
    settled(pg_url, models)


def test_several_models_modules_from_pyproject(app_dir: Path, pg_url: str) -> None:
    (app_dir / "core.py").write_text(HEADER + "metadata = sa.MetaData()\nsa.Table('users', metadata, sa.Column('id', sa.Integer, primary_key=True))\n")
    (app_dir / "registry.py").write_text(
        HEADER + "from core import metadata\nsa.Table('entries', metadata, sa.Column('id', sa.Integer, primary_key=True))\n"
    )
    (app_dir / "pyproject.toml").write_text('[tool.sync_schema]\nmodels = ["core:metadata", "registry"]\n')
    code, out = run_sync("--database-url", pg_url)
    assert code == 0 and "APPLIED  create table users" in out and "APPLIED  create table entries" in out, out
