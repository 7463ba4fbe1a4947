"""The SQLModel example's models, one version ahead of production (see old_schema.sql).

New in this version: projects.archived, tasks.done, tasks.priority, tasks.due_date and
the index on tasks.project_id. setup.cfg names `models:SQLModel` (SQLModel keeps every
table model in one MetaData) and lists the new columns as critical.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class Project(SQLModel, table=True):
    __tablename__ = "projects"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    archived: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class Task(SQLModel, table=True):
    __tablename__ = "tasks"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True)
    title: str = Field(max_length=200)
    done: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    priority: int = Field(default=0, sa_column_kwargs={"server_default": sa.text("0")})
    due_date: date | None = None
