"""Settings, resolved per setting: command-line flag, then environment (a `.env` file in
the working directory fills in, never overriding), then the app's setup.cfg
`[sync_schema]` or pyproject.toml `[tool.sync_schema]`, then the default."""

from __future__ import annotations

import configparser
import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

MODES = ("apply", "dry-run", "check")
FORMATS = ("text", "json", "markdown", "github")
ALEMBIC_MODES = ("off", "upgrade", "stamp-if-synced")
# Never diffed: Alembic's bookkeeping and our own tables (whatever history_table says, too).
ALWAYS_EXCLUDED = ("alembic_version", "sync_schema_history", "sync_schema_history_statements", "sync_schema_lock")


@dataclass(frozen=True)
class CriticalColumn:
    schema: str | None
    table: str
    column: str

    def __str__(self) -> str:
        return ".".join(p for p in (self.schema, self.table, self.column) if p)


@dataclass
class Settings:
    database_url: str | None = None
    database_url_source: str = "DATABASE_URL"  # where the URL came from, for messages
    models: str | None = None
    critical_columns: list[CriticalColumn] = field(default_factory=list)
    schemas: list[str] = field(default_factory=list)
    exclude_tables: list[str] = field(default_factory=list)
    mode: str = "apply"
    strict: bool = False
    connect_timeout: float = 10.0
    lock_timeout: float = 2.0
    statement_timeout: float = 120.0
    lock_attempts: int = 3  # tries per table when its lock cannot be had in time
    run_lock_wait: float = 60.0  # how long to wait for another run of sync-schema to finish
    models_import_timeout: float = 60.0  # a models module that blocks on import ends the run after this long
    deadline: float = 900.0  # the whole run, whatever happens (a server that stops answering, say)
    allow: list[str] = field(default_factory=list)
    relax_not_null: bool = True
    # Where relaxing NOT NULL rebuilds the table (MySQL), tables up to this size (data and
    # indexes, bytes) are rebuilt online by default; bigger ones are left for review.
    rebuild_limit: int = 1_000_000_000
    history_table: str = "sync_schema_history"  # "off" disables the audit trail
    format: str = "text"
    sql_file: str | None = None
    verbose: bool = False
    alembic: str = "off"  # "upgrade": `alembic upgrade head` first, under the run lock, then the sync;
    # "stamp-if-synced": after the sync, `alembic stamp head` where the replayed history agrees with the database
    shadow_url: str | None = None  # a scratch database to replay the Alembic history in (default: one made and dropped)
    alembic_config: str | None = None  # the app's alembic.ini (default: ./alembic.ini where there is one)
    config_file: str | None = None  # where the file settings came from ("setup.cfg [sync_schema]"), for the log
    # A database taken as the desired schema instead of the models (--reference URL, or the
    # variable named by reference_url_env: never a URL in a file), and where it came from.
    reference_url: str | None = None
    reference_url_source: str = "--reference"
    # Fleets (fleet.py): tenant schemas from a query or name patterns, parallel jobs, one
    # shard of the tenants, stopping at the first failure; the targets the config file
    # defines, those --target chose (none: all), and the one these settings are for.
    tenant_schemas: str | None = None
    jobs: int = 2
    shard: tuple[int, int] | None = None  # (I, N): the Ith of N shards, 1-based
    fail_fast: bool = False
    targets: tuple[str, ...] = ()
    target: list[str] = field(default_factory=list)
    target_name: str | None = None


@dataclass(frozen=True)
class Setting:
    """One configurable value: its attribute, environment variable, file key and parser."""

    attr: str
    env: str
    parse: Callable[[str], Any]


def split_list(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]


def parse_critical_columns(text: str) -> list[CriticalColumn]:
    result = []
    for spec in split_list(text):
        parts = spec.split(".")
        if len(parts) not in (2, 3) or not all(p.strip() for p in parts):
            raise ConfigError(
                f"malformed critical column {spec!r}", "use table.column or schema.table.column, comma separated"
            )
        parts = [p.strip() for p in parts]
        schema = parts[0] if len(parts) == 3 else None
        result.append(CriticalColumn(schema, parts[-2], parts[-1]))
    return result


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"not a boolean: {text!r}", "use true or false")


# Time-outs are sent to the server in whole milliseconds, and 0 ms means "no time-out":
# anything under a millisecond is refused rather than turned into no limit at all.
MIN_SECONDS, MAX_SECONDS = 0.001, 86_400.0


def parse_seconds(text: str) -> float:
    try:
        value = float(str(text).strip().removesuffix("s"))
    except ValueError:
        raise ConfigError(f"not a number of seconds: {text!r}", "use e.g. 10 or 2.5") from None
    if not math.isfinite(value) or not MIN_SECONDS <= value <= MAX_SECONDS:
        raise ConfigError(
            f"time-out out of range: {text!r}", f"use a number of seconds from {MIN_SECONDS:g} to {MAX_SECONDS:g} (a day), e.g. 10 or 2.5"
        )
    return value


def parse_allow(classes: list[str]) -> list[str]:
    from .plan import ALLOW_CLASSES

    unknown = [c for c in classes if c not in ALLOW_CLASSES]
    if unknown:
        raise ConfigError(f"unknown --allow class {', '.join(unknown)}", f"use any of {', '.join(ALLOW_CLASSES)}")
    return classes


def parse_choice(text: str, choices: tuple[str, ...], what: str) -> str:
    value = text.strip().lower()
    if value not in choices:
        raise ConfigError(f"unknown {what} {text!r}", f"use one of {', '.join(choices)}")
    return value


def parse_format(text: str) -> str:
    return parse_choice(text, FORMATS, "format")


_SIZE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(text: str) -> int:
    """A size in bytes: 1073741824, 500MB, 1 GB, 2GiB."""
    value = str(text).strip().lower().replace(" ", "")
    number = value.rstrip("abcdefghijklmnopqrstuvwxyz")
    try:
        size = float(number) * _SIZE_UNITS[value[len(number):]]
    except (ValueError, KeyError):
        raise ConfigError(f"not a size: {text!r}", "use bytes or a unit, e.g. 1GB, 500MB, 2GiB") from None
    if not math.isfinite(size) or size < 0:
        raise ConfigError(f"not a size: {text!r}", "use bytes or a unit, e.g. 1GB, 500MB, 2GiB")
    return int(size)


def parse_count(text: str, what: str) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ConfigError(f"{what} must be a whole number, got {text!r}", "use e.g. 3") from None
    if value < 1:
        raise ConfigError(f"{what} must be at least 1, got {text!r}", "use e.g. 3")
    return value


def parse_mode(text: str) -> str:
    return parse_choice(text, MODES, "mode")


def parse_shard(text: str) -> tuple[int, int]:
    """I/N: the Ith of N shards (1-based), as a CI matrix or an Indexed Job numbers them."""
    index, slash, count = str(text).strip().partition("/")
    try:
        shard = (int(index), int(count))
    except ValueError:
        shard = (0, 0)
    if not slash or not 1 <= shard[0] <= shard[1]:
        raise ConfigError(f"malformed shard {text!r}", "use I/N with 1 <= I <= N, e.g. 1/4 for the first of four")
    return shard


SETTINGS = (
    Setting("models", "SYNC_SCHEMA_MODELS", str.strip),
    Setting("critical_columns", "SYNC_SCHEMA_CRITICAL_COLUMNS", parse_critical_columns),
    Setting("schemas", "SYNC_SCHEMA_SCHEMAS", split_list),
    Setting("exclude_tables", "SYNC_SCHEMA_EXCLUDE_TABLES", split_list),
    Setting("mode", "SYNC_SCHEMA_MODE", parse_mode),
    Setting("strict", "SYNC_SCHEMA_STRICT", parse_bool),
    Setting("connect_timeout", "SYNC_SCHEMA_CONNECT_TIMEOUT", parse_seconds),
    Setting("lock_timeout", "SYNC_SCHEMA_LOCK_TIMEOUT", parse_seconds),
    Setting("statement_timeout", "SYNC_SCHEMA_STATEMENT_TIMEOUT", parse_seconds),
    Setting("run_lock_wait", "SYNC_SCHEMA_RUN_LOCK_WAIT", parse_seconds),
    Setting("models_import_timeout", "SYNC_SCHEMA_MODELS_IMPORT_TIMEOUT", parse_seconds),
    Setting("deadline", "SYNC_SCHEMA_DEADLINE", parse_seconds),
    Setting("alembic_config", "SYNC_SCHEMA_ALEMBIC_CONFIG", str.strip),
    Setting("shadow_url", "SYNC_SCHEMA_SHADOW_URL", str.strip),
    Setting("alembic", "SYNC_SCHEMA_ALEMBIC", lambda text: parse_choice(text, ALEMBIC_MODES, "alembic")),
    Setting("lock_attempts", "SYNC_SCHEMA_LOCK_ATTEMPTS", lambda text: parse_count(text, "lock attempts")),
    Setting("allow", "SYNC_SCHEMA_ALLOW", lambda text: parse_allow(split_list(text))),
    Setting("relax_not_null", "SYNC_SCHEMA_RELAX_NOT_NULL", parse_bool),
    Setting("rebuild_limit", "SYNC_SCHEMA_REBUILD_LIMIT", parse_size),
    Setting("format", "SYNC_SCHEMA_FORMAT", parse_format),
    Setting("history_table", "SYNC_SCHEMA_HISTORY_TABLE", str.strip),
    Setting("sql_file", "SYNC_SCHEMA_SQL_FILE", str.strip),
    Setting("tenant_schemas", "SYNC_SCHEMA_TENANT_SCHEMAS", str.strip),
    Setting("jobs", "SYNC_SCHEMA_JOBS", lambda text: parse_count(text, "jobs")),
    Setting("shard", "SYNC_SCHEMA_SHARD", parse_shard),
    Setting("fail_fast", "SYNC_SCHEMA_FAIL_FAST", parse_bool),
)
FILE_ONLY = Setting("database_url_env", "SYNC_SCHEMA_DATABASE_URL_ENV", str.strip)
REFERENCE_URL_ENV = Setting("reference_url_env", "SYNC_SCHEMA_REFERENCE_URL_ENV", str.strip)
# Which targets to sync: a flag or the environment, never a file (the file defines them all).
TARGET = Setting("target", "SYNC_SCHEMA_TARGET", split_list)
# What belongs to one database: set in a target's section, a flag or the environment would
# override it for every target at once (one database's models applied to the other).
PER_DATABASE = ("models", "schemas", "tenant_schemas", "critical_columns", "exclude_tables", "database_url_env")
_TARGET_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
# Keys a config file may not hold: they would put a secret (a URL's password) into the repository.
_URL_KEYS = {"database_url": "database_url_env", "reference_url": "reference_url_env"}


def load_dotenv_file(directory: Path) -> None:
    path = directory / ".env"
    if path.is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def read_config_file(directory: Path) -> dict[str, str]:
    """The `[sync_schema]` section of setup.cfg, else `[tool.sync_schema]` of pyproject.toml."""
    return read_config_source(directory)[0]


def read_config_source(directory: Path) -> tuple[dict[str, str], str | None]:
    """read_config_file's values, and which file and section they came from (None: none)."""
    values, _, source = read_config_targets(directory)
    return values, source


def read_config_targets(directory: Path) -> tuple[dict[str, str], dict[str, dict[str, str]], str | None]:
    """read_config_source's values, the targets the same file defines (setup.cfg sections
    [sync_schema.targets.NAME], pyproject.toml tables [tool.sync_schema.targets.NAME]:
    one database each), and the file and section."""
    setup_cfg = directory / "setup.cfg"
    if setup_cfg.is_file():
        parser = configparser.ConfigParser()
        try:
            parser.read(setup_cfg, encoding="utf-8")
        except configparser.Error as exc:
            raise ConfigError(f"cannot parse {setup_cfg}: {' '.join(str(exc).split())}", "fix the file's syntax") from None
        prefix = "sync_schema.targets."
        targets = {s[len(prefix):]: {k.replace("-", "_"): v for k, v in parser.items(s)} for s in parser.sections() if s.startswith(prefix)}
        if parser.has_section("sync_schema") or targets:
            values = {k.replace("-", "_"): v for k, v in parser.items("sync_schema")} if parser.has_section("sync_schema") else {}
            return values, targets, f"{setup_cfg.name} [sync_schema]"
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # Python 3.10: the same parser, as a package (a dependency there)
            import tomli as tomllib
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"cannot parse {pyproject}: {exc}", "fix the file's syntax") from None
        section = data.get("tool", {}).get("sync_schema")
        if section is not None:
            tables = section.get("targets", {})
            if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
                raise ConfigError(f"{pyproject.name}: [tool.sync_schema.targets] must hold one table per target",
                                  "write [tool.sync_schema.targets.NAME] sections")
            targets = {name: {k.replace("-", "_"): _as_text(v) for k, v in table.items()} for name, table in tables.items()}
            values = {k.replace("-", "_"): _as_text(v) for k, v in section.items() if k != "targets"}
            return values, targets, f"{pyproject.name} [tool.sync_schema]"
    return {}, {}, None


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def resolve_settings(
    flags: dict[str, Any], directory: Path | None = None, environ: dict[str, str] | None = None,
    target: str | None = None, several_targets: bool = False,
) -> Settings:
    """Merge flags (already parsed, None when not given), environment and file settings.
    `target`: a target's settings, its section between the environment and the file's
    top-level section (the defaults of every target). `several_targets`: more than one is
    synced, so a flag or variable must not override what a target's section sets for its
    own database (PER_DATABASE)."""
    directory = directory or Path.cwd()
    if environ is None:
        load_dotenv_file(directory)
        environ = dict(os.environ)
    file_values, targets, source = read_config_targets(directory)
    sections = [(source or "", file_values)] + [(f"[{_targets_prefix(source)}{name}]", values) for name, values in sorted(targets.items())]
    for where, values in sections:
        for key, instead in _URL_KEYS.items():
            if key in values:
                raise ConfigError(f"{key} in {where}: a URL holds a password and does not belong in a file",
                                  f"put it in an environment variable and name that variable with {instead}")
        unknown = set(values) - {s.attr for s in SETTINGS} - {FILE_ONLY.attr, REFERENCE_URL_ENV.attr}
        if unknown:
            raise ConfigError(
                f"unknown setting(s) {', '.join(sorted(unknown))} in " + ("the sync_schema config section" if values is file_values else where),
                "see the settings table in the README",
            )
    for name in targets:
        if not _TARGET_NAME.match(name):
            raise ConfigError(f"target name {name!r} in {source}", "use letters, digits, - and _")
    target_values: dict[str, str] = {}
    if target is not None:
        if target not in targets:
            raise ConfigError(f"no target {target!r} in {source or 'the config file'}",
                              f"define [{_targets_prefix(source)}{target}], or use one of: {', '.join(sorted(targets)) or '(none)'}")
        target_values = targets[target]
        filename, _, section = (source or "").partition(" ")
        source = f"{filename} [{_targets_prefix(source)}{target}], then {section}"
        if several_targets:
            overridden = [key for key in PER_DATABASE if key in target_values and (
                flags.get(key) is not None or environ.get("SYNC_SCHEMA_" + key.upper(), "").strip())]
            if overridden:
                raise ConfigError(f"target {target} sets {', '.join(overridden)} for its own database, and a flag or the environment "
                                  "would override it for every target", "drop the flag or variable, or pick one target with --target")
    settings = Settings(config_file=source, targets=tuple(targets), target_name=target)  # in the file's order
    for setting in SETTINGS:
        if flags.get(setting.attr) is not None:
            value = flags[setting.attr]
            if isinstance(value, str):
                value = setting.parse(value)
        elif environ.get(setting.env, "").strip():
            value = setting.parse(environ[setting.env])
        elif setting.attr in target_values:
            value = setting.parse(target_values[setting.attr])
        elif setting.attr in file_values:
            value = setting.parse(file_values[setting.attr])
        else:
            continue
        setattr(settings, setting.attr, value)
    if flags.get(TARGET.attr):
        settings.target = split_list(flags[TARGET.attr])
    elif environ.get(TARGET.env, "").strip():
        settings.target = split_list(environ[TARGET.env])
    settings.verbose = bool(flags.get("verbose"))
    if settings.history_table.lower() in ("", "off", "none", "false", "0"):
        settings.history_table = ""

    if flags.get("database_url"):
        settings.database_url = flags["database_url"]
        settings.database_url_source = "--database-url"
    else:
        env_name = (
            flags.get("database_url_env")
            or environ.get(FILE_ONLY.env, "").strip()
            or target_values.get("database_url_env")
            or file_values.get("database_url_env")
            or "DATABASE_URL"
        )
        settings.database_url = environ.get(env_name)
        settings.database_url_source = env_name
    _resolve_reference(settings, flags, environ, file_values)
    return settings


def _targets_prefix(source: str | None) -> str:
    """How the file names a target's section: sync_schema.targets. or tool.sync_schema.targets."""
    return "tool.sync_schema.targets." if source and source.startswith("pyproject") else "sync_schema.targets."


def _resolve_reference(settings: Settings, flags: dict[str, Any], environ: dict[str, str], file_values: dict[str, str]) -> None:
    """The reference database, if one is asked for: --reference URL, else the variable that
    reference_url_env names. Its models-side options make no sense then and are refused."""
    if flags.get("reference"):
        settings.reference_url, settings.reference_url_source = flags["reference"], "--reference"
    else:
        name = flags.get("reference_url_env") or environ.get(REFERENCE_URL_ENV.env, "").strip() or file_values.get(REFERENCE_URL_ENV.attr, "").strip()
        if not name:
            return
        if not environ.get(name, "").strip():
            raise ConfigError(f"no reference URL: {name} is not set (reference_url_env names it)",
                              f"set {name} to the reference database's URL, or drop reference_url_env")
        settings.reference_url, settings.reference_url_source = environ[name], name
    # Flags only: the environment and the app's config file name the models for its deploys,
    # and a run by hand against a reference leaves them alone (run.sync says so).
    given = [flag for flag in ("models", "alembic", "alembic_config", "shadow_url") if flags.get(flag) is not None]
    if given:
        named = " and ".join("--" + flag.replace("_", "-") for flag in given)
        raise ConfigError(f"{named} with a reference database: the reference's schema is the desired one", f"drop {named}, or the reference")
