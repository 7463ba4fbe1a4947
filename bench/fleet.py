"""Tenant schemas: one `--check` of the whole fleet against one run per tenant.

    .venv/bin/python bench/fleet.py                          # 200 tenants of 20 tables: about 3 minutes
    .venv/bin/python bench/fleet.py --tenants 50 --repeats 1  # a quick look

One database, `--tenants` schemas (tenant_000, ...) of `--tables` tables each, all made
from the same models (bench/generate.py's app, version 1: 14 columns a table, defaults,
indexes, unique and foreign keys) and all in sync with them. Then, in one run:

- fleet: `python -m sync_schema --check --tenant-schemas 'tenant_*'` (jobs 1 and 2), the
  whole process, median of `--repeats`;
- sequential processes: the way it is scripted without fleets, one
  `python -m sync_schema --check` per tenant, its URL setting the role's search_path to the
  tenant (the models' tables have no schema: they go where current_schema() is);
- sequential in one process: the same runs through the Python API (`sync_schema.check`),
  without the start-up of a process each, against the fleet's `--check` in this process
  (the command line's `main`, the models already imported);
- statements sent by a fleet `--check` at 20 tenants and at all of them (a listener on
  every engine), and by one single-tenant run: constant for the fleet.

Every database is named sync_schema_bench_* and dropped at the end, also after an error.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
sys.path.insert(0, str(REPO_DIR))

import psycopg2  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402
from sqlalchemy.schema import CreateIndex, CreateTable  # noqa: E402

import generate  # noqa: E402
from databases import CATALOGS, BenchDatabases  # noqa: E402

# Statements sent by one in-process run of the command line, counted by a listener on
# every engine. argv: the command line's arguments.
COUNTING = """
import sys
import sqlalchemy as sa
count = [0]
sa.event.listen(sa.engine.Engine, "before_cursor_execute", lambda *args: count.__setitem__(0, count[0] + 1))
from sync_schema.cli import main
code = main(sys.argv[1:])
sys.stdout = sys.__stdout__
print("STATEMENTS", count[0], "EXIT", code)
"""


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_SCHEMA_") and k not in ("DATABASE_URL", "PGOPTIONS")}
    env["NO_COLOR"] = "1"
    return env


def load_tenants(dsn: str, metadata: sa.MetaData, tenants: list[str]) -> float:
    """Every tenant's tables as create_all() spells them: SQLAlchemy's DDL rendered once
    for a stand-in schema, then sent 20 tenants per transaction."""
    started = time.perf_counter()
    stand_in = "tenant_stand_in"
    render = {"dialect": postgresql.psycopg2.dialect(), "schema_translate_map": {None: stand_in}, "render_schema_translate": True}
    ddl = []
    for table in metadata.sorted_tables:
        ddl.append(str(CreateTable(table).compile(**render)))  # type: ignore[arg-type]
        ddl += [str(CreateIndex(ix).compile(**render)) for ix in sorted(table.indexes, key=lambda i: str(i.name))]  # type: ignore[arg-type]
    script = ";\n".join(ddl)
    conn = psycopg2.connect(dsn)
    try:
        for start in range(0, len(tenants), 20):
            with conn.cursor() as cur:
                cur.execute(";\n".join(f"CREATE SCHEMA {t};\n" + script.replace(stand_in, t) for t in tenants[start : start + 20]))
            conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("ANALYZE " + ", ".join(f"pg_catalog.{t}" for t in CATALOGS))
    finally:
        conn.close()
    return time.perf_counter() - started


def timed(command: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - started, done


def statements(args: list[str], cwd: Path) -> tuple[int, int]:
    """(statements sent, exit code) of one in-process run of the command line."""
    done = subprocess.run([sys.executable, "-c", COUNTING, *args], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=3600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("STATEMENTS ")]
    if not lines:
        raise RuntimeError(f"the run did not finish: {done.stderr.strip().splitlines()[-3:]}")
    _, count, _, code = lines[-1].split()
    return int(count), int(code)


def tenant_url(url: str, tenant: str) -> str:
    """The database's URL with the role's search_path set to the tenant: the models' tables
    (no schema) are then the tenant's, as a per-tenant script sets it today."""
    return f"{url}?options=-csearch_path%3D{tenant}"


def in_process(metadata: sa.MetaData, url: str, tenants: list[str]) -> float:
    """One `sync_schema.check` per tenant in this process (no process start-up each)."""
    import sync_schema

    started = time.perf_counter()
    for tenant in tenants:
        result = sync_schema.check(metadata, tenant_url(url, tenant), history_table="off")
        if not result.ok:
            raise RuntimeError(f"{tenant} is not in sync: {result.error or [c.kind.value for c in result.changes][:5]}")
    return time.perf_counter() - started


def fleet_in_process(args: list[str], repeats: int) -> float:
    """The fleet's --check through the command line's main() in this process: its work
    without the process's start-up (median of `repeats`)."""
    import contextlib
    import io

    from sync_schema.cli import main as cli_main

    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            code = cli_main(args)
        times.append(time.perf_counter() - started)
        if code != 0:
            raise RuntimeError(f"the fleet's --check in this process exited {code}")
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=200, help="tenant schemas (default 200)")
    parser.add_argument("--tables", type=int, default=20, help="tables per tenant (default 20)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each fleet command (default 3); the median is shown")
    parser.add_argument("--sequential", type=int, default=None, help="tenants in the one-process-each loop (default: all of them)")
    args = parser.parse_args()
    dbs = BenchDatabases()
    tenants = [f"tenant_{n:03d}" for n in range(args.tenants)]
    try:
        with tempfile.TemporaryDirectory(prefix="sync_schema_bench_fleet_") as tmp:
            workdir = Path(tmp)
            app = generate.generate(args.tables)
            models, _ = generate.write_modules(app, workdir)
            sys.path.insert(0, str(workdir))
            metadata = __import__(models).metadata
            name = dbs.create("fleet")
            url = dbs.url(name)
            loaded = load_tenants(dbs.dsn(name), metadata, tenants)
            print(f"bench: {args.tenants} tenant schemas of {args.tables} tables ({sum(len(t.columns) + 1 for t in app.v1)} columns each) "
                  f"loaded in {loaded:.1f} s", flush=True)

            fleet = [sys.executable, "-m", "sync_schema", "--check", "--models", models, "--database-url", url, "--tenant-schemas", "tenant_*"]
            commands = {"fleet --jobs 1": [*fleet, "--jobs", "1"], "fleet --jobs 2": [*fleet, "--jobs", "2"]}
            times: dict[str, list[float]] = {label: [] for label in commands}
            for _ in range(args.repeats):  # interleaved: a busy moment hits both alike
                for label, command in commands.items():
                    seconds, done = timed(command, workdir)
                    if done.returncode != 0:
                        raise RuntimeError(f"{label} exited {done.returncode}: {done.stdout.strip().splitlines()[-8:]}")
                    times[label].append(seconds)

            count = args.sequential or args.tenants
            print(f"bench: {count} sequential processes ...", flush=True)
            started = time.perf_counter()
            for tenant in tenants[:count]:
                done = subprocess.run([sys.executable, "-m", "sync_schema", "--check", "--models", models, "--database-url",
                                       tenant_url(url, tenant)], cwd=workdir, env=clean_env(), capture_output=True, text=True, timeout=600)
                if done.returncode != 0:
                    raise RuntimeError(f"{tenant}: exit {done.returncode}: {done.stdout.strip().splitlines()[-8:]}")
            sequential = (time.perf_counter() - started) * args.tenants / count
            api = in_process(metadata, url, tenants[:count]) * args.tenants / count
            os.chdir(workdir)  # the models module is imported from the working directory, as the command line does
            fleet_here = fleet_in_process([*fleet[3:], "--jobs", "2"], args.repeats)

            few = ",".join(f"tenant_{n:02d}*" for n in range(2))  # tenant_000 .. tenant_019
            counted = {
                "fleet --check, 20 tenants": statements([*fleet[3:], "--tenant-schemas", few], workdir),
                f"fleet --check, {args.tenants} tenants": statements(fleet[3:], workdir),
                "one tenant's --check": statements(["--check", "--models", models, "--database-url", tenant_url(url, tenants[0])], workdir),
            }
            dbs.drop(name)
    finally:
        dbs.drop_all()

    fleet_best = statistics.median(times["fleet --jobs 2"])
    print()
    print(f"--check of {args.tenants} tenant schemas of {args.tables} tables, all in sync (whole processes, start to exit)")
    print(f"{'how':<46}  {'time':>8}  {'per tenant':>10}  {'vs fleet --jobs 2':>17}")
    rows = [(label, statistics.median(values)) for label, values in times.items()]
    rows += [(f"{args.tenants} processes, one per tenant" + (f" ({count} run, scaled)" if count != args.tenants else ""), sequential),
             ("fleet --jobs 2, in this process (no start-up)", fleet_here),
             (f"{args.tenants} sync_schema.check() calls in this process", api)]
    for label, seconds in rows:
        print(f"{label:<46}  {seconds:>7.2f}s  {seconds / args.tenants * 1000:>8.1f}ms  {seconds / fleet_best:>16.1f}x")
    print()
    print("statements sent (before_cursor_execute, every engine)")
    for label, (sent, code) in counted.items():
        print(f"{label:<46}  {sent:>8}  (exit {code})")
    per_tenant = counted["one tenant's --check"][0]
    print(f"{'one process per tenant, all of them':<46}  {per_tenant * args.tenants:>8}")
    print()
    print(f"fleet runs: median of {args.repeats}, interleaved; processes one per tenant: one pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
