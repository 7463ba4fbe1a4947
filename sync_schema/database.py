"""Database URLs and connections: driver choice, time-outs, secrets kept out of logs."""

from __future__ import annotations

import importlib.util
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import NullPool

from .errors import ConfigError, DatabaseError

SUPPORTED = "postgresql://, postgres://, mysql://, mariadb:// or sqlite:///path.db"
# Driver preference for a bare postgresql:// URL. SQLAlchemy 2.1 defaults to psycopg (3)
# while 2.0 defaulted to psycopg2; we pick whichever is installed so the URL from the
# platform works as handed out.
_PG_DRIVERS = (("psycopg2", "psycopg2"), ("psycopg", "psycopg"))
_ASYNC_DRIVERS = frozenset({
    "postgresql+asyncpg", "postgresql+psycopg_async", "postgresql+aiopg", "sqlite+aiosqlite",
    "mysql+aiomysql", "mysql+asyncmy", "mariadb+aiomysql", "mariadb+asyncmy",
})
# For a bare mysql:// or mariadb:// URL: PyMySQL (pure Python, the [mysql] extra) if
# installed, else mysqlclient. (SQLAlchemy's own default is mysqlclient.)
_MYSQL_DRIVERS = (("pymysql", "pymysql"), ("MySQLdb", "mysqldb"))
_MYSQL_BACKENDS = frozenset({"mysql", "mariadb"})
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}


def parse_url(raw: str | None, source: str = "DATABASE_URL") -> URL:
    """Turn the configured URL into a SQLAlchemy URL with an installed driver."""
    if raw is None or not raw.strip():
        raise ConfigError(
            f"no database URL: {source} is not set",
            "set DATABASE_URL (e.g. postgresql://user:password@host:5432/db) or pass --database-url",
        )
    text = raw.strip()
    if "://" not in text:
        raise ConfigError(
            f"malformed database URL in {source} (no scheme)", f"use a URL such as {SUPPORTED}"
        )
    scheme, rest = text.split("://", 1)
    if rest.split("?", 1)[0].count("@") > 1:
        # SQLAlchemy would take the password's tail for the host (and print it as such).
        raise ConfigError(
            f"malformed database URL in {source}: more than one '@' before the host",
            "percent-encode the password's reserved characters (@ is %40, : is %3A, / is %2F)",
        )
    if scheme == "postgres" or scheme.startswith("postgres+"):
        # Heroku and Render hand out postgres://, which SQLAlchemy 1.4+ no longer accepts.
        text = "postgresql" + text[len("postgres") :]
    try:
        url = sa.make_url(text)
    except Exception:
        raise ConfigError(
            f"malformed database URL in {source} (scheme {scheme}://)",
            f"check its form: {SUPPORTED}",
        ) from None
    if url.drivername in _ASYNC_DRIVERS:
        # What FastAPI apps hold (postgresql+asyncpg://, sqlite+aiosqlite://): the same
        # database through the installed synchronous driver.
        url = url.set(drivername=url.get_backend_name())
    if url.get_backend_name() == "postgresql" and "+" not in url.drivername:
        url = url.set(drivername=f"postgresql+{_installed_pg_driver()}")
    if url.get_backend_name() in _MYSQL_BACKENDS:
        url = _with_mysql_driver(url)
        if not url.database:
            raise ConfigError(
                f"no database name in the URL in {source}",
                "end it with the database, e.g. mysql://user:password@host:3306/app (the sync inspects and changes that database)",
            )
    if url.get_backend_name() == "postgresql" and not url.database and not {"dbname", "service"} & set(url.query):
        raise ConfigError(
            f"no database name in the URL in {source}",
            "end it with the database, e.g. postgresql://user:password@host:5432/app (libpq would otherwise pick one by itself)",
        )
    try:
        url.get_dialect()
    except Exception:
        raise ConfigError(
            f"unknown database scheme {scheme}:// in {source}",
            f"use {SUPPORTED}, or install the driver for {scheme}",
        ) from None
    if url.get_backend_name() not in ("postgresql", "sqlite", *_MYSQL_BACKENDS):
        raise ConfigError(f"{url.get_backend_name()}:// in {source} is not supported yet", f"use {SUPPORTED}")
    return url


def _with_mysql_driver(url: URL) -> URL:
    """A MySQL / MariaDB URL with a driver that is installed: PyMySQL, else mysqlclient
    for a bare scheme; a named one must be installed (SQLAlchemy would only say "No module
    named ..." on connecting)."""
    backend = url.get_backend_name()
    if "+" not in url.drivername:
        for module, driver in _MYSQL_DRIVERS:
            if importlib.util.find_spec(module) is not None:
                return url.set(drivername=f"{backend}+{driver}")
    else:
        named = {**{d: m for m, d in _MYSQL_DRIVERS}, "mysqlconnector": "mysql", "mariadbconnector": "mariadb"}.get(url.get_driver_name())
        if named is None or importlib.util.find_spec(named) is not None:
            return url
    raise ConfigError(
        "no MySQL driver installed" if "+" not in url.drivername else f"the MySQL driver {url.get_driver_name()} is not installed",
        "pip install 'sync-schema[mysql]' (PyMySQL), or add PyMySQL (or mysqlclient) to requirements.txt",
    )


def _installed_pg_driver() -> str:
    for module, driver in _PG_DRIVERS:
        if importlib.util.find_spec(module) is not None:
            return driver
    raise ConfigError(
        "no PostgreSQL driver installed",
        "pip install 'sync-schema[postgres]' (psycopg2) or 'sync-schema[psycopg]' (psycopg 3), or add the driver to requirements.txt",
    )


# Query parameters that carry a secret (libpq takes ?password=..., ?sslpassword=...).
_SECRET_PARAMETER = re.compile(r"(?i)(?<![\w-])((?:ssl)?password|passwd|pwd|secret|token|api_?key)=([^&\s'\"]*)")
# user:password@ in anything URL-shaped, up to the last @ of the word (a password may hold one).
_USER_PASSWORD = re.compile(r"(://[^:/@\s]*:)\S*@")


def redact(url: URL) -> str:
    """The URL as printed anywhere: its password hidden, and secret query parameters too
    (render_as_string(hide_password=True) leaves ?password=... as it is)."""
    return _SECRET_PARAMETER.sub(r"\1=***", url.render_as_string(hide_password=True))


def scrub(text: str, url: URL | None) -> str:
    """Remove secrets from any text that may quote them (driver errors do, and so does
    argparse, echoing a bad flag's value): the URL's password and secret parameters, and
    anything shaped like user:password@ or password=."""
    secrets = [str(url.password)] if url is not None and url.password else []
    if url is not None:
        secrets += [str(v) for k, v in url.query.items() if _SECRET_PARAMETER.fullmatch(f"{k}=x") and isinstance(v, str) and v]
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
        else:  # a short password is also a piece of ordinary words: hide it only where it stands alone
            text = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", "***", text)
    return _SECRET_PARAMETER.sub(r"\1=***", _USER_PASSWORD.sub(r"\1***@", text))


def error_line(exc: sa.exc.DBAPIError, url: URL | None) -> str:
    """A driver's error as one line of a log: its first line, secrets scrubbed."""
    lines = str(exc.orig).strip().splitlines()
    return scrub(lines[0] if lines else type(exc.orig).__name__, url)


def create_engine(url: URL, connect_timeout: float, connections: int | None = None) -> Engine:
    """An engine whose connection attempts give up after `connect_timeout` seconds.
    `connections`: at most that many, ever (a fleet job's one connection: fleet.py)."""
    connect_args: dict[str, object] = {}
    backend = url.get_backend_name()
    if backend == "postgresql":
        connect_args["connect_timeout"] = max(1, math.ceil(connect_timeout))
        connect_args["application_name"] = "sync-schema"
        connect_args.update(_dead_peer_detection(url.get_driver_name()))
    elif backend == "sqlite":
        connect_args["timeout"] = connect_timeout
    elif backend in _MYSQL_BACKENDS:
        connect_args.update(_mysql_timeouts(url.get_driver_name(), connect_timeout))
    # A small pool: the applier runs each table's steps in a transaction of its own, and a
    # new connection per transaction (TLS, authentication) cost more than the DDL itself
    # (3,300 steps: 31 s against 15 s). Only this run uses the pool; SQLite opens a file.
    pooling: dict[str, Any] = {"poolclass": NullPool} if backend == "sqlite" else {"pool_size": 2, "max_overflow": 16}
    if connections is not None and backend != "sqlite":
        pooling = {"pool_size": connections, "max_overflow": 0}
    engine = sa.create_engine(url, connect_args=connect_args, **pooling)
    if backend == "sqlite":
        _make_sqlite_ddl_transactional(engine)
    elif backend in _MYSQL_BACKENDS and url.get_driver_name() == "pymysql":
        _pymysql_dead_peer_detection(engine)
    return engine


def _mysql_timeouts(driver: str, connect_timeout: float) -> dict[str, object]:
    """PyMySQL's connect_timeout covers the TCP connection only: a port that accepts and
    never greets (a black-holed proxy) would hold the handshake's first read forever, so
    reads and writes get the same bound until connected (see _pymysql_dead_peer_detection).
    mysqlclient's connect_timeout covers the handshake too, in whole seconds."""
    if driver == "pymysql":
        return {"connect_timeout": connect_timeout, "read_timeout": connect_timeout, "write_timeout": connect_timeout}
    return {"connect_timeout": max(1, math.ceil(connect_timeout))}


def _pymysql_dead_peer_detection(engine: Engine) -> None:
    # Once connected, a read may last as long as the statement (an index build, a lock
    # wait under lock_wait_timeout): no client-side bound, but TCP keepalives after 10 s
    # idle and TCP_USER_TIMEOUT notice a dead server, as libpq's options do for
    # PostgreSQL; a server that answers nothing while alive is left to the run's deadline.
    @sa.event.listens_for(engine, "connect")
    def _unbounded_reads(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        import socket

        if hasattr(dbapi_connection, "_read_timeout"):
            dbapi_connection._read_timeout = dbapi_connection._write_timeout = None
        sock = getattr(dbapi_connection, "_sock", None)
        if sock is None:
            return
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for option, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3), ("TCP_USER_TIMEOUT", 30_000)):
            if hasattr(socket, option):  # Linux names; elsewhere keepalive with the system's timings
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


def _dead_peer_detection(driver: str) -> dict[str, object]:
    """libpq options that notice a server gone silent (a dead host, a dropped route):
    TCP keepalives after 10 s idle, and tcp_user_timeout for data never acknowledged.
    Only a proxy that keeps the connection open while forwarding nothing escapes them:
    the run's deadline (deadline.py) covers that."""
    options: dict[str, object] = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}
    try:
        if driver == "psycopg2":
            import psycopg2.extensions

            libpq = psycopg2.extensions.libpq_version()
        else:
            import psycopg

            libpq = psycopg.pq.version()
    except Exception:  # noqa: BLE001 - a driver we cannot ask: keepalives only
        libpq = 0
    if libpq >= 120000:  # tcp_user_timeout is known to libpq 12 and later
        options["tcp_user_timeout"] = 30_000
    return options


def _make_sqlite_ddl_transactional(engine: Engine) -> None:
    # pysqlite only opens transactions before DML, so DDL would autocommit statement by
    # statement. Taking over BEGIN makes each table's changes atomic, as on PostgreSQL.
    @sa.event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _explicit_begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN")


# SQLSTATEs that mean "could not get the lock in time", not "this statement is wrong".
LOCK_TIMEOUT_CODES = frozenset({"55P03"})
# MySQL / MariaDB error numbers that mean the same: lock wait time-out (a metadata lock's
# under lock_wait_timeout, a row lock's under innodb_lock_wait_timeout), a deadlock
# (the victim waits for nothing: another try may pass), NOWAIT refused.
MYSQL_LOCK_TIMEOUT_ERRNOS = frozenset({1205, 1213, 3572})


def is_lock_timeout(exc: sa.exc.DBAPIError) -> bool:
    code = getattr(exc.orig, "pgcode", None) or getattr(exc.orig, "sqlstate", None)
    if code in LOCK_TIMEOUT_CODES:
        return True
    args: tuple[object, ...] = getattr(exc.orig, "args", ())  # PyMySQL and mysqlclient: (errno, message)
    return bool(args) and isinstance(args[0], int) and args[0] in MYSQL_LOCK_TIMEOUT_ERRNOS


def catalog_lock_error(lock_timeout: float, attempts: int, hint: str, database: str | None = None) -> DatabaseError:
    """The one line for a catalog read that gave up waiting for a table's lock."""
    of = f" of {database}" if database else ""
    times = f", {attempts} times" if attempts > 1 else ""
    return DatabaseError(
        f"reading the catalog{of}: a table's lock was not available within {lock_timeout:g} s{times} "
        "(another session holds ACCESS EXCLUSIVE on it: a running migration or VACUUM FULL?); nothing was changed",
        hint,
    )


@contextmanager
def open_connection(engine: Engine, connect_timeout: float) -> Iterator[sa.Connection]:
    """A connection, or a DatabaseError that says in one line why there is none."""
    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise describe_connect_error(exc, engine.url, connect_timeout) from None
    with conn:
        yield conn


def describe_connect_error(exc: BaseException, url: URL, connect_timeout: float) -> DatabaseError:
    """Map a driver's connection error to one line that says what to check."""
    original = getattr(exc, "orig", None) or exc
    detail = scrub(str(original).strip().splitlines()[0] if str(original).strip() else "", url)
    where = _where(url)
    low = str(original).lower()
    named = re.search(r'for user "([^"]+)"|role "([^"]+)" does not exist|for user \'([^\']+)\'@', str(original))
    user = url.username or url.query.get("user") or (named and (named.group(1) or named.group(2) or named.group(3))) or "?"
    if "could not translate host name" in low or "name or service not known" in low:
        return DatabaseError(f"cannot resolve database host {url.host!r}", "check the host in DATABASE_URL")
    if "timeout expired" in low or "timed out" in low or "lost connection" in low and "reading initial communication packet" in low:
        return DatabaseError(
            f"connecting to {where} timed out after {connect_timeout:g} s",
            "check the host and port, the firewall, and that you use the URL reachable from here "
            "(internal vs external); --connect-timeout sets the wait",
        )
    if "connection refused" in low:
        return DatabaseError(
            f"connection refused by {where}", "is the database running, and is the port right?"
        )
    if "password authentication failed" in low or "authentication failed" in low or "access denied for user" in low:
        return DatabaseError(
            f"authentication failed for user {user!r} at {where}",
            "check the user and password in DATABASE_URL",
        )
    if "role" in low and "does not exist" in low:
        return DatabaseError(f"user {user!r} does not exist on {where}", "check the user in DATABASE_URL")
    if "does not exist" in low and "database" in low or "unknown database" in low:
        return DatabaseError(f"database {url.database!r} does not exist on {where}", "create it or fix the URL")
    if "unable to open database file" in low:
        return DatabaseError(
            f"cannot open SQLite file {url.database!r}", "check that its directory exists and is writable"
        )
    return DatabaseError(f"cannot connect to {where}: {detail}", "check DATABASE_URL")


def _where(url: URL) -> str:
    """The server a URL points at, as a message names it: host:port, else the host or
    service given as query parameters (libpq's host=, service=), else the database."""
    if url.host or url.port:
        return f"{url.host or 'localhost'}:{url.port or _DEFAULT_PORTS.get(url.get_backend_name(), 5432)}"
    query = {k: v for k, v in url.query.items() if isinstance(v, str)}
    if query.get("host"):
        return f"{query['host']}" + (f":{query['port']}" if query.get("port") else "")
    if query.get("service"):
        return f"service {query['service']!r}"
    return url.database or "the default server"


def run_sql(conn: sa.Connection, sql: str) -> sa.CursorResult:  # type: ignore[type-arg]
    """Execute literal SQL (DDL with quoted defaults such as '100%') without parameter markers.

    psycopg2 and psycopg treat % as a parameter marker even with no parameters, so it is
    doubled for drivers with the format/pyformat paramstyle.
    """
    if conn.dialect.paramstyle in ("format", "pyformat"):
        sql = sql.replace("%", "%%")
    return conn.exec_driver_sql(sql)
