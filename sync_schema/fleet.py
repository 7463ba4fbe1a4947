"""Fleets: several databases (targets) and tenant schemas in one run.

Targets are the config file's [sync_schema.targets.NAME] sections, one database each (the
file's top-level settings are their defaults). Each is synced by run.sync, the plain
pipeline, one after the other; targets whose URLs name the same database (one database on
a laptop standing in for several in production) are synced once, with the union of their
models and schemas.

Tenant schemas (`tenant_schemas`: a query returning schema names, or name patterns) each
get the models' default schema, their tables declared without a schema. Per database:

- the models are compiled once, their default schema a placeholder (PLACEHOLDER), so that
  the tables declared without a schema (one copy per tenant) and those declared in a named
  schema (shared: `public.plans`) stay apart;
- the catalog of the shared schemas and of every tenant is read in one set of queries,
  whatever the number of tenants, then split per schema;
- the shared schemas go first, under the database's run lock (the one a plain run takes);
- then the tenants, `jobs` at a time, each job on one connection of its own (a pool of one:
  the job's lock, reads, steps and history all use it in turn), each tenant under a lock
  of its own (Dialect.try_schema_lock), so that two runs (two shards, two dynos) never
  work on one tenant at once while runs on other tenants go on. The desired side is the
  compiled models relocated into the tenant (Snapshot.relocated), and the DDL renders
  the models' schema-less names into it (schema_translate_map, through the dialect's
  default schema).

A tenant found in sync costs no query at all. A drifted one is read again under its lock
before anything is planned: another run may have synced it since the read of all of them.
Failures are reported and the run goes on (`fail_fast` stops it); the summary has one row
per target and per tenant that is not in sync, and the exit code follows the usual rules
over all of them.
"""

from __future__ import annotations

import contextlib
import copy
import fnmatch
import json
import queue
import re
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import __version__
from .apply import ApplyOptions, StepResult
from .config import ALWAYS_EXCLUDED, CriticalColumn, Settings, resolve_settings
from .database import create_engine, error_line, is_lock_timeout, open_connection, parse_url, redact, run_sql, scrub
from .deadline import watchdog
from .dialects import Dialect, dialect_for
from .diff import Change, diff_snapshots
from .errors import ConfigError, DatabaseError, SyncError, describe_unexpected
from .history import History
from .plan import Plan, Policy, plan_changes
from .read import diff_respelled, read_both_sides
from .report import Reporter
from .run import RunResult, _count, _outcome, _table_facts, apply_logged, error_exit_code, exit_code
from .signature import table_signature
from .snapshot import Snapshot, Table, TableKey
from .verify import verify

# The models' default schema while they are compiled for tenants: a name no server schema
# has, replaced by each tenant's (Snapshot.relocated) before anything is compared or run.
PLACEHOLDER = "{tenant}"
STATUSES = ("in sync", "changed", "drifted", "deferred", "failed", "skipped")
_SYSTEM_SCHEMAS = ("information_schema",)
_PATTERN = re.compile(r"^[\w$*?\[\]!-]+$")  # a schema name pattern (fnmatch); anything else is a query


@dataclass
class UnitResult:
    """One database's (or its shared schemas') sync, or one tenant's."""

    target: str | None  # the target's name; None without targets (the top-level settings)
    tenant: str | None  # a tenant schema; None: the target's database, or its shared schemas
    status: str  # one of STATUSES
    reason: str
    result: RunResult
    shared: bool = False  # the shared schemas of a database with tenants

    @property
    def label(self) -> str:
        return self.tenant or ("(shared)" if self.shared else "-")


@dataclass
class TargetRun:
    """One database synced: a target, or several that name the same database."""

    name: str | None
    names: list[str]  # the targets merged into this run (one, mostly)
    database: str | None = None
    units: list[UnitResult] = field(default_factory=list)


@dataclass
class FleetResult:
    mode: str
    strict: bool
    jobs: int = 2
    shard: tuple[int, int] | None = None
    fail_fast: bool = False
    targets: list[TargetRun] = field(default_factory=list)
    error: str | None = None
    elapsed: float = 0.0
    exit_code: int = 0

    @property
    def units(self) -> list[UnitResult]:
        return [unit for run in self.targets for unit in run.units]

    def counts(self) -> dict[str, int]:
        statuses = [unit.status for unit in self.units]
        return {"units": len(statuses), **{status.replace(" ", "_"): statuses.count(status) for status in STATUSES}}


def fleet_main(flags: dict[str, Any], settings: Settings, reporter: Reporter) -> int:
    """`python -m sync_schema` where the config defines targets or tenant schemas are asked
    for: the whole fleet under the run's deadline, then the documents asked for."""
    on_error = error_exit_code(settings.mode, settings.strict)
    with watchdog(settings.deadline, lambda: f"the run did not finish within {settings.deadline:g} s (a server or proxy that stopped "
                  "answering?); its open transactions are rolled back by the server", on_error, reporter.stream):
        fleet = sync_fleet(flags, settings, reporter)
    if settings.format == "json":
        sys.stdout.write(to_fleet_json(fleet) + "\n")
    elif settings.format == "markdown":
        sys.stdout.write(to_fleet_markdown(fleet) + "\n")
    elif settings.format == "github":
        sys.stdout.write(to_fleet_annotations(fleet))
    if settings.sql_file:
        from .formats import to_sql_script

        try:
            with open(settings.sql_file, "w", encoding="utf-8") as script:
                for unit in fleet.units:
                    if unit.result.results:
                        script.write(f"-- ===== {_where(unit)} =====\n" + to_sql_script(unit.result) + "\n")
        except OSError as exc:
            reporter.error(f"cannot write the SQL script to {settings.sql_file}: {exc.strerror}")
    return fleet.exit_code


def sync_fleet(flags: dict[str, Any], settings: Settings, reporter: Reporter) -> FleetResult:
    """Sync every target (or the one database of the settings) and every tenant schema.
    Never raises: a failure is one target's or one tenant's, or the fleet's `error`."""
    started = time.monotonic()
    fleet = FleetResult(settings.mode, settings.strict, settings.jobs, settings.shard, settings.fail_fast)
    stop = threading.Event()  # --fail-fast: set by the first failure
    try:
        if settings.reference_url:
            raise ConfigError("a reference database with targets or tenant schemas", "compare one database at a time (drop --reference)")
        targets = resolve_targets(flags, settings)
        names = [t.target_name for t in targets if t.target_name]
        reporter.info(f"{__version__}, mode {settings.mode}, fleet: "
                      + (f"{_count(len(names), 'target')} ({', '.join(names)})" if names else "one database")
                      + (f", tenant schemas ({jobs_of(settings)})" if any(t.tenant_schemas for t in targets) else "")
                      + (f", shard {settings.shard[0]}/{settings.shard[1]}" if settings.shard else ""))
        for group in _same_database_groups(targets, reporter):
            run = TargetRun("+".join(n for n in (t.target_name for t in group) if n) or None, [t.target_name or "" for t in group])
            fleet.targets.append(run)
            if stop.is_set():
                run.units.append(_skipped(run.name, None, settings, "not run: --fail-fast after a failure"))
                continue
            _sync_target(run, group, reporter, stop)
    except SyncError as exc:
        fleet.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - a deploy step reports, it does not crash
        fleet.error = describe_unexpected(exc)
    fleet.elapsed = time.monotonic() - started
    codes = [unit.result.exit_code for unit in fleet.units]
    fleet.exit_code = max([error_exit_code(settings.mode, settings.strict) if fleet.error else 0, *codes])
    if fleet.error:
        reporter.error(fleet.error)
    fleet_summary(fleet, reporter)
    return fleet


def jobs_of(settings: Settings) -> str:
    return f"{_count(settings.jobs, 'job')}" + (" (--fail-fast)" if settings.fail_fast else "")


def resolve_targets(flags: dict[str, Any], settings: Settings) -> list[Settings]:
    """Each chosen target's settings (its section over the file's top-level one), or the
    settings themselves where the file defines no target (tenant schemas alone)."""
    if not settings.targets:
        if settings.target:
            raise ConfigError(f"--target {', '.join(settings.target)}: the config file defines no targets",
                              "add [sync_schema.targets.NAME] sections (pyproject.toml: [tool.sync_schema.targets.NAME])")
        return [settings]
    chosen = settings.target or list(settings.targets)
    unknown = [name for name in chosen if name not in settings.targets]
    if unknown:
        raise ConfigError(f"no target {', '.join(unknown)} in {settings.config_file}", f"use one of: {', '.join(settings.targets)}")
    several = len(chosen) > 1
    if several and flags.get("database_url"):
        raise ConfigError(f"--database-url with {len(chosen)} targets: which one's?", "pick one with --target, or set each target's database_url_env")
    return [resolve_settings(flags, target=name, several_targets=several) for name in dict.fromkeys(chosen)]


def _same_database_groups(targets: list[Settings], reporter: Reporter) -> list[list[Settings]]:
    """Targets in order, those whose URLs name the same database together (in the order of
    the first): one database on a laptop may stand in for several, and is synced once."""
    groups: dict[object, list[Settings]] = {}
    for n, target in enumerate(targets):
        try:
            key: object = _database_key(parse_url(target.database_url, target.database_url_source))
        except SyncError:
            key = ("unparsed", n)  # reported by its own run
        groups.setdefault(key, []).append(target)
    for group in groups.values():
        if len(group) > 1:
            url = parse_url(group[0].database_url, group[0].database_url_source)
            try:
                merged = _merged(group)
            except SyncError:
                continue  # reported by the group's run
            reporter.info(f"targets {', '.join(t.target_name or '' for t in group)} name the same database ({redact(url)}): synced once, "
                          f"with the union of their models ({(merged.models or '').replace(',', ', ')}) and schemas "
                          f"({', '.join(merged.schemas) or 'those the models use'})")
    return list(groups.values())


def _database_key(url: sa.URL) -> tuple[object, ...]:
    backend = url.get_backend_name()
    if backend == "sqlite":
        import os

        return (backend, os.path.abspath(url.database or ""))
    host = (url.host or "localhost").lower()
    return (backend, "localhost" if host == "127.0.0.1" else host, url.port, url.database, url.username)


def _merged(group: list[Settings]) -> Settings:
    """One run for targets that name the same database: the first's settings, with the
    union of the models, schemas (all the models use, if a target names none), critical
    columns and excluded tables."""
    first = group[0]
    if len(group) == 1:
        return first
    tenant_specs = {t.tenant_schemas for t in group if t.tenant_schemas}
    if len(tenant_specs) > 1:
        raise ConfigError(f"targets {', '.join(t.target_name or '' for t in group)} name the same database with different tenant_schemas",
                          "give them the same tenant_schemas, or point them at different databases")
    models = list(dict.fromkeys(part.strip() for t in group for part in (t.models or "").split(",") if part.strip()))
    schemas = [] if any(not t.schemas for t in group) else list(dict.fromkeys(s for t in group for s in t.schemas))
    critical = list(dict.fromkeys(c for t in group for c in t.critical_columns))
    excluded = list(dict.fromkeys(x for t in group for x in t.exclude_tables))
    config_file = first.config_file
    if config_file:  # "pyproject.toml [tool.sync_schema.targets.primary], then [tool.sync_schema]": every target's section
        filename, _, rest = config_file.partition(" [")
        prefix, _, top = rest.partition(f"{first.target_name}], then ")
        config_file = f"{filename} {' and '.join(f'[{prefix}{t.target_name}]' for t in group)}, then {top}"
    return replace(first, models=",".join(models) or None, schemas=schemas, critical_columns=critical, exclude_tables=excluded,
                   tenant_schemas=next(iter(tenant_specs), None), target_name="+".join(t.target_name or "" for t in group),
                   config_file=config_file)


def _sync_target(run: TargetRun, group: list[Settings], reporter: Reporter, stop: threading.Event) -> None:
    try:
        settings = _merged(group)
    except SyncError as exc:
        run.units.append(_failed(run.name, None, group[0], str(exc)))
        if group[0].fail_fast:
            stop.set()
        return
    if not settings.tenant_schemas:
        from .run import sync

        result = sync(settings, _Labelled(reporter, run.name))
        run.database = result.database
        unit = _unit(run.name, None, result)
        reporter.info(f"{run.name}: {unit.status}" + (f" ({unit.reason})" if unit.reason else ""))
        run.units.append(unit)
        if unit.status == "failed" and settings.fail_fast:
            stop.set()
        return
    TenantDatabase(run, settings, reporter, stop).sync()


# -- one database with tenant schemas ----------------------------------------------


@dataclass
class _Unit:
    """What one job syncs: the shared schemas (tenant None) or one tenant schema."""

    tenant: str | None
    schemas: frozenset[str]
    default_schema: str  # the models' default schema here: the tenant, or the server's own
    dialect: Dialect  # for the plan and its DDL: its default schema is default_schema
    desired: Callable[[], Snapshot]  # relocated when the job starts
    actual: Snapshot | None  # from the read of all schemas; None: read it (that read waited for a lock)
    critical: list[CriticalColumn]


class _Deferred(SyncError):
    """A lock another session holds (a table's, another run's): the next run does it."""


class TenantDatabase:
    """A database whose models are synced into each tenant schema (see the module's doc)."""

    def __init__(self, run: TargetRun, settings: Settings, reporter: Reporter, stop: threading.Event) -> None:
        self.run = run
        self.settings = settings
        self.reporter = reporter
        self.stop = stop
        self.url: sa.URL | None = None
        self.database: str | None = None
        self.pooled = False
        self.history = bool(settings.history_table) and settings.mode == "apply"
        own = set(ALWAYS_EXCLUDED) | ({settings.history_table, f"{settings.history_table}_statements"} if settings.history_table else set())
        self.excluded = own | set(settings.exclude_tables)
        self.read_dialect: Dialect | None = None
        # The shared schemas' tables as the shared unit left them: a tenant's foreign keys
        # point there, and the planner puts a key inline only where the table it names exists.
        self.context: dict[TableKey, Table] = {}

    def sync(self) -> None:
        settings, run = self.settings, self.run
        engines: list[Engine] = []
        try:
            self.url = parse_url(settings.database_url, settings.database_url_source)
            run.database = self.database = redact(self.url)
            say = _Labelled(self.reporter, run.name)
            say.info(f"database {self.database}, tenant schemas from {settings.tenant_schemas!r}")
            if settings.alembic != "off":
                say.warning(f"--alembic {settings.alembic} is not used with tenant schemas")
            metadatas = self._load_models(say)
            engines = [create_engine(self.url, settings.connect_timeout, connections=1) for _ in range(settings.jobs)]
            shared_unit, tenant_units = self._prepare(engines[0], metadatas, say)
        except SyncError as exc:
            run.units.append(_failed(run.name, None, settings, scrub(str(exc), self.url), self.database))
        except sa.exc.DBAPIError as exc:
            run.units.append(_failed(run.name, None, settings, error_line(exc, self.url), self.database))
        except Exception as exc:  # noqa: BLE001 - a deploy step reports, it does not crash
            run.units.append(_failed(run.name, None, settings, scrub(describe_unexpected(exc), self.url), self.database))
        else:
            self._sync_units(engines, shared_unit, tenant_units)
        finally:
            for engine in engines:
                engine.dispose()  # the jobs' connections, and any session lock left with them
        for unit in run.units:
            if unit.status == "failed" and settings.fail_fast:
                self.stop.set()

    def _load_models(self, say: Reporter) -> tuple[sa.MetaData, ...]:
        from .models import load_models

        settings = self.settings
        on_error = error_exit_code(settings.mode, settings.strict)
        with watchdog(settings.models_import_timeout, lambda: f"importing the models ({settings.models}) did not finish within "
                      f"{settings.models_import_timeout:g} s: a models module must not connect, prompt or wait when imported "
                      "(raise --models-import-timeout if it is only slow)", on_error, say.stream):
            models = load_models(settings.models, stdout_to_stderr=settings.format in ("json", "markdown"))
        say.info(f"models {models.spec}: {_count(sum(len(md.tables) for md in models.metadatas), 'table')} from {', '.join(models.sources)}")
        return models.metadatas

    def _prepare(self, engine: Engine, metadatas: tuple[sa.MetaData, ...], say: Reporter) -> tuple[_Unit | None, list[_Unit]]:
        """Connect, find the tenants, read the catalog of all of them and the shared
        schemas at once, compile the models: the units the jobs then sync."""
        settings = self.settings
        assert self.url is not None
        with open_connection(engine, settings.connect_timeout) as conn:
            dialect = dialect_for(engine.dialect)
            if dialect.name != "postgresql":
                raise ConfigError(f"tenant schemas on {dialect.name}", "tenant schemas are PostgreSQL schemas: sync each database as a target instead")
            dialect.rebuild_limit = settings.rebuild_limit
            default = dialect.default_schema
            explicit = {t.schema for md in metadatas for t in md.tables.values() if t.schema}
            shared = set(settings.schemas) or explicit
            found, source = discover_tenants(conn, dialect, settings, shared, say)
            tenants = shard_of(found, settings.shard)
            say.info(f"{_count(len(found), 'tenant schema')} ({source})"
                     + (f"; shard {settings.shard[0]}/{settings.shard[1]}: {len(tenants)} of them" if settings.shard else "")
                     + (f"; shared schemas first: {', '.join(sorted(shared))}" if shared else "; no shared schema (no table of the models names one)"))
            if settings.mode == "apply":
                probe = create_engine(self.url, settings.connect_timeout)
                try:
                    self.pooled = dialect.behind_pooler(probe, conn)
                finally:
                    probe.dispose()
                if self.pooled:
                    say.info("a transaction-mode pooler (PgBouncer?) is between us and the database: each schema's lock is a lease row instead")
            # The models compiled once, their schema-less tables in the placeholder schema.
            read_dialect = self.read_dialect = copy.copy(dialect)
            read_dialect.default_schema = PLACEHOLDER
            warnings: list[str] = []
            began = time.monotonic()
            actual: Snapshot | None
            try:
                template, actual = read_both_sides(conn, read_dialect, metadatas, shared | set(tenants), warnings, settings.lock_timeout)
                say.info(f"{_count(len(actual.tables), 'table')} in {_count(len(shared | set(tenants)), 'schema')} inspected "
                         f"({dialect.queries_per_inspect} catalog queries, {time.monotonic() - began:.2f} s)")
            except sa.exc.DBAPIError as exc:
                if not is_lock_timeout(exc):
                    raise
                conn.rollback()
                # One locked table must not hold up the others: each schema is read on its own.
                say.info(f"a table's lock was not available within {settings.lock_timeout:g} s while reading all schemas at once; "
                         "reading each schema on its own")
                from .from_models import snapshot_from_metadata

                template, actual = snapshot_from_metadata(list(metadatas), read_dialect, warnings), None
            for warning in warnings:
                say.warning(warning)
        if self.history:  # on the job's one connection, once the read is done with it
            from .history import ensure_fleet_columns

            problem = ensure_fleet_columns(engine, settings.history_table, self._bound(dialect))
            if problem:
                say.warning(problem)
                self.history = False
        return self._units(dialect, read_dialect, template, actual, default, shared, tenants)

    def _units(
        self, dialect: Dialect, read_dialect: Dialect, template: Snapshot, actual: Snapshot | None, default: str,
        shared: set[str], tenants: list[str],
    ) -> tuple[_Unit | None, list[_Unit]]:
        by_schema: dict[str, dict[TableKey, Table]] = {}
        for key, table in (actual.tables if actual is not None else {}).items():
            by_schema.setdefault(key[0], {})[key] = table

        def actual_of(schemas: frozenset[str], default_schema: str) -> Snapshot | None:
            if actual is None:
                return None
            tables = {key: table for schema in schemas for key, table in by_schema.get(schema, {}).items()}
            return Snapshot(actual.dialect, default_schema, actual.schemas & schemas, tables, actual.enums)

        def dialect_for_schema(schema: str) -> Dialect:
            unit_dialect = copy.copy(dialect)  # shares the comparison caches and the render dialect
            unit_dialect.default_schema = schema
            return unit_dialect

        critical = self.settings.critical_columns
        shared_unit = None
        shared_desired = _part(template, frozenset(shared), default)
        if shared_desired.tables or shared_desired.enums:
            schemas = frozenset(shared)
            shared_unit = _Unit(None, schemas, default, dialect_for_schema(default), lambda: shared_desired,
                                actual_of(schemas, default), [c for c in critical if c.schema])
        per_tenant = _part(template, frozenset({PLACEHOLDER}), PLACEHOLDER)
        for table in per_tenant.tables.values():
            table_signature(table, read_dialect)  # worked out once; each tenant's copy reuses its column entries

        def desired_of(tenant: str) -> Callable[[], Snapshot]:
            return lambda: _relocated(per_tenant, tenant, read_dialect)

        units = [_Unit(tenant, frozenset({tenant}), tenant, dialect_for_schema(tenant), desired_of(tenant),
                       actual_of(frozenset({tenant}), tenant), [c for c in critical if not c.schema]) for tenant in tenants]
        return shared_unit, units

    def _sync_units(self, engines: list[Engine], shared_unit: _Unit | None, tenant_units: list[_Unit]) -> None:
        free: queue.SimpleQueue[Engine] = queue.SimpleQueue()
        for engine in engines:
            free.put(engine)
        if shared_unit is not None:
            unit, final = self._run_unit(shared_unit, engines[0])
            self.run.units.append(unit)
            if final is not None:
                self.context = {key: table for key, table in final.tables.items() if key[0] in shared_unit.schemas}
            if unit.status == "failed" and self.settings.fail_fast:
                self.stop.set()

        def job(unit: _Unit) -> UnitResult:
            if self.stop.is_set():
                return _skipped(self.run.name, unit.tenant, self.settings, "not run: --fail-fast after a failure", self.database)
            engine = free.get()
            try:
                done, _ = self._run_unit(unit, engine)
            finally:
                free.put(engine)
            if done.status == "failed" and self.settings.fail_fast:
                self.stop.set()
            return done

        with ThreadPoolExecutor(max_workers=len(engines), thread_name_prefix="sync-schema-job") as pool:
            self.run.units += list(pool.map(job, tenant_units))

    # -- one unit ------------------------------------------------------------------

    def _run_unit(self, unit: _Unit, engine: Engine) -> tuple[UnitResult, Snapshot | None]:
        """The unit's outcome, and its schemas as it left them (None: not known)."""
        settings = self.settings
        started = time.monotonic()
        result = RunResult(settings.mode, settings.strict, database=self.database)
        result.dialect = unit.dialect
        say = _Labelled(self.reporter, _label(self.run.name, unit.tenant or "(shared)"))
        deferred = False
        final = None
        try:
            final = self._sync_unit(unit, engine, result, say)
        except _Deferred as exc:
            result.error, deferred = scrub(str(exc), self.url), True
        except SyncError as exc:
            result.error = scrub(str(exc), self.url)
        except sa.exc.DBAPIError as exc:
            result.error = error_line(exc, self.url)
        except Exception as exc:  # noqa: BLE001 - one tenant's surprise is not the fleet's
            result.error = scrub(describe_unexpected(exc), self.url)
        result.elapsed = time.monotonic() - started
        result.exit_code = exit_code(result, settings)
        done = _unit(self.run.name, unit.tenant, result, deferred)
        done.shared = unit.tenant is None
        for warning in result.warnings:
            say.warning(warning)
        say.info(f"{done.status}" + (f": {done.reason}" if done.reason else "") + (f" ({result.elapsed:.2f} s)" if done.status != "in sync" else ""))
        return done, final

    def _sync_unit(self, unit: _Unit, engine: Engine, result: RunResult, say: Reporter) -> Snapshot:
        """Sync one unit; its schemas as it leaves them."""
        settings = self.settings
        read_dialect = self.read_dialect
        assert read_dialect is not None
        wanted = unit.desired()
        result.tables_analyzed = len(wanted.tables)
        actual = self._with_context(unit, unit.actual) if unit.actual is not None else self._read(engine, unit)
        # In sync, the usual case: the signatures say so, no query needed.
        changes = diff_snapshots(wanted, actual, read_dialect, self.excluded)
        desired = wanted
        if changes:
            with engine.connect() as conn:
                desired, actual, changes = diff_respelled(conn, read_dialect, wanted, actual, self.excluded)
        if not changes:
            result.verification = verify([], [], actual, unit.critical)
            return actual
        if settings.mode != "apply":
            result.changes = changes
            plan = self._plan(engine, unit, changes, desired, actual, result, say)
            policy = Policy(frozenset(settings.allow), settings.relax_not_null)
            for step in plan.steps:
                say.planned(step, policy.permits(step))
            result.results = [StepResult(s, "planned" if policy.permits(s) else "review") for s in plan.steps]
            result.verification = verify([], [], actual, unit.critical)
            return actual
        from .locking import schema_lock

        with contextlib.ExitStack() as held:
            try:
                renew = held.enter_context(schema_lock(engine, unit.dialect, unit.tenant, settings.run_lock_wait, say.info, self.pooled))
            except DatabaseError as exc:
                raise _Deferred(str(exc)) from None
            # Read again under the lock: another run may have synced this schema since the
            # read of all of them.
            actual = self._read(engine, unit)
            with engine.connect() as conn:
                desired, actual, changes = diff_respelled(conn, read_dialect, wanted, actual, self.excluded)
            result.changes = changes
            if not changes:
                say.info("in sync once locked: another run synced it meanwhile")
                result.verification = verify([], [], actual, unit.critical)
                return actual
            return self._apply(unit, engine, result, say, renew, desired, actual)

    def _apply(self, unit: _Unit, engine: Engine, result: RunResult, say: Reporter, renew: Callable[[], None],
               desired: Snapshot, actual: Snapshot) -> Snapshot:
        settings = self.settings
        plan = self._plan(engine, unit, result.changes, desired, actual, result, say)
        history = History(engine, settings.history_table if self.history else "", bound=self._bound(unit.dialect),
                          target=self.run.name, tenant=unit.tenant, hold=False, tables_exist=True)
        if self.history:
            history.start(settings.mode)
            if history.problem:
                result.warnings.append(history.problem)

        try:
            result.results = apply_logged(engine, unit.dialect, plan, settings, say, history, renew, self.pooled)
            applied = any(r.status == "applied" for r in result.results)
            after = self._read(engine, unit) if applied else actual
            remaining = diff_snapshots(desired, after, self.read_dialect or unit.dialect, self.excluded)
            result.verification = verify(remaining, result.results, after, unit.critical)
        finally:
            history.finish(_outcome(result), result.counts())
        return after

    def _plan(self, engine: Engine, unit: _Unit, changes: list[Change], desired: Snapshot, actual: Snapshot, result: RunResult,
              say: Reporter) -> Plan:
        settings = self.settings
        with engine.connect() as conn:
            row_counts, nonempty, rewrites = _table_facts(conn, unit.dialect, changes, actual, settings)
        plan = plan_changes(changes, desired, actual, unit.dialect, row_counts, nonempty, rewrites)
        result.plan = plan
        result.warnings += plan.warnings
        policy = Policy(frozenset(settings.allow), settings.relax_not_null)
        to_apply = sum(1 for s in plan.steps if policy.permits(s))
        say.info(f"{_count(len(changes), 'difference')}; {_count(to_apply, 'step')} to apply, {len(plan.steps) - to_apply} for review")
        return plan

    def _read(self, engine: Engine, unit: _Unit) -> Snapshot:
        """One unit's schemas, read on their own (4 queries): again under its lock, after
        applying, or where the read of all schemas waited for a lock."""
        assert self.read_dialect is not None
        settings = self.settings
        delay = ApplyOptions.backoff
        for attempt in range(1, settings.lock_attempts + 1):
            try:
                with engine.connect() as conn:
                    try:
                        snapshot = self.read_dialect.inspect(conn, set(unit.schemas), settings.lock_timeout)
                    finally:
                        conn.commit()
                return self._with_context(unit, Snapshot(snapshot.dialect, unit.default_schema, snapshot.schemas & unit.schemas,
                                                         {k: t for k, t in snapshot.tables.items() if k[0] in unit.schemas}, snapshot.enums))
            except sa.exc.DBAPIError as exc:
                if not is_lock_timeout(exc):
                    raise
                if attempt < settings.lock_attempts:
                    time.sleep(delay)
                    delay *= 2
        raise _Deferred(f"reading the catalog: a table's lock was not available within {settings.lock_timeout:g} s, "
                        f"{settings.lock_attempts} times (another session holds ACCESS EXCLUSIVE on it); nothing was changed here")

    def _with_context(self, unit: _Unit, actual: Snapshot) -> Snapshot:
        """A tenant's snapshot with the shared tables beside it (never compared: the diff
        looks at the desired side's schemas only)."""
        if unit.tenant is None or not self.context:
            return actual
        return replace(actual, tables={**self.context, **actual.tables})

    def _bound(self, dialect: Dialect) -> Callable[[Connection], None]:
        settings = self.settings
        return lambda conn: dialect.bound_locks(conn, settings.lock_timeout, settings.statement_timeout)


def _part(template: Snapshot, schemas: frozenset[str], default_schema: str) -> Snapshot:
    """The models' tables and enum types of `schemas`, with that default schema."""
    part = template.only(set(schemas))
    return replace(part, default_schema=default_schema, schemas=frozenset(schemas),
                   enums={key: enum for key, enum in part.enums.items() if key[0] in schemas})


def _relocated(per_tenant: Snapshot, tenant: str, dialect: Dialect) -> Snapshot:
    """The models' per-tenant tables in `tenant`, each signature worked out from the
    compiled table's column entries (the columns do not depend on the schema; the
    foreign keys into the tenant do)."""
    moved = per_tenant.relocated(PLACEHOLDER, tenant)
    for (_, name), table in moved.tables.items():
        table_signature(table, dialect, table_signature(per_tenant.tables[(PLACEHOLDER, name)], dialect)[0])
    return moved


def discover_tenants(conn: Connection, dialect: Dialect, settings: Settings, shared: set[str], say: Reporter) -> tuple[list[str], str]:
    """The tenant schemas, sorted: those a query returns (first column; a schema that does
    not exist yet is created by the sync), or the existing schemas matching the patterns.
    Never a shared or system schema."""
    spec = settings.tenant_schemas or ""
    patterns = [p.strip() for p in spec.split(",") if p.strip()]
    if not patterns or not all(_PATTERN.match(p) for p in patterns) or patterns[0].lower() in ("select", "values", "table"):
        try:
            dialect.bound_locks(conn, settings.lock_timeout, settings.statement_timeout)
            values = [row[0] for row in run_sql(conn, spec)]
        except sa.exc.DBAPIError as exc:
            raise ConfigError(f"the tenant_schemas query failed: {error_line(exc, conn.engine.url)}",
                              "it must return the tenant schemas' names in its first column") from None
        finally:
            conn.rollback()  # read only, whatever it is: nothing it did stays
        bad = [v for v in values if v is not None and not isinstance(v, str)]
        if bad:
            raise ConfigError(f"the tenant_schemas query returned {type(bad[0]).__name__} values", "its first column must hold schema names")
        names = {v for v in values if v}
        source = "query"
    else:
        existing = sa.inspect(conn).get_schema_names()
        conn.rollback()
        names = {name for name in existing if any(fnmatch.fnmatchcase(name, p) for p in patterns)}
        source = f"pattern {', '.join(patterns)}"
    left_out = sorted(n for n in names if n in shared or n.startswith("pg_") or n in _SYSTEM_SCHEMAS or n == PLACEHOLDER)
    if left_out:
        say.warning(f"tenant_schemas names {', '.join(left_out)}: a shared or system schema, left out of the tenants")
    return sorted(names - set(left_out)), source


def shard_of(tenants: list[str], shard: tuple[int, int] | None) -> list[str]:
    """The Ith of N shards: every Nth tenant in name order, from the Ith. The order is the
    names' own, so every shard of every run agrees on it without talking to the others."""
    if shard is None:
        return tenants
    index, count = shard
    return sorted(tenants)[index - 1 :: count]


# -- outcomes ----------------------------------------------------------------------


def _unit(target: str | None, tenant: str | None, result: RunResult, deferred: bool = False) -> UnitResult:
    status, reason = unit_status(result, deferred)
    return UnitResult(target, tenant, status, reason, result)


def unit_status(result: RunResult, deferred: bool = False) -> tuple[str, str]:
    """(status, reason) of one sync: failed, deferred, changed, drifted or in sync."""
    if result.error:
        return ("deferred" if deferred else "failed"), result.error
    counts = result.counts()
    problems = [r for r in result.results if r.status in ("failed", "refused")]
    if problems:
        return "failed", f"{problems[0].step.description}: {problems[0].error}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
    if result.verification is not None and not result.verification.passed:
        return "failed", f"verification: {result.verification.missing[0]}"
    waiting = [r for r in result.results if r.status == "deferred"]
    if waiting:
        return "deferred", f"{waiting[0].step.description}: {waiting[0].error}"
    review = f", {counts['review']} for review" if counts["review"] else ""
    applied = sum(1 for r in result.results if r.status == "applied")
    if applied:
        return "changed", f"{_count(applied, 'step')} applied{review}"
    if result.changes:
        planned = f", {counts['planned']} to apply" if counts["planned"] else ""
        return "drifted", f"{_count(len(result.changes), 'difference')}{planned}{review}"
    return "in sync", ""


def _failed(target: str | None, tenant: str | None, settings: Settings, error: str, database: str | None = None) -> UnitResult:
    result = RunResult(settings.mode, settings.strict, database=database, error=error)
    result.exit_code = error_exit_code(settings.mode, settings.strict)
    return UnitResult(target, tenant, "failed", error, result)


def _skipped(target: str | None, tenant: str | None, settings: Settings, why: str, database: str | None = None) -> UnitResult:
    result = RunResult(settings.mode, settings.strict, database=database, error=why)
    result.exit_code = error_exit_code(settings.mode, settings.strict)
    return UnitResult(target, tenant, "skipped", why, result)


def _label(target: str | None, tenant: str | None) -> str | None:
    return "/".join(part for part in (target, tenant) if part) or None


def _where(unit: UnitResult) -> str:
    return _label(unit.target, unit.tenant or ("(shared)" if unit.shared else None)) or "database"


# -- output ------------------------------------------------------------------------

_LOG_LOCK = threading.Lock()  # jobs write at once: each line whole


class _Labelled(Reporter):
    """The run's reporter, each line naming the target or tenant it concerns (the jobs'
    lines interleave)."""

    def __init__(self, base: Reporter, label: str | None) -> None:
        super().__init__(base.stream, base.color, base.verbose)
        self.label = label
        self._in_summary = False

    def line(self, text: str = "", style: str | None = None) -> None:
        if self.label:
            if self._in_summary:
                if text.startswith("----- sync-schema summary "):
                    text = f"----- sync-schema summary: {self.label} " + "-" * max(3, 29 - len(self.label))
            elif text.startswith("sync-schema: "):
                text = f"sync-schema: {self.label}: {text[len('sync-schema: '):]}"
            elif text.startswith("  "):
                text = f"  {self.label}: {text[2:]}"
        with _LOG_LOCK:
            super().line(text, style)

    def summary(self, result: RunResult) -> None:
        self._in_summary = True
        try:
            super().summary(result)
        finally:
            self._in_summary = False


def fleet_summary(fleet: FleetResult, reporter: Reporter) -> None:
    """One table: each target, and each tenant not in sync (all of them with -v), its
    status and why; then the totals and the exit code."""
    rows: list[tuple[str, str, str, str]] = []
    for run in fleet.targets:
        quiet = 0
        for unit in run.units:
            if unit.tenant is not None and unit.status == "in sync" and not reporter.verbose:
                quiet += 1
                continue
            rows.append((run.name or "-", unit.label, unit.status, unit.reason))
        if quiet:
            more = "more " if any(unit.tenant is not None and unit.status != "in sync" for unit in run.units) else ""
            rows.append((run.name or "-", f"{quiet} {more}tenant{'s' if quiet != 1 else ''}", "in sync", ""))
    header = ("target", "tenant", "status", "reason")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    reporter.line("----- sync-schema fleet summary " + "-" * 24, "bold")
    for row in [header, *rows]:
        style = {"failed": "error", "deferred": "warn", "skipped": "warn", "drifted": "warn", "changed": "ok"}.get(row[2])
        reporter.line("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + (f"  {row[3]}" if row[3] else ""), style)
    counts = fleet.counts()
    totals = ", ".join(f"{counts[s.replace(' ', '_')]} {s}" for s in STATUSES if counts[s.replace(' ', '_')])
    reporter.line(f"{'mode':<10}  {fleet.mode}" + (" (strict)" if fleet.strict else ""))
    reporter.line(f"{'total':<10}  {counts['units']}" + (f": {totals}" if totals else ""))
    if fleet.error:
        reporter.line(f"{'error':<10}  {fleet.error}", "error")
    reporter.line(f"{'elapsed':<10}  {fleet.elapsed:.2f} s")
    reporter.line(f"{'exit code':<10}  {fleet.exit_code}")
    reporter.line("-" * 56, "bold")


_RUN_KEYS_DROPPED = ("schema_version", "tool", "version", "mode", "strict")  # said once, at the top


def to_fleet_json(fleet: FleetResult) -> str:
    """One document: a section per target, in it one per unit (the database, or its shared
    schemas and each tenant), each with the single run's fields (changes, steps,
    verification, summary, exit_code: see formats.to_json); the totals; the exit code."""
    from .formats import SCHEMA_VERSION, to_json

    def unit_record(unit: UnitResult) -> dict[str, Any]:
        type_key = unit.result.dialect.type_key if unit.result.dialect else None
        # The single run's document as formats.to_json makes it, so that both stay alike.
        document = json.loads(to_json(unit.result, type_key))
        return {"tenant": unit.tenant, "shared": unit.shared, "status": unit.status, "reason": unit.reason or None,
                **{k: v for k, v in document.items() if k not in _RUN_KEYS_DROPPED}}

    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": "sync-schema",
        "version": __version__,
        "mode": fleet.mode,
        "strict": fleet.strict,
        "fleet": {"jobs": fleet.jobs, "shard": f"{fleet.shard[0]}/{fleet.shard[1]}" if fleet.shard else None, "fail_fast": fleet.fail_fast},
        "error": fleet.error,
        "targets": [
            {"target": run.name, "merged": run.names if len(run.names) > 1 else None, "database": run.database,
             "units": [unit_record(unit) for unit in run.units]}
            for run in fleet.targets
        ],
        "summary": fleet.counts(),
        "elapsed_seconds": round(fleet.elapsed, 3),
        "exit_code": fleet.exit_code,
    }
    return json.dumps(document)  # one line, as formats.to_json


def to_fleet_markdown(fleet: FleetResult) -> str:
    """The fleet's table, then each drifted or failed unit's drift report under its name."""
    from .formats import to_markdown

    lines = ["# sync-schema fleet report", "", f"Mode {fleet.mode}, exit code {fleet.exit_code}.", "",
             "| target | tenant | status | reason |", "|---|---|---|---|"]
    lines += [f"| {run.name or '-'} | {unit.label} | {unit.status} | {unit.reason.replace('|', '/')} |"
              for run in fleet.targets for unit in run.units if unit.status != "in sync"]
    counts = fleet.counts()
    lines += ["", f"{counts['in_sync']} of {counts['units']} in sync.", ""]
    for unit in fleet.units:
        if unit.status != "in sync":
            type_key = unit.result.dialect.type_key if unit.result.dialect else None
            lines += [to_markdown(unit.result, type_key).replace("## sync-schema drift report", f"## {_where(unit)}", 1), ""]
    return "\n".join(lines)


def to_fleet_annotations(fleet: FleetResult) -> str:
    """Each unit's GitHub annotations, the message naming the target or tenant."""
    from .formats import to_github_annotations

    out = []
    for unit in fleet.units:
        type_key = unit.result.dialect.type_key if unit.result.dialect else None
        for line in to_github_annotations(unit.result, type_key).splitlines():
            command, sep, message = line[2:].partition("::")
            out.append(f"::{command}::{_where(unit)}: {message}" if sep else line)
    return "".join(line + "\n" for line in out)

