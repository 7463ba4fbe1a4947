"""sync_schema on MariaDB / MySQL: ours against Alembic's compare_metadata, in one run.

    .venv/bin/python bench/mariadb.py                          # 100 and 1,000 tables: about 1.5 minutes
    .venv/bin/python bench/mariadb.py --sizes 100,1000,3000 --repeats 5

For each size: the generated app (generate.py's MySQL palette) at version 1 loaded into a
fresh database, then version 2's models (one version ahead) compared with it by

- ours, in-process: `read.read_and_diff`, what --check does before planning (contenders.ours);
- Alembic, in-process: `compare_metadata` with compare_type and compare_server_default;
- ours, whole process: `python -m sync_schema --check`, start to exit;
- Alembic, whole process: a small script that imports the models and runs compare_metadata.

Interleaved, the median of --repeats; SQL statements counted with a before_cursor_execute
listener (in-process, and in one more run of each whole process). It needs the MariaDB (or
MySQL) server on 127.0.0.1:3306 (root, no password; --server-url for another). Every
database is named sync_schema_bench_<pid>_* and dropped at the end, also after an error,
Ctrl-C, SIGTERM or SIGHUP; --drop-stale removes those a `kill -9` left. See bench/README.md,
"MariaDB".
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TypeVar

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
# A copy of this checkout's sync_schema, as bench/run.py takes one: edits made to the
# checkout during a run must not mix two versions in one table of numbers.
CODE_DIR = Path(tempfile.mkdtemp(prefix="sync_schema_bench_code_"))
shutil.copytree(REPO_DIR / "sync_schema", CODE_DIR / "sync_schema", ignore=shutil.ignore_patterns("__pycache__"))
sys.path.insert(1, str(CODE_DIR))

import pymysql
import sqlalchemy as sa
from pymysql.constants import CLIENT
from sqlalchemy.schema import CreateIndex, CreateTable

import contenders
import generate
from contenders import Measurement, Target
from databases import PREFIX, _running
from textable import ratio, secs, table

T = TypeVar("T")
SERVER_URL = "mysql+pymysql://root@127.0.0.1:3306/mysql"
TABLES_PER_BATCH = 250  # CREATE statements per round trip when loading a schema

# The whole-process Alembic contender: what a CI step running Alembic's autogenerate
# comparison does (imports, the models, one connection, compare_metadata). Exit 1 on
# drift, as --check does.
ALEMBIC_PROCESS = """
import importlib, sys
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
metadata = importlib.import_module(sys.argv[1]).metadata
engine = sa.create_engine(sys.argv[2], poolclass=sa.pool.NullPool)
with engine.connect() as conn:
    diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True}), metadata)
print(len(diffs), "differences")
raise SystemExit(1 if diffs else 0)
"""

# One more run of a whole process with a listener on every engine: the statements it
# sends (start-up and all). argv[1] is "ours" or "alembic", argv[2] the module to run
# (sync_schema) or the script's text, the rest the command's arguments.
COUNTING = """
import runpy, sys
import sqlalchemy as sa
count = [0]
sa.event.listen(sa.engine.Engine, "before_cursor_execute", lambda *args: count.__setitem__(0, count[0] + 1))
which, script, sys.argv = sys.argv[1], sys.argv[2], sys.argv[2:]
try:
    if which == "ours":
        runpy.run_module("sync_schema", run_name="__main__", alter_sys=True)
    else:
        exec(compile(script, "<alembic>", "exec"), {"__name__": "__main__"})
except SystemExit:
    pass
print("STATEMENTS", count[0], file=sys.stderr)
"""


@dataclass
class SizeResult:
    size: int
    columns: int
    drift: str
    expected_changes: int
    load_seconds: float
    in_sync_ours: int  # ours with the models the database was made from: must be 0
    in_sync_alembic: int  # what Alembic reports there (its false positives on this server)
    local: dict[str, Measurement] = field(default_factory=dict)
    local_runs: dict[str, int] = field(default_factory=dict)
    process: dict[str, float] = field(default_factory=dict)  # medians
    process_runs: int = 0
    process_exit: dict[str, int] = field(default_factory=dict)
    process_statements: dict[str, int] = field(default_factory=dict)


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def attempt(what: str, errors: list[str], fn: Callable[..., T], *args: object) -> T | None:
    """One phase; an error is reported and the run goes on with the next."""
    try:
        return fn(*args)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - reported at the end, with its traceback now
        traceback.print_exc()
        errors.append(f"{what}: {type(exc).__name__}: {exc}")
        return None


# -- databases -------------------------------------------------------------------------


class MySQLDatabases:
    """The benchmark's databases on the MariaDB / MySQL server: registered the moment they
    exist, so that drop_all() (from a `finally`) removes them after any error."""

    def __init__(self, server_url: str) -> None:
        self.server = sa.make_url(server_url)
        self.created: list[str] = []
        self.admin = sa.create_engine(self.server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool,
                                      connect_args={"connect_timeout": 5, "read_timeout": 600})

    def url(self, name: str) -> str:
        return self.server.set(database=name).render_as_string(hide_password=False)

    def _run(self, sql: str, **params: object) -> list[tuple[object, ...]]:
        with self.admin.connect() as conn:
            result = conn.execute(sa.text(sql), params)
            return [tuple(r) for r in result] if result.returns_rows else []

    def server_version(self) -> str:
        return str(self._run("SELECT VERSION()")[0][0])

    def create(self, what: str) -> str:
        name = f"{PREFIX}{os.getpid()}_{what}"
        self._run(f"DROP DATABASE IF EXISTS `{name}`")
        self._run(f"CREATE DATABASE `{name}`")
        self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        self._run(f"DROP DATABASE IF EXISTS `{name}`")
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> list[str]:
        dropped = []
        for name in list(self.created):
            try:
                self.drop(name)
                dropped.append(name)
            except sa.exc.DBAPIError as exc:
                print(f"bench: could not drop database {name}: {str(exc.orig).strip()}")
        return dropped

    def stale(self) -> list[str]:
        """Benchmark databases whose run is gone (a run still going keeps its own)."""
        names = [str(r[0]) for r in self._run("SHOW DATABASES LIKE :pattern", pattern=PREFIX.replace("_", "\\_") + "%")]
        return [name for name in names if not _running(name[len(PREFIX) :].split("_", 1)[0])]


def load_schema(url: str, metadata: sa.MetaData) -> float:
    """CREATE every table and index of `metadata` as create_all() spells them; seconds taken.

    The DDL is compiled by SQLAlchemy's dialect for this very server (after connecting:
    MariaDB 10.7+ gets its native UUID), so the database is what create_all() makes, but it
    goes in batches of multi-statement round trips instead of create_all()'s per-table
    reflection and CREATE. Every DDL statement commits by itself here anyway."""
    started = time.perf_counter()
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={"client_flag": CLIENT.MULTI_STATEMENTS})
    connection = engine.raw_connection()  # connecting: the dialect learns the server's version and features
    try:
        dialect = engine.dialect
        tables = metadata.sorted_tables  # foreign keys only point backwards in this order
        cursor = connection.cursor()
        for start in range(0, len(tables), TABLES_PER_BATCH):
            statements = []
            for t in tables[start : start + TABLES_PER_BATCH]:
                statements.append(str(CreateTable(t).compile(dialect=dialect)))
                statements += [str(CreateIndex(ix).compile(dialect=dialect)) for ix in sorted(t.indexes, key=lambda i: str(i.name))]
            cursor.execute(";\n".join(statements))
            while cursor.nextset():  # each statement's result: an error in one surfaces here
                pass
        cursor.close()
    finally:
        connection.close()
        engine.dispose()
    return time.perf_counter() - started


# -- measuring -------------------------------------------------------------------------

IN_PROCESS: dict[str, Callable[[Target, sa.MetaData], Measurement]] = {"ours": contenders.ours, "alembic": contenders.alembic}


def median_run(runs: list[Measurement]) -> Measurement:
    ordered = sorted(runs, key=lambda m: m.seconds)
    return ordered[(len(ordered) - 1) // 2]


# Ours' statements told apart by the first information_schema view they read.
_VIEWS = {"SCHEMATA": "overview", "COLUMNS": "columns", "KEY_COLUMN_USAGE": "constraints", "STATISTICS": "indexes", "INNODB_TABLES": "row versions"}


def per_view(durations: list[tuple[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for statement, seconds in durations:
        match = re.search(r"FROM information_schema\.(\w+)", statement)
        label = _VIEWS.get(match.group(1), match.group(1)) if match else statement.split()[0].lower()
        out[label] = out.get(label, 0.0) + seconds
    return out


def measure(target: Target, metadata: sa.MetaData, repeats: int, budget: float) -> tuple[dict[str, Measurement], dict[str, int]]:
    """Interleaved (a busy moment hits both alike), the median of each; a contender stops
    repeating once its runs add up to `budget` seconds."""
    runs: dict[str, list[Measurement]] = {n: [] for n in IN_PROCESS}
    for _ in range(repeats):
        for name, contender in IN_PROCESS.items():
            if runs[name] and sum(m.seconds for m in runs[name]) >= budget:
                continue
            gc.collect()  # the previous contender's garbage is not this one's cost
            measured = contender(target, metadata)
            measured.per_query = per_view(target.counter.durations)  # the counter keeps the run's statements until the next
            runs[name].append(measured)
    return {n: median_run(r) for n, r in runs.items()}, {n: len(r) for n, r in runs.items()}


def clean_env() -> dict[str, str]:
    """For the subprocesses: no settings of ours leaking in; this run's copy of sync_schema."""
    dropped = ("DATABASE_URL", "PYTHONDONTWRITEBYTECODE")  # a deployed app runs from compiled bytecode
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_SCHEMA_") and k not in dropped}
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = str(CODE_DIR)
    return env


def run_process(args: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - started, done


STARTUP = "python -c 'import sqlalchemy, pymysql'"
MODELS_IMPORT = "+ import the models, gc.freeze()"
OURS_PROCESS = "python -m sync_schema --check"
ALEMBIC_PROCESS_NAME = "python -c <compare_metadata script>"


def bench_processes(models: str, url: str, args: argparse.Namespace, workdir: Path, result: SizeResult) -> None:
    commands = {
        STARTUP: ["-c", "import sqlalchemy, pymysql"],
        # What both contenders pay before any work. Frozen, as ours leaves its objects (read.paused_gc):
        # else the interpreter's last collection of the models' objects at exit costs ~0.6 s at 1,000 tables.
        MODELS_IMPORT: ["-c", f"import sqlalchemy, pymysql, {models}, gc; gc.freeze()"],
        OURS_PROCESS: ["-m", "sync_schema", "--check", "--models", models, "--database-url", url],
        ALEMBIC_PROCESS_NAME: ["-c", ALEMBIC_PROCESS, models, url],
    }
    times: dict[str, list[float]] = {k: [] for k in commands}
    outputs: dict[str, subprocess.CompletedProcess[str]] = {}
    run_process(commands[MODELS_IMPORT], workdir)  # writes the models' bytecode, as a deployed app's first start does
    for _ in range(args.process_repeats):
        for key, command in commands.items():
            seconds, outputs[key] = run_process(command, workdir)
            times[key].append(seconds)
    for key, done in outputs.items():
        if done.returncode not in (0, 1):  # 1: drift found, as asked
            raise RuntimeError(f"{key} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    result.process = {k: statistics.median(v) for k, v in times.items()}
    result.process_runs = args.process_repeats
    result.process_exit = {k: d.returncode for k, d in outputs.items()}
    for key, which in ((OURS_PROCESS, "ours"), (ALEMBIC_PROCESS_NAME, "alembic")):
        script = ALEMBIC_PROCESS if which == "alembic" else "sync_schema"
        _, done = run_process(["-c", COUNTING, which, script, *commands[key][2:]], workdir)
        counted = [line for line in done.stderr.splitlines() if line.startswith("STATEMENTS ")]
        if not counted:
            raise RuntimeError(f"counting {key} failed:\n{done.stderr[-2000:]}")
        result.process_statements[key] = int(counted[-1].split()[1])


def bench_size(size: int, args: argparse.Namespace, dbs: MySQLDatabases, workdir: Path) -> SizeResult:
    log(f"{size} tables: generating the app (MySQL palette) and its database")
    app = generate.generate(size, dialect="mysql")
    v1_name, v2_name = generate.write_modules(app, workdir)
    v1, v2 = import_fresh(v1_name), import_fresh(v2_name)
    db = dbs.create(f"mysql{size}")
    url = dbs.url(db)
    load_seconds = load_schema(url, v1)
    expected = app.added_columns + app.added_tables + len(app.type_changes)
    drift = f"+{app.added_columns} columns, +{app.added_tables} tables, {len(app.type_changes)} type changes"
    log(f"{size} tables: {app.v1_columns + size} columns loaded in {load_seconds:.1f} s; version 2: {drift}")
    target = Target(url, "")
    try:
        result = SizeResult(size, app.v1_columns + size, drift, expected, load_seconds,
                            contenders.ours(target, v1).found, contenders.alembic(target, v1).found)
        log(f"{size} tables: in-process, {args.repeats} interleaved runs each")
        result.local, result.local_runs = measure(target, v2, args.repeats, args.budget)
        if result.local["ours"].found != expected:
            log(f"WARNING: ours found {result.local['ours'].found} differences, the generator made {expected}")
    finally:
        target.dispose()
    if args.process_repeats > 0:
        log(f"{size} tables: whole processes, {args.process_repeats} interleaved runs each")
        bench_processes(v2_name, url, args, workdir, result)
    dbs.drop(db)
    for name in (v1_name, v2_name):
        sys.modules.pop(name, None)
    return result


def import_fresh(name: str) -> sa.MetaData:
    sys.modules.pop(name, None)
    return importlib.import_module(name).metadata  # type: ignore[no-any-return]


def describe_machine(dbs: MySQLDatabases) -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    import alembic

    done = subprocess.run(["git", "-C", str(REPO_DIR), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(REPO_DIR), "status", "--porcelain", "--", "sync_schema"], capture_output=True, text=True)
    return {
        "sync_schema": (done.stdout.strip() or "unknown") + (" with uncommitted changes" if dirty.stdout.strip() else ""),
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "server": dbs.server_version(),
        "python": platform.python_version(),
        "sqlalchemy": sa.__version__,
        "alembic": alembic.__version__,
        "pymysql": pymysql.__version__,
    }


# -- report ----------------------------------------------------------------------------


def report(results: list[SizeResult], args: argparse.Namespace, machine: dict[str, str]) -> list[tuple[bool | None, str]]:
    print()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()))
    print(f"command: {' '.join(['python', 'bench/mariadb.py', *sys.argv[1:]])}")
    print()
    print(table(
        ["tables", "columns", "drift in version 2", "schema load", "in-sync diff: ours", "in-sync diff: alembic"],
        [[r.size, r.columns, r.drift, secs(r.load_seconds), r.in_sync_ours, r.in_sync_alembic] for r in results],
        "The generated apps (MySQL palette; database = version 1, models = version 2)",
    ))
    print()
    print(table(
        ["tables", "ours", "alembic", "alembic/ours", "ours SQL", "alembic SQL", "differences: ours / alembic", "runs"],
        [[r.size, secs(r.local["ours"].seconds), secs(r.local["alembic"].seconds), ratio(r.local["alembic"].seconds, r.local["ours"].seconds),
          secs(r.local["ours"].parts.get("SQL")), secs(r.local["alembic"].parts.get("sql")),
          f"{r.local['ours'].found} / {r.local['alembic'].found}", f"{r.local_runs['ours']}/{r.local_runs['alembic']}"] for r in results],
        "In-process: inspect + diff, median times (SQL = time inside cursor.execute: server + wire)",
    ))
    print()
    views = list(dict.fromkeys(v for r in results for v in r.local["ours"].per_query))
    print(table(
        ["tables", *views],
        [[r.size, *(secs(r.local["ours"].per_query.get(v)) for v in views)] for r in results],
        "Where ours' SQL time goes (the median run, time inside cursor.execute per statement)",
    ))
    timed = [r for r in results if r.process]
    if timed:
        print()
        rows = []
        for r in timed:
            base, models, ours, alembic = (r.process[k] for k in (STARTUP, MODELS_IMPORT, OURS_PROCESS, ALEMBIC_PROCESS_NAME))
            rows.append([r.size, secs(base), secs(models), secs(ours), secs(alembic), ratio(alembic, ours),
                         f"{ours - models:+.3f} s", f"{alembic - models:+.3f} s", ratio(alembic - models, ours - models) if ours > models else "-",
                         f"{r.process_exit[OURS_PROCESS]}/{r.process_exit[ALEMBIC_PROCESS_NAME]}"])
        print(table(
            ["tables", STARTUP, MODELS_IMPORT, "ours", "alembic", "alembic/ours", "ours - models import", "alembic - models import", "ratio of those", "exit"],
            rows,
            f"Whole process, start to exit (median of {timed[0].process_runs} interleaved runs; ours = {OURS_PROCESS}, "
            "alembic = a script importing the models and running compare_metadata; exit 1 = drift found)",
        ))
    print()
    print(table(
        ["tables", "ours in-process", "alembic in-process", "ours whole process", "alembic whole process"],
        [[r.size, r.local["ours"].queries, r.local["alembic"].queries, r.process_statements.get(OURS_PROCESS, "-"),
          r.process_statements.get(ALEMBIC_PROCESS_NAME, "-")] for r in results],
        "SQL statements sent (before_cursor_execute)",
    ))
    verdicts: list[tuple[bool | None, str]] = []
    largest = max(results, key=lambda r: r.size)
    if largest.process:
        ours, alembic = largest.process[OURS_PROCESS], largest.process[ALEMBIC_PROCESS_NAME]
        verdicts.append((alembic >= 10 * ours, f"whole process at {largest.size} tables >= 10x faster than Alembic: "
                                               f"{ratio(alembic, ours)} ({secs(alembic)} vs {secs(ours)})"))
    ours_s, alembic_s = largest.local["ours"].seconds, largest.local["alembic"].seconds
    verdicts.append((alembic_s >= 10 * ours_s, f"in-process at {largest.size} tables >= 10x faster than Alembic: "
                                               f"{ratio(alembic_s, ours_s)} ({secs(alembic_s)} vs {secs(ours_s)})"))
    counts = {r.size: r.local["ours"].queries for r in results}
    verdicts.append((len(set(counts.values())) == 1 if len(counts) > 1 else None,
                     "query count constant: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))))
    verdicts.append((all(r.in_sync_ours == 0 for r in results), "create_all()'s database against its own models: ours finds "
                     + ", ".join(f"{r.in_sync_ours} at {r.size}" for r in results)))
    return verdicts


# -- main ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000", help="table counts, comma separated (default 100,1000)")
    parser.add_argument("--repeats", type=int, default=3, help="in-process runs per contender and size, interleaved; the median is reported (default 3)")
    parser.add_argument("--budget", type=float, default=60.0, help="stop repeating an in-process contender once its runs add up to this many seconds (default 60)")
    parser.add_argument("--process-repeats", type=int, default=3, help="runs of each whole process per size, interleaved; 0 skips them (default 3)")
    parser.add_argument("--server-url", default=os.environ.get("SYNC_SCHEMA_TEST_MYSQL", SERVER_URL),
                        help=f"the server, as a user that may create databases (default $SYNC_SCHEMA_TEST_MYSQL or {SERVER_URL})")
    parser.add_argument("--drop-stale", action="store_true", help="first drop sync_schema_bench_* databases left by killed runs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # unwinds through the finally below: databases dropped

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    dbs = MySQLDatabases(args.server_url)
    workdir = Path(tempfile.mkdtemp(prefix="sync_schema_bench_"))
    sys.path.insert(0, str(workdir))  # the generated models modules
    try:
        try:
            machine = describe_machine(dbs)
        except sa.exc.OperationalError as exc:
            print(f"bench: the server at {dbs.server.render_as_string(hide_password=True)} is not reachable: "
                  f"{str(exc.orig).strip().splitlines()[0]} (service mariadb start)")
            return 2
        stale = dbs.stale()
        if stale and args.drop_stale:
            for name in stale:
                dbs.drop(name)
            log(f"dropped {len(stale)} stale database(s): {', '.join(stale)}")
        elif stale:
            log(f"note: {len(stale)} database(s) from earlier runs exist ({', '.join(stale)}); --drop-stale removes them")
        errors: list[str] = []
        results = [r for size in sizes if (r := attempt(f"{size} tables", errors, bench_size, size, args, dbs, workdir))]
        verdicts = report(results, args, machine) if results else []
        print()
        for passed, text in verdicts:
            print(f"{'PASS' if passed else 'FAIL' if passed is not None else 'N/A '}  {text}")
        for error in errors:
            print(f"ERROR {error}")
        return 1 if errors else 0
    finally:
        dropped = dbs.drop_all()
        if dropped:
            log(f"dropped leftover database(s): {', '.join(dropped)}")
        dbs.admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(CODE_DIR, ignore_errors=True)


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        print("\nbench: interrupted (the benchmark's databases were dropped)")
        raise SystemExit(130) from None
