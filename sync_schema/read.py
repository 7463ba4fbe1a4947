"""Reading both sides at once: the models compiled here while the catalog queries run on a
worker thread, each answer taken in as it arrives, then the diff.

This is all that --check costs before planning, and the part of a run that grows with the
schema, so it is built for speed (bench/ measures it): the server and Python work at the
same time, the cyclic GC stays out of the way, and tables already in sync are recognized by
their signatures.
"""

from __future__ import annotations

import gc
import queue
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .dialects import Dialect, dialect_for
from .dialects.base import READ_LOCK_TIMEOUT
from .diff import Change, Kind, diff_snapshots
from .from_models import snapshot_from_metadata
from .snapshot import Snapshot

_T = TypeVar("_T")


def read_and_diff(
    conn: Connection,
    dialect: Dialect,
    metadatas: Iterable[sa.MetaData],
    schemas: set[str],
    excluded: set[str],
    warnings: list[str],
    lock_timeout: float = READ_LOCK_TIMEOUT,
    freeze: bool = True,
) -> tuple[Snapshot, Snapshot, list[Change]]:
    """What --check costs before planning: both snapshots, limited to `schemas` on the
    models' side (the rest of the models is left alone), and the differences.

    Where a default differs, the server may only store a literal in its own spelling
    ('08:30' as '08:30:00'): the models' literals of those tables are respelled by the
    server, and the snapshots compared once more (the other tables' signatures are kept,
    so that costs little). Other tables need no respelling, and a database in sync costs
    no query for it. `freeze`: see paused_gc (False inside a host process: the Python API)."""
    with paused_gc(freeze):
        desired, actual = read_both_sides(conn, dialect, metadatas, schemas, warnings, lock_timeout)
        desired = desired.only(schemas)
        return diff_respelled(conn, dialect, desired, actual, excluded)


def diff_respelled(conn: Connection, dialect: Dialect, desired: Snapshot, actual: Snapshot, excluded: set[str]) -> tuple[Snapshot, Snapshot, list[Change]]:
    """The differences, where a default or an expression differs only as text compared
    again as the server spells the desired side's."""
    changes = diff_snapshots(desired, actual, dialect, excluded)
    mismatched = {(c.schema, c.table) for c in changes if c.kind is Kind.DEFAULT_MISMATCH and c.table is not None}
    if mismatched:
        respelled = dialect.respell_defaults(conn, desired, actual, mismatched)
        if respelled is not desired:
            desired, changes = respelled, diff_snapshots(respelled, actual, dialect, excluded)
    # Index and CHECK expressions that differ as text: spelled by the server, then compared again.
    indexes = {((c.schema, c.table), c.name) for c in changes if c.kind is Kind.INDEX_MISMATCH and c.table is not None and c.name}
    checks = {((c.schema, c.table), c.name) for c in changes if c.kind is Kind.CHECK_MISMATCH and c.table is not None and c.name}
    if indexes or checks:
        respelled = dialect.respell_expressions(conn, desired, actual, indexes, checks)
        if respelled is not desired:
            desired, changes = respelled, diff_snapshots(respelled, actual, dialect, excluded)
    return desired, actual, changes


def read_reference(url: sa.URL, schemas: set[str] | None, connect_timeout: float, lock_timeout: float = READ_LOCK_TIMEOUT) -> Snapshot:
    """A database taken as the desired schema: its tables and enum types (in `schemas`, or
    all of them), and the other objects it holds that the tool does not create. Read on a
    connection of its own, under the same time-outs, and never written to."""
    from .database import create_engine, open_connection

    engine = create_engine(url, connect_timeout)
    try:
        with open_connection(engine, connect_timeout) as conn:
            dialect = dialect_for(engine.dialect)
            snapshot = dialect.inspect(conn, schemas, lock_timeout)
            conn.commit()
            others = dialect.read_other_objects(conn, schemas or snapshot.schemas)
            if schemas is None:  # the schemas in use: those that hold something, and the default one
                in_use = {key[0] for key in snapshot.tables} | {o.schema for o in others if o.kind != "extension"} | {snapshot.default_schema}
                snapshot = replace(snapshot, schemas=frozenset(in_use & snapshot.schemas))
            return replace(snapshot, others=others)
    finally:
        engine.dispose()


def diff_with_reference(
    conn: Connection, dialect: Dialect, reference: Callable[[], Snapshot], schemas: set[str] | None, excluded: set[str],
    lock_timeout: float = READ_LOCK_TIMEOUT,
) -> tuple[Snapshot, Snapshot, list[Change]]:
    """What read_and_diff is for the models, for a reference database: the target read with
    the same queries (in `schemas`, or all of them while `reference()` is still being read
    on another thread), then the differences in the schemas the reference uses, the target's
    other objects (views, functions...) included where the reference has any."""
    try:
        actual = dialect.inspect(conn, schemas, lock_timeout)
        wanted = reference()
        if wanted.default_schema != actual.default_schema and not any(key[0] == actual.default_schema for key in wanted.tables):
            # The reference's default schema is compared with the target's: public with app
            # where the roles' search_paths differ, one MySQL database with another.
            wanted = wanted.relocated(wanted.default_schema, actual.default_schema)
        in_use = schemas or set(wanted.schemas)
        actual = replace(actual.only(in_use), others=dialect.read_other_objects(conn, in_use) if wanted.others else ())
    finally:
        conn.commit()
    desired = wanted.only(in_use)
    desired = replace(desired, enums={key: enum for key, enum in desired.enums.items() if key[0] in in_use},
                      others=tuple(o for o in desired.others if o.schema in in_use or o.kind == "extension"))
    return diff_respelled(conn, dialect, desired, actual, excluded)


def read_both_sides(
    conn: Connection,
    dialect: Dialect,
    metadatas: Iterable[sa.MetaData],
    schemas: set[str],
    warnings: list[str],
    lock_timeout: float = READ_LOCK_TIMEOUT,
) -> tuple[Snapshot, Snapshot]:
    """The models' snapshot and the database's, read at the same time.

    The catalog queries run on a worker thread, back to back (the driver releases the GIL
    while the server works); meanwhile this thread compiles the models, then turns each
    query's rows into the database's snapshot as they arrive."""
    try:
        with paused_gc(), _quick_thread_switches(), ThreadPoolExecutor(max_workers=1) as pool:
            catalog = dialect.fetch_catalog(conn, schemas, lock_timeout)
            if dialect.fetch_in_background:
                catalog = _Prefetched(pool, catalog)
            desired = snapshot_from_metadata(list(metadatas), dialect, warnings)  # signatures included
            actual = dialect.read_catalog(catalog)
    finally:
        conn.commit()  # after the worker is done: end the read transaction (SQLite would block our own writes)
    return desired, actual


@contextmanager
def _quick_thread_switches() -> Iterator[None]:
    """The worker needs the GIL for a moment whenever a query returns (to turn its rows
    into Python objects and send the next one); by default it waits up to 5 ms for this
    thread to let go, each time. Measured at 1,000 tables: 0.5 ms makes the read 25% faster."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 0.0005))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


_END = object()


class _Prefetched(Iterator[_T]):
    """An iterator drained on a worker thread, its items handed over as they come."""

    def __init__(self, pool: ThreadPoolExecutor, source: Iterator[_T]) -> None:
        self._handoff: queue.SimpleQueue[tuple[object, BaseException | None]] = queue.SimpleQueue()
        pool.submit(self._drain, source)

    def _drain(self, source: Iterator[_T]) -> None:
        try:
            for item in source:
                self._handoff.put((item, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread, raised there
            self._handoff.put((_END, exc))
        else:
            self._handoff.put((_END, None))

    def __next__(self) -> _T:
        item, error = self._handoff.get()
        if error is not None:
            raise error
        if item is _END:
            raise StopIteration
        return item  # type: ignore[return-value]


@contextmanager
def paused_gc(freeze: bool = True) -> Iterator[None]:
    """Both snapshots are tens of thousands of small, acyclic objects: the cyclic garbage
    collector would scan them again and again while they are built and compared, and the
    models' own objects (hundreds of thousands for a big app) with them, for nothing.

    On the way out, everything alive is frozen (gc.freeze) instead of being scanned once
    more: the models and snapshots live until the process ends anyway. That costs the few
    hundred cyclic objects a run leaves behind (measured: no growth over 20 runs in one
    process) and saves a collection that took longer than the diff. Not with `freeze`
    False: a host process calling the API keeps its collector as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if freeze:
                gc.freeze()
            gc.enable()
