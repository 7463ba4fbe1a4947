"""A small Flask-SQLAlchemy app whose routes read the columns the deploy's sync adds.

Against the old schema (old_schema.sql) every route fails with `column ... does not
exist`; after `python -m sync_schema` they work. The app never calls create_all():
the schema is the deploy's job.

Run: DATABASE_URL=postgres://... python app.py   (listens on $PORT, default 5000)
"""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
from flask import Flask, abort, request
from models import Course, Enrollment, User, db


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        raise SystemExit("DATABASE_URL is not set")
    # Platforms hand out postgres:// (which SQLAlchemy no longer accepts) or postgresql://
    # (which SQLAlchemy 2.1 maps to psycopg 3): name the driver requirements.txt installs.
    scheme, _, rest = url.partition("://")
    return f"postgresql+psycopg2://{rest}" if scheme in ("postgres", "postgresql") else url


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url()
    # Connections outlive deploys and database restarts; test them before use.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    db.init_app(app)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        # Selecting every mapped column of every model fails while the schema lags behind
        # the models, so the platform's health check holds back a deploy that would crash.
        for model in (User, Course, Enrollment):
            db.session.execute(sa.select(model).limit(1)).all()
        return {"status": "ok"}

    @app.get("/users")
    def list_users() -> list[dict[str, Any]]:
        return [user_json(u) for u in db.session.scalars(sa.select(User).order_by(User.id))]

    @app.post("/users")
    def create_user() -> tuple[dict[str, Any], int]:
        data = request.get_json(force=True)
        user = User(email=data["email"], name=data.get("name"))
        db.session.add(user)
        db.session.commit()
        return user_json(user), 201

    @app.get("/courses")
    def list_courses() -> list[dict[str, Any]]:
        enrolled = (
            sa.select(sa.func.count(Enrollment.id))
            .where(Enrollment.course_id == Course.id, Enrollment.status == "active")
            .scalar_subquery()
        )
        rows = db.session.execute(sa.select(Course, enrolled).order_by(Course.id))
        return [
            {"id": c.id, "title": c.title, "capacity": c.capacity, "enrolled": n, "seats_left": c.capacity - n}
            for c, n in rows
        ]

    @app.post("/courses/<int:course_id>/enrollments")
    def enroll(course_id: int) -> tuple[dict[str, Any], int]:
        course = db.session.get(Course, course_id) or abort(404)
        user = db.session.get(User, request.get_json(force=True)["user_id"]) or abort(404)
        if not user.is_active:
            abort(409, "inactive user")
        enrollment = Enrollment(user_id=user.id, course_id=course.id)
        db.session.add(enrollment)
        db.session.commit()
        return {"id": enrollment.id, "user_id": user.id, "course_id": course.id, "status": enrollment.status}, 201

    return app


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name, "is_active": user.is_active}


app = create_app()

if __name__ == "__main__":
    # Flask's own server keeps the example dependency-free; for production traffic set
    # WEB_COMMAND="gunicorn app:app" (and add gunicorn to requirements.txt).
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "5000")))
