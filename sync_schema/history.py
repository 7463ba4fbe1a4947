"""The audit trail: every run and every statement it executed, in the database itself.

Written on its own connection, committed after each write, so a table whose transaction
rolls back still leaves the record of the attempt. Failing to write history never fails a run: the table
may be unwritable for a read-only user, and the sync's job comes first.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import __version__
from .apply import StepResult

DEFAULT_TABLE = "sync_schema_history"


def history_tables(name: str) -> tuple[sa.Table, sa.Table]:
    metadata = sa.MetaData()
    runs = sa.Table(
        name, metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("tool_version", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),  # running, ok, errors, failed
        sa.Column("host", sa.String(255)),
        sa.Column("summary", sa.Text),
    )
    statements = sa.Table(
        f"{name}_statements", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, nullable=False, index=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("step", sa.Text, nullable=False),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("duration_ms", sa.Float),
    )
    return runs, statements


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class History:
    """Records one run. Disabled (every method a no-op) after the first write that fails."""

    engine: Engine
    table: str = DEFAULT_TABLE
    # Sets the lock and statement time-outs of the transaction a write begins (SET LOCAL):
    # the history table locked by someone else must not hold the run up.
    bound: Callable[[Connection], None] = lambda conn: None
    run_id: int | None = None
    problem: str | None = None
    _conn: Connection | None = None

    def start(self, mode: str) -> None:
        runs, statements = history_tables(self.table)
        try:
            self._conn = self.engine.connect()
            self.bound(self._conn)
            runs.metadata.create_all(self._conn, checkfirst=True)
            self._conn.commit()
            self.bound(self._conn)
            # inserted_primary_key rather than RETURNING, which MySQL does not have.
            inserted = self._conn.execute(
                runs.insert().values(started_at=_now(), tool_version=__version__, mode=mode, outcome="running", host=socket.gethostname()[:255])
            ).inserted_primary_key
            self.run_id = int(inserted[0]) if inserted is not None else None
            self._conn.commit()
        except sa.exc.DBAPIError as exc:
            self._disable(exc)

    def record(self, result: StepResult) -> None:
        if self.run_id is None or self._conn is None or result.status in ("review", "planned"):
            return
        _, statements = history_tables(self.table)
        durations = result.statement_seconds or [result.seconds] * len(result.step.sql)
        rows = [
            {
                "run_id": self.run_id, "executed_at": _now(), "step": result.step.description, "statement": sql,
                "status": result.status, "error": result.error,
                "duration_ms": round(durations[i] * 1000, 3) if i < len(durations) else None,
            }
            for i, sql in enumerate(result.step.sql or ["-- (no SQL)"])
        ]
        try:
            self.bound(self._conn)
            self._conn.execute(statements.insert(), rows)
            self._conn.commit()
        except sa.exc.DBAPIError as exc:
            self._disable(exc)

    def finish(self, outcome: str, summary: dict[str, int]) -> None:
        if self.run_id is not None and self._conn is not None:
            runs, _ = history_tables(self.table)
            try:
                self.bound(self._conn)
                self._conn.execute(
                    runs.update().where(runs.c.id == self.run_id).values(finished_at=_now(), outcome=outcome, summary=json.dumps(summary))
                )
                self._conn.commit()
            except sa.exc.DBAPIError as exc:
                self._disable(exc)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _disable(self, exc: sa.exc.DBAPIError) -> None:
        if self._conn is not None:
            self._conn.rollback()
        lines = str(exc.orig).strip().splitlines()
        self.problem = f"history not recorded in {self.table}: {lines[0] if lines else type(exc.orig).__name__}"
        self.run_id = None


def recent_runs(conn: Connection, table: str, limit: int) -> list[sa.Row]:  # type: ignore[type-arg]
    runs, statements = history_tables(table)
    applied = (
        sa.select(sa.func.count()).where(statements.c.run_id == runs.c.id, statements.c.status == "applied").scalar_subquery()
    )
    failed = (
        sa.select(sa.func.count()).where(statements.c.run_id == runs.c.id, statements.c.status != "applied").scalar_subquery()
    )
    query = sa.select(runs, applied.label("applied"), failed.label("not_applied")).order_by(runs.c.id.desc()).limit(limit)
    return list(conn.execute(query))
