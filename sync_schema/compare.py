"""Compare two live databases (say local or staging against production) and report the
drift as a table, with the SQL that would bring the second one up to the first.
Nothing is changed."""

from __future__ import annotations

import time

import sqlalchemy as sa

from .apply import StepResult
from .config import ALWAYS_EXCLUDED
from .database import catalog_lock_error, create_engine, is_lock_timeout, open_connection, parse_url, redact, scrub
from .dialects import dialect_for
from .dialects.base import READ_LOCK_TIMEOUT
from .diff import diff_snapshots
from .errors import ConfigError, SyncError, describe_unexpected
from .plan import plan_changes
from .run import RunResult
from .snapshot import Snapshot


def inspect_url(url: sa.URL, schemas: set[str] | None, connect_timeout: float) -> tuple[Snapshot, object]:
    engine = create_engine(url, connect_timeout)
    try:
        with open_connection(engine, connect_timeout) as conn:
            dialect = dialect_for(engine.dialect)  # once connected: it knows the server's default schema
            try:
                return dialect.inspect(conn, schemas), dialect
            except sa.exc.DBAPIError as exc:
                if not is_lock_timeout(exc):
                    raise
                raise catalog_lock_error(READ_LOCK_TIMEOUT, 1, "run again once it is done", redact(url)) from None
    finally:
        engine.dispose()


def compare_databases(
    reference: str | None, target: str | None, target_source: str, schemas: list[str], exclude: list[str], connect_timeout: float
) -> RunResult:
    started = time.monotonic()
    result = RunResult("compare")
    urls = []
    try:
        if not reference or not reference.strip():
            raise ConfigError("no reference database", "pass --reference URL (or set SYNC_SCHEMA_REFERENCE_URL): the database whose schema is right")
        reference_url = parse_url(reference, "--reference")
        target_url = parse_url(target, target_source)
        urls = [reference_url, target_url]
        result.reference, result.database = redact(reference_url), redact(target_url)
        if reference_url.get_backend_name() != target_url.get_backend_name():
            raise ConfigError(
                f"cannot compare {reference_url.get_backend_name()} with {target_url.get_backend_name()}",
                "compare two databases of the same kind",
            )
        wanted = set(schemas) or None
        desired, dialect = inspect_url(reference_url, wanted, connect_timeout)
        actual, _ = inspect_url(target_url, wanted, connect_timeout)
        result.dialect = dialect  # type: ignore[assignment]
        # Only the schemas that hold tables on either side, unless asked otherwise.
        in_use = {k[0] for k in desired.tables} | {k[0] for k in actual.tables} | {desired.default_schema}
        desired = Snapshot(desired.dialect, desired.default_schema, frozenset(wanted or in_use) & desired.schemas, desired.tables, desired.enums)
        result.changes = diff_snapshots(desired, actual, dialect, [*ALWAYS_EXCLUDED, *exclude])  # type: ignore[arg-type]
        result.tables_analyzed = len(desired.tables)
        plan = plan_changes(result.changes, desired, actual, dialect)  # type: ignore[arg-type]
        result.plan = plan
        result.results = [StepResult(step, "review") for step in plan.steps]  # nothing is applied here
    except SyncError as exc:
        result.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - report, never crash
        text = describe_unexpected(exc)
        for url in urls:
            text = scrub(text, url)
        result.error = text
    result.elapsed = time.monotonic() - started
    return result
