"""Every way an app holds its models: MetaData, DeclarativeBase, declarative_base(),
Flask-SQLAlchemy's db and SQLModel; each synced for real into SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from sync_schema.errors import ModelsError
from sync_schema.models import load_models

from conftest import run_sync, write_models

SOURCES = {
    "metadata": '''
import sqlalchemy as sa
metadata = sa.MetaData()
sa.Table("things", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("label", sa.String(20)))
''',
    "declarative_base_2_0": '''
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
class Base(DeclarativeBase):
    pass
class Thing(Base):
    __tablename__ = "things"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(20))
''',
    "legacy_declarative_base": '''
import sqlalchemy as sa
from sqlalchemy.orm import declarative_base
Base = declarative_base()
class Thing(Base):
    __tablename__ = "things"
    id = sa.Column(sa.Integer, primary_key=True)
    label = sa.Column(sa.String(20))
''',
    "flask_sqlalchemy": '''
from flask_sqlalchemy import SQLAlchemy
db = SQLAlchemy()
class Thing(db.Model):
    __tablename__ = "things"
    id = db.Column(db.Integer, primary_key=True)
    label = db.Column(db.String(20))
''',
    "sqlmodel": '''
from typing import Optional
from sqlmodel import Field, SQLModel
class Thing(SQLModel, table=True):
    __tablename__ = "things"
    id: Optional[int] = Field(default=None, primary_key=True)
    label: str = Field(max_length=20)
''',
}
ATTRS = {"metadata": "metadata", "declarative_base_2_0": "Base", "legacy_declarative_base": "Base", "flask_sqlalchemy": "db", "sqlmodel": "SQLModel"}


@pytest.mark.parametrize("style", sorted(SOURCES))
def test_models_are_found_and_synced(style: str, app_dir: Path, sqlite_url: str) -> None:
    if style == "sqlmodel":
        # SQLModel keeps one global MetaData: each test's module adds a "things" table to it.
        import sqlmodel

        sqlmodel.SQLModel.metadata.clear()
    module = write_models(app_dir, SOURCES[style])
    for spec in (module, f"{module}:{ATTRS[style]}"):
        loaded = load_models(spec)
        assert len(loaded.metadatas) == 1
        assert list(loaded.metadatas[0].tables) == ["things"]

    code, out = run_sync("--database-url", sqlite_url, "--models", module, "--critical-columns", "things.label")
    assert code == 0, out
    assert "verification           PASSED (1 critical columns present)" in out
    engine = sa.create_engine(sqlite_url)
    assert [c["name"] for c in sa.inspect(engine).get_columns("things")] == ["id", "label"]
    engine.dispose()


def test_several_metadata_objects_are_all_used(app_dir: Path, sqlite_url: str) -> None:
    module = write_models(app_dir, '''
import sqlalchemy as sa
first = sa.MetaData()
second = sa.MetaData()
sa.Table("a", first, sa.Column("id", sa.Integer, primary_key=True))
sa.Table("b", second, sa.Column("id", sa.Integer, primary_key=True))
''')
    loaded = load_models(module)
    assert sorted(t for md in loaded.metadatas for t in md.tables) == ["a", "b"]
    code, out = run_sync("--database-url", sqlite_url, "--models", module)
    assert "2 MetaData objects found; syncing all of them" in out
    assert "tables created         2" in out


def test_attribute_path_and_errors(app_dir: Path) -> None:
    module = write_models(app_dir, "import sqlalchemy as sa\nclass Holder:\n    md = sa.MetaData()\nsa.Table('t', Holder.md, sa.Column('id', sa.Integer, primary_key=True))\n")
    assert list(load_models(f"{module}:Holder.md").metadatas[0].tables) == ["t"]
    with pytest.raises(ModelsError, match="has no attribute 'Nope'"):
        load_models(f"{module}:Nope")
    empty = write_models(app_dir, "import sqlalchemy as sa\nmetadata = sa.MetaData()\n")
    with pytest.raises(ModelsError, match="has no tables"):
        load_models(empty)
