"""Safe under load and faults: one run at a time, bounded lock waits, atomic tables,
crashes and restarts, missing privileges, and the audit trail that records it all."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import PrivateCluster, run_sync, sync_process, write_models

TABLES = 6

# Old production: TABLES tables with rows; the models add two columns and an index to each,
# plus two new tables.
OLD = [f"CREATE TABLE t{i} (id SERIAL PRIMARY KEY, name VARCHAR(40) NOT NULL)" for i in range(TABLES)] + [
    f"INSERT INTO t{i} (name) SELECT 'row ' || g FROM generate_series(1, 2000) AS g" for i in range(TABLES)
]
MODELS = "import sqlalchemy as sa\nmetadata = sa.MetaData()\n" + "".join(
    f"sa.Table('t{i}', metadata, sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.String(40), nullable=False),"
    f" sa.Column('score', sa.Integer, server_default=sa.text('0')), sa.Column('note', sa.Text), sa.Index('ix_t{i}_score', 'score'))\n"
    for i in range(TABLES)
) + (
    "sa.Table('new_a', metadata, sa.Column('id', sa.Integer, primary_key=True), sa.Column('t0_id', sa.ForeignKey('t0.id')))\n"
    "sa.Table('new_b', metadata, sa.Column('id', sa.Integer, primary_key=True), sa.Column('a_id', sa.ForeignKey('new_a.id'), index=True))\n"
)


def prepare(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for sql in OLD:
            conn.exec_driver_sql(sql)


def all_rows(engine: sa.Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {f"t{i}": [tuple(r) for r in conn.exec_driver_sql(f"SELECT id, name FROM t{i} ORDER BY id")] for i in range(TABLES)}


def remaining_drift(url: str, models: str) -> tuple[int, str]:
    return run_sync("--database-url", url, "--models", models, "--check")


def test_eight_simultaneous_runs_apply_each_change_once(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    prepare(pg_engine)
    before = all_rows(pg_engine)
    models = write_models(app_dir, MODELS)

    processes = [sync_process(pg_url, models, app_dir) for _ in range(8)]
    outputs = [p.communicate(timeout=180)[0] for p in processes]

    assert [p.returncode for p in processes] == [0] * 8, outputs
    for out in outputs:
        assert "ERROR" not in out and "FAILED" not in out, out
        assert "verification           PASSED" in out, out
    with pg_engine.connect() as conn:
        runs = conn.exec_driver_sql("SELECT count(*), count(*) FILTER (WHERE outcome = 'ok') FROM sync_schema_history").one()
        per_step = conn.exec_driver_sql(
            "SELECT step, count(DISTINCT run_id) FROM sync_schema_history_statements WHERE status = 'applied' GROUP BY step"
        ).all()
    assert tuple(runs) == (8, 8)
    assert len(per_step) == TABLES * 2 + 3  # per table: ADD COLUMN and CREATE INDEX; two new tables, new_b's index
    assert all(count == 1 for _, count in per_step), per_step
    assert sum("APPLIED" in out for out in outputs) == 1  # one run did the work, the others found nothing to do
    assert all_rows(pg_engine) == before
    assert remaining_drift(pg_url, models)[0] == 0


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


def test_locked_table_is_deferred_and_readers_wait_at_most_the_lock_timeout(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    prepare(pg_engine)
    before = all_rows(pg_engine)
    models = write_models(app_dir, MODELS)
    blocker = pg_engine.connect()
    blocker.exec_driver_sql("SELECT count(*) FROM t3")  # a long transaction holds ACCESS SHARE on t3
    reader = Reader(pg_url, "t3")
    reader.start()
    lock_timeout = 0.5
    try:
        started = time.monotonic()
        code, out = run_sync("--database-url", pg_url, "--models", models, "--lock-timeout", str(lock_timeout), "--lock-attempts", "2")
        run_seconds = time.monotonic() - started
    finally:
        reader.stop.set()
        reader.join(timeout=10)
        blocker.rollback()
        blocker.close()
    assert run_seconds > lock_timeout + 1.0  # the blocker outlived the bound we assert on

    assert code == 0, out
    assert "DEFERRED add columns t3: score, note" in out
    assert "lock not available within 0.5 s after 2 attempts; deferred to the next run" in out
    assert "deferred (locked)      2" in out, out
    assert out.count("APPLIED") == TABLES * 2 + 3 - 2  # everything but t3's two steps (the index waits for the columns)
    # The reader was queued behind our ALTER (so the bound was what limited its wait), never
    # much longer: without the bound it would wait until the blocker ends, after the whole run.
    assert max(reader.waits) >= lock_timeout * 0.5, max(reader.waits)
    assert max(reader.waits) < lock_timeout + 1.0, max(reader.waits)

    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert "APPLIED  add columns t3: score, note" in out
    assert remaining_drift(pg_url, models)[0] == 0
    assert all_rows(pg_engine) == before


def test_a_table_locked_by_a_migration_bounds_the_catalog_read(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    """Spelling out a CHECK constraint or a partial index opens its table. Behind another
    session's ACCESS EXCLUSIVE lock, the read gives up within lock_timeout per attempt,
    says who is in the way, changes nothing and exits 0; once the lock is gone, it syncs."""
    with pg_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE orders (id SERIAL PRIMARY KEY, qty INTEGER CHECK (qty > 0))")
        conn.exec_driver_sql("CREATE INDEX ix_orders_big ON orders (qty) WHERE qty > 100")
    models = write_models(app_dir, (
        "import sqlalchemy as sa\nmetadata = sa.MetaData()\n"
        "sa.Table('orders', metadata, sa.Column('id', sa.Integer, primary_key=True),"
        " sa.Column('qty', sa.Integer), sa.Column('note', sa.Text), sa.CheckConstraint('qty > 0', name='orders_qty_check'),"
        " sa.Index('ix_orders_big', 'qty', postgresql_where=sa.text('qty > 100')))\n"
    ))
    migration = pg_engine.connect()
    migration.exec_driver_sql("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
    try:
        started = time.monotonic()
        code, out = run_sync("--database-url", pg_url, "--models", models, "--lock-timeout", "0.3", "--lock-attempts", "2")
        seconds = time.monotonic() - started
    finally:
        migration.rollback()
        migration.close()
    assert code == 0, out
    assert "reading the catalog again in 0.5 s" in out
    assert "a table's lock was not available within 0.3 s, 2 times" in out, out
    assert seconds < 0.3 * 2 + 0.5 + 3.0, seconds  # two bounded waits and the pause, not the migration's length
    with pg_engine.connect() as conn:
        assert [r[0] for r in conn.exec_driver_sql("SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' ORDER BY 1")] == ["id", "qty"]

    code, out = run_sync("--database-url", pg_url, "--models", models)
    assert code == 0 and "APPLIED" in out, out
    assert remaining_drift(pg_url, models)[0] == 0


@pytest.fixture
def template_db(pg_admin: sa.Engine) -> Iterator[str]:
    """A database holding the old schema, used as a TEMPLATE for quick copies."""
    name = f"sync_schema_test_tpl_{uuid.uuid4().hex[:10]}"
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = sa.create_engine(pg_admin.url.set(database=name))
    prepare(engine)
    engine.dispose()
    yield name
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_killed_at_twenty_points_every_table_is_before_or_after(app_dir: Path, pg_admin: sa.Engine, template_db: str) -> None:
    models = write_models(app_dir, MODELS)
    old_columns = ["id", "name"]
    new_columns = ["id", "name", "score", "note"]
    kill_points = [(k // 2, (k % 2) * 0.015) for k in range(20)]  # after the k-th APPLIED line, plus a little
    for applied_lines, delay in kill_points:
        name = f"sync_schema_test_kill_{uuid.uuid4().hex[:10]}"
        with pg_admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
        url = pg_admin.url.set(database=name).render_as_string(hide_password=False)
        engine = sa.create_engine(url)
        try:
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

            inspector = sa.inspect(engine)
            for i in range(TABLES):
                columns = [c["name"] for c in inspector.get_columns(f"t{i}")]
                assert columns in (old_columns, new_columns), (applied_lines, delay, f"t{i}", columns)
            for table in ("new_a", "new_b"):
                if inspector.has_table(table):
                    assert [c["name"] for c in inspector.get_columns(table)] in (["id", "t0_id"], ["id", "a_id"])
            assert all_rows(engine) == before

            code, out = run_sync("--database-url", url, "--models", models)
            assert code == 0 and "verification           PASSED" in out, out
            assert remaining_drift(url, models)[0] == 0, (applied_lines, delay)
            assert all_rows(engine) == before
        finally:
            engine.dispose()
            with pg_admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_database_restart_during_a_run(app_dir: Path, private_pg: PrivateCluster) -> None:
    name = f"restart_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(private_pg.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    url = private_pg.url(database=name)
    engine = sa.create_engine(url)
    # Big tables, so that the run is still busy when the server goes down.
    with engine.begin() as conn:
        for sql in OLD:
            conn.exec_driver_sql(sql.replace("generate_series(1, 2000)", "generate_series(1, 100000)"))
    before = all_rows(engine)
    engine.dispose()
    models = write_models(app_dir, MODELS)
    try:
        process = sync_process(url, models, app_dir)
        assert process.stdout is not None
        for line in process.stdout:
            if "APPLIED" in line:
                break
        private_pg.restart()
        out = process.communicate(timeout=120)[0]
        assert process.returncode == 0, out
        assert "Traceback" not in out
        assert any(word in out for word in ("FAILED", "ERROR")), out  # the run saw the restart and says so
        assert "right-password" not in out

        code, out = run_sync("--database-url", url, "--models", models)
        assert code == 0 and "verification           PASSED" in out, out
        assert remaining_drift(url, models)[0] == 0
        engine = sa.create_engine(url)
        assert all_rows(engine) == before
        engine.dispose()
    finally:
        admin = sa.create_engine(private_pg.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_read_only_user_gets_a_clear_report_and_nothing_changes(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    prepare(pg_engine)
    before = all_rows(pg_engine)
    role = f"sync_schema_ro_{uuid.uuid4().hex[:8]}"
    database = sa.make_url(pg_url).database
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        conn.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
        conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    models = write_models(app_dir, MODELS)
    ro_url = sa.make_url(pg_url).set(username=role).render_as_string(hide_password=False)
    try:
        code, out = run_sync("--database-url", ro_url, "--models", models)
        assert code == 0, out
        assert f"must be owner of table t0 (user {role} lacks the privilege" in out
        assert f"permission denied for schema public (user {role} lacks the privilege" in out
        assert "history not recorded in sync_schema_history" in out
        assert "APPLIED" not in out
        assert f"failed                 {TABLES * 2 + 3}" in out, out  # every step: the user may neither alter nor create
        assert run_sync("--database-url", ro_url, "--models", models, "--strict")[0] == 1
        assert all_rows(pg_engine) == before
        assert not sa.inspect(pg_engine).has_table("new_a")
    finally:
        with pg_engine.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")


def test_history_records_runs_and_statements(app_dir: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    prepare(pg_engine)
    before = all_rows(pg_engine)
    models = write_models(app_dir, MODELS)
    run_sync("--database-url", pg_url, "--models", models)
    run_sync("--database-url", pg_url, "--models", models)
    code, out = run_sync("history", "--database-url", pg_url, "--limit", "5")
    lines = [line.split() for line in out.splitlines()[1:]]
    assert code == 0
    assert [(row[0], row[4], row[5], row[6]) for row in lines] == [("2", "apply", "ok", "0"), ("1", "apply", "ok", str(TABLES * 2 + 3))]
    with pg_engine.connect() as conn:
        statement = conn.exec_driver_sql(
            "SELECT statement, status, duration_ms >= 0 FROM sync_schema_history_statements WHERE step = 'create index t0.ix_t0_score'"
        ).one()
    assert tuple(statement) == ('CREATE INDEX CONCURRENTLY ix_t0_score ON public.t0 (score)', "applied", True)
    run_sync("--database-url", pg_url, "--models", models, "--history-table", "off")
    assert "    3  " not in run_sync("history", "--database-url", pg_url)[1]
    assert all_rows(pg_engine) == before


def test_behind_a_transaction_mode_pooler_a_lease_replaces_the_advisory_lock(app_dir: Path, pg_url: str, pg_engine: sa.Engine, pgbouncer: int) -> None:
    prepare(pg_engine)
    before = all_rows(pg_engine)
    models = write_models(app_dir, MODELS)
    pooled = sa.make_url(pg_url).set(port=pgbouncer).render_as_string(hide_password=False)

    processes = [sync_process(pooled, models, app_dir) for _ in range(4)]
    outputs = [p.communicate(timeout=180)[0] for p in processes]

    assert [p.returncode for p in processes] == [0] * 4, outputs
    for out in outputs:
        assert "a transaction-mode pooler (PgBouncer?) is between us and the database" in out, out
        assert "ERROR" not in out and "FAILED" not in out, out
    with pg_engine.connect() as conn:
        per_step = conn.exec_driver_sql(
            "SELECT step, count(DISTINCT run_id) FROM sync_schema_history_statements WHERE status = 'applied' GROUP BY step"
        ).all()
        leases = conn.exec_driver_sql("SELECT count(*) FROM sync_schema_lock").scalar()
    assert len(per_step) == TABLES * 2 + 3 and all(count == 1 for _, count in per_step), per_step
    assert leases == 0  # every run released its lease
    assert all_rows(pg_engine) == before
    # No time-out of ours stayed on a pooled server connection (the app's queries would
    # run with it): each of the pool's five, held at once, has the server's defaults.
    pooled_engine = sa.create_engine(pooled, poolclass=sa.pool.NullPool)
    held = [pooled_engine.connect() for _ in range(5)]
    try:
        settings = {tuple(c.exec_driver_sql("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')").one()) for c in held}
    finally:
        for c in held:
            c.rollback()
            c.close()
        pooled_engine.dispose()
    assert settings == {("0", "0")}, settings
    code, out = remaining_drift(pg_url, models)
    assert code == 0 and "pooler" not in out  # a direct connection keeps the advisory lock
