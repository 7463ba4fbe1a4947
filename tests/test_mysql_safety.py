"""MySQL / MariaDB under load and faults, against the real server: a table held by another
session's open transaction (a metadata lock) is deferred in bounded time and never makes
the app's queries wait behind our ALTER longer than the lock time-out; concurrent runs
apply each change once; a run killed in the middle leaves nothing the next run cannot
finish (DDL commits statement by statement here)."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from conftest import run_sync, sync_process, write_models

TABLES = 6
ROWS = 2000

OLD = [f"CREATE TABLE t{i} (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL, legacy INT NOT NULL)" for i in range(TABLES)]
MODELS = "import sqlalchemy as sa\nmetadata = sa.MetaData()\n" + "".join(
    f"sa.Table('t{i}', metadata, sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.String(40), nullable=False),"
    f" sa.Column('score', sa.Integer, server_default=sa.text('0')), sa.Column('note', sa.Text), sa.Index('ix_t{i}_score', 'score'))\n"
    for i in range(TABLES)
) + (
    "sa.Table('new_a', metadata, sa.Column('id', sa.Integer, primary_key=True), sa.Column('t0_id', sa.ForeignKey('t0.id')))\n"
    "sa.Table('new_b', metadata, sa.Column('id', sa.Integer, primary_key=True), sa.Column('a_id', sa.ForeignKey('new_a.id'), index=True))\n"
)
# Per old table: relax `legacy` (not in the models, NOT NULL without a default), add the
# columns, build the index; then the two new tables and new_b's index.
STEPS = TABLES * 3 + 3


def prepare(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for i, sql in enumerate(OLD):
            conn.exec_driver_sql(sql)
            conn.execute(sa.text(f"INSERT INTO t{i} (name, legacy) VALUES (:name, 1)"), [{"name": f"row {n}"} for n in range(ROWS)])


def wait_for_sessions_to_end(admin: sa.Engine, database: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    with admin.connect() as conn:
        while conn.execute(sa.text("SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = :db AND COMMAND <> 'Sleep'"), {"db": database}).scalar():
            assert time.monotonic() < deadline, f"a statement on {database} still runs {timeout:.0f} s after its client was killed"
            time.sleep(0.05)


def all_rows(engine: sa.Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {f"t{i}": [tuple(r) for r in conn.exec_driver_sql(f"SELECT id, name FROM t{i} ORDER BY id")] for i in range(TABLES)}


def test_eight_simultaneous_runs_apply_each_change_once(app_dir: Path, mysql_url: str, mysql_engine: sa.Engine) -> None:
    prepare(mysql_engine)
    before = all_rows(mysql_engine)
    models = write_models(app_dir, MODELS)

    processes = [sync_process(mysql_url, models, app_dir) for _ in range(8)]
    outputs = [p.communicate(timeout=240)[0] for p in processes]

    assert [p.returncode for p in processes] == [0] * 8, outputs
    for out in outputs:
        assert "ERROR" not in out and "FAILED" not in out, out
        assert "verification           PASSED" in out, out
    with mysql_engine.connect() as conn:
        runs = conn.exec_driver_sql("SELECT count(*), SUM(outcome = 'ok') FROM sync_schema_history").one()
        per_step = conn.exec_driver_sql(
            "SELECT step, count(DISTINCT run_id) FROM sync_schema_history_statements WHERE status = 'applied' GROUP BY step"
        ).all()
    assert (runs[0], int(runs[1])) == (8, 8)
    assert len(per_step) == STEPS, per_step
    assert all(count == 1 for _, count in per_step), per_step
    assert sum("APPLIED" in out for out in outputs) == 1  # one run did the work, the others found nothing to do
    assert all_rows(mysql_engine) == before
    code, out = run_sync("history", "--database-url", mysql_url, "--limit", "8")
    applied = sorted(int(line.split()[6]) for line in out.splitlines()[1:])
    assert code == 0 and applied == [0] * 7 + [STEPS], out
    code, out = run_sync("--database-url", mysql_url, "--models", models, "--check")
    assert f"{TABLES} differences" in out and out.count("REVIEW   drop column") == TABLES, out  # only the extra columns, relaxed


class Reader(threading.Thread):
    """Production traffic: SELECTs on one table, each one timed."""

    def __init__(self, url: str, table: str) -> None:
        super().__init__(daemon=True)
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        self.table = table
        self.waits: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with self.engine.connect() as conn:
            while not self.stop.is_set():
                started = time.monotonic()
                conn.exec_driver_sql(f"SELECT count(*) FROM {self.table}").scalar()
                self.waits.append(time.monotonic() - started)
                time.sleep(0.01)
        self.engine.dispose()


def test_a_table_held_by_an_open_transaction_is_deferred_and_readers_wait_at_most_the_lock_timeout(
    app_dir: Path, mysql_url: str, mysql_engine: sa.Engine
) -> None:
    """Another session's transaction read t3 and stays open: it holds t3's metadata lock,
    so our ALTER waits, and every query on t3 after it queues behind the ALTER. The wait is
    bounded by lock_wait_timeout (a year by default), the table deferred after the retries,
    the other tables done."""
    prepare(mysql_engine)
    before = all_rows(mysql_engine)
    models = write_models(app_dir, MODELS)
    blocker = mysql_engine.connect()
    blocker.exec_driver_sql("SELECT count(*) FROM t3").scalar()  # the transaction stays open: a shared metadata lock on t3
    reader = Reader(mysql_url, "t3")
    reader.start()
    lock_timeout = 1  # MySQL's lock_wait_timeout counts whole seconds
    try:
        started = time.monotonic()
        code, out = run_sync("--database-url", mysql_url, "--models", models, "--lock-timeout", str(lock_timeout), "--lock-attempts", "2")
        run_seconds = time.monotonic() - started
    finally:
        reader.stop.set()
        reader.join(timeout=10)
        blocker.rollback()
        blocker.close()
    assert run_seconds > lock_timeout * 2  # the blocker outlived the bound we assert on
    assert run_seconds < 30, run_seconds

    assert code == 0, out
    assert "DEFERRED relax t3.legacy" in out, out
    assert "lock not available within 1 s after 2 attempts; deferred to the next run" in out, out
    assert "deferred (locked)      3" in out, out  # the relax step, then the columns and the index wait with it
    assert out.count("APPLIED") == STEPS - 3, out
    # The reader was queued behind our ALTER (so the bound was what limited its wait), never
    # much longer: without the bound it would wait until the blocker ends, after the whole run.
    assert max(reader.waits) >= lock_timeout * 0.5, max(reader.waits)
    assert max(reader.waits) < lock_timeout + 1.0, max(reader.waits)

    code, out = run_sync("--database-url", mysql_url, "--models", models)
    assert "APPLIED  add columns t3: score, note" in out, out
    code, out = run_sync("--database-url", mysql_url, "--models", models, "--check")
    assert f"{TABLES} differences" in out and out.count("REVIEW   drop column") == TABLES, out  # the extra columns stay, relaxed
    assert all_rows(mysql_engine) == before


def test_killed_in_the_middle_a_rerun_converges(app_dir: Path, mysql_admin: sa.Engine) -> None:
    """DDL commits statement by statement: a run killed at any point leaves each table
    with some of its steps done. Every step is re-detected by the next run's diff, which
    finishes the job without losing a row."""
    import uuid

    models = write_models(app_dir, MODELS)
    for applied_lines, delay in [(0, 0.0), (1, 0.0), (2, 0.01), (5, 0.0), (9, 0.005), (14, 0.0)]:
        name = f"sync_schema_test_kill_{uuid.uuid4().hex[:10]}"
        with mysql_admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE `{name}`")
        url = mysql_admin.url.set(database=name).render_as_string(hide_password=False)
        engine = sa.create_engine(url)
        try:
            prepare(engine)
            before = all_rows(engine)
            process = sync_process(url, models, app_dir)
            seen = 0
            assert process.stdout is not None
            for line in process.stdout:
                if "inspected" in line and applied_lines == 0 or "APPLIED" in line and (seen := seen + 1) >= applied_lines > 0:
                    break
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)
            # The server finishes (or undoes) the statement a dead client had sent: wait for
            # it, as the next deploy's run would find it done (MySQL otherwise fails a read
            # that began before that ALTER's end: 1412 "Table definition has changed").
            wait_for_sessions_to_end(mysql_admin, name)

            inspector = sa.inspect(engine)
            for i in range(TABLES):
                columns = [c["name"] for c in inspector.get_columns(f"t{i}")]
                assert columns in (["id", "name", "legacy"], ["id", "name", "legacy", "score", "note"]), (applied_lines, f"t{i}", columns)
            assert all_rows(engine) == before

            code, out = run_sync("--database-url", url, "--models", models)
            assert code == 0 and "verification           PASSED" in out, out
            code, out = run_sync("--database-url", url, "--models", models, "--check")
            assert f"{TABLES} differences" in out and out.count("REVIEW   drop column") == TABLES, (applied_lines, out)  # only the extra columns
            assert all_rows(engine) == before
        finally:
            engine.dispose()
            with mysql_admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
