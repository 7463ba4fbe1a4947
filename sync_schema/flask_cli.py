"""`flask sync-schema`: the sync as a command of a Flask app's CLI (Flask-SQLAlchemy).

Registered through Flask's `flask.commands` entry point when the tool is installed, so
`flask --app app sync-schema [--check | --dry-run] [--strict]` syncs the app's own `db`
(every bind's metadata) against its own engine, in the app's context and configuration.
Settings not given as options come from the environment and setup.cfg/pyproject.toml,
as for `python -m sync_schema`.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("sync-schema", help="Bring the database up to the app's Flask-SQLAlchemy models (see python -m sync_schema --help).")
@click.option("--check", "mode", flag_value="check", help="change nothing; exit 1 on drift, 2 when it could not tell")
@click.option("--dry-run", "mode", flag_value="dry-run", help="print the plan and its SQL, change nothing")
@click.option("--strict", is_flag=True, default=None, help="exit 1 on any error or failed verification")
@click.option("--allow", default="", help="also apply these risky classes, comma separated")
@with_appcontext
def command(mode: str | None, strict: bool | None, allow: str) -> None:
    from .api import sync
    from .config import resolve_settings, split_list

    extension = current_app.extensions.get("sqlalchemy")
    if extension is None:
        click.echo("sync-schema: ERROR: the app has no Flask-SQLAlchemy extension (db.init_app(app)); nothing was synced")
        sys.exit(2 if mode == "check" else 1 if strict else 0)
    settings = resolve_settings({"mode": mode, "strict": strict, "allow": split_list(allow) or None})
    given = {
        name: getattr(settings, name)
        for name in ("strict", "critical_columns", "schemas", "exclude_tables", "connect_timeout", "lock_timeout",
                     "statement_timeout", "lock_attempts", "run_lock_wait", "relax_not_null", "history_table", "deadline")
    }
    result = sync(extension, extension.engine, mode=settings.mode, allow=settings.allow, log=sys.stdout,
                  **{k: v for k, v in given.items() if k != "critical_columns"},
                  critical_columns=[str(c) for c in settings.critical_columns])
    sys.exit(result.exit_code)
