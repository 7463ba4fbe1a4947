"""The four things timed side by side, each on a fresh connection to the same database.

- ours: what `--check` does before planning: models -> Snapshot, inspect, diff;
- alembic: `compare_metadata` with compare_type and compare_server_default;
- reflect: SQLAlchemy's `MetaData.reflect()` (reflection only, no comparison at all);
- floor: bench/floor.py's raw catalog queries.

Connecting is outside every timer (it is the same for all four); everything after it is
inside. Each function counts the SQL statements it sends (a `before_cursor_execute`
listener; the floor counts its own) and, for ours, the time spent inside the driver's
execute (server work plus the wire), so that SQL time and Python time can be told apart.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.pool import NullPool

from sync_schema import run as sync_run

try:  # the read pipeline has its own module in newer checkouts
    from sync_schema import read as sync_read
except ImportError:
    sync_read = sync_run
from sync_schema.config import ALWAYS_EXCLUDED
from sync_schema.dialects import Dialect, dialect_for
from sync_schema.diff import Change, diff_snapshots
from sync_schema.from_models import snapshot_from_metadata
from sync_schema.snapshot import Snapshot

import floor

read_both_sides = getattr(sync_read, "read_both_sides", None)
read_and_diff = getattr(sync_read, "read_and_diff", None)


@dataclass
class Measurement:
    seconds: float
    queries: int
    found: int  # differences found (ours, alembic), tables reflected, rows fetched (floor)
    parts: dict[str, float] = field(default_factory=dict)  # a breakdown of `seconds`
    per_query: dict[str, float] = field(default_factory=dict)  # time inside execute, per statement


# Our statements are told apart by their main catalog table, for the per-query breakdown.
_QUERY_LABELS = {"pg_class": "columns", "pg_constraint": "constraints", "pg_index": "indexes", "pg_type": "enums"}


def _label(statement: str) -> str:
    match = re.search(r"^FROM\s+(\w+)", statement, re.MULTILINE)
    if match:
        return _QUERY_LABELS.get(match.group(1), match.group(1))
    if "current_setting('server_version_num')" in statement:
        return "overview"
    return "other"  # e.g. respelling the models' literal defaults


class SQLCounter:
    """Counts statements on an engine and times each one's cursor.execute() (server + wire)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.durations: list[tuple[str, float]] = []
        self._started = 0.0
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: object, cursor: object, statement: str, *args: object) -> None:
        self._started = time.perf_counter()

    def _after(self, conn: object, cursor: object, statement: str, *args: object) -> None:
        self.durations.append((statement, time.perf_counter() - self._started))

    @property
    def count(self) -> int:
        return len(self.durations)

    @property
    def seconds(self) -> float:
        return sum(d for _, d in self.durations)

    def per_query(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for statement, seconds in self.durations:
            label = _label(statement)
            out[label] = out.get(label, 0.0) + seconds
        return out

    def reset(self) -> None:
        self.durations = []


class Target:
    """One database reachable at one port: an engine (for ours, alembic, reflect) and a DSN (floor)."""

    def __init__(self, url: str, dsn: str, options: str = "") -> None:
        # NullPool: every measurement gets a brand-new session, as a deploy step does.
        # `options` (libpq's, e.g. "-c jit=off") reach every contender's session alike.
        self.engine = sa.create_engine(url, poolclass=NullPool, connect_args={"options": options} if options else {})
        self.dsn = dsn + (" options='" + options.replace("'", "\\'") + "'" if options else "")
        self.counter = SQLCounter(self.engine)
        with self.engine.connect():  # the dialect's one-time first-connect queries, untimed
            pass

    @contextmanager
    def connection(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            self.counter.reset()
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def _schemas(metadata: sa.MetaData, default: str) -> set[str]:
    return {default} | {t.schema for t in metadata.tables.values() if t.schema}


def read_both(conn: sa.Connection, dialect: Dialect, metadata: sa.MetaData) -> tuple[Snapshot, Snapshot]:
    """The models' snapshot and the database's, the way this checkout's --check reads them."""
    schemas = _schemas(metadata, dialect.default_schema)
    if read_both_sides is not None:
        return read_both_sides(conn, dialect, [metadata], schemas, [])  # type: ignore[no-any-return]
    desired = snapshot_from_metadata([metadata], dialect, [])
    actual = dialect.inspect(conn, schemas)
    conn.commit()  # as run._inspect does: ends the read transaction
    return desired, actual


def differences(target: Target, metadata: sa.MetaData) -> list[Change]:
    """What ours reports between the models and the database, untimed."""
    dialect = dialect_for(target.engine.dialect)
    with target.connection() as conn:
        desired, actual = read_both(conn, dialect, metadata)
    return diff_snapshots(desired, actual, dialect, ALWAYS_EXCLUDED)


def ours(target: Target, metadata: sa.MetaData) -> Measurement:
    """Exactly what --check does before planning: read both sides, then diff.

    Newer sync_schema does both in `read.read_and_diff` (the catalog queries run on a worker
    thread while the models compile, then the diff, then literal defaults respelled by the
    server where a default differs, all with the cyclic GC paused); older versions had `read_both_sides`
    followed by `diff_snapshots`, or the three steps in sequence. Whichever this checkout
    has is timed.
    """
    dialect = dialect_for(target.engine.dialect)
    with target.connection() as conn:
        t0 = time.perf_counter()
        if read_and_diff is not None:
            schemas = _schemas(metadata, dialect.default_schema)
            desired, actual, changes = read_and_diff(conn, dialect, [metadata], schemas, set(ALWAYS_EXCLUDED), [])
            t2 = time.perf_counter()  # before the snapshots are freed: a run goes on to plan with them
            parts = {"SQL": target.counter.seconds}
        else:
            desired, actual = read_both(conn, dialect, metadata)
            t1 = time.perf_counter()
            changes = diff_snapshots(desired, actual, dialect, ALWAYS_EXCLUDED)
            t2 = time.perf_counter()
            parts = {"read both sides": t1 - t0, "SQL": target.counter.seconds, "diff": t2 - t1}
        return Measurement(t2 - t0, target.counter.count, len(changes), parts, target.counter.per_query())


def ours_in_sequence(target: Target, metadata: sa.MetaData) -> Measurement:
    """The same work one step after the other, each timed: where ours' time goes (under
    the same garbage-collector regime as the real read, where this checkout has one)."""
    dialect = dialect_for(target.engine.dialect)
    schemas = _schemas(metadata, dialect.default_schema)
    gc_regime = getattr(sync_read, "paused_gc", nullcontext)
    with target.connection() as conn, gc_regime():
        t0 = time.perf_counter()
        desired = snapshot_from_metadata([metadata], dialect, [])
        t1 = time.perf_counter()
        actual = dialect.inspect(conn, schemas)
        conn.commit()
        t2 = time.perf_counter()
        inspect_sql = target.counter.seconds
        respell = getattr(dialect, "respell_defaults", None)
        if respell is not None:
            desired = respell(conn, desired, actual)
        t3 = time.perf_counter()
        changes = diff_snapshots(desired, actual, dialect, ALWAYS_EXCLUDED)
        t4 = time.perf_counter()
        parts = {
            "from_models": t1 - t0, "inspect_sql": inspect_sql, "inspect_python": t2 - t1 - inspect_sql,
            "respell_defaults": t3 - t2, "diff": t4 - t3,
        }
        return Measurement(t4 - t0, target.counter.count, len(changes), parts, target.counter.per_query())


def alembic(target: Target, metadata: sa.MetaData) -> Measurement:
    with target.connection() as conn:
        started = time.perf_counter()
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diffs = compare_metadata(context, metadata)
        seconds = time.perf_counter() - started
        return Measurement(seconds, target.counter.count, len(diffs), {"sql": target.counter.seconds})


def reflect(target: Target, metadata: sa.MetaData) -> Measurement:
    with target.connection() as conn:
        started = time.perf_counter()
        reflected = sa.MetaData()
        reflected.reflect(conn)
        seconds = time.perf_counter() - started
        return Measurement(seconds, target.counter.count, len(reflected.tables), {"sql": target.counter.seconds})


def catalog_floor(target: Target, metadata: sa.MetaData) -> Measurement:
    schemas = sorted({t.schema or "public" for t in metadata.tables.values()})
    conn = floor.connect(target.dsn)
    try:
        result = floor.fetch(conn, schemas)
    finally:
        conn.close()
    return Measurement(result.seconds, result.queries, sum(result.rows.values()), {}, dict(result.per_query))


CONTENDERS: dict[str, Callable[[Target, sa.MetaData], Measurement]] = {
    "ours": ours,
    "alembic": alembic,
    "reflect": reflect,
    "floor": catalog_floor,
}
