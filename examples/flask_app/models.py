"""The example app's models, one version ahead of production (see old_schema.sql).

New in this version, and missing from the old schema until sync-schema adds them:
users.is_active, users.created_at, courses.capacity, enrollments.status and the index
on enrollments.course_id. setup.cfg names this module (models:db) and lists the new
columns as critical, so the deploy log says whether they exist.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


# No app is bound here: sync-schema imports this module without starting the app.
db = SQLAlchemy(model_class=Base)


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(100))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime | None] = mapped_column(server_default=sa.func.now())


class Course(db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    capacity: Mapped[int] = mapped_column(default=30, server_default=sa.text("30"))


class Enrollment(db.Model):
    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="active", server_default="active")
