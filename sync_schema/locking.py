"""One run at a time.

On PostgreSQL the run holds a session advisory lock on its own connection. Behind a
transaction-mode pooler (PgBouncer) a session lock does not hold: the next transaction
may run on another server connection, and another client may share ours. There we fall
back to a lease: a row in a small table, taken with one atomic INSERT ... ON CONFLICT,
renewed while the run goes on, and free again once its time is up if a run dies.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .dialects import Dialect
from .errors import DatabaseError

LEASE_TABLE = "sync_schema_lock"
LEASE_SECONDS = 300


class LeaseLock:
    def __init__(self, engine: Engine, seconds: int = LEASE_SECONDS, name: str = "run") -> None:
        self.engine = engine
        self.holder = uuid.uuid4().hex
        self.seconds = seconds
        self.name = name  # "run": the database's; "schema:NAME": one tenant schema's (fleet.py)

    def create(self) -> None:
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(
                    f"CREATE TABLE IF NOT EXISTS {LEASE_TABLE} (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)"
                )
        except sa.exc.IntegrityError:
            # Runs starting together race on IF NOT EXISTS; the loser finds the table made.
            with self.engine.connect() as conn:
                if conn.execute(sa.text("SELECT to_regclass(:name)"), {"name": LEASE_TABLE}).scalar() is None:
                    raise

    def try_take(self) -> bool:
        """Take or renew the lease; True if ours. A single statement: no race between runs."""
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.text(
                    f"INSERT INTO {LEASE_TABLE} (name, holder, expires_at) VALUES (:name, :holder, now() + make_interval(secs => :seconds)) "
                    f"ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at "
                    f"WHERE {LEASE_TABLE}.expires_at < now() OR {LEASE_TABLE}.holder = EXCLUDED.holder RETURNING holder"
                ),
                {"name": self.name, "holder": self.holder, "seconds": self.seconds},
            ).first()
        return row is not None

    def release(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"DELETE FROM {LEASE_TABLE} WHERE name = :name AND holder = :holder"), {"name": self.name, "holder": self.holder})


@contextmanager
def run_lock(
    engine: Engine, conn: Connection, dialect: Dialect, wait: float, say: Callable[[str], None], pooled: bool
) -> Iterator[Callable[[], None]]:
    """Hold the run lock for the block; yields a `renew` callable for long runs.
    `pooled`: a transaction-mode pooler is between us and the server (Dialect.behind_pooler)."""
    def renew() -> bool:
        return True  # a session lock lasts as long as the session

    if pooled:
        say("a transaction-mode pooler (PgBouncer?) is between us and the database: session advisory locks "
            f"do not hold there, so this run takes a {LEASE_SECONDS} s lease in table {LEASE_TABLE} instead")
        lease = _lease(engine, "run")
        take, release, renew = lease.try_take, lease.release, lease.try_take
    else:
        take, release = (lambda: dialect.try_run_lock(conn)), (lambda: dialect.release_run_lock(conn))
    with _holding(take, release, renew, wait, say) as keep:
        yield keep


@contextmanager
def _holding(
    take: Callable[[], bool], release: Callable[[], object], renew: Callable[[], bool], wait: float, say: Callable[[str], None],
    what: str = "the lock",
) -> Iterator[Callable[[], None]]:
    """Take a lock (waiting up to `wait` seconds), hold it for the block, release it; yields
    the `keep` callable that renews a lease on a long run."""
    _wait_for(take, wait, say, what)

    def keep() -> None:
        if not renew():
            say("lost the run lease; another run may start")

    try:
        yield keep
    finally:
        try:
            release()
        except sa.exc.DBAPIError:
            pass  # the session is gone, and its lock with it; a lease expires by itself


def _lease(engine: Engine, name: str) -> LeaseLock:
    lease = LeaseLock(engine, name=name)
    try:
        lease.create()
    except sa.exc.DBAPIError as exc:
        raise DatabaseError(
            f"cannot create the lock table {LEASE_TABLE} behind the pooler: {str(exc.orig).strip().splitlines()[0]}",
            "grant CREATE on the schema, or connect directly (not through the pooler) for the sync",
        ) from None
    return lease


def _wait_for(take: Callable[[], bool], wait: float, say: Callable[[str], None], what: str = "the lock") -> None:
    deadline = time.monotonic() + wait
    announced = False
    while not take():
        if time.monotonic() >= deadline:
            raise DatabaseError(
                f"another sync-schema run has held {what} for more than {wait:g} s",
                "it is probably applying the same changes; nothing done here",
            )
        if not announced:
            say("another sync-schema run is in progress; waiting for it to finish")
            announced = True
        time.sleep(0.2)


@contextmanager
def schema_lock(
    engine: Engine, dialect: Dialect, schema: str | None, wait: float, say: Callable[[str], None], pooled: bool
) -> Iterator[Callable[[], None]]:
    """A fleet job's run lock (fleet.py): one tenant schema's, or the whole database's
    (`schema` None: the lock a plain run takes). Taken and released on checkouts of the
    job's engine, whose one pooled connection keeps its session, and the session lock with
    it, between checkouts: the job holds no second connection for the lock."""
    def on_conn(action: Callable[[sa.Connection], bool | None]) -> Callable[[], bool]:
        def run() -> bool:
            with engine.connect() as conn:
                return bool(action(conn))
        return run

    take: Callable[[], bool]
    release: Callable[[], object]
    renew: Callable[[], bool] = lambda: True  # noqa: E731 - a session lock lasts as long as the session
    if pooled:
        lease = _lease(engine, "run" if schema is None else f"schema:{schema}")
        take, release, renew = lease.try_take, lease.release, lease.try_take
    elif schema is None:
        take, release = on_conn(dialect.try_run_lock), on_conn(dialect.release_run_lock)
    else:
        take = on_conn(lambda conn: dialect.try_schema_lock(conn, schema))
        release = on_conn(lambda conn: dialect.release_schema_lock(conn, schema))
    with _holding(take, release, renew, wait, say, "the lock" if schema is None else f"the lock of schema {schema}") as keep:
        yield keep
