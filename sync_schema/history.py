"""The audit trail: every run and every statement it executed, in the database itself.

Written on its own connection, committed after each write, so a table whose transaction
rolls back still leaves the record of the attempt. Failing to write history never fails a run: the table
may be unwritable for a read-only user, and the sync's job comes first.

A fleet (fleet.py) records each target's and tenant's run with its name in two nullable
columns, `target` and `tenant`. A table made before fleets lacks them: the first fleet
run adds them (ensure_fleet_columns); plain runs never write them, so an old table keeps
working for them as it is, and `history` reads whichever columns the table has.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
        sa.Column("target", sa.String(255)),  # a fleet's target (NULL: a plain run)
        sa.Column("tenant", sa.String(255)),  # a fleet's tenant schema (NULL: not a tenant's run)
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
    # A fleet's run: its target and tenant, written only where given (ensure_fleet_columns
    # made the columns first); `hold` False: a connection for each write instead of one
    # held for the run (a fleet job has one connection for everything it does).
    target: str | None = None
    tenant: str | None = None
    hold: bool = True
    tables_exist: bool = False  # made beforehand: not looked for again

    def start(self, mode: str) -> None:
        runs, statements = history_tables(self.table)
        names = {k: v for k, v in (("target", self.target), ("tenant", self.tenant)) if v is not None}
        try:
            if self.hold:
                self._conn = self.engine.connect()
            with self._connection() as conn:
                if not self.tables_exist:
                    self.bound(conn)
                    runs.metadata.create_all(conn, checkfirst=True)
                    conn.commit()
                    if names:  # a fleet's target: the columns its name goes in, on a table made before fleets too
                        _add_fleet_columns(conn, self.table, self.bound)
                self.bound(conn)
                # inserted_primary_key rather than RETURNING, which MySQL does not have.
                inserted = conn.execute(
                    runs.insert().values(started_at=_now(), tool_version=__version__, mode=mode, outcome="running",
                                         host=socket.gethostname()[:255], **names)
                ).inserted_primary_key
                self.run_id = int(inserted[0]) if inserted is not None else None
                conn.commit()
        except sa.exc.DBAPIError as exc:
            self._disable(exc)

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        if self._conn is not None:
            yield self._conn
        else:
            with self.engine.connect() as conn:
                try:
                    yield conn
                except sa.exc.DBAPIError:
                    conn.rollback()
                    raise

    def record(self, result: StepResult) -> None:
        if self.run_id is None or (self.hold and self._conn is None) or result.status in ("review", "planned"):
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
            with self._connection() as conn:
                self.bound(conn)
                conn.execute(statements.insert(), rows)
                conn.commit()
        except sa.exc.DBAPIError as exc:
            self._disable(exc)

    def finish(self, outcome: str, summary: dict[str, int]) -> None:
        if self.run_id is not None and (self._conn is not None or not self.hold):
            runs, _ = history_tables(self.table)
            try:
                with self._connection() as conn:
                    self.bound(conn)
                    conn.execute(
                        runs.update().where(runs.c.id == self.run_id).values(finished_at=_now(), outcome=outcome, summary=json.dumps(summary))
                    )
                    conn.commit()
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


def ensure_fleet_columns(engine: Engine, table: str, bound: Callable[[Connection], None]) -> str | None:
    """The history tables, with the target and tenant columns (added to a table made before
    fleets, NULL in its old rows), once per fleet run and database; None, or why not (the
    fleet then records nothing, as a run whose history cannot be written)."""
    runs, _ = history_tables(table)
    try:
        with engine.connect() as conn:
            bound(conn)
            runs.metadata.create_all(conn, checkfirst=True)
            conn.commit()
            _add_fleet_columns(conn, table, bound)
    except sa.exc.DBAPIError as exc:
        lines = str(exc.orig).strip().splitlines()
        return f"history not recorded in {table}: {lines[0] if lines else type(exc.orig).__name__}"
    return None


def _add_fleet_columns(conn: Connection, table: str, bound: Callable[[Connection], None]) -> None:
    have = {c["name"] for c in sa.inspect(conn).get_columns(table)}
    conn.commit()
    quote = conn.dialect.identifier_preparer.quote
    for column in ("target", "tenant"):
        if column not in have:
            bound(conn)
            try:
                conn.exec_driver_sql(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column)} VARCHAR(255)")
                conn.commit()
            except sa.exc.DBAPIError:
                conn.rollback()  # another run added it first?
                if column not in {c["name"] for c in sa.inspect(conn).get_columns(table)}:
                    raise
                conn.commit()


def recent_runs(conn: Connection, table: str, limit: int) -> list[sa.Row]:  # type: ignore[type-arg]
    runs, statements = history_tables(table)
    # A table made before fleets has no target and tenant columns: read what it has.
    have = {c["name"] for c in sa.inspect(conn).get_columns(table)}
    applied = (
        sa.select(sa.func.count()).where(statements.c.run_id == runs.c.id, statements.c.status == "applied").scalar_subquery()
    )
    failed = (
        sa.select(sa.func.count()).where(statements.c.run_id == runs.c.id, statements.c.status != "applied").scalar_subquery()
    )
    columns = [c if c.name in have else sa.null().label(c.name) for c in runs.c]
    query = sa.select(*columns, applied.label("applied"), failed.label("not_applied")).order_by(runs.c.id.desc()).limit(limit)
    return list(conn.execute(query))
