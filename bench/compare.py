"""Database to database: `python -m sync_schema compare` against migra, on the same pair.

    .venv/bin/python bench/compare.py                    # 100 and 1,000 tables (about a minute)
    .venv/bin/python bench/compare.py --sizes 100,1000,3000

For each size: two databases made by create_all() of the generated app (generate.py), the
target at version 1 and the reference at version 2 (one version ahead: more columns and
tables, a few type changes). Then, in one run and interleaved, each whole process timed
from start to exit: ours (`python -m sync_schema compare --reference REF --database-url
TARGET --format json`) and migra (`migra --unsafe TARGET REF`, the best-known
database-to-database diff for PostgreSQL: deprecated, but installable), the median of
`--repeats`. And the statements each sends, counted in-process with a listener on every
SQLAlchemy engine (both are SQLAlchemy programs): constant in the number of tables, or not.

migra needs SQLAlchemy 1.4, so it lives in a virtualenv of its own, made once under
.bench/ (ignored by git). Every database is named sync_schema_bench_* and dropped at the
end, also after an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
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

# Statements sent by a SQLAlchemy program, counted by a listener on every engine; then the
# program runs as its command line would. argv[1] is "ours" or "migra", the rest its arguments.
COUNTING = """
import sys
import sqlalchemy as sa
count = [0]
sa.event.listen(sa.engine.Engine, "before_cursor_execute", lambda *args: count.__setitem__(0, count[0] + 1))
which, sys.argv = sys.argv[1], sys.argv[1:]
try:
    if which == "ours":
        from sync_schema.cli import main
        main(sys.argv[1:])
    else:
        from migra.command import do_command
        do_command()
except SystemExit:
    pass
sys.stdout = sys.__stdout__
print("STATEMENTS", count[0])
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


def statements(python: str, which: str, args: list[str], cwd: Path) -> int:
    done = subprocess.run([python, "-c", COUNTING, which, *args], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=3600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("STATEMENTS ")]
    if not lines:
        raise RuntimeError(f"{which} did not run: {done.stderr.strip().splitlines()[-1:]}")
    return int(lines[-1].split()[1])


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
        "ours": [sys.executable, "-m", "sync_schema", "compare", "--reference", reference_url, "--database-url", target_url, "--format", "json"],
        "migra": [str(MIGRA_VENV / "bin" / "migra"), "--unsafe", *migra_urls],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    outputs: dict[str, subprocess.CompletedProcess[str]] = {}
    for _ in range(repeats):  # interleaved: a busy moment hits both alike
        for name, command in commands.items():
            seconds, outputs[name] = timed(command, workdir)
            times[name].append(seconds)
    document = json.loads(outputs["ours"].stdout)
    counts = {
        "ours": statements(sys.executable, "ours", commands["ours"][3:], workdir),
        "migra": statements(str(migra), "migra", commands["migra"][1:], workdir),
    }
    dbs.drop(target)
    dbs.drop(reference)
    return {
        "size": size,
        "ours": statistics.median(times["ours"]), "migra": statistics.median(times["migra"]),
        "ours_statements": counts["ours"], "migra_statements": counts["migra"],
        "ours_differences": len(document["changes"]), "migra_lines": sum(1 for line in outputs["migra"].stdout.splitlines() if line.strip()),
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
    print(f"{'tables':>7}  {'ours (s)':>9}  {'migra (s)':>9}  {'migra/ours':>10}  {'statements ours':>15}  {'statements migra':>16}  {'differences':>11}")
    for r in results:
        print(f"{r['size']:>7}  {r['ours']:>9.2f}  {r['migra']:>9.2f}  {r['migra'] / r['ours']:>9.1f}x  {r['ours_statements']:>15}  "  # type: ignore[operator]
              f"{r['migra_statements']:>16}  {r['ours_differences']:>11}")
    print()
    print("whole processes, start to exit, median of", args.repeats, "(interleaved); migra printed",
          ", ".join(f"{r['migra_lines']} lines at {r['size']}" for r in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
