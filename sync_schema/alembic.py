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
from .database import scrub
from .dialects.base import Dialect, milliseconds
from .diff import Change, Kind
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

    @property
    def at_head(self) -> bool:
        return self.heads is not None and set(self.current) == set(self.heads)

    def as_json(self) -> dict[str, Any]:
        return {
            "current": list(self.current), "heads": None if self.heads is None else list(self.heads),
            "pending": [{"revision": r.revision, "message": r.message} for r in self.pending],
            "recorded_but_missing": self.recorded_but_missing, "attributed": self.attributed, "note": self.note,
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
    table = sa.table(VERSION_TABLE, sa.column("version_num"), schema=actual.default_schema if actual.dialect != "sqlite" else None)
    current = tuple(sorted(str(v) for (v,) in conn.execute(sa.select(table.c.version_num))))
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
    options = f"-c lock_timeout={milliseconds(lock_timeout)} -c statement_timeout={milliseconds(statement_timeout)}"
    previous = os.environ.get("PGOPTIONS")
    say("running alembic upgrade head (--alembic upgrade)")
    started = time.monotonic()
    try:
        with _environ({"PGOPTIONS": f"{previous} {options}" if previous else options}):
            command.upgrade(config, "head")
    except Exception as exc:  # noqa: BLE001 - a failing migration is reported; the sync goes on
        text = str(exc).strip().splitlines()
        return (f"alembic upgrade head failed ({type(exc).__name__}: {scrub(text[0] if text else '', url)}); the database stays "
                "at the last revision that went through; the sync goes on")
    say(f"alembic upgrade head done ({time.monotonic() - started:.2f} s)")
    return None


def attribute_missing(
    url: sa.URL, config_file: str | None, directory: Path, state: AlembicState, missing: list[tuple[str, str, str | None]],
    dialect: Dialect, shadow_url: str | None, say: Callable[[str], None],
) -> tuple[dict[tuple[str, str, str | None], Revision], str | None]:
    """For each missing (schema, table, column or None): the revision that made it, found
    by replaying the history revision by revision into a scratch database and inspecting
    after each. Only the revisions alembic_version says were applied are replayed: on the
    live database they would all be no-ops, whatever the app's env.py connects to. The
    scratch database is `shadow_url`, else one created and dropped on the same server.
    Returns (attributions, a problem to report)."""
    if state.heads is None or not state.current or not missing:
        return {}, None
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    ini = _ini(config_file, directory)
    script = ScriptDirectory.from_config(Config(str(ini)))
    applied = [r for r in reversed(list(script.iterate_revisions(state.current, "base")))]
    created = None
    if shadow_url:
        shadow = sa.make_url(shadow_url)
    else:
        created = f"sync_schema_shadow_{os.getpid()}_{int(time.time() * 1000) % 1_000_000}"
        shadow = url.set(database=created)
        try:
            with sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool).connect() as admin:
                admin.exec_driver_sql(f'CREATE DATABASE "{created}"')
        except sa.exc.DBAPIError as exc:
            return {}, (f"no scratch database to replay the Alembic history in ({str(exc.orig).strip().splitlines()[0]}): "
                        "missing objects are not attributed to revisions (give --shadow-url, or a role that may CREATEDB)")
    say(f"replaying {len(applied)} Alembic revision{'s' if len(applied) != 1 else ''} in a scratch database to find what made the missing objects")
    found: dict[tuple[str, str, str | None], Revision] = {}
    config = _config(ini, shadow)
    engine = sa.create_engine(shadow, poolclass=sa.pool.NullPool)
    # What an env.py that ignores sqlalchemy.url is likely to read: the scratch database too.
    scratch = {name: shadow.render_as_string(hide_password=False) for name in ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI")}
    try:
        with _environ(scratch):
            wanted = set(missing)
            for revision in applied:
                command.upgrade(config, revision.revision)
                with engine.connect() as conn:
                    if not sa.inspect(conn).has_table(VERSION_TABLE, schema=None):
                        return {}, "the app's env.py did not migrate the scratch database (it ignores sqlalchemy.url?): revisions not attributed"
                    snapshot = dialect.inspect(conn, {key[0] for key in wanted})
                for key in list(wanted):
                    table = snapshot.tables.get((key[0], key[1]))
                    if table is not None and (key[2] is None or any(c.name == key[2] for c in table.columns)):
                        found[key] = Revision(revision.revision, (revision.doc or "").strip())
                        wanted.discard(key)
                if not wanted:
                    break
    except Exception as exc:  # noqa: BLE001 - the replay only explains; it never stops the sync
        return found, f"the replay of the Alembic history stopped ({type(exc).__name__}: {scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else '', shadow)})"
    finally:
        engine.dispose()
        if created:
            with sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool).connect() as admin:
                admin.exec_driver_sql(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')
    return found, None



def drift_lines(state: AlembicState, changes: list[Change], default_schema: str) -> tuple[list[str], list[str]]:
    """(lines for the log, warnings): what the two kinds of drift mean, in words a
    developer acts on."""
    lines: list[str] = []
    current = ", ".join(state.current) or "(empty)"
    if state.heads is None:
        return [f"alembic_version: {current}; {state.note}" if state.note else f"alembic_version: {current}"], []
    info = [f"alembic_version: {current}; head{'s' if len(state.heads) != 1 else ''} {', '.join(state.heads)}"]
    if state.pending:
        names = ", ".join(r.message or r.revision for r in state.pending[:3]) + (", ..." if len(state.pending) > 3 else "")
        lines.append(
            f"{len(state.pending)} Alembic revision{'s are' if len(state.pending) != 1 else ' is'} pending ({names}): run "
            "`alembic upgrade head` before the sync, or the migrations will fail on what the sync adds"
        )
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
