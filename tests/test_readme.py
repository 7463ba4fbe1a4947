"""The README's two commands stay true: the quickstart syncs the example models into an
SQLite file, and CI runs exactly the README's test command."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    quickstart = ROOT.joinpath("README.md").read_text().split("## Quickstart", 1)[1]
    return re.findall(r"```sh\n(.+?)\n```", quickstart)[:2]


def test_quickstart_command_syncs_the_example_into_sqlite(tmp_path: Path) -> None:
    setup, = [c for c in readme_commands()[:1]]
    sync_part = setup.split("&& ")[-1]
    assert sync_part.startswith("python -m sync_schema ")
    argv = [sys.executable, *shlex.split(sync_part)[1:]]
    shutil.copytree(ROOT / "examples" / "quickstart", tmp_path / "examples" / "quickstart")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("SYNC_SCHEMA_")}

    first = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    second = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    assert first.returncode == 0 and "verification           PASSED" in first.stdout, first.stdout + first.stderr
    assert "tables created         2" in first.stdout
    assert "0 differences" in second.stdout
    database = tmp_path / "quickstart.db"
    with sqlite3.connect(database) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"users", "posts", "sync_schema_history", "sync_schema_history_statements"}


def test_ci_runs_the_readme_test_command() -> None:
    test_command = readme_commands()[1]
    assert "pytest" in test_command
    ci_lines = ROOT.joinpath(".ci", "run").read_text().splitlines()
    assert test_command in ci_lines
