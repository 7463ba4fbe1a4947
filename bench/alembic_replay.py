"""The cost of replaying an Alembic history (issue 15): what sync_schema pays to name the
revision that made a missing column, and to decide --alembic stamp-if-synced.

    .venv/bin/python bench/alembic_replay.py                    # 50 revisions, 3 runs each
    .venv/bin/python bench/alembic_replay.py --revisions 200

A generated app with an N-revision history (tables and columns added revision after
revision, a few indexes) is migrated to head by Alembic, then a column that revision 2
added is dropped by hand. Timed, each the median of --repeats interleaved runs:

- the attribution replay, `sync_schema.alembic.attribute_missing` (scratch database
  created, the applied revisions replayed in one `upgrade`, the missing column looked up
  after each revision until found, scratch database dropped);
- the whole process: `python -m sync_schema --dry-run` on that database (models import,
  inspection, the same replay, the plan, the report);
- the stamp-if-synced replay, `sync_schema.alembic.head_differences` (the whole history
  into a scratch database, inspected, diffed against the live database);
- for scale: `alembic upgrade head` into an empty database (the migrations alone: no
  replay can be cheaper), CREATE + DROP DATABASE, and the replay as it was first written
  (one `alembic upgrade` call and one inspection per revision).

Every database is named sync_schema_bench_<pid>_* (dropped at the end, also after an error
or Ctrl-C); the scratch databases are sync_schema's own (sync_schema_shadow_*, dropped by it).
See bench/README.md, "Alembic history replay".
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
sys.path.insert(0, str(REPO_DIR))  # this checkout's sync_schema (a short run: no snapshot copy)

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from sync_schema.alembic import AlembicState, attribute_missing, head_differences
from sync_schema.config import ALWAYS_EXCLUDED
from sync_schema.dialects import dialect_for

from databases import BenchDatabases
from textable import ratio, secs, table

ENV_PY = """
import sqlalchemy as sa
from alembic import context
from app_models import metadata

engine = sa.create_engine(context.config.get_main_option("sqlalchemy.url"), poolclass=sa.pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
"""



def log(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def write_app(directory: Path, url: str, revisions: int, dropped_revision: int) -> tuple[str, str]:
    """The models (head), alembic.ini, env.py and `revisions` revision files. Every fifth
    revision creates a table (with a foreign key to the one before), the others add two
    columns to an existing table, every seventh also an index. Returns the (table, column)
    that `dropped_revision` added."""
    tables: dict[str, list[str]] = {}  # table -> its columns as Python source
    indexes: dict[str, list[str]] = {}
    bodies: list[str] = []
    dropped = ("", "")
    for n in range(1, revisions + 1):
        if n % 5 == 1:
            name = f"t{len(tables):02d}"
            columns = ['sa.Column("id", sa.Integer, primary_key=True)', 'sa.Column("name", sa.String(100), nullable=False)',
                       'sa.Column("created_at", sa.DateTime, server_default=sa.func.now(), nullable=False)']
            if tables:
                parent = list(tables)[-1]
                columns.append(f'sa.Column("{parent}_id", sa.Integer, sa.ForeignKey("{parent}.id"))')
            tables[name], indexes[name] = columns, []
            body = [f'op.create_table("{name}", {", ".join(columns)})']
        else:
            name = list(tables)[n % len(tables)]
            added = [f'sa.Column("c{n}_a", sa.Integer)', f'sa.Column("c{n}_b", sa.String(50), server_default="x", nullable=False)']
            tables[name] += added
            body = [f'op.add_column("{name}", {column})' for column in added]
            if n == dropped_revision:
                dropped = (name, f"c{n}_a")
        if n % 7 == 0:  # an index on what this revision made
            column = "name" if n % 5 == 1 else f"c{n}_a"
            indexes[name].append(f'sa.Index("ix_{name}_{column}", "{column}")')
            body.append(f'op.create_index("ix_{name}_{column}", "{name}", ["{column}"])')
        bodies.append("\n    ".join(body))
    models = ["import sqlalchemy as sa", "metadata = sa.MetaData()"]
    models += [f'sa.Table("{name}", metadata, {", ".join(columns + indexes[name])})' for name, columns in tables.items()]
    (directory / "app_models.py").write_text("\n".join(models) + "\n")
    (directory / "alembic.ini").write_text(f"[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = {url}\n")
    versions = directory / "migrations" / "versions"
    versions.mkdir(parents=True)
    (directory / "migrations" / "env.py").write_text(ENV_PY)
    for n, text in enumerate(bodies, 1):
        down = f"{n - 1:04d}" if n > 1 else None
        (versions / f"{n:04d}.py").write_text(
            f'"""revision {n}"""\nfrom alembic import op\nimport sqlalchemy as sa\n'
            f"revision = {f'{n:04d}'!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n"
            f"def upgrade():\n    {text}\ndef downgrade():\n    pass\n"
        )
    return dropped


def median(runs: list[float]) -> float:
    return statistics.median(runs) if runs else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/alembic_replay.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--revisions", type=int, default=50, help="revisions in the generated history (default 50)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each, interleaved; the median is reported (default 3)")
    parser.add_argument("--dropped-revision", type=int, default=2,
                        help="the revision whose first column is dropped (default 2: early; the lookups stop once it is found)")
    args = parser.parse_args(argv)
    if args.dropped_revision % 5 == 1 or not 1 < args.dropped_revision <= args.revisions:
        parser.error("--dropped-revision must be one that adds columns: 2 to --revisions, not 1, 6, 11, ...")

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # unwinds through the finally below: databases dropped

    signal.signal(signal.SIGTERM, terminate)
    dbs = BenchDatabases()
    workdir = Path(tempfile.mkdtemp(prefix="sync_schema_bench_replay_"))
    try:
        live = dbs.create("replay_live")
        url = sa.make_url(dbs.url(live))
        dropped = write_app(workdir, url.render_as_string(hide_password=False), args.revisions, args.dropped_revision)
        sys.path.insert(0, str(workdir))
        os.chdir(workdir)
        head = f"{args.revisions:04d}"
        config = Config(str(workdir / "alembic.ini"))
        command.upgrade(config, "head")
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'ALTER TABLE "{dropped[0]}" DROP COLUMN "{dropped[1]}"')
        with engine.connect() as conn:
            dialect = dialect_for(engine.dialect)
            live_snapshot = dialect.inspect(conn, {"public"})
        engine.dispose()
        state = AlembicState(current=(head,), heads=(head,))
        missing: list[tuple[str, str, str | None]] = [("public", dropped[0], dropped[1])]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_SCHEMA_") and k not in ("DATABASE_URL", "PGOPTIONS")}
        env.update(NO_COLOR="1", PYTHONPATH=os.pathsep.join([str(REPO_DIR), str(workdir)]))
        process = [sys.executable, "-m", "sync_schema", "--dry-run", "--database-url", url.render_as_string(hide_password=False), "--models", "app_models"]
        expected = f'{dropped[0]}.{dropped[1]}: created by {args.dropped_revision:04d} "revision {args.dropped_revision}", stamped as applied, absent'
        checks: list[str] = []

        def attribution() -> None:
            found, problem = attribute_missing(url, None, workdir, state, missing, dialect, None, lambda _: None)
            if problem or [r.revision for r in found.values()] != [f"{args.dropped_revision:04d}"]:
                raise RuntimeError(f"attribution: {found} {problem}")

        def whole_process() -> None:
            done = subprocess.run(process, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
            if expected not in done.stdout:
                raise RuntimeError(f"the run did not name revision {args.dropped_revision}:\n{done.stdout}{done.stderr}")
            checks.append(f"exit {done.returncode}")

        def stamp_replay() -> None:
            differences = head_differences(url, None, workdir, dialect, live_snapshot, {"public"}, set(ALWAYS_EXCLUDED), None)
            found = [(c.kind.value, c.table, c.name) for c in differences]  # the column (and an index on it, dropped with it)
            if ("missing_column", dropped[0], dropped[1]) not in found or {c.table for c in differences} != {dropped[0]}:
                raise RuntimeError(f"head_differences: {differences}")

        def scratch(fn: Callable[[sa.URL], None]) -> Callable[[], None]:
            def run() -> None:
                name = dbs.create("replay_scratch")
                try:
                    fn(sa.make_url(dbs.url(name)))
                finally:
                    dbs.drop(name)
            return run

        def plain_upgrade(target: sa.URL) -> None:
            started = time.perf_counter()
            other = Config(str(workdir / "alembic.ini"))
            other.set_main_option("sqlalchemy.url", target.render_as_string(hide_password=False))
            command.upgrade(other, "head")
            timings["alembic upgrade head (empty database)"].append(time.perf_counter() - started)

        def per_revision(target: sa.URL) -> None:
            """The first replay: one `alembic upgrade` call and one inspection per revision."""
            started = time.perf_counter()
            other = Config(str(workdir / "alembic.ini"))
            other.set_main_option("sqlalchemy.url", target.render_as_string(hide_password=False))
            scratch_engine = sa.create_engine(target, poolclass=sa.pool.NullPool)
            try:
                for n in range(1, args.revisions + 1):
                    command.upgrade(other, f"{n:04d}")
                    with scratch_engine.connect() as conn:
                        dialect.inspect(conn, {"public"})
            finally:
                scratch_engine.dispose()
            timings["one upgrade + inspect per revision (first replay)"].append(time.perf_counter() - started)

        def create_drop() -> None:
            started = time.perf_counter()
            dbs.drop(dbs.create("replay_empty"))
            timings["CREATE + DROP DATABASE"].append(time.perf_counter() - started)

        timed: dict[str, Callable[[], None]] = {
            "attribution replay (attribute_missing)": attribution,
            "whole process (python -m sync_schema --dry-run)": whole_process,
            "stamp-if-synced replay (head_differences)": stamp_replay,
        }
        timings: dict[str, list[float]] = {name: [] for name in [*timed, "alembic upgrade head (empty database)",
                                                                 "one upgrade + inspect per revision (first replay)", "CREATE + DROP DATABASE"]}
        untimed = [scratch(plain_upgrade), scratch(per_revision), create_drop]
        for attempt in range(args.repeats):
            log(f"run {attempt + 1} of {args.repeats}")
            for name, fn in timed.items():
                started = time.perf_counter()
                fn()
                timings[name].append(time.perf_counter() - started)
            for fn in untimed:
                fn()

        floor = median(timings["alembic upgrade head (empty database)"])
        rows = [(name, secs(median(runs)), f"{median(runs) / args.revisions * 1000:.1f} ms" if "DATABASE" not in name else "-",
                 ratio(median(runs), floor), len(runs)) for name, runs in timings.items()]
        print(f"machine: cpus {os.cpu_count()}, python {sys.version.split()[0]}, sqlalchemy {sa.__version__}, alembic "
              f"{__import__('alembic').__version__}, postgresql {dbs.server_version()}")
        print(f"app: {args.revisions} revisions, {sum(1 for n in range(1, args.revisions + 1) if n % 5 == 1)} tables, "
              f"{sum(1 for n in range(1, args.revisions + 1) if n % 7 == 0)} indexes; dropped {dropped[0]}.{dropped[1]} "
              f"(added by revision {args.dropped_revision}); whole process: {', '.join(sorted(set(checks)))}, names the revision")
        print()
        print(table(("median of the runs", "time", "per revision", "vs upgrade", "runs"), rows,
                    f"Replaying {args.revisions} Alembic revisions"))
        print()
        replay = median(timings["attribution replay (attribute_missing)"])
        bare = replay - median(timings["CREATE + DROP DATABASE"])
        print(f"attribution replay less the scratch database's CREATE + DROP: {secs(bare)}, {bare / args.revisions * 1000:.1f} ms per revision")
        print(f"{'PASS' if replay < 10 else 'FAIL'}  attribution replay of {args.revisions} revisions < 10 s: {secs(replay)} "
              f"(measured, not asserted)")
        return 0
    finally:
        os.chdir(BENCH_DIR)
        dropped_dbs = dbs.drop_all()
        if dropped_dbs:
            log(f"dropped: {', '.join(dropped_dbs)}")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        print("\nbench: interrupted (the benchmark's databases were dropped)")
        raise SystemExit(130) from None
