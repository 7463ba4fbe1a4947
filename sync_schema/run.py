"""The pipeline, end to end: load models -> inspect -> diff -> plan -> apply -> verify -> report."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import __version__
from .alembic import AlembicState
from .apply import ApplyOptions, StepResult, apply_plan
from .config import ALWAYS_EXCLUDED, Settings
from .database import catalog_lock_error, create_engine, is_lock_timeout, open_connection, parse_url, redact, scrub
from .deadline import watchdog
from .dialects import Dialect, dialect_for
from .diff import REFERENCE_SIDES, Change, Kind, diff_snapshots, named_sides
from .errors import ConfigError, SyncError, describe_unexpected
from .models import load_models
from .plan import Plan, Policy, addition_definitions, plan_changes, tables_to_count, tables_to_probe
from .read import diff_with_reference, paused_gc, read_and_diff, read_reference
from .report import Reporter
from .snapshot import Snapshot, TableKey
from .verify import Verification, verify

if TYPE_CHECKING:
    from .history import History

_T = TypeVar("_T")


@dataclass
class RunResult:
    mode: str
    strict: bool = False
    database: str | None = None
    error: str | None = None
    changes: list[Change] = field(default_factory=list)
    plan: Plan | None = None
    results: list[StepResult] = field(default_factory=list)
    verification: Verification | None = None
    tables_analyzed: int = 0
    warnings: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    exit_code: int = 0
    dialect: Dialect | None = None
    reference: str | None = None  # compare: the database taken as the desired schema
    alembic: AlembicState | None = None  # where the database has an alembic_version table

    @property
    def ok(self) -> bool:
        """Nothing went wrong: no error, every permitted step done, verification passed;
        for a check, also no drift (what exit code 0 means)."""
        return self.exit_code == 0 and not self.error and not self.incomplete and (
            self.verification is None or self.verification.passed) and not (self.mode == "check" and self.changes)

    @property
    def incomplete(self) -> bool:
        """Some step did not get done: it failed, waited in vain for a lock, or was refused."""
        return any(r.status in ("failed", "deferred", "refused") for r in self.results)

    def counts(self) -> dict[str, int]:
        applied = [r for r in self.results if r.status == "applied"]
        kinds = [c.kind for r in applied for c in r.step.changes]
        created = {(c.schema, c.table) for r in applied for c in r.step.changes if c.kind is Kind.MISSING_TABLE}
        modified = {r.step.table for r in applied if r.step.table is not None} - created
        main_kinds = (Kind.MISSING_TABLE, Kind.MISSING_COLUMN, Kind.MISSING_INDEX)
        return {
            "tables_analyzed": self.tables_analyzed,
            "tables_created": len(created),
            "tables_modified": len(modified),
            "columns_added": kinds.count(Kind.MISSING_COLUMN),
            "indexes_created": kinds.count(Kind.MISSING_INDEX),
            "other_applied": sum(1 for k in kinds if k not in main_kinds),
            "failed": sum(1 for r in self.results if r.status == "failed"),
            "deferred": sum(1 for r in self.results if r.status == "deferred"),
            "refused": sum(1 for r in self.results if r.status == "refused"),
            "review": sum(1 for r in self.results if r.status == "review"),
            "planned": sum(1 for r in self.results if r.status == "planned"),
        }


@dataclass(frozen=True)
class Embedded:
    """What a host process hands in (sync_schema.api): its models, and maybe its engine.
    Nothing process-wide is touched then: no import, no watchdog that ends the process,
    no frozen garbage collector."""

    metadatas: tuple[sa.MetaData, ...]
    sources: tuple[str, ...]
    engine: Engine | None = None


def sync(settings: Settings, reporter: Reporter, embedded: Embedded | None = None) -> RunResult:
    """Run the whole job. Never raises: every failure ends up in `RunResult.error`."""
    started = time.monotonic()
    result = RunResult(settings.mode, settings.strict)
    url = reference = None
    try:
        if embedded is not None and embedded.engine is not None:
            url = embedded.engine.url  # the host's engine: its URL, with our time-outs (see below)
        else:
            url = parse_url(settings.database_url, settings.database_url_source)
        result.database = redact(url)
        reporter.info(f"{__version__}, mode {settings.mode}, database {result.database}")
        reporter.info(
            f"settings: flags, then the environment, then {settings.config_file}" if settings.config_file
            else "settings: flags and the environment (no [sync_schema] section in setup.cfg or pyproject.toml)"
        )
        if settings.reference_url and embedded is None:
            reference = parse_url(settings.reference_url, settings.reference_url_source)
            result.reference = redact(reference)
            if reference.get_backend_name() != url.get_backend_name():
                raise ConfigError(f"cannot take a {reference.get_backend_name()} database as the reference of a {url.get_backend_name()} one",
                                  "use a reference of the same kind")
            reporter.info(f"reference {result.reference}: its schema is the desired one"
                          + (f" (the models setting, {settings.models}, is not used)" if settings.models else ""))
            metadatas: tuple[sa.MetaData, ...] = ()
        elif embedded is None:
            on_error = error_exit_code(settings.mode, settings.strict)
            with watchdog(settings.models_import_timeout, lambda: f"importing the models ({settings.models}) did not finish within "
                          f"{settings.models_import_timeout:g} s: a models module must not connect, prompt or wait when imported "
                          "(raise --models-import-timeout if it is only slow)", on_error, reporter.stream):
                models = load_models(settings.models, stdout_to_stderr=settings.format in ("json", "markdown"))
            metadatas, sources, spec = models.metadatas, models.sources, models.spec
        else:
            metadatas, sources, spec = embedded.metadatas, embedded.sources, ", ".join(embedded.sources)
        if reference is None:
            table_count = sum(len(md.tables) for md in metadatas)
            reporter.info(f"models {spec}: {_count(table_count, 'table')} from {', '.join(sources)}")
            if len(metadatas) > 1:
                reporter.warning(f"{len(metadatas)} MetaData objects found; syncing all of them")
        # A host's engine is used as it is only for an in-memory SQLite database (a new
        # engine would open another, empty one); otherwise ours, on its URL, with our
        # time-outs and pool, leaving the host's engine untouched.
        host_engine = embedded.engine if embedded is not None else None
        reuse = host_engine is not None and url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
        engine = host_engine if reuse and host_engine is not None else create_engine(url, settings.connect_timeout)
        try:
            with named_sides(*REFERENCE_SIDES) if reference is not None else nullcontext():
                _sync_database(engine, settings, metadatas, reporter, result, freeze=embedded is None, reference=reference)
        finally:
            if not reuse:
                engine.dispose()
    except SyncError as exc:
        result.error = scrub(scrub(str(exc), url), reference)
    except Exception as exc:  # noqa: BLE001 - a deploy step reports, it does not crash
        result.error = scrub(scrub(describe_unexpected(exc), url), reference)
    result.elapsed = time.monotonic() - started
    result.exit_code = exit_code(result, settings)
    if result.error:
        reporter.error(result.error)
        if not settings.strict and settings.mode != "check":
            reporter.info("nothing was synced; exiting 0 so the deploy goes on (use --strict to fail instead)")
    reporter.summary(result)
    return result


# Exit codes (README, "Modes and exit codes"): 0 done (the default mode, whatever
# happened), 1 drift found by --check or a problem under --strict, 2 when --check could
# not tell (no connection, broken models, a bad flag or setting).
EXIT_OK, EXIT_PROBLEM, EXIT_UNKNOWN = 0, 1, 2


def error_exit_code(mode: str, strict: bool) -> int:
    """The exit code of a run that could not be done (an error, a deadline, a bad flag)."""
    return EXIT_UNKNOWN if mode == "check" else EXIT_PROBLEM if strict else EXIT_OK


def exit_code(result: RunResult, settings: Settings) -> int:
    unverified = result.verification is not None and not result.verification.passed
    if result.error:
        return error_exit_code(settings.mode, settings.strict)
    if settings.mode == "check":
        return EXIT_PROBLEM if result.changes or unverified else EXIT_OK
    if not settings.strict:
        return EXIT_OK
    return EXIT_PROBLEM if result.incomplete or unverified else EXIT_OK


def _sync_database(  # type: ignore[no-untyped-def]
    engine: Engine, settings: Settings, metadatas, reporter: Reporter, result: RunResult, freeze: bool = True, reference: sa.URL | None = None,
) -> None:
    """`reference`: a database whose schema is the desired one, instead of `metadatas`."""
    own_tables = set(ALWAYS_EXCLUDED)  # Alembic's and ours: never the app's schema
    if settings.history_table:
        own_tables |= {settings.history_table, f"{settings.history_table}_statements"}
    excluded = own_tables | set(settings.exclude_tables)
    if reference is None:
        _sync_connected(engine, settings, metadatas, reporter, result, freeze, excluded, own_tables, None)
        return
    # The reference is read on a thread of its own while this one connects to the target,
    # takes the run lock and reads the target: the two servers work at the same time. The
    # cyclic GC stays out of the way meanwhile, as in read_and_diff (two catalogs' worth of
    # records: its full collections made the reads 3x slower every other run).
    with paused_gc(freeze), ThreadPoolExecutor(max_workers=1) as reading:
        wanted = reading.submit(_retry_lock_timeouts, lambda: read_reference(reference, set(settings.schemas) or None, settings.connect_timeout,
                                                                             settings.lock_timeout), settings, reporter)
        _sync_connected(engine, settings, metadatas, reporter, result, freeze, excluded, own_tables, wanted)


def _sync_connected(  # type: ignore[no-untyped-def]
    engine: Engine, settings: Settings, metadatas, reporter: Reporter, result: RunResult, freeze: bool, excluded: set[str],
    own_tables: set[str], wanted: Future[Snapshot] | None,
) -> None:
    with open_connection(engine, settings.connect_timeout) as conn:
        dialect = dialect_for(engine.dialect)  # once connected: it knows the server's default schema
        dialect.rebuild_limit = settings.rebuild_limit
        result.dialect = dialect
        # Against a reference, the schemas are those it uses (known once it is read).
        schemas = set(settings.schemas) or (model_schemas(metadatas, dialect) if wanted is None else set())
        pooled = False
        lock: AbstractContextManager[Callable[[], None] | None]
        if settings.mode == "apply":
            from .locking import run_lock  # apply mode only: --check stays light

            pooled = dialect.behind_pooler(engine, conn)
            lock = run_lock(engine, conn, dialect, settings.run_lock_wait, reporter.info, pooled)
        else:
            lock = nullcontext()
        with lock as renew_lock:
            if settings.alembic == "upgrade" and settings.mode == "apply" and wanted is None:
                from .alembic import upgrade_head

                problem = upgrade_head(engine.url, settings.alembic_config, Path.cwd(), settings.lock_timeout, settings.statement_timeout, reporter.info)
                if problem:
                    result.warnings.append(problem)
            reporter.info("inspecting the database...")
            began = time.monotonic()
            if wanted is None:
                desired, actual, result.changes = _retry_lock_timeouts(
                    lambda: read_and_diff(conn, dialect, metadatas, schemas, excluded, result.warnings, settings.lock_timeout, freeze),
                    settings, reporter,
                )
            else:
                reference = wanted
                desired, actual, result.changes = _retry_lock_timeouts(
                    lambda: diff_with_reference(conn, dialect, reference.result, schemas or None, excluded, settings.lock_timeout), settings, reporter,
                )
                schemas = set(desired.schemas)
                reporter.info(f"reference: {_count(len(desired.tables), 'table')} in {_count(len(schemas), 'schema')}")
            in_scope = [t for t in actual.tables.values() if t.schema in schemas and t.name not in excluded]
            reporter.info(
                f"{_count(len(in_scope), 'table')} in {_count(len(schemas), 'schema')} inspected "
                f"({dialect.queries_per_inspect} catalog queries, {time.monotonic() - began:.2f} s)"
            )
            result.tables_analyzed = len(desired.tables)
            if wanted is None:
                result.alembic = _alembic_state(conn, dialect, actual, settings, result, reporter)
            row_counts, nonempty, rewrites = _table_facts(conn, dialect, result.changes, actual, settings)
            plan = plan_changes(result.changes, desired, actual, dialect, row_counts, nonempty, rewrites)
            result.plan = plan
            result.warnings += plan.warnings
            policy = Policy(frozenset(settings.allow), settings.relax_not_null)
            to_apply = [s for s in plan.steps if policy.permits(s)]
            reporter.info(f"{_count(len(result.changes), 'difference')}; {_count(len(to_apply), 'step')} to apply, {len(plan.steps) - len(to_apply)} for review")

            if settings.mode == "apply":
                from .history import History  # apply mode only: --check stays light

                history = History(engine, settings.history_table, bound=lambda c: dialect.bound_locks(c, settings.lock_timeout, settings.statement_timeout),
                                  target=settings.target_name)  # a fleet's target (fleet.py); None for a plain run
                if settings.history_table:
                    history.start(settings.mode)
                    if history.problem:
                        result.warnings.append(history.problem)

                try:
                    result.results = apply_logged(engine, dialect, plan, settings, reporter, history, renew_lock, pooled)
                    after = _retry_lock_timeouts(lambda: _inspect(conn, dialect, schemas, settings.lock_timeout, freeze), settings, reporter)
                    remaining = diff_snapshots(desired, after, dialect, excluded)
                    result.verification = verify(remaining, result.results, after, settings.critical_columns, desired if wanted else None)
                    if settings.alembic == "stamp-if-synced" and wanted is None:
                        from .alembic import stamp_if_synced

                        if renew_lock is not None:
                            renew_lock()  # the replay may take a while
                        stamp_if_synced(
                            engine.url, settings.alembic_config, Path.cwd(), result.alembic, dialect, after, schemas, own_tables,
                            settings.shadow_url, settings.lock_timeout, settings.statement_timeout, result.warnings, reporter.info,
                        )
                finally:
                    history.finish(_outcome(result), result.counts())
            else:
                for step in plan.steps:
                    reporter.planned(step, policy.permits(step))
                result.results = [StepResult(s, "planned" if policy.permits(s) else "review") for s in plan.steps]
                result.verification = verify([], [], actual, settings.critical_columns, desired if wanted else None)
                if settings.alembic == "stamp-if-synced" and wanted is None:
                    reporter.info(f"--alembic stamp-if-synced: not stamped in {settings.mode} mode (only apply mode stamps)")
            for warning in result.warnings:
                reporter.warning(warning)


def apply_logged(
    engine: Engine, dialect: Dialect, plan: Plan, settings: Settings, reporter: Reporter, history: History,
    renew: Callable[[], None] | None, pooled: bool,
) -> list[StepResult]:
    """The plan applied under the settings' policy and bounds: each result logged as it
    comes and recorded in the history (the run lock's lease renewed meanwhile), then what is
    left for review. The plain run's and each fleet tenant's apply."""
    def on_result(step_result: StepResult) -> None:
        reporter.step(step_result)
        history.record(step_result)
        if renew is not None:
            renew()  # a lease (behind a pooler) must outlive a long run

    policy = Policy(frozenset(settings.allow), settings.relax_not_null)
    options = ApplyOptions(settings.lock_timeout, settings.statement_timeout, settings.lock_attempts, behind_pooler=pooled)
    results = apply_plan(engine, dialect, plan, policy, options, on_result=on_result, on_progress=reporter.info)
    for r in results:
        if r.status == "review":
            reporter.step(r)
    return results


# Tables up to this many rows (by the planner's estimate) get an exact count in the report;
# bigger ones show the estimate: a count(*) there would scan the table for a number only.
EXACT_COUNT_ROWS = 100_000


def _table_facts(
    conn: Connection, dialect: Dialect, changes: list[Change], actual: Snapshot, settings: Settings
) -> tuple[dict[TableKey, int], set[TableKey], dict[tuple[TableKey, str], str]]:
    """Row counts for the report, which tables hold rows (where an index is built online
    and a rewrite matters), and which columns' ADD COLUMN would rewrite a table with rows
    (see plan_changes), each query under the lock and statement time-outs: behind another
    session's lock, the report falls back to the planner's estimates and every probed
    table is taken to hold rows (the safe side), instead of the run waiting for the lock."""
    def small(key: TableKey) -> bool:
        table = actual.tables.get(key)
        return table is None or table.row_estimate is None or table.row_estimate <= EXACT_COUNT_ROWS

    def estimated_nonempty(key: TableKey) -> bool:
        table = actual.tables.get(key)
        return table is not None and (table.row_estimate or 0) > 0

    rewrites = _rewriting_additions(conn, dialect, changes)
    to_count = {k for k in tables_to_count(changes) if small(k)}
    to_probe = tables_to_probe(changes) | {key for key, _ in rewrites}
    # A table the catalog's estimate says holds rows is taken to (if it is empty after
    # all, its index is built online: the safe side); the others are probed, each probe
    # opening its table (about 0.3 ms a table on MySQL 9).
    known = {key for key in to_probe if estimated_nonempty(key)}
    to_probe -= known
    counts: dict[TableKey, int] = {}
    nonempty = known | to_probe
    for what in ("count", "probe"):
        if not (to_count if what == "count" else to_probe):
            continue
        try:
            dialect.bound_locks(conn, settings.lock_timeout, settings.statement_timeout)
            if what == "count":
                counts = dialect.count_rows(conn, to_count)
            else:
                nonempty = known | dialect.nonempty_tables(conn, to_probe)
            conn.commit()
        except sa.exc.DBAPIError:
            conn.rollback()  # locked (or too slow): estimates in the report, indexes built online
    return counts, nonempty, rewrites


def _rewriting_additions(conn: Connection, dialect: Dialect, changes: list[Change]) -> dict[tuple[TableKey, str], str]:
    """The columns whose ADD COLUMN rewrites a table with rows, as the server says:
    "column", "default", or "unknown" where it could not say (see plan_changes)."""
    definitions = addition_definitions(changes, dialect)
    if not definitions:
        return {}
    unique = sorted({d for pair in definitions.values() for d in pair})
    answers = dict(zip(unique, dialect.rewriting_additions(conn, unique), strict=True))
    rewrites = {}
    for column, (full, bare) in definitions.items():
        if answers[full] is None or answers[bare] is None:
            rewrites[column] = "unknown"
        elif answers[bare]:
            rewrites[column] = "column"
        elif answers[full]:
            rewrites[column] = "default"
    return rewrites


def _alembic_state(
    conn: Connection, dialect: Dialect, actual: Snapshot, settings: Settings, result: RunResult, reporter: Reporter
) -> AlembicState | None:
    """What alembic_version claims against the scripts and the database (sync_schema/alembic.py),
    its lines added to the run's warnings; a failure to read it never stops the sync."""
    from . import alembic

    try:
        dialect.bound_locks(conn, settings.lock_timeout, settings.statement_timeout)
        state = alembic.read_state(conn, actual, settings.alembic_config, Path.cwd())
    except sa.exc.DBAPIError as exc:
        conn.rollback()
        result.warnings.append(f"alembic_version could not be read: {str(exc.orig).strip().splitlines()[0]}")
        return None
    if state is None:
        return None
    info, warnings = alembic.drift_lines(state, result.changes, dialect.default_schema)
    for line in info:
        reporter.info(line)
    result.warnings += warnings
    missing = alembic.missing_objects(result.changes)
    if missing and dialect.name == "postgresql":
        found, problem = alembic.attribute_missing(
            conn.engine.url, settings.alembic_config, Path.cwd(), state, missing, dialect, settings.shadow_url, reporter.info,
        )
        for key, revision in found.items():
            where = alembic.object_name(key, dialect.default_schema)
            state.attributed.append({"object": where, "revision": revision.revision, "message": revision.message})
            result.warnings.append(f"{where}: created by {revision.revision} \"{revision.message}\", stamped as applied, absent")
        if problem:
            result.warnings.append(problem)
    return state


def _retry_lock_timeouts(read: Callable[[], _T], settings: Settings, reporter: Reporter) -> _T:
    """Run a catalog read, again after a pause if a table's lock was not to be had in
    time; in the end, one line that says who is in the way. Nothing waits unbounded."""
    delay = ApplyOptions.backoff  # the same pauses as a DDL step's retries
    for attempt in range(1, settings.lock_attempts + 1):
        try:
            return read()
        except sa.exc.DBAPIError as exc:
            if not is_lock_timeout(exc):
                raise
            if attempt < settings.lock_attempts:
                reporter.info(f"a table's lock was not available within {settings.lock_timeout:g} s; reading the catalog again in {delay:g} s")
                time.sleep(delay)
                delay *= 2
    raise catalog_lock_error(settings.lock_timeout, settings.lock_attempts, "run again once it is done, or raise --lock-timeout")


def model_schemas(metadatas: Iterable[sa.MetaData], dialect: Dialect) -> set[str]:
    """The schemas the models use (the default one always), known before compiling them."""
    if not dialect.supports_schemas:
        return {dialect.default_schema}
    return {dialect.default_schema} | {t.schema for md in metadatas for t in md.tables.values() if t.schema}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _outcome(result: RunResult) -> str:
    if result.verification is None:
        return "failed"  # interrupted by an error
    if result.incomplete or not result.verification.passed:
        return "errors"
    return "ok"


def _inspect(conn: Connection, dialect: Dialect, schemas: set[str], lock_timeout: float, freeze: bool = True) -> Snapshot:
    """The database read again (after applying), the cyclic GC out of the way (see paused_gc)."""
    try:
        with paused_gc(freeze):
            return dialect.inspect(conn, schemas, lock_timeout)
    finally:
        conn.commit()  # end the read transaction: SQLite would otherwise block our own writes

