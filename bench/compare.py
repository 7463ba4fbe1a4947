"""Database to database: `python -m sync_schema compare` against migra, on the same pair.

    .venv/bin/python bench/compare.py                    # 100 and 1,000 tables (about a minute)
    .venv/bin/python bench/compare.py --sizes 100,1000,3000

For each size: two databases made by create_all() of the generated app (generate.py), the
target at version 1 and the reference at version 2 (one version ahead: more columns and
tables, a few type changes). Then, in one run and interleaved, each whole process timed
from start to exit: ours (`python -m sync_schema compare --reference REF --database-url
TARGET`, the drift table) and migra (`migra --unsafe TARGET REF`, the best-known
database-to-database diff for PostgreSQL: deprecated, but installable), the median of
`--repeats`. And the statements each sends, counted in-process with a listener on every
SQLAlchemy engine (both are SQLAlchemy programs): constant in the number of tables, or not.

migra needs SQLAlchemy 1.4, so it lives in a virtualenv of its own, made once under
.bench/ (ignored by git). Every database is named sync_schema_bench_* and dropped at the
end, also after an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
MIGRA_VENV = REPO_DIR / ".bench" / "migra-venv"
sys.path.insert(0, str(REPO_DIR))

import generate  # noqa: E402
from databases import BenchDatabases, load_schema  # noqa: E402

# Statements sent by a SQLAlchemy program, counted by a listener on every engine, and the
# time from its imports done to its end (the work, without the interpreter's start-up);
# the program runs as its command line would. argv[1] is "ours" or "migra", the rest its arguments.
COUNTING = """
import io, sys, time
import sqlalchemy as sa
count = [0]
sa.event.listen(sa.engine.Engine, "before_cursor_execute", lambda *args: count.__setitem__(0, count[0] + 1))
which, sys.argv = sys.argv[1], sys.argv[1:]
if which == "ours":
    from sync_schema.cli import main as run
    import sync_schema.formats, sync_schema.read, sync_schema.run  # imported on first use: start-up, not work
else:
    from migra.command import do_command as run
out, sys.stdout, sys.stderr = sys.stdout, io.StringIO(), io.StringIO()
started = time.perf_counter()
try:
    run(sys.argv[1:]) if which == "ours" else run()
except SystemExit:
    pass
seconds = time.perf_counter() - started
sys.stdout = out
print("STATEMENTS", count[0], seconds)
"""


def ensure_migra() -> Path:
    python = MIGRA_VENV / "bin" / "python"
    if not (MIGRA_VENV / ".installed").exists():
        print(f"bench: installing migra into {MIGRA_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(MIGRA_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "migra", "psycopg2-binary", "sqlalchemy<2"], check=True)
        (MIGRA_VENV / ".installed").touch()
    return python


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_SCHEMA_") and k not in ("DATABASE_URL", "PGOPTIONS")}
    env["NO_COLOR"] = "1"
    return env


def timed(command: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - started, done


def statements(python: str, which: str, args: list[str], cwd: Path) -> tuple[int, float]:
    """(statements sent, seconds of work after the imports) of one in-process run."""
    done = subprocess.run([python, "-c", COUNTING, which, *args], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=3600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("STATEMENTS ")]
    if not lines:
        raise RuntimeError(f"{which} did not run: {done.stderr.strip().splitlines()[-1:]}")
    _, count, seconds = lines[-1].split()
    return int(count), float(seconds)


def bench_size(size: int, repeats: int, dbs: BenchDatabases, migra: Path, workdir: Path) -> dict[str, object]:
    app = generate.generate(size)
    v1, v2 = generate.write_modules(app, workdir)
    sys.path.insert(0, str(workdir))
    target, reference = dbs.create(f"compare{size}_target"), dbs.create(f"compare{size}_reference")
    load_schema(dbs.dsn(target), __import__(v1).metadata)
    load_schema(dbs.dsn(reference), __import__(v2).metadata)
    target_url, reference_url = dbs.url(target), dbs.url(reference)
    migra_urls = [u.replace("postgresql+psycopg2://", "postgresql://") for u in (target_url, reference_url)]
    commands = {
        "ours": [sys.executable, "-m", "sync_schema", "compare", "--reference", reference_url, "--database-url", target_url],
        "migra": [str(MIGRA_VENV / "bin" / "migra"), "--unsafe", *migra_urls],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    work: dict[str, list[float]] = {name: [] for name in commands}
    counts: dict[str, int] = {}
    outputs: dict[str, subprocess.CompletedProcess[str]] = {}
    pythons = {"ours": sys.executable, "migra": str(migra)}
    for _ in range(repeats):  # interleaved: a busy moment hits both alike
        for name, command in commands.items():
            seconds, outputs[name] = timed(command, workdir)
            times[name].append(seconds)
            counts[name], worked = statements(pythons[name], name, command[3:] if name == "ours" else command[1:], workdir)
            work[name].append(worked)
    differences = re.search(r"^(\d+) differences?", outputs["ours"].stdout, re.M)
    dbs.drop(target)
    dbs.drop(reference)
    return {
        "size": size,
        "ours": statistics.median(times["ours"]), "migra": statistics.median(times["migra"]),
        "ours_work": statistics.median(work["ours"]), "migra_work": statistics.median(work["migra"]),
        "ours_statements": counts["ours"], "migra_statements": counts["migra"],
        "ours_differences": int(differences.group(1)) if differences else -1, "migra_lines": sum(1 for line in outputs["migra"].stdout.splitlines() if line.strip()),
        "migra_exit": outputs["migra"].returncode,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000", help="table counts, comma separated (default 100,1000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each whole process per size (default 3); the median is shown")
    args = parser.parse_args()
    migra = ensure_migra()
    dbs = BenchDatabases()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="sync_schema_bench_compare_") as tmp:
            for size in (int(s) for s in args.sizes.split(",")):
                print(f"bench: {size} tables ...", flush=True)
                results.append(bench_size(size, args.repeats, dbs, migra, Path(tmp)))
    finally:
        dbs.drop_all()
    print()
    print(f"{'':>7}  {'whole process (s)':^29}  {'work after start-up (s)':^29}")
    print(f"{'tables':>7}  {'ours':>8} {'migra':>8} {'ratio':>10}  {'ours':>8} {'migra':>8} {'ratio':>10}  {'statements ours':>15}  "
          f"{'statements migra':>16}  {'differences':>11}")
    for r in results:
        print(f"{r['size']:>7}  {r['ours']:>8.2f} {r['migra']:>8.2f} {r['migra'] / r['ours']:>9.1f}x  "  # type: ignore[operator]
              f"{r['ours_work']:>8.2f} {r['migra_work']:>8.2f} {r['migra_work'] / r['ours_work']:>9.1f}x  "  # type: ignore[operator]
              f"{r['ours_statements']:>15}  {r['migra_statements']:>16}  {r['ours_differences']:>11}")
    print()
    print("whole processes, start to exit, median of", args.repeats, "(interleaved); migra printed",
          ", ".join(f"{r['migra_lines']} lines at {r['size']}" for r in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
