"""After a sync, the new code's INSERTs must work: NOT NULL columns without a default
that the models do not set are relaxed (DROP NOT NULL), never dropped."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from conftest import run_sync, write_models

MODELS = '''
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

class Base(DeclarativeBase):
    pass

class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(100))
    display_name: Mapped[str | None] = mapped_column(sa.String(100))
'''

OLD = [
    # legacy_code moved out of the models; display_name became optional in the models.
    """CREATE TABLE accounts (
        id SERIAL PRIMARY KEY,
        email VARCHAR(100) NOT NULL,
        display_name VARCHAR(100) NOT NULL,
        legacy_code VARCHAR(10) NOT NULL,
        region VARCHAR(10) NOT NULL DEFAULT 'eu'
    )""",
    "INSERT INTO accounts (email, display_name, legacy_code) VALUES ('a@x.io', 'A', 'L1'), ('b@x.io', 'B', 'L2')",
]
SNAPSHOT_SQL = "SELECT id, email, display_name, legacy_code, region FROM accounts ORDER BY id"


def setup_old(engine: sa.Engine) -> list[tuple]:
    with engine.begin() as conn:
        for sql in OLD:
            conn.exec_driver_sql(sql)
        return [tuple(r) for r in conn.exec_driver_sql(SNAPSHOT_SQL)]


def not_null_columns(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.exec_driver_sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' AND is_nullable = 'NO'")}


def test_inserts_from_the_models_work_after_the_sync(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    before = setup_old(pg_engine)
    module_name = write_models(app_dir, MODELS)

    code, out = run_sync("--database-url", pg_url, "--models", module_name)

    assert code == 0, out
    assert "verification           PASSED" in out
    assert "relax accounts.legacy_code: not in the models, NOT NULL without a default, so INSERTs from the models will fail (2 rows)" in out
    assert "ALTER TABLE public.accounts ALTER COLUMN legacy_code DROP NOT NULL" in out
    assert "ALTER TABLE public.accounts ALTER COLUMN display_name DROP NOT NULL" in out
    # region has a default, so INSERTs work without it: it is only reported, never dropped.
    assert "drop column accounts.region (not in the models; 2 rows)" in out
    assert not_null_columns(pg_engine) == {"id", "email", "region"}

    models = importlib.import_module(module_name)
    with Session(pg_engine) as session:  # the ORM, as the new code does it
        session.add(models.Account(email="c@x.io"))
        session.commit()
    with pg_engine.begin() as conn:  # and Core, through the models' own Table
        conn.execute(models.Account.__table__.insert().values(email="d@x.io", display_name=None))
    with pg_engine.connect() as conn:
        rows = [tuple(r) for r in conn.exec_driver_sql(SNAPSHOT_SQL)]
    assert rows[:2] == before  # every old row and value intact
    assert rows[2:] == [(3, "c@x.io", None, None, "eu"), (4, "d@x.io", None, None, "eu")]


def test_relaxing_can_be_turned_off(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    before = setup_old(pg_engine)
    module_name = write_models(app_dir, MODELS)

    code, out = run_sync("--database-url", pg_url, "--models", module_name, "--no-relax-not-null")

    assert code == 0
    assert "REVIEW   relax accounts.legacy_code: not in the models, NOT NULL without a default, so INSERTs from the models will fail (2 rows): ALTER TABLE public.accounts ALTER COLUMN legacy_code DROP NOT NULL" in out
    assert not_null_columns(pg_engine) == {"id", "email", "display_name", "legacy_code", "region"}
    with pg_engine.connect() as conn:
        assert [tuple(r) for r in conn.exec_driver_sql(SNAPSHOT_SQL)] == before
    models = importlib.import_module(module_name)
    with pg_engine.begin() as conn, pytest.raises(sa.exc.IntegrityError, match="legacy_code"):
        conn.execute(models.Account.__table__.insert().values(email="c@x.io", display_name="C"))
