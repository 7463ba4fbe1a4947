"""`python -m sync_schema`: argparse in, exit code out.

The default mode never fails a deploy: every problem is reported and the exit code is
0. --strict and --check are the ways to make problems fail the step.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

import sqlalchemy as sa

from . import __version__
from .config import ALEMBIC_MODES, FORMATS, MODES, resolve_settings
from .database import create_engine, open_connection, parse_url, redact, scrub
from .deadline import exit_when_done, watchdog
from .errors import ConfigError, DatabaseError, SyncError
from .plan import ALLOW_CLASSES
from .report import Reporter
from .run import EXIT_UNKNOWN, RunResult, error_exit_code, sync


class _Intent:
    """What the user asked for, read from the command line, the environment and the
    config file without trusting any of them to parse: a bad flag or setting must still
    be reported as asked (JSON, strict, check)."""

    def __init__(self, argv: list[str]) -> None:
        from .config import read_config_file

        try:
            file_values = read_config_file(Path.cwd())
        except SyncError:
            file_values = {}

        def given(flag: str | None, env: str, key: str) -> str:
            for i, arg in enumerate(argv if flag else ()):
                if arg == flag and i + 1 < len(argv):
                    return argv[i + 1].strip().lower()
                if arg.startswith(f"{flag}="):
                    return arg.split("=", 1)[1].strip().lower()
            return (os.environ.get(env, "").strip() or file_values.get(key, "")).strip().lower()

        truthy = ("1", "true", "yes", "on")
        self.check = "--check" in argv or given("--mode", "SYNC_SCHEMA_MODE", "mode") == "check"
        self.strict = "--strict" in argv or given(None, "SYNC_SCHEMA_STRICT", "strict") in truthy
        self.format = given("--format", "SYNC_SCHEMA_FORMAT", "format") or "text"

    def exit_code(self) -> int:
        return error_exit_code("check" if self.check else "apply", self.strict)


def _report_unusable(message: str, intent: _Intent, mode: str = "apply") -> int:
    """A bad flag or setting: one line (or one JSON document), exit as asked."""
    code = intent.exit_code()
    if intent.format == "json":
        from .formats import to_json

        result = RunResult("check" if intent.check else mode, intent.strict)
        result.error, result.exit_code = message, code
        sys.stdout.write(to_json(result) + "\n")
    else:
        reporter = Reporter()
        reporter.error(message)
        reporter.info("nothing was synced" + ("" if code else "; exiting 0 so the deploy goes on (use --strict to fail instead)"))
    return code


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a bad flag; a deploy step must not, unless asked to be strict."""

    argv: list[str] | None = None  # what it parses (set by the caller), to report a bad flag as asked

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        intent = _Intent(sys.argv[1:] if self.argv is None else self.argv)
        raise SystemExit(_report_unusable(f"{scrub(message, None)} (see --help)", intent))  # argparse echoes a bad flag's value


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    if isinstance(parser, _Parser):
        parser.argv = argv
    return parser.parse_args(argv)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m sync_schema",
        description="Bring a live database up to the app's SQLAlchemy models: add what is missing, "
        "report the rest with SQL to review, verify critical columns.",
        epilog="other commands: 'python -m sync_schema compare --reference URL' compares two databases; "
        "'python -m sync_schema history' prints the last runs (each has --help)",
    )
    parser.add_argument("--version", action="version", version=f"sync-schema {__version__}")
    parser.add_argument("--database-url", metavar="URL", help="database URL (default: the variable named by --database-url-env)")
    parser.add_argument("--database-url-env", metavar="NAME", help="environment variable holding the URL (default DATABASE_URL)")
    parser.add_argument("--models", metavar="MODULE[:ATTR][,...]", help="import path of the models: pkg.models or pkg.models:Base; several, comma separated, are each imported")
    parser.add_argument("--reference", metavar="URL", help="a database whose schema is the desired one, instead of the models (e.g. a restore's source, staging)")
    parser.add_argument("--reference-url-env", metavar="NAME", help="environment variable holding the reference database's URL")
    parser.add_argument("--critical-columns", metavar="LIST", help="table.column or schema.table.column, comma separated; verified after the sync")
    parser.add_argument("--schemas", metavar="LIST", help="schemas to sync (default: those the models use)")
    parser.add_argument("--exclude-tables", metavar="LIST", help="tables to leave alone (table or schema.table)")
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--dry-run", dest="mode", action="store_const", const="dry-run", help="print the plan and its SQL, change nothing")
    modes.add_argument("--check", dest="mode", action="store_const", const="check", help="change nothing; exit 1 if any drift exists (for CI)")
    modes.add_argument("--mode", dest="mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--strict", action="store_const", const=True, default=None, help="exit 1 on any error or failed verification")
    parser.add_argument("--allow", metavar="LIST", help=f"also apply these risky classes: {', '.join(ALLOW_CLASSES)}")
    parser.add_argument("--no-relax-not-null", dest="relax_not_null", action="store_const", const=False, default=None,
                        help="report, do not apply, DROP NOT NULL on columns that make the models' INSERTs fail")
    parser.add_argument("--rebuild-limit", metavar="SIZE", help="MySQL: rebuild tables up to this size online to relax NOT NULL (default 1GB)")
    parser.add_argument("--connect-timeout", metavar="SECONDS", help="give up connecting after this long (default 10)")
    parser.add_argument("--lock-timeout", metavar="SECONDS", help="longest wait for a table lock per statement (default 2)")
    parser.add_argument("--lock-attempts", metavar="N", help="tries per table when its lock is not available in time (default 3), then deferred")
    parser.add_argument("--history-table", metavar="NAME", help="audit trail table (default sync_schema_history; 'off' disables)")
    parser.add_argument("--statement-timeout", metavar="SECONDS", help="longest run of one statement (default 120)")
    parser.add_argument("--run-lock-wait", metavar="SECONDS", help="wait this long for another sync-schema run (default 60)")
    parser.add_argument("--models-import-timeout", metavar="SECONDS", help="give up on a models module that has not imported after this long (default 60)")
    parser.add_argument("--alembic", choices=ALEMBIC_MODES,
                        help="upgrade: run the app's `alembic upgrade head` first (apply mode, under the run lock), then sync what is still missing; "
                        "stamp-if-synced: after the sync, `alembic stamp head` only if the replayed history and the database agree")
    parser.add_argument("--shadow-url", metavar="URL", help="an empty scratch database to replay the Alembic history in (default: one created and dropped on the same server)")
    parser.add_argument("--alembic-config", metavar="FILE", help="the app's alembic.ini, to read its migration scripts (default: ./alembic.ini)")
    parser.add_argument("--deadline", metavar="SECONDS", help="end the whole run after this long, whatever it waits for (default 900)")
    parser.add_argument("--format", choices=FORMATS, help="text (default, for build logs), json or markdown (the log then goes to stderr), "
                        "or github (the text log plus a GitHub Actions annotation per difference and problem)")
    parser.add_argument("--sql", dest="sql_file", metavar="FILE", help="write the whole SQL script (applied and review parts, with hazards) to FILE")
    parser.add_argument("--target", metavar="NAME[,...]", help="sync only these targets ([sync_schema.targets.NAME] sections of the config file; default: all)")
    parser.add_argument("--tenant-schemas", metavar="SQL|PATTERN", help="sync the models' default schema into each tenant schema: "
                        "a query returning schema names ('select schema_name from tenants where active') or patterns (tenant_*)")
    parser.add_argument("--jobs", metavar="N", help="tenant schemas synced at once, one connection each (default 2)")
    parser.add_argument("--shard", metavar="I/N", help="only the Ith of N shards of the tenant schemas (every Nth in name order): "
                        "a CI matrix or a Kubernetes Indexed Job covers the fleet")
    parser.add_argument("--fail-fast", action="store_const", const=True, default=None,
                        help="stop at the first target or tenant that fails (default: go on with the others)")
    parser.add_argument("-v", "--verbose", action="store_true", help="more detail")
    return parser


def build_history_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m sync_schema history", description="Print the last sync-schema runs recorded in the database.")
    parser.add_argument("--database-url", metavar="URL")
    parser.add_argument("--database-url-env", metavar="NAME")
    parser.add_argument("--history-table", metavar="NAME", help="default sync_schema_history")
    parser.add_argument("--limit", type=int, default=10, help="how many runs (default 10)")
    parser.add_argument("--connect-timeout", metavar="SECONDS")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command, argv = _command(argv)
    if command == "history":
        return history_main(argv)
    if command == "compare":
        return compare_main(argv)
    args = _parse(build_parser(), argv)
    flags = vars(args)
    reporter = Reporter(verbose=bool(flags.get("verbose")))
    try:
        settings = resolve_settings(flags)
    except SyncError as exc:
        return _report_unusable(str(exc), _Intent(argv))
    if settings.format in ("json", "markdown"):
        reporter = Reporter(stream=sys.stderr, verbose=settings.verbose)  # stdout carries the document
    on_error = error_exit_code(settings.mode, settings.strict)
    if settings.targets or settings.tenant_schemas or settings.target:
        from .fleet import fleet_main  # several databases or tenant schemas: fleet.py

        return fleet_main(flags, settings, reporter)
    with watchdog(settings.deadline, lambda: f"the run did not finish within {settings.deadline:g} s (a server or proxy that stopped "
                  "answering?); its open transactions are rolled back by the server", on_error, reporter.stream):
        result = sync(settings, reporter)
    if settings.format == "text" and not settings.sql_file:
        return result.exit_code
    from .formats import to_json, to_markdown, to_sql_script  # only when asked for: start-up counts on every deploy

    type_key = result.dialect.type_key if result.dialect else None
    if settings.format == "json":
        sys.stdout.write(to_json(result, type_key) + "\n")
    elif settings.format == "github":
        from .formats import to_github_annotations

        sys.stdout.write(to_github_annotations(result, type_key))
    elif settings.format == "markdown":
        sys.stdout.write(to_markdown(result, type_key) + "\n")
    if settings.sql_file:
        try:
            with open(settings.sql_file, "w", encoding="utf-8") as script:
                script.write(to_sql_script(result))
        except OSError as exc:
            reporter.error(f"cannot write the SQL script to {settings.sql_file}: {exc.strerror}")
    return result.exit_code


_FLAGS_WITHOUT_VALUE = frozenset({"--dry-run", "--check", "--strict", "--no-relax-not-null", "--fail-fast", "-v", "--verbose", "--version", "-h", "--help"})


def _command(argv: list[str]) -> tuple[str | None, list[str]]:
    """The subcommand (compare, history) wherever it stands (`--models x compare` too),
    and the arguments without it; a flag's value is never taken for one."""
    for i, arg in enumerate(argv):
        if arg in ("compare", "history"):
            previous = argv[i - 1] if i else ""
            if not (previous.startswith("-") and "=" not in previous and previous not in _FLAGS_WITHOUT_VALUE):
                return arg, argv[:i] + argv[i + 1 :]
    return None, argv


def entrypoint() -> None:
    code = main()
    exit_when_done(code)  # a thread the app's models started must not keep the deploy step running
    raise SystemExit(code)


def history_main(argv: list[str]) -> int:
    from .history import DEFAULT_TABLE, recent_runs

    args = _parse(build_history_parser(), argv)
    reporter = Reporter()
    try:
        settings = resolve_settings(vars(args))
        url = parse_url(settings.database_url, settings.database_url_source)
        engine = create_engine(url, settings.connect_timeout)
        table = settings.history_table or DEFAULT_TABLE
        try:
            with open_connection(engine, settings.connect_timeout) as conn:
                if not sa.inspect(conn).has_table(table):
                    reporter.info(f"no history yet in {redact(url)} (table {table} does not exist)")
                    return 0
                runs = recent_runs(conn, table, args.limit)
        except sa.exc.DBAPIError as exc:
            raise DatabaseError(f"cannot read {table}: {scrub(str(exc.orig).strip().splitlines()[0], url)}", "check the history table") from None
        finally:
            engine.dispose()
    except SyncError as exc:
        reporter.error(str(exc))
        return 1
    fleet = any(run.target or run.tenant for run in runs)  # a fleet's runs: which target and tenant each was
    reporter.line(f"{'run':>5}  {'started (UTC)':<19}  {'seconds':>7}  {'mode':<7}  {'outcome':<8}  {'applied':>7}  {'other':>5}  host"
                  + ("  target/tenant" if fleet else ""))
    for run in runs:
        started = run.started_at.strftime("%Y-%m-%d %H:%M:%S") if run.started_at else "?"
        seconds = f"{(run.finished_at - run.started_at).total_seconds():.2f}" if run.finished_at and run.started_at else "-"
        where = "/".join(part for part in (run.target, run.tenant) if part) if fleet else ""
        reporter.line(
            f"{run.id:>5}  {started:<19}  {seconds:>7}  {run.mode:<7}  {run.outcome:<8}  {run.applied:>7}  {run.not_applied:>5}  {run.host or ''}"
            + (f"  {where}" if fleet else "")
        )
    if not runs:
        reporter.info("no runs recorded yet")
    return 0


def build_compare_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m sync_schema compare",
        description="Compare two live databases and print the drift as a table, with the SQL that would bring "
        "the target (DATABASE) up to REFERENCE. Changes nothing: it is `python -m sync_schema --reference URL --dry-run`, "
        "with the drift table on stdout and the log on stderr.",
    )
    parser.add_argument("--reference", metavar="URL", help="the database whose schema is right (e.g. local or staging; default: $SYNC_SCHEMA_REFERENCE_URL)")
    parser.add_argument("--reference-url-env", metavar="NAME", help="environment variable holding the reference's URL")
    parser.add_argument("--database-url", metavar="URL", help="the target: the database to check (default: $DATABASE_URL)")
    parser.add_argument("--database-url-env", metavar="NAME")
    parser.add_argument("--schemas", metavar="LIST")
    parser.add_argument("--exclude-tables", metavar="LIST")
    parser.add_argument("--allow", metavar="LIST", help="count these risky classes as what the SQL script applies (see the main command)")
    parser.add_argument("--format", choices=FORMATS, default=None)
    parser.add_argument("--sql", dest="sql_file", metavar="FILE",
                        help="write the SQL that brings the target up to the reference (for psql -v ON_ERROR_STOP=1 -f; risky statements commented out with the reason)")
    parser.add_argument("--check", dest="mode", action="store_const", const="check", help="exit 1 if the schemas differ, 2 if they could not be read")
    parser.add_argument("--connect-timeout", metavar="SECONDS")
    return parser


def compare_main(argv: list[str]) -> int:
    from .formats import to_json, to_markdown, to_sql_script, to_text_table

    args = _parse(build_compare_parser(), argv)
    flags = vars(args) | {"mode": args.mode or "dry-run", "history_table": "off"}
    if not flags.get("reference") and not flags.get("reference_url_env") and os.environ.get("SYNC_SCHEMA_REFERENCE_URL", "").strip():
        flags["reference_url_env"] = "SYNC_SCHEMA_REFERENCE_URL"
    reporter = Reporter(stream=sys.stderr)
    try:
        settings = resolve_settings(flags)
        if not settings.reference_url:
            raise ConfigError("no reference database", "pass --reference URL (or set SYNC_SCHEMA_REFERENCE_URL): the database whose schema is right")
    except SyncError as exc:
        return _report_unusable(str(exc), _Intent(argv), "compare")
    result = sync(settings, reporter)
    type_key = result.dialect.type_key if result.dialect else None
    if settings.format == "json":
        sys.stdout.write(to_json(result, type_key) + "\n")
    elif settings.format == "markdown":
        sys.stdout.write(to_markdown(result, type_key) + "\n")
    elif not result.error:
        sys.stdout.write(f"target:    {result.database}\nreference: {result.reference}\n\n")
        sys.stdout.write(to_text_table(result, type_key) + "\n")
        differences = len(result.changes)
        sys.stdout.write(f"\n{differences} difference{'' if differences == 1 else 's'} ({result.elapsed:.2f} s)\n")
    if settings.sql_file and not result.error:
        try:
            with open(settings.sql_file, "w", encoding="utf-8") as script:
                script.write(to_sql_script(result))
        except OSError as exc:
            reporter.error(f"cannot write the SQL script to {settings.sql_file}: {exc.strerror}")
            return EXIT_UNKNOWN if settings.mode == "check" else result.exit_code
    return result.exit_code
