"""The Python API: sync or check a database from inside an app, a test or a script.

    import sync_schema
    result = sync_schema.sync(Base, "postgresql://app@db/app")          # or an Engine
    result = sync_schema.check(db, engine, critical_columns=["users.email"])
    assert result.ok, result.error or [c.kind for c in result.changes]

The same pipeline as `python -m sync_schema`, with the models and the database handed in
instead of read from settings. The log goes to the `sync_schema` logger (INFO), or to a
stream given as `log`. Nothing process-wide of the host is changed beyond the call: no
import, no exit, the garbage collector and the thread switch interval as they were.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import fields
from typing import Any, TextIO, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .config import MODES, CriticalColumn, Settings, parse_allow, parse_critical_columns
from .errors import ConfigError
from .models import load_models, metadata_of
from .report import Reporter
from .run import Embedded, RunResult
from .run import sync as run_sync

Result = RunResult
# One database, one call: targets and tenant schemas are the command line's (fleet.py).
FLEET_ONLY = {"tenant_schemas", "jobs", "shard", "fail_fast", "targets", "target", "target_name"}

_logger = logging.getLogger("sync_schema")


def sync(
    models: Any,
    database: str | sa.URL | Engine,
    *,
    mode: str = "apply",
    allow: Iterable[str] = (),
    critical_columns: Iterable[str] = (),
    log: TextIO | None = None,
    **settings: Any,
) -> Result:
    """Bring `database` up to `models` (what `python -m sync_schema` does) and return the
    result. Never raises for what the CLI reports (an unreachable database, a failed step):
    see `Result.error`, `Result.ok`, `Result.changes`, `Result.results`.

    `models`: a MetaData, a declarative Base, a Flask-SQLAlchemy `db`, `SQLModel`, an
    import path ("app.models:Base"), or a list of these. `database`: a URL or an Engine
    (its URL is used with the tool's own time-outs; an in-memory SQLite engine is used as
    it is). `mode`: "apply", "dry-run" or "check". Other settings by their names in
    the README's settings table: `lock_timeout=5`, `schemas=["public"]`, `history_table="off"`...
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    config = Settings(mode=mode, allow=parse_allow(list(allow)), critical_columns=_critical(critical_columns))
    known = {f.name for f in fields(Settings)} - {"database_url", "database_url_source", "models", "format", "sql_file", "config_file"} - FLEET_ONLY
    for name, value in settings.items():
        if name not in known:
            raise TypeError(f"unknown setting {name!r}; known: {', '.join(sorted(known))}")
        setattr(config, name, list(value) if isinstance(value, tuple) else value)
    if config.history_table.lower() in ("", "off", "none", "false", "0"):
        config.history_table = ""
    engine = database if isinstance(database, Engine) else None
    if engine is None:
        config.database_url = database.render_as_string(hide_password=False) if isinstance(database, sa.URL) else str(database)
        config.database_url_source = "the database argument"
    metadatas, sources = _metadatas(models)
    reporter = Reporter(stream=log or cast(TextIO, _LogStream()), color=False)
    return run_sync(config, reporter, Embedded(metadatas, sources, engine))


def check(models: Any, database: str | sa.URL | Engine, **settings: Any) -> Result:
    """What `--check` does: change nothing; `Result.ok` is False on drift (then see
    `Result.changes`) or when it could not tell (`Result.error`)."""
    return sync(models, database, mode="check", **settings)


def _critical(specs: Iterable[str]) -> list[CriticalColumn]:
    return parse_critical_columns(",".join(specs))


def _metadatas(models: Any) -> tuple[tuple[sa.MetaData, ...], tuple[str, ...]]:
    items = list(models) if isinstance(models, list | tuple) else [models]
    found: dict[int, tuple[sa.MetaData, str]] = {}
    for item in items:
        if isinstance(item, str):
            loaded = load_models(item)
            pairs = list(zip(loaded.metadatas, loaded.sources, strict=True))
        else:
            metadata = metadata_of(item)
            if metadata is None:
                raise ConfigError(
                    f"{type(item).__name__} is not a MetaData, declarative Base, Flask-SQLAlchemy db or SQLModel",
                    "pass one of those, or an import path",
                )
            pairs = [(metadata, _describe(item))]
        for metadata, source in pairs:
            found.setdefault(id(metadata), (metadata, source))
    return tuple(m for m, _ in found.values()), tuple(s for _, s in found.values())


def _describe(item: Any) -> str:
    kind = item if isinstance(item, type) else type(item)
    return f"{kind.__module__}:{kind.__qualname__}"


class _LogStream:
    """Reporter lines to the `sync_schema` logger."""

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                (_logger.warning if ": WARNING: " in line or ": ERROR: " in line else _logger.info)(line)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False
