"""Side by side with Alembic: what the database's `alembic_version` claims, against the
app's migration scripts and what the database really has.

Alembic stays optional: without it, or without the app's scripts, the run says what it
found and goes on. For the app's env.py, `include_object` keeps the tool's own tables out
of Alembic's autogenerate and `alembic check`:

    from sync_schema.alembic import include_object
    context.configure(..., include_object=include_object)
"""

from __future__ import annotations

import configparser
import dataclasses
import itertools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .config import ALWAYS_EXCLUDED
from .database import redact, scrub
from .dialects.base import Dialect, milliseconds
from .diff import Change, Kind, diff_snapshots
from .snapshot import Snapshot, qualified

VERSION_TABLE = "alembic_version"
# The tool's own tables (history, the run lease): never the app's, never Alembic's business.
TOOL_TABLES = frozenset(ALWAYS_EXCLUDED) - {VERSION_TABLE}
_MISSING = (Kind.MISSING_TABLE, Kind.MISSING_COLUMN)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """For env.py's `context.configure(include_object=...)`: leaves out the tables
    sync-schema keeps in the database, and their indexes."""
    if type_ == "table":
        return name not in TOOL_TABLES
    table = getattr(obj, "table", None)
    return getattr(table, "name", None) not in TOOL_TABLES


@dataclass(frozen=True)
class Revision:
    revision: str
    message: str


@dataclass
class AlembicState:
    """What the database claims and what the scripts say. `heads` is None where the
    scripts could not be read (then `note` says why)."""

    current: tuple[str, ...]
    heads: tuple[str, ...] | None = None
    pending: tuple[Revision, ...] = ()
    note: str | None = None
    recorded_but_missing: list[str] = field(default_factory=list)  # at head, yet missing: "users.is_active"
    # What is missing though alembic_version says the revision that made it ran (replayed history).
    attributed: list[dict[str, str]] = field(default_factory=list)
    # --alembic stamp-if-synced: the heads stamped, or why it did not stamp (None: not asked, or nothing to do).
    stamped: tuple[str, ...] | None = None
    not_stamped: str | None = None

    @property
    def at_head(self) -> bool:
        return self.heads is not None and set(self.current) == set(self.heads)

    def as_json(self) -> dict[str, Any]:
        return {
            "current": list(self.current), "heads": None if self.heads is None else list(self.heads),
            "pending": [{"revision": r.revision, "message": r.message} for r in self.pending],
            "recorded_but_missing": self.recorded_but_missing, "attributed": self.attributed, "note": self.note,
            "stamped": None if self.stamped is None else list(self.stamped), "not_stamped": self.not_stamped,
        }


def _ini(config_file: str | None, directory: Path) -> Path:
    """The app's alembic.ini: the setting, else the one in the working directory."""
    return Path(config_file) if config_file else directory / "alembic.ini"


def _config(ini: Path, url: sa.URL) -> Any:
    """Alembic's Config of `ini`, aimed at `url` (% doubled: the ini file's interpolation)."""
    from alembic.config import Config

    config = Config(str(ini))
    config.set_main_option("sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """Environment variables set for the block (what the app's env.py and libpq read), as
    they were afterwards."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _first_line(exc: BaseException, url: sa.URL | None = None) -> str:
    """An exception as one line of a log, secrets scrubbed."""
    text = str(exc).strip().splitlines()
    return scrub(text[0], url) if text else type(exc).__name__


def _bounded(lock_timeout: float, statement_timeout: float) -> dict[str, str]:
    """PGOPTIONS that put every connection Alembic opens under the run's time-outs."""
    options = f"-c lock_timeout={milliseconds(lock_timeout)} -c statement_timeout={milliseconds(statement_timeout)}"
    previous = os.environ.get("PGOPTIONS")
    return {"PGOPTIONS": f"{previous} {options}" if previous else options}


class ReplayError(Exception):
    """The history could not be replayed; the message says why, in the log's words."""


class NoScratchDatabase(ReplayError):
    """No scratch database to replay the history in."""


_scratch_numbers = itertools.count(1)


@contextmanager
def scratch_database(url: sa.URL, shadow_url: str | None) -> Iterator[sa.URL]:
    """Where to replay the Alembic history: `shadow_url`, else an empty database created on
    the server of `url` and dropped afterwards, also after an error. Raises
    NoScratchDatabase (the server's words) when none can be created."""
    if shadow_url:
        yield sa.make_url(shadow_url)
        return
    if url.get_backend_name() != "postgresql":
        raise NoScratchDatabase(f"{url.get_backend_name()} has no server to create one on; give --shadow-url")
    name = f"sync_schema_shadow_{os.getpid()}_{next(_scratch_numbers)}_{int(time.time() * 1000) % 1_000_000}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except sa.exc.DBAPIError as exc:
            raise NoScratchDatabase(_first_line(exc.orig or exc, url)) from None
        try:
            yield url.set(database=name)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def _run_env(
    config: Any, destination: str | tuple[str, ...], expected: sa.URL, stamp: bool = False,
    after_revision: Callable[[Connection, Revision], None] | None = None,
) -> None:
    """What `alembic upgrade destination` (`stamp`: `alembic stamp`) does, the app's env.py
    run in this process, with two additions to its context.configure(): where it connects
    must be `expected` (anywhere else, nothing runs: an env.py that ignores sqlalchemy.url
    would migrate or stamp some other database), and `after_revision(connection, revision)`
    is called after each revision, inside its transaction (Alembic's on_version_apply)."""
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(config)

    def applied(ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
        if after_revision is not None and step.is_upgrade:
            after_revision(ctx.connection, Revision(step.up_revision_id, (step.up_revision.doc or "").strip()))

    def revisions(rev: Any, context: Any) -> Any:  # what command.stamp / command.upgrade hand Alembic
        if stamp:
            return script._stamp_revs(destination if isinstance(destination, tuple) else (destination,), rev)
        assert isinstance(destination, str)
        return script._upgrade_revs(destination, rev)

    environment = EnvironmentContext(config, script, fn=revisions, as_sql=False, starting_rev=None, destination_rev=destination, tag=None)
    configure = environment.configure

    def watched(*args: Any, **kw: Any) -> None:
        connection = kw.get("connection", args[0] if args else None)
        url = kw.get("url", args[1] if len(args) > 1 else None)
        target = connection.engine.url if connection is not None else sa.make_url(url) if url is not None else None
        if target is None or not _same_database(target, expected):
            raise ReplayError(f"the app's env.py connects to {redact(target) if target is not None else 'no database'}, not to "
                              f"{'the database being synced' if stamp else 'the scratch database'} (it ignores sqlalchemy.url?): "
                              f"nothing {'stamped' if stamp else 'replayed'}")
        given = kw.pop("on_version_apply", None) or ()
        kw["on_version_apply"] = (*(given if isinstance(given, (list, tuple)) else (given,)), applied)
        configure(*args, **kw)

    # An instance attribute: alembic.context's module-level proxy calls the instance's
    # method (a subclass of EnvironmentContext would not be proxied at all).
    environment.configure = watched  # type: ignore[method-assign]
    with environment:
        script.run_env()


def _same_database(a: sa.URL, b: sa.URL) -> bool:
    """The same database, as far as two URLs tell (a port left out is the default)."""
    return (a.get_backend_name(), a.database, a.host or None) == (b.get_backend_name(), b.database, b.host or None) and (
        a.port is None or b.port is None or a.port == b.port)


class _Replay:
    """The app's migrations run into the scratch database as `alembic upgrade` runs them:
    in one go, since some histories only work that way (optuna's v2.4.0.a creates an enum
    type v0.9.0.a made, which Alembic skips only within the same run)."""

    def __init__(self, ini: Path, shadow: sa.URL) -> None:
        self.shadow = shadow
        self.config = _config(ini, shadow)
        self.engine = sa.create_engine(shadow, poolclass=sa.pool.NullPool)

    def script(self) -> Any:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self.config)

    def upgrade(self, destination: str, after_revision: Callable[[Connection, Revision], None] | None = None) -> None:
        _run_env(self.config, destination, self.shadow, after_revision=after_revision)
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table(VERSION_TABLE, schema=None):
                raise ReplayError(_NOT_MIGRATED)


@contextmanager
def _replaying(ini: Path, shadow: sa.URL) -> Iterator[_Replay]:
    """A _Replay into `shadow`; the variables an env.py that ignores sqlalchemy.url is
    likely to read are aimed there too."""
    replay = _Replay(ini, shadow)
    scratch = {name: shadow.render_as_string(hide_password=False) for name in ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI")}
    try:
        with _environ(scratch):
            yield replay
    finally:
        replay.engine.dispose()


_NOT_MIGRATED = "the app's env.py did not migrate the scratch database (it ignores sqlalchemy.url?)"


def missing_objects(changes: list[Change]) -> list[tuple[str, str, str | None]]:
    """The tables and columns the database lacks: (schema, table, column or None)."""
    return [(c.schema, c.table, c.name if c.kind is Kind.MISSING_COLUMN else None) for c in changes if c.kind in _MISSING and c.table]


def object_name(key: tuple[str, str, str | None], default_schema: str) -> str:
    """"users.is_active", "billing.invoices": a missing object as the log names it."""
    schema, table, column = key
    return qualified(schema, table, default_schema) + (f".{column}" if column else "")


def read_state(conn: Connection, actual: Snapshot, config_file: str | None, directory: Path) -> AlembicState | None:
    """The Alembic state, or None when the database has no alembic_version table."""
    if (actual.default_schema, VERSION_TABLE) not in actual.tables:
        return None
    current = _versions(conn, actual.default_schema if actual.dialect != "sqlite" else None)
    conn.commit()
    state = AlembicState(current)
    ini = _ini(config_file, directory)
    if not ini.is_file():
        state.note = f"no migration scripts found ({ini} does not exist; set alembic_config to the app's alembic.ini)"
        return state
    try:
        from alembic.config import Config
        from alembic.script import ScriptDirectory
        from alembic.util.exc import CommandError
    except ImportError:
        state.note = "Alembic is not installed here: the scripts are not read (pip install alembic)"
        return state
    try:
        script = ScriptDirectory.from_config(Config(str(ini)))
        state.heads = tuple(sorted(script.get_heads()))
        unknown = [r for r in current if script.get_revision(r) is None]
        if unknown:
            state.note = f"alembic_version holds {', '.join(unknown)}, which the scripts do not know (a newer release's database?)"
            return state
        newest_first = script.iterate_revisions(state.heads, current or "base")
        state.pending = tuple(Revision(r.revision, (r.doc or "").strip()) for r in reversed(list(newest_first)))
    except (CommandError, configparser.Error, OSError, KeyError) as exc:
        state.note = f"the migration scripts of {ini} could not be read: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
    return state


def upgrade_head(
    url: sa.URL, config_file: str | None, directory: Path, lock_timeout: float, statement_timeout: float, say: Callable[[str], None]
) -> str | None:
    """`alembic upgrade head` in this process, on the run's database, every connection it
    opens under the run's time-outs (libpq's PGOPTIONS), before the sync. Returns the
    problem to report (a failing revision, no scripts), None when it went through."""
    ini = _ini(config_file, directory)
    if not ini.is_file():
        return f"--alembic upgrade: no migration scripts ({ini} does not exist); the sync goes on without them"
    try:
        from alembic import command
    except ImportError:
        return "--alembic upgrade: Alembic is not installed here (pip install alembic); the sync goes on without it"
    config = _config(ini, url)
    say("running alembic upgrade head (--alembic upgrade)")
    started = time.monotonic()
    try:
        with _environ(_bounded(lock_timeout, statement_timeout)):
            command.upgrade(config, "head")
    except Exception as exc:  # noqa: BLE001 - a failing migration is reported; the sync goes on
        return (f"alembic upgrade head failed ({type(exc).__name__}: {_first_line(exc, url)}); the database stays "
                "at the last revision that went through; the sync goes on")
    say(f"alembic upgrade head done ({time.monotonic() - started:.2f} s)")
    return None


def attribute_missing(
    url: sa.URL, config_file: str | None, directory: Path, state: AlembicState, missing: list[tuple[str, str, str | None]],
    dialect: Dialect, shadow_url: str | None, say: Callable[[str], None],
) -> tuple[dict[tuple[str, str, str | None], Revision], str | None]:
    """For each missing (schema, table, column or None): the revision that made it, found
    by replaying the history into a scratch database in one `upgrade` and looking for the
    objects after each revision. Only the revisions alembic_version says were applied are
    replayed. The scratch database is `shadow_url`, else one created and dropped on the
    same server. Returns (attributions, a problem to report)."""
    if state.heads is None or not state.current or not missing:
        return {}, None
    ini = _ini(config_file, directory)
    found: dict[tuple[str, str, str | None], Revision] = {}
    wanted = set(missing)

    def look(conn: Connection, revision: Revision) -> None:
        if not wanted:
            return
        inspector = sa.inspect(conn)  # a new one each time: an Inspector caches what it read
        for key in sorted(wanted, key=str):
            schema, table, column = key
            if inspector.has_table(table, schema=schema) and (
                    column is None or any(c["name"] == column for c in inspector.get_columns(table, schema=schema))):
                found[key] = revision
                wanted.discard(key)

    try:
        with scratch_database(url, shadow_url) as shadow, _replaying(ini, shadow) as replay:
            applied = len(list(replay.script().iterate_revisions(state.current, "base")))
            say(f"replaying {applied} Alembic revision{'s' if applied != 1 else ''} in a scratch database to find what made the missing objects")
            for destination in state.current:
                replay.upgrade(destination, look)
    except NoScratchDatabase as exc:
        return {}, (f"no scratch database to replay the Alembic history in ({exc}): "
                    "missing objects are not attributed to revisions (give --shadow-url, or a role that may CREATEDB)")
    except ReplayError as exc:
        return {}, f"{exc}: revisions not attributed"
    except Exception as exc:  # noqa: BLE001 - the replay only explains; it never stops the sync
        return found, f"the replay of the Alembic history stopped ({type(exc).__name__}: {_replay_error(exc, url, shadow_url)})"
    return found, None


def _replay_error(exc: BaseException, url: sa.URL, shadow_url: str | None) -> str:
    """A failed replay's first line, with the secrets of both URLs scrubbed."""
    return scrub(_first_line(exc, url), sa.make_url(shadow_url) if shadow_url else None)


def head_differences(
    url: sa.URL, config_file: str | None, directory: Path, dialect: Dialect, live: Snapshot, schemas: set[str],
    excluded: set[str], shadow_url: str | None,
) -> list[Change]:
    """What the database (`live`, as inspected) has otherwise than the app's whole
    history replayed up to head in a scratch database (`scratch_database`): the replayed
    head is the desired side, both restricted to `schemas`, the `excluded` tables left
    out. Raises ReplayError (NoScratchDatabase included), or whatever the migrations raise."""
    ini = _ini(config_file, directory)
    with scratch_database(url, shadow_url) as shadow, _replaying(ini, shadow) as replay:
        replay.upgrade("heads")
        with replay.engine.connect() as conn:
            head = dialect.inspect(conn, schemas)
    # A schema the replay never made is still one whose tables the database should not have.
    head = dataclasses.replace(head, schemas=head.schemas | (live.schemas & schemas))
    return diff_snapshots(head, live.only(schemas), dialect, excluded)


def difference_name(change: Change, default_schema: str) -> str:
    """"users.email (missing column)": a difference as the log names it."""
    if change.table is None:
        subject = change.schema if change.kind is Kind.MISSING_SCHEMA else qualified(change.schema, change.name or "", default_schema)
    else:
        subject = qualified(change.schema, change.table, default_schema) + (f".{change.name}" if change.name else "")
    return f"{subject} ({change.kind.value.replace('_', ' ')})"


def stamp_if_synced(
    url: sa.URL, config_file: str | None, directory: Path, state: AlembicState | None, dialect: Dialect, live: Snapshot,
    schemas: set[str], excluded: set[str], shadow_url: str | None, lock_timeout: float, statement_timeout: float,
    warnings: list[str], say: Callable[[str], None],
) -> None:
    """--alembic stamp-if-synced, after the sync and its verification (apply mode, under
    the run lock): `alembic stamp` at head, but only where the whole history replayed in a
    scratch database and the database as it is now (`live`) do not differ at all, since a
    stamp skips whatever the pending revisions would have done to the data. `excluded`:
    the tool's own tables and alembic_version. Records the outcome in `state`; the reason
    it did not stamp goes to `warnings`, where a stamp takes back the "pending" warning."""
    if state is None:
        say("--alembic stamp-if-synced: the database has no alembic_version table; nothing to stamp")
        return
    if state.heads is not None and state.at_head:
        say(f"alembic_version is at head {', '.join(state.heads)}: nothing to stamp")
        return
    reason = _not_stampable(url, config_file, directory, state, dialect, live, schemas, excluded, shadow_url, say)
    if reason is None:
        assert state.heads is not None
        heads = ", ".join(state.heads)
        try:
            with _environ(_bounded(lock_timeout, statement_timeout)):
                _run_env(_config(_ini(config_file, directory), url), state.heads, url, stamp=True)
                now = _read_version(url, dialect)
            if set(now) != set(state.heads):
                reason = f"alembic stamp did not reach the database: alembic_version holds {', '.join(now) or '(empty)'}"
        except ReplayError as exc:
            reason = str(exc)
        except Exception as exc:  # noqa: BLE001 - a failed stamp is reported; the sync is done
            reason = f"alembic stamp failed ({type(exc).__name__}: {_first_line(exc, url)})"
        if reason is None:
            state.stamped = state.heads
            if state.pending and _pending_line(state) in warnings:
                warnings.remove(_pending_line(state))  # nothing is pending any more
            say(f"stamped alembic_version at head {heads}: the replayed head schema and the database agree")
            return
    state.not_stamped = reason
    warnings.append(f"not stamped: {reason}")


def _not_stampable(
    url: sa.URL, config_file: str | None, directory: Path, state: AlembicState, dialect: Dialect, live: Snapshot,
    schemas: set[str], excluded: set[str], shadow_url: str | None, say: Callable[[str], None],
) -> str | None:
    """Why the database may not be stamped at head; None when the replayed head agrees."""
    if state.heads is None or state.note:
        return state.note or "the migration scripts were not read"
    heads = ", ".join(state.heads)
    say(f"replaying the Alembic history up to head {heads} in a scratch database, to compare with the database (--alembic stamp-if-synced)")
    try:
        differences = head_differences(url, config_file, directory, dialect, live, schemas, excluded, shadow_url)
    except NoScratchDatabase as exc:
        return f"no scratch database to replay the Alembic history in ({exc}; give --shadow-url, or a role that may CREATEDB)"
    except ReplayError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - the replay decides; it never stops the run
        return f"the replay of the Alembic history stopped ({type(exc).__name__}: {_replay_error(exc, url, shadow_url)})"
    if not differences:
        return None
    names = ", ".join(difference_name(c, live.default_schema) for c in differences[:5]) + (", ..." if len(differences) > 5 else "")
    return f"the database differs from the replayed head schema in {len(differences)} place{'s' if len(differences) != 1 else ''}: {names}"


def _versions(conn: Connection, schema: str | None) -> tuple[str, ...]:
    """The revisions alembic_version holds, sorted."""
    table = sa.table(VERSION_TABLE, sa.column("version_num"), schema=schema)
    return tuple(sorted(str(v) for (v,) in conn.execute(sa.select(table.c.version_num))))


def _read_version(url: sa.URL, dialect: Dialect) -> tuple[str, ...]:
    """alembic_version as it is now, read on a connection of its own."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return _versions(conn, dialect.default_schema if dialect.supports_schemas else None)
    finally:
        engine.dispose()


def _pending_line(state: AlembicState) -> str:
    names = ", ".join(r.message or r.revision for r in state.pending[:3]) + (", ..." if len(state.pending) > 3 else "")
    return (f"{len(state.pending)} Alembic revision{'s are' if len(state.pending) != 1 else ' is'} pending ({names}): run "
            "`alembic upgrade head` before the sync, or the migrations will fail on what the sync adds")


def drift_lines(state: AlembicState, changes: list[Change], default_schema: str) -> tuple[list[str], list[str]]:
    """(lines for the log, warnings): what the two kinds of drift mean, in words a
    developer acts on."""
    lines: list[str] = []
    current = ", ".join(state.current) or "(empty)"
    if state.heads is None:
        return [f"alembic_version: {current}; {state.note}" if state.note else f"alembic_version: {current}"], []
    info = [f"alembic_version: {current}; head{'s' if len(state.heads) != 1 else ''} {', '.join(state.heads)}"]
    if state.pending:
        lines.append(_pending_line(state))
    elif state.at_head:
        missing = missing_objects(changes)
        state.recorded_but_missing = [object_name(key, default_schema) for key in missing]
        head = ", ".join(state.heads)
        if missing:
            columns = sum(1 for key in missing if key[2] is not None)
            tables = len(missing) - columns
            what = " and ".join(p for p in (f"{columns} column{'s' if columns != 1 else ''}" if columns else "",
                                             f"{tables} table{'s' if tables != 1 else ''}" if tables else "") if p)
            lines.append(f"alembic_version says {head} (head) but {what} {'are' if len(missing) != 1 else 'is'} missing "
                         f"({', '.join(state.recorded_but_missing[:5])}{', ...' if len(missing) > 5 else ''}): "
                         "the migration was recorded but did not run; the sync adds them")
        else:
            info.append("the database is at head, and has what the models declare" if not changes else "the database is at head")
    if state.note:
        lines.append(state.note)
    return info, lines
