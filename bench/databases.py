"""The benchmark's own databases: created fresh, loaded fast, always dropped.

Every database is named `sync_schema_bench_<pid>_<what>` and registered the moment it
exists, so `BenchDatabases.drop_all()` (called from a `finally`) removes it even after
an error or Ctrl-C. `--drop-stale` removes those a killed run (kill -9) left behind.
"""

from __future__ import annotations

import os
import time

import psycopg2
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

PREFIX = "sync_schema_bench_"
# Tables per transaction when loading a schema. Each new table takes ~8 locks (table,
# sequence, TOAST table and index, its indexes, the tables its foreign keys point at);
# the lock table holds max_locks_per_transaction * max_connections (64 * 100) in all.
TABLES_PER_TRANSACTION = 250
CATALOGS = ("pg_class", "pg_attribute", "pg_attrdef", "pg_constraint", "pg_index", "pg_type", "pg_depend", "pg_sequence", "pg_namespace")


class BenchDatabases:
    def __init__(self, host: str = "127.0.0.1", port: int = 5432, user: str = "postgres") -> None:
        self.host, self.port, self.user = host, port, user
        self.created: list[str] = []

    def dsn(self, name: str, port: int | None = None) -> str:
        return f"host={self.host} port={port or self.port} user={self.user} dbname={name}"

    def url(self, name: str, port: int | None = None) -> str:
        return f"postgresql+psycopg2://{self.user}@{self.host}:{port or self.port}/{name}"

    def _admin(self) -> psycopg2.extensions.connection:
        conn = psycopg2.connect(self.dsn("postgres"), connect_timeout=5)
        conn.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
        return conn

    def server_version(self) -> str:
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW server_version")
                return str(cur.fetchone()[0])
        finally:
            conn.close()

    def create(self, what: str, template: str | None = None) -> str:
        name = f"{PREFIX}{os.getpid()}_{what}"
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                cur.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        finally:
            conn.close()
        self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            conn.close()
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> list[str]:
        dropped = []
        for name in list(self.created):
            try:
                self.drop(name)
                dropped.append(name)
            except psycopg2.Error as exc:
                print(f"bench: could not drop database {name}: {str(exc).strip()}")
        return dropped

    def stale(self) -> list[str]:
        """Benchmark databases whose run is gone (a run still going keeps its own)."""
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1", (PREFIX.replace("_", r"\_") + "%",))
                names = [row[0] for row in cur.fetchall()]
        finally:
            conn.close()
        return [name for name in names if not _running(name[len(PREFIX) :].split("_", 1)[0])]


def _running(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def load_schema(dsn: str, metadata: sa.MetaData) -> float:
    """CREATE every table and index of `metadata`, as create_all() spells them; seconds taken.

    The DDL is compiled by SQLAlchemy (so the database is exactly what create_all() would
    make) but sent in big multi-statement batches: one round trip per few hundred tables
    instead of create_all()'s several per table.
    """
    dialect = postgresql.psycopg2.dialect()
    started = time.perf_counter()
    conn = psycopg2.connect(dsn)
    try:
        tables = metadata.sorted_tables  # foreign keys only point backwards in this order
        for start in range(0, len(tables), TABLES_PER_TRANSACTION):
            statements = []
            for table in tables[start : start + TABLES_PER_TRANSACTION]:
                statements.append(str(CreateTable(table).compile(dialect=dialect)))
                statements += [str(CreateIndex(ix).compile(dialect=dialect)) for ix in sorted(table.indexes, key=lambda i: str(i.name))]
            with conn.cursor() as cur:
                cur.execute(";\n".join(statements))
            conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:
            # Fresh statistics on the catalogs just filled, as on a live database (autovacuum
            # would get there within a minute); otherwise every tool's catalog queries are
            # planned for nearly empty catalogs.
            cur.execute("ANALYZE " + ", ".join(f"pg_catalog.{t}" for t in CATALOGS))
    finally:
        conn.close()
    return time.perf_counter() - started
