"""A small SQLModel app behind the standard library's WSGI server; its routes read the
columns the deploy's sync adds.

Against the old schema (old_schema.sql) every route fails with `column ... does not
exist`; after `python -m sync_schema` they work. The app never calls create_all(): the
schema is the deploy's job.

Run: DATABASE_URL=postgres://... python app.py   (listens on $PORT, default 8000)
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIServer, make_server

import sqlalchemy as sa
from models import Project, Task
from sqlmodel import Session, select

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        raise SystemExit("DATABASE_URL is not set")
    # Platforms hand out postgres:// (which SQLAlchemy no longer accepts) or postgresql://
    # (which SQLAlchemy 2.1 maps to psycopg 3): name the driver requirements.txt installs.
    scheme, _, rest = url.partition("://")
    return f"postgresql+psycopg2://{rest}" if scheme in ("postgres", "postgresql") else url


engine = sa.create_engine(database_url(), pool_pre_ping=True)


class HTTPError(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def healthz(session: Session, body: dict[str, Any]) -> dict[str, Any]:
    # Selecting every mapped column fails while the schema lags behind the models, so the
    # platform's health check holds back a deploy that would crash.
    for model in (Project, Task):
        session.exec(select(model).limit(1)).all()
    return {"status": "ok"}


def list_projects(session: Session, body: dict[str, Any]) -> list[dict[str, Any]]:
    open_tasks = sa.select(sa.func.count(Task.id)).where(Task.project_id == Project.id, Task.done.is_(False)).scalar_subquery()
    rows = session.exec(select(Project, open_tasks).where(Project.archived.is_(False)).order_by(Project.id))
    return [{"id": p.id, "name": p.name, "archived": p.archived, "open_tasks": n} for p, n in rows]


def list_tasks(session: Session, body: dict[str, Any]) -> list[dict[str, Any]]:
    tasks = session.exec(select(Task).order_by(Task.priority.desc(), Task.id))
    return [task.model_dump(mode="json") for task in tasks]


def create_task(session: Session, body: dict[str, Any]) -> dict[str, Any]:
    if session.get(Project, body.get("project_id")) is None:
        raise HTTPError("404 Not Found", "no such project")
    task = Task(project_id=body["project_id"], title=body["title"], priority=body.get("priority", 0))
    session.add(task)
    session.commit()
    session.refresh(task)
    return task.model_dump(mode="json")


def finish_task(session: Session, body: dict[str, Any], task_id: str) -> dict[str, Any]:
    task = session.get(Task, int(task_id))
    if task is None:
        raise HTTPError("404 Not Found", "no such task")
    task.done = True
    session.add(task)
    session.commit()
    session.refresh(task)
    return task.model_dump(mode="json")


ROUTES: list[tuple[str, re.Pattern[str], Callable[..., Any], str]] = [
    ("GET", re.compile(r"/healthz"), healthz, "200 OK"),
    ("GET", re.compile(r"/projects"), list_projects, "200 OK"),
    ("GET", re.compile(r"/tasks"), list_tasks, "200 OK"),
    ("POST", re.compile(r"/tasks"), create_task, "201 Created"),
    ("POST", re.compile(r"/tasks/(\d+)/done"), finish_task, "200 OK"),
]


def route(method: str, path: str) -> tuple[Callable[..., Any], str, tuple[str, ...]] | None:
    for route_method, pattern, handler, status in ROUTES:
        match = pattern.fullmatch(path)
        if match and route_method == method:
            return handler, status, match.groups()
    return None


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    found = route(environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"))
    if found is None:
        return respond(start_response, "404 Not Found", {"error": "not found"})
    handler, status, args = found
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length)) if length else {}
    try:
        with Session(engine) as session:
            return respond(start_response, status, handler(session, body, *args))
    except HTTPError as exc:
        return respond(start_response, exc.status, {"error": str(exc)})
    # Any other exception propagates: wsgiref logs the traceback and answers 500.


def respond(start_response: StartResponse, status: str, payload: Any) -> list[bytes]:
    data = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow client must not block the health check


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    with make_server("0.0.0.0", port, app, server_class=ThreadingWSGIServer) as server:
        print(f"serving on 0.0.0.0:{port}", flush=True)
        server.serve_forever()
