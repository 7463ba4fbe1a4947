"""Run the permitted steps: one transaction per table, every statement under a lock bound.

A table's steps commit together or not at all, so a failure (or a killed process)
leaves each table either as it was or as the models want it. A table whose lock cannot
be had within lock_timeout is retried with backoff, then deferred to the next run
rather than left waiting in front of production queries.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .database import error_line, is_lock_timeout, run_sql
from .dialects import Dialect
from .dialects.base import NeedsReview
from .plan import Plan, Policy, Step


@dataclass
class StepResult:
    step: Step
    # "applied", "failed", "deferred" (lock not available), "refused" (existing rows would
    # fail or lose data), "review" (not permitted), "planned" (dry-run: would be applied)
    status: str
    error: str | None = None
    seconds: float = 0.0
    statement_seconds: list[float] = field(default_factory=list)  # one per statement that ran


@dataclass(frozen=True)
class ApplyOptions:
    lock_timeout: float = 2.0
    statement_timeout: float = 120.0
    lock_attempts: int = 3
    backoff: float = 0.5  # seconds before the second attempt, doubled after each failure
    # A transaction-mode pooler is between us and the server: a session-level SET would
    # stay on a pooled server connection (the app's queries would then run with our
    # time-outs), and need not even reach the connection the next statement runs on.
    behind_pooler: bool = False


def apply_plan(
    engine: Engine,
    dialect: Dialect,
    plan: Plan,
    policy: Policy,
    options: ApplyOptions,
    on_result: Callable[[StepResult], None] = lambda r: None,
    on_progress: Callable[[str], None] = lambda line: None,
) -> list[StepResult]:
    """Run the permitted steps; `on_result` gets each result, `on_progress` a line every
    few seconds while a step runs or waits for its lock (a build log must not go quiet)."""
    results: list[StepResult] = []
    # A table whose step failed, was deferred or left for review: its later steps (an
    # index on a column that was not added, say) wait for the next run too.
    blocked: dict[object, StepResult] = {}
    for group in _transaction_groups([s for s in plan.steps if policy.permits(s)], dialect.transactional_ddl):
        blocker = blocked.get(group[0].table) if group[0].table is not None else None
        if blocker is not None:
            for step in group:
                result = StepResult(step, blocker.status, f"not run: an earlier step on this table was {'left for review' if blocker.status == 'review' else blocker.status}")
                results.append(result)
                if result.status != "review":
                    on_result(result)
            continue
        refused = _run_prechecks(engine, dialect, group, options)
        for result in refused:
            results.append(result)
            on_result(result)
        group = [s for s in group if all(r.step is not s for r in refused)]
        if not group:
            continue
        for result in _run_group(engine, dialect, group, options, on_progress):
            results.append(result)
            if result.status != "review":  # reported with the rest of the review, at the end
                on_result(result)
            if result.status in ("failed", "deferred", "review") and result.step.table is not None and not result.step.independent:
                blocked.setdefault(result.step.table, result)
    results += [StepResult(s, "review") for s in plan.steps if not policy.permits(s)]
    return results


def _transaction_groups(steps: list[Step], transactional_ddl: bool = True) -> Iterator[list[Step]]:
    """Consecutive transactional steps of one table share a transaction; an independent
    step has one of its own, and so has every step where DDL commits by itself."""
    group: list[Step] = []
    for step in steps:
        if group and (
            not transactional_ddl or not step.transactional or step.table is None or step.table != group[0].table or not group[0].transactional
            or step.independent or group[0].independent
        ):
            yield group
            group = []
        group.append(step)
    if group:
        yield group


def _run_prechecks(engine: Engine, dialect: Dialect, group: list[Step], options: ApplyOptions) -> list[StepResult]:
    """Count the rows each risky step would fail on or damage; refuse the step if any."""
    refused = []
    for step in group:
        if not step.precheck:
            continue
        started = time.monotonic()
        try:
            with engine.begin() as conn:
                dialect.bound_locks(conn, options.lock_timeout, options.statement_timeout)
                for sql in step.precheck[:-1]:
                    run_sql(conn, sql)
                count = int(run_sql(conn, step.precheck[-1]).scalar() or 0)
        except sa.exc.DBAPIError as exc:
            refused.append(StepResult(step, "refused", f"could not check existing rows: {_one_line(exc, engine)}", time.monotonic() - started))
            continue
        if count:
            refused.append(StepResult(step, "refused", "refused: " + step.refusal.format(count=count), time.monotonic() - started))
    return refused


def _run_group(
    engine: Engine, dialect: Dialect, group: list[Step], options: ApplyOptions, on_progress: Callable[[str], None] = lambda line: None
) -> list[StepResult]:
    delay = options.backoff
    timed_out = False
    what = group[0].description if len(group) == 1 else f"{group[0].description} and {len(group) - 1} more"
    for attempt in range(1, options.lock_attempts + 1):
        started = time.monotonic()
        try:
            with _heartbeat(functools.partial(_still_running, on_progress, what, started)):
                durations = _execute(engine, dialect, group, options)
        except NeedsReview as exc:
            return [StepResult(s, "review", str(exc), time.monotonic() - started) for s in group]
        except sa.exc.DBAPIError as exc:
            message = _one_line(exc, engine)
            _clean_up(engine, dialect, group, options)
            if timed_out and getattr(exc.orig, "pgcode", None) == "42P07" and any(s.cleanup for s in group):
                # What the timed-out attempt left (an INVALID index) could not be dropped
                # either (the lock again): the next run finds and rebuilds it.
                why = f"lock not available within {options.lock_timeout:g} s; what the attempt left is rebuilt by the next run"
                return [StepResult(s, "deferred", why, time.monotonic() - started) for s in group]
            if is_lock_timeout(exc):
                timed_out = True
                if attempt < options.lock_attempts:
                    on_progress(f"waiting for the lock: {what} (not available within {options.lock_timeout:g} s, "
                                f"attempt {attempt} of {options.lock_attempts}; again in {delay:g} s)")
                    time.sleep(delay)
                    delay *= 2
                    continue
                why = f"lock not available within {options.lock_timeout:g} s after {attempt} attempts; deferred to the next run"
                return [StepResult(s, "deferred", why, time.monotonic() - started) for s in group]
            return [StepResult(s, "failed", message, time.monotonic() - started) for s in group]
        return [StepResult(s, "applied", None, sum(d), d) for s, d in zip(group, durations, strict=True)]
    raise AssertionError("unreachable")


HEARTBEAT_SECONDS = 5.0


def _still_running(say: Callable[[str], None], what: str, since: float) -> None:
    say(f"still running: {what} ({time.monotonic() - since:.0f} s)")


@contextmanager
def _heartbeat(beat: Callable[[], None], every: float = HEARTBEAT_SECONDS) -> Iterator[None]:
    """`beat()` every `every` seconds while the block runs."""
    done = threading.Event()

    def run() -> None:
        while not done.wait(every):
            beat()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _clean_up(engine: Engine, dialect: Dialect, group: list[Step], options: ApplyOptions) -> None:
    """Each step's cleanup after a failure (see Step.cleanup); a cleanup that fails too
    leaves the leftover to the next run, which finds and rebuilds it."""
    cleanup = [sql for step in group for sql in step.cleanup]
    if not cleanup:
        return
    try:
        with engine.begin() as conn:  # in a transaction: SET LOCAL bounds it, behind a pooler too
            dialect.bound_locks(conn, options.lock_timeout, options.statement_timeout)
            for sql in cleanup:
                run_sql(conn, sql)
    except sa.exc.DBAPIError:
        pass


def _execute(engine: Engine, dialect: Dialect, group: list[Step], options: ApplyOptions) -> list[list[float]]:
    """Run a group; per step, the duration of each statement."""
    if group[0].transactional:
        with engine.begin() as conn:
            dialect.bound_locks(conn, options.lock_timeout, options.statement_timeout)
            return [_timed(conn, step, run=dialect.run_ddl) for step in group]
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if options.behind_pooler:
            # No SET at all: each statement is bounded from here, cancelled once it has
            # run statement_timeout (CREATE INDEX CONCURRENTLY, the usual one, waits
            # without holding up the app's reads and writes).
            return [_timed(conn, step, cancel_after=options.statement_timeout) for step in group]
        # A session SET: it stays on this connection of the run's own pool, whose every use
        # sets the bounds it needs (SET LOCAL in a transaction, or this again).
        dialect.bound_locks(conn, options.lock_timeout, options.statement_timeout, local=False)
        return [_timed(conn, step, run=dialect.run_ddl) for step in group]


def _timed(conn: sa.Connection, step: Step, cancel_after: float | None = None, run: Callable[[sa.Connection, str], object] = run_sql) -> list[float]:
    durations = []
    for sql in step.sql:
        started = time.monotonic()
        watchdog = None
        if cancel_after is not None:
            driver_connection = conn.connection.driver_connection
            assert driver_connection is not None  # a live connection: it just ran a statement
            watchdog = threading.Timer(cancel_after, driver_connection.cancel)  # psycopg2 and psycopg both have cancel()
            watchdog.daemon = True
            watchdog.start()
        try:
            run(conn, sql)
        finally:
            if watchdog is not None:
                watchdog.cancel()
        durations.append(time.monotonic() - started)
    return durations


def _one_line(exc: sa.exc.DBAPIError, engine: Engine) -> str:
    line = error_line(exc, engine.url)
    if getattr(exc.orig, "pgcode", None) == "42501" or "permission denied" in line or "must be owner" in line:
        line += f" (user {engine.url.username or '?'} lacks the privilege: run the sync with the tables' owner, or GRANT it)"
    return line
