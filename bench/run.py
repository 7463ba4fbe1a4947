"""sync_schema benchmark: ours vs Alembic vs MetaData.reflect() vs the catalog floor.

    .venv/bin/python bench/run.py                        # 100 and 1,000 tables (a few minutes)
    .venv/bin/python bench/run.py --sizes 100,1000,5000  # the full issue run (much longer)
    .venv/bin/python bench/run.py --profile 1000         # where ours spends its time (cProfile)

For each size: a fresh database with the generated schema (version 1 of the app), then,
with the models one version ahead (version 2), inspect+diff timed side by side locally
and through a latency proxy, SQL statements counted, peak memory traced; then the drift
is applied by a real `python -m sync_schema` run. Once per run: the whole no-op process
on the 100-table app, and ADD COLUMN with a constant default on a 1,000,000-row table.
Every database is named sync_schema_bench_* and dropped at the end, also on failure or
Ctrl-C. See bench/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib
import json
import os
import platform
import pstats
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import TypeVar

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
# A copy of this checkout's sync_schema, taken now and used by every in-process and
# subprocess run: a run lasts minutes, and edits made meanwhile must not mix two versions
# (the SQL files are read at each inspection, the Python modules once).
CODE_DIR = Path(tempfile.mkdtemp(prefix="sync_schema_bench_code_"))
shutil.copytree(REPO_DIR / "sync_schema", CODE_DIR / "sync_schema", ignore=shutil.ignore_patterns("__pycache__"))
sys.path.insert(1, str(CODE_DIR))

import sqlalchemy as sa

from sync_schema.dialects import dialect_for

import contenders
import floor
import generate
from contenders import CONTENDERS, Measurement, Target
from databases import BenchDatabases, load_schema
from proxy import LatencyProxy
from textable import mib, ratio, secs, table

T = TypeVar("T")


@dataclass
class ApplyRun:
    seconds: float
    exit_code: int
    summary: dict[str, str]
    remaining: dict[str, int]  # differences left afterwards, by kind


@dataclass
class SizeResult:
    size: int
    columns: int
    drift: str
    expected_changes: int
    load_seconds: float
    import_seconds: float
    in_sync_changes: int  # ours with the models the database was made from: must be 0
    local: dict[str, Measurement] = field(default_factory=dict)
    local_runs: dict[str, int] = field(default_factory=dict)
    proxy: dict[str, Measurement] = field(default_factory=dict)
    proxy_runs: dict[str, int] = field(default_factory=dict)
    proxy_skipped: dict[str, str] = field(default_factory=dict)
    breakdown: Measurement | None = None  # ours, one step after the other (contenders.ours_in_sequence)
    memory: dict[str, float] = field(default_factory=dict)  # peak traced bytes
    facts_check: str = ""
    apply: ApplyRun | None = None


# -- helpers ---------------------------------------------------------------------------


def median_run(runs: list[Measurement]) -> Measurement:
    ordered = sorted(runs, key=lambda m: m.seconds)
    return ordered[(len(ordered) - 1) // 2]


def measure(target: Target, metadata: sa.MetaData, names: list[str], repeats: int, budget: float) -> tuple[dict[str, Measurement], dict[str, int]]:
    """Run the contenders interleaved (so drift on a busy machine hits all alike); median of each.

    A contender stops repeating once its runs add up to `budget` seconds (at least one run).
    """
    runs: dict[str, list[Measurement]] = {n: [] for n in names}
    for _ in range(repeats):
        for name in names:
            if runs[name] and sum(m.seconds for m in runs[name]) >= budget:
                continue
            gc.collect()  # the previous contender's garbage is not this one's cost
            runs[name].append(CONTENDERS[name](target, metadata))
    return {n: median_run(r) for n, r in runs.items()}, {n: len(r) for n, r in runs.items()}


def peak_memory(target: Target, metadata: sa.MetaData, name: str) -> float:
    """Peak bytes allocated by Python during one run (tracemalloc; libpq's buffers are not seen)."""
    gc.collect()
    tracemalloc.start()
    try:
        CONTENDERS[name](target, metadata)
        return float(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def clean_env(pg_options: str) -> dict[str, str]:
    """The environment for `python -m sync_schema`: no settings leaking in from ours."""
    # PYTHONDONTWRITEBYTECODE goes too: a deployed app runs from compiled bytecode after its first start.
    dropped = ("DATABASE_URL", "PGOPTIONS", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_SCHEMA_") and k not in dropped}
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = str(CODE_DIR)  # the snapshot of sync_schema taken at start
    if pg_options:
        env["PGOPTIONS"] = pg_options  # the same session settings as the in-process contenders
    return env


def run_process(args: list[str], cwd: Path, pg_options: str = "") -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=clean_env(pg_options), capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - started, done


def summary_of(output: str) -> dict[str, str]:
    """The key/value lines of sync_schema's summary block."""
    rows = {}
    inside = False
    for line in output.splitlines():
        if line.startswith("----- sync-schema summary"):
            inside = True
        elif inside and line.startswith("---"):
            break
        elif inside and (m := re.match(r"^(\S.*?)\s{2,}(.*)$", line)):
            rows[m.group(1).strip()] = m.group(2).strip()
    return rows


def import_fresh(name: str) -> sa.MetaData:
    sys.modules.pop(name, None)
    return importlib.import_module(name).metadata


def describe_machine(dbs: BenchDatabases) -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as f:
        mem_kb = int(f.readline().split()[1])
    import alembic
    import psycopg2

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(REPO_DIR), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = " with uncommitted changes" if git("status", "--porcelain", "--", "sync_schema") else ""
    return {
        "sync_schema": f"{commit}{dirty}",
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{mem_kb / 2**20:.0f} GiB",
        "postgresql": dbs.server_version(),
        "python": platform.python_version(),
        "sqlalchemy": sa.__version__,
        "alembic": alembic.__version__,
        "psycopg2": psycopg2.__version__.split()[0],
    }


# -- phases ----------------------------------------------------------------------------


def bench_size(size: int, args: argparse.Namespace, dbs: BenchDatabases, workdir: Path) -> SizeResult:
    log(f"{size} tables: generating the app and its database")
    app = generate.generate(size)
    v1_name, v2_name = generate.write_modules(app, workdir)
    began = time.perf_counter()
    v1, v2 = import_fresh(v1_name), import_fresh(v2_name)
    import_seconds = (time.perf_counter() - began) / 2
    db = dbs.create(str(size))
    load_seconds = load_schema(dbs.dsn(db), v1)
    expected = app.added_columns + app.added_tables + len(app.type_changes)
    drift = f"+{app.added_columns} columns, +{app.added_tables} tables, {len(app.type_changes)} type changes"
    log(f"{size} tables: {app.v1_columns + size} columns loaded in {load_seconds:.1f} s; version 2: {drift}")

    local = Target(dbs.url(db), dbs.dsn(db), args.pg_options)
    try:
        sanity = contenders.ours(local, v1)
        facts = facts_check(local, v1)
        result = SizeResult(size, app.v1_columns + size, drift, expected, load_seconds, import_seconds, sanity.found, facts_check=facts)

        log(f"{size} tables: timing locally ({args.repeats} interleaved runs each)")
        result.local, result.local_runs = measure(local, v2, list(CONTENDERS), args.repeats, args.budget)
        if result.local["ours"].found != expected:
            log(f"WARNING: ours found {result.local['ours'].found} differences, the generator made {expected}")
        result.breakdown = median_run([contenders.ours_in_sequence(local, v2) for _ in range(args.repeats)])

        if args.memory:
            log(f"{size} tables: peak memory of {', '.join(args.memory)} (tracemalloc, one run each)")
            result.memory = {name: peak_memory(local, v2, name) for name in args.memory}
    finally:
        local.dispose()

    if args.proxy_latency_ms > 0:
        names = list(CONTENDERS)
        if size > args.alembic_proxy_max_tables:
            names.remove("alembic")
            result.proxy_skipped["alembic"] = f"skipped above {args.alembic_proxy_max_tables} tables (--alembic-proxy-max-tables)"
        log(f"{size} tables: timing through the proxy (+{args.proxy_latency_ms:g} ms per round trip)")
        with LatencyProxy(args.proxy_latency_ms) as port:
            remote = Target(dbs.url(db, port), dbs.dsn(db, port), args.pg_options)
            try:
                result.proxy, result.proxy_runs = measure(remote, v2, names, args.repeats, args.budget)
            finally:
                remote.dispose()

    if args.apply:
        log(f"{size} tables: applying the drift with python -m sync_schema")
        result.apply = apply_drift(dbs, db, v2_name, v2, workdir, args.pg_options)
    dbs.drop(db)
    for name in (v1_name, v2_name):
        sys.modules.pop(name, None)
    return result


def facts_check(target: Target, metadata: sa.MetaData) -> str:
    """The floor must fetch the same facts ours reads: compare the counts."""
    with target.connection() as conn:
        snapshot = dialect_for(target.engine.dialect).inspect(conn, {"public"})
        conn.rollback()
    tables = snapshot.tables.values()
    ours = {
        "columns": sum(max(1, len(t.columns)) for t in tables),
        "constraints": sum(bool(t.primary_key) + len(t.uniques) + len(t.foreign_keys) + len(t.checks) for t in tables),
        "indexes": sum(len(t.indexes) for t in tables),
    }
    conn = floor.connect(target.dsn)
    try:
        rows = floor.fetch(conn, ["public"]).rows
    finally:
        conn.close()
    mismatched = [f"{k}: ours {ours[k]}, floor {rows[k]}" for k in ours if ours[k] != rows[k]]
    return "MISMATCH " + "; ".join(mismatched) if mismatched else ", ".join(f"{v} {k}" for k, v in ours.items())


def apply_drift(dbs: BenchDatabases, db: str, models: str, metadata: sa.MetaData, workdir: Path, pg_options: str) -> ApplyRun:
    seconds, done = run_process(["-m", "sync_schema", "--models", models, "--database-url", dbs.url(db)], workdir, pg_options)
    summary = summary_of(done.stdout)
    if not summary:
        log("WARNING: no summary from python -m sync_schema:\n" + done.stdout[-2000:] + done.stderr[-2000:])
    target = Target(dbs.url(db), dbs.dsn(db), pg_options)
    try:
        remaining = Counter(str(c.kind) for c in contenders.differences(target, metadata))
    finally:
        target.dispose()
    return ApplyRun(seconds, done.returncode, summary, dict(remaining))


BASELINE = "python -c 'import sqlalchemy, psycopg2'"
NOOP_CHECK = "python -m sync_schema --check"


def bench_process(args: argparse.Namespace, dbs: BenchDatabases, workdir: Path) -> dict[str, object]:
    """A whole no-op `python -m sync_schema --check` on the 100-table app vs bare imports."""
    log("whole process: no-op --check on the 100-table app vs python -c 'import sqlalchemy, psycopg2'")
    app = generate.generate(100)
    v1_name, _ = generate.write_modules(app, workdir)
    db = dbs.create("noop100")
    try:
        load_schema(dbs.dsn(db), import_fresh(v1_name))
        # Each command adds one thing to the one before: the differences say where the time goes.
        dialect = "sqlalchemy.dialects.postgresql.psycopg2"
        commands = {
            BASELINE: ["-c", "import sqlalchemy, psycopg2"],
            "+ import the PostgreSQL dialect": ["-c", f"import sqlalchemy, psycopg2, {dialect}"],
            "+ import sync_schema.cli": ["-c", f"import sqlalchemy, psycopg2, {dialect}, sync_schema.cli"],
            "+ import the models (100 tables)": ["-c", f"import sqlalchemy, psycopg2, {dialect}, sync_schema.cli, {v1_name}"],
            NOOP_CHECK: ["-m", "sync_schema", "--check", "--models", v1_name, "--database-url", dbs.url(db)],
        }
        times: dict[str, list[float]] = {k: [] for k in commands}
        outputs: dict[str, subprocess.CompletedProcess[str]] = {}
        for _ in range(args.process_repeats):
            for key, command in commands.items():
                seconds, done = run_process(command, workdir, args.pg_options)
                times[key].append(seconds)
                outputs[key] = done
        check = outputs[NOOP_CHECK]
        if check.returncode != 0:
            log("WARNING: the no-op --check did not exit 0:\n" + check.stdout[-3000:] + check.stderr[-2000:])
        return {
            "medians": {k: statistics.median(v) for k, v in times.items()},
            "check_exit_code": check.returncode,
            "check_summary": summary_of(check.stdout),
        }
    finally:
        dbs.drop(db)


BIG_TABLE_V1 = '''
import sqlalchemy as sa

metadata = sa.MetaData()
events = sa.Table(
    "big_events", metadata,
    sa.Column("id", sa.BigInteger(), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("payload", sa.Text()),
)
'''
BIG_TABLE_V2 = BIG_TABLE_V1.replace(
    '    sa.Column("payload", sa.Text()),\n',
    '    sa.Column("payload", sa.Text()),\n'
    '    sa.Column("status", sa.String(20), nullable=False, server_default="new"),\n'
    '    sa.Column("is_archived", sa.Boolean(), nullable=False, server_default=sa.false()),\n'
    '    sa.Column("score", sa.Integer(), server_default=sa.text("0")),\n',
)


def bench_big_table(args: argparse.Namespace, dbs: BenchDatabases, workdir: Path) -> dict[str, object]:
    """ADD COLUMN with constant defaults on a 1,000,000-row table: metadata only, no rewrite."""
    rows = args.big_rows
    (workdir / "bench_big_v1.py").write_text(BIG_TABLE_V1, encoding="utf-8")
    (workdir / "bench_big_v2.py").write_text(BIG_TABLE_V2, encoding="utf-8")
    importlib.invalidate_caches()
    db = dbs.create("big")
    engine = sa.create_engine(dbs.url(db))
    try:
        load_schema(dbs.dsn(db), import_fresh("bench_big_v1"))
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO big_events (id, payload) SELECT g, md5(g::text) FROM generate_series(1, %(rows)s) AS g", {"rows": rows})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE big_events")  # a settled table, as in production
        fill_seconds = time.perf_counter() - started
        log(f"add column: {rows:,} rows written in {fill_seconds:.1f} s; syncing")

        def relfilenode() -> int:
            with engine.connect() as conn:
                return int(conn.exec_driver_sql("SELECT relfilenode FROM pg_class WHERE oid = 'big_events'::regclass").scalar_one())

        before = relfilenode()
        seconds, done = run_process([str(BENCH_DIR / "timed_sync.py"), dbs.url(db), "bench_big_v2"], workdir, args.pg_options)
        if done.returncode != 0:
            raise RuntimeError(f"timed_sync.py exited {done.returncode}: {done.stderr[-2000:]}")
        synced = json.loads(done.stdout)
        after = relfilenode()
        adds = [s for s in synced["steps"] if s["status"] == "applied" and "add column" in s["description"]]
        if not adds:
            raise RuntimeError("sync_schema applied no ADD COLUMN:\n" + synced["log"][-3000:])
        with engine.connect() as conn:
            filled = conn.exec_driver_sql("SELECT count(*) FROM big_events WHERE status = 'new' AND NOT is_archived AND score = 0").scalar_one()
    finally:
        engine.dispose()
        dbs.drop(db)
    return {
        "rows": rows,
        "fill_seconds": fill_seconds,
        "relfilenode_before": before,
        "relfilenode_after": after,
        "alter_seconds": sum(s["seconds"] for s in adds),
        "alter_sql": "; ".join(q for s in adds for q in s["sql"]),
        "sync_seconds": synced["seconds"],
        "process_seconds": seconds,
        "rows_with_default": int(filled),
        "error": synced["error"],
    }


def bench_profile(size: int, args: argparse.Namespace, dbs: BenchDatabases, workdir: Path) -> None:
    """cProfile of ours (inspect + diff) at one size: which functions the time goes to."""
    app = generate.generate(size)
    v1_name, v2_name = generate.write_modules(app, workdir)
    db = dbs.create(f"profile{size}")
    load_schema(dbs.dsn(db), import_fresh(v1_name))
    v2 = import_fresh(v2_name)
    target = Target(dbs.url(db), dbs.dsn(db), args.pg_options)
    try:
        overlapped = median_run([contenders.ours(target, v2) for _ in range(args.repeats)])
        print(f"\nours at {size} tables as --check runs it (median of {args.repeats}): {secs(overlapped.seconds)}")
        runs = [contenders.ours_in_sequence(target, v2) for _ in range(args.repeats)]
        plain = median_run(runs)
        print(f"the same one step after the other, without the profiler (median of {len(runs)}): {secs(plain.seconds)}")
        for part, seconds in plain.parts.items():
            print(f"  {part:<16} {secs(seconds):>10}  {seconds / plain.seconds:6.1%}")
        for query, seconds in plain.per_query.items():
            print(f"    SQL {query:<12} {secs(seconds):>10}")
        profiler = cProfile.Profile()  # sees one thread only: hence the in-sequence run
        profiler.enable()
        contenders.ours_in_sequence(target, v2)
        profiler.disable()
    finally:
        target.dispose()
        dbs.drop(db)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    print(f"\ncProfile of one run at {size} tables (the profiler inflates Python time ~1.5-2x):")
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(r"sync_schema", 30)


# -- report ----------------------------------------------------------------------------


def report(results: list[SizeResult], process: dict[str, object] | None, big: dict[str, object] | None, args: argparse.Namespace, machine: dict[str, str]) -> list[tuple[bool | None, str]]:
    print()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()))
    print(f"command: {' '.join(['python', 'bench/run.py', *sys.argv[1:]])}")
    print()
    print(table(
        ["tables", "columns", "drift in version 2", "schema load", "models import", "facts (ours = floor)", "in-sync diff"],
        [[r.size, r.columns, r.drift, secs(r.load_seconds), secs(r.import_seconds), r.facts_check, r.in_sync_changes] for r in results],
        "The generated apps (database = version 1, models = version 2)",
    ))
    for where, attr, runs_attr in (("locally", "local", "local_runs"), (f"through the proxy (+{args.proxy_latency_ms:g} ms per round trip)", "proxy", "proxy_runs")):
        rows = []
        for r in results:
            m: dict[str, Measurement] = getattr(r, attr)
            if not m:
                continue
            t = {n: m[n].seconds if n in m else None for n in CONTENDERS}
            runs = getattr(r, runs_attr)
            rows.append([
                r.size, secs(t["ours"]), secs(t["alembic"]), secs(t["reflect"]), secs(t["floor"]),
                ratio(t["ours"], t["floor"]), ratio(t["alembic"], t["ours"]), ratio(t["reflect"], t["ours"]),
                "/".join(str(runs.get(n, 0)) for n in CONTENDERS),
            ])
        if rows:
            print()
            print(table(
                ["tables", "ours", "alembic", "reflect", "floor", "ours/floor", "alembic/ours", "reflect/ours", "runs"],
                rows, f"Inspect + diff {where}: median times",
            ))
            skipped = {n: why for r in results for n, why in (r.proxy_skipped.items() if attr == "proxy" else [])}
            for n, why in skipped.items():
                print(f"  {n}: {why}")
    broken_down = [r for r in results if r.breakdown]
    if broken_down:
        parts = list(broken_down[0].breakdown.parts)  # type: ignore[union-attr]
        queries = list(broken_down[0].breakdown.per_query)  # type: ignore[union-attr]
        print()
        print(table(
            ["tables", *parts, "in sequence", "per table", *(f"SQL {q}" for q in queries)],
            [[r.size, *(secs(r.breakdown.parts.get(p)) for p in parts), secs(r.breakdown.seconds), f"{r.breakdown.seconds / r.size * 1e6:.0f} us",
              *(secs(r.breakdown.per_query.get(q)) for q in queries)] for r in broken_down if r.breakdown],
            "Where ours' time goes: the same work one step after the other (median of the runs; SQL = time inside cursor.execute: server + wire)",
        ))
    print()
    print(table(
        ["tables", *(f"{n} queries" for n in CONTENDERS), *(f"{n} MiB" for n in CONTENDERS)],
        [[r.size, *(r.local[n].queries for n in CONTENDERS), *(mib(r.memory.get(n)) for n in CONTENDERS)] for r in results],
        "SQL statements per inspect+diff (before_cursor_execute) and peak Python memory (tracemalloc)",
    ))
    applied = [r for r in results if r.apply]
    if applied:
        print()
        print(table(
            ["tables", "python -m sync_schema", "exit", "tables created", "columns added", "left for review", "differences left afterwards"],
            [[r.size, secs(r.apply.seconds), r.apply.exit_code, r.apply.summary.get("tables created", "?"), r.apply.summary.get("columns added", "?"),
              r.apply.summary.get("left for review", "?"), ", ".join(f"{k} {v}" for k, v in sorted(r.apply.remaining.items())) or "none"]
             for r in applied if r.apply],
            "Applying version 2 (a real apply-mode process, start-up included)",
        ))
    if process:
        med: dict[str, float] = process["medians"]  # type: ignore[assignment]
        base, previous = med[BASELINE], med[BASELINE]
        rows = []
        for command, seconds in med.items():
            rows.append([command, secs(seconds), "" if command == BASELINE else f"{seconds - base:+.3f} s", "" if command == BASELINE else f"{seconds - previous:+.3f} s"])
            previous = seconds
        print()
        print(table(
            ["whole process, no-op, 100-table app", "median", "vs baseline", "vs line above"], rows,
            f"Whole process (median of {args.process_repeats} interleaved runs; --check exit code {process['check_exit_code']})",
        ))
    if big:
        print()
        print(f"ADD COLUMN on a table of {big['rows']:,} rows (filled in {secs(big['fill_seconds'])}):")
        print(f"  {big['alter_sql']}")
        print(f"  ALTER TABLE step {secs(big['alter_seconds'])}; sync() (load models, inspect, apply, verify) {secs(big['sync_seconds'])}; "
              f"whole process {secs(big['process_seconds'])}")
        print(f"  relfilenode {big['relfilenode_before']} -> {big['relfilenode_after']}; rows holding the new defaults: {big['rows_with_default']:,}")
        if big["error"]:
            print(f"  sync error: {big['error']}")
    return targets(results, process, big)


def targets(results: list[SizeResult], process: dict[str, object] | None, big: dict[str, object] | None) -> list[tuple[bool | None, str]]:
    """The issue's targets as (passed, text); passed is None when this run could not tell."""
    out: list[tuple[bool | None, str]] = []
    by_size = {r.size: r for r in results}
    at = by_size.get(1000)
    if at:
        ours, floor_, alembic = (at.local[n].seconds for n in ("ours", "floor", "alembic"))
        out.append((ours <= 1.5 * floor_, f"inspect+diff at 1,000 tables <= 1.5x the catalog floor: {ours / floor_:.1f}x ({secs(ours)} vs {secs(floor_)})"))
        out.append((alembic >= 8 * ours, f"inspect+diff at 1,000 tables >= 8x faster than Alembic: {alembic / ours:.1f}x ({secs(alembic)} vs {secs(ours)})"))
        if "alembic" in at.proxy:
            p_ours, p_alembic = at.proxy["ours"].seconds, at.proxy["alembic"].seconds
            out.append((p_alembic >= 10 * p_ours, f"through the proxy at 1,000 tables >= 10x faster than Alembic: {p_alembic / p_ours:.1f}x ({secs(p_alembic)} vs {secs(p_ours)})"))
        else:
            out.append((None, "through the proxy at 1,000 tables >= 10x faster than Alembic: not measured (proxy off or alembic skipped)"))
    else:
        out.append((None, "1,000-table targets: not measured (add 1000 to --sizes)"))
    counts = {r.size: r.local["ours"].queries for r in results}
    sizes = ", ".join(f"{s}: {q}" for s, q in counts.items())
    constant = len(set(counts.values())) == 1
    full = min(counts) <= 100 and max(counts) >= 5000
    note = "" if full else " (run --sizes 100,1000,5000 for the issue's full range)"
    out.append((constant if full or not constant else None, f"query count constant from {min(counts)} to {max(counts)} tables: {sizes}{note}"))
    if len(results) >= 2:
        lo, hi = results[0], results[-1]
        per_lo, per_hi = lo.local["ours"].seconds / lo.size, hi.local["ours"].seconds / hi.size
        growth = per_hi / per_lo
        out.append((growth <= 1.5, f"time grows linearly: per-table time at {hi.size} tables is {growth:.2f}x that at {lo.size} (<= 1.5x)"))
    if process:
        med: dict[str, float] = process["medians"]  # type: ignore[assignment]
        extra = med[NOOP_CHECK] - med[BASELINE]
        ok = extra <= 0.3 and process["check_exit_code"] == 0
        out.append((ok, f"no-op whole process on 100 tables <= 0.3 s over 'import sqlalchemy, psycopg2': +{extra:.3f} s (exit code {process['check_exit_code']})"))
    if big:
        same = big["relfilenode_before"] == big["relfilenode_after"]
        alter = big["alter_seconds"]
        fast = alter is not None and alter < 0.5
        out.append((same and fast and big["rows_with_default"] == big["rows"],
                    f"ADD COLUMN with constant defaults on {big['rows']:,} rows: relfilenode {'unchanged' if same else 'CHANGED'}, "
                    f"ALTER {secs(alter)} (< 0.5 s: 'well under a second')"))
    return out


_STARTED = time.monotonic()


def log(text: str) -> None:
    print(f"bench [{time.monotonic() - _STARTED:6.1f} s]: {text}", flush=True)


def attempt(what: str, errors: list[str], fn: Callable[..., T], *args: object) -> T | None:
    """Run one phase; an error is reported and the other phases still run (Ctrl-C is not caught)."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - one broken phase must not hide the others' numbers
        log(f"ERROR in {what}:\n{traceback.format_exc()}")
        errors.append(f"{what}: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}")
        return None


# -- main ------------------------------------------------------------------------------


def memory_list(text: str) -> list[str]:
    names = {"all": list(CONTENDERS), "none": []}.get(text.strip(), [n.strip() for n in text.split(",") if n.strip()])
    unknown = set(names) - set(CONTENDERS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown: {', '.join(sorted(unknown))}")
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000", help="table counts, comma separated (default 100,1000; the issue's full run adds 5000)")
    parser.add_argument("--proxy-latency-ms", type=float, default=10.0, help="delay added per round trip by the proxy; 0 turns the proxy runs off (default 10)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per contender and size, interleaved; the median is reported (default 3)")
    parser.add_argument("--budget", type=float, default=30.0, help="stop repeating a contender once its runs add up to this many seconds (default 30)")
    parser.add_argument("--alembic-proxy-max-tables", type=int, default=1000, help="skip Alembic through the proxy above this size (default 1000)")
    parser.add_argument("--process-repeats", type=int, default=5, help="runs of each whole-process command, interleaved; median reported (default 5)")
    parser.add_argument("--big-rows", type=int, default=1_000_000, help="rows in the ADD COLUMN table (default 1,000,000)")
    parser.add_argument("--pg-options", default="", help="libpq options for every contender's session, e.g. '-c jit=off' (default: server settings)")
    parser.add_argument("--memory", default="ours,floor", type=memory_list,
                        help="whose peak memory to trace: a list of ours,alembic,reflect,floor, 'all' or 'none' (default ours,floor: "
                        "tracemalloc slows Alembic and reflect() several times over)")
    parser.add_argument("--no-apply", dest="apply", action="store_false", help="skip applying version 2 to each database")
    parser.add_argument("--no-process", dest="process", action="store_false", help="skip the whole-process no-op runs")
    parser.add_argument("--no-big", dest="big", action="store_false", help="skip the 1,000,000-row ADD COLUMN")
    parser.add_argument("--profile", type=int, metavar="TABLES", help="only profile ours (cProfile) at this size and print where the time goes")
    parser.add_argument("--json", metavar="PATH", help="also write every number to this JSON file")
    parser.add_argument("--drop-stale", action="store_true", help="first drop sync_schema_bench_* databases left by killed runs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # unwinds through the finally below: databases dropped

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    # Ctrl-C raises KeyboardInterrupt even when started from a shell that ignores SIGINT (`&`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    dbs = BenchDatabases()
    stale = dbs.stale()
    if stale and args.drop_stale:
        for name in stale:
            dbs.drop(name)
        log(f"dropped {len(stale)} stale database(s): {', '.join(stale)}")
    elif stale:
        log(f"note: {len(stale)} database(s) from earlier runs exist ({', '.join(stale)}); --drop-stale removes them")
    workdir = Path(tempfile.mkdtemp(prefix="sync_schema_bench_"))
    sys.path.insert(0, str(workdir))  # the generated models modules
    try:
        if args.profile:
            bench_profile(args.profile, args, dbs, workdir)
            return 0
        machine = describe_machine(dbs)
        errors: list[str] = []
        results = [r for size in sizes if (r := attempt(f"{size} tables", errors, bench_size, size, args, dbs, workdir))]
        process = attempt("whole process", errors, bench_process, args, dbs, workdir) if args.process else None
        big = attempt("add column", errors, bench_big_table, args, dbs, workdir) if args.big else None
        verdicts = report(results, process, big, args, machine) if results else []
        print()
        for passed, text in verdicts:
            print(f"{'PASS' if passed else 'FAIL' if passed is not None else 'N/A '}  {text}")
        for error in errors:
            print(f"ERROR {error}")
        if args.json:
            data = {"machine": machine, "args": vars(args), "sizes": [asdict(r) for r in results], "process": process, "big_table": big,
                    "targets": [{"passed": p, "text": t} for p, t in verdicts], "errors": errors}
            Path(args.json).write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
        return 1 if errors else 0
    finally:
        dropped = dbs.drop_all()
        if dropped:
            log(f"dropped leftover database(s): {', '.join(dropped)}")
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(CODE_DIR, ignore_errors=True)


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        print("\nbench: interrupted (the benchmark's databases were dropped)")
        raise SystemExit(130) from None
