"""The newcomer's path (issue 14): the wheel built from this checkout, installed into a
fresh virtualenv that has nothing else (on Python 3.10, the declared minimum, where the
machine has it), the README's SQLite quickstart, a missing driver named by its extra,
then psycopg 3 alone against the real PostgreSQL, settings read from pyproject.toml."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
PYTHON_310 = Path("/root/.pyenv/versions/3.10.13/bin/python")


def _python() -> str:
    """Python 3.10 where this machine has it (the lowest version the package declares)."""
    found = shutil.which("python3.10") if not PYTHON_310.exists() else str(PYTHON_310)
    return found or sys.executable


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"), "NO_COLOR": "1",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_INDEX_URL": os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple")}
    env |= {k: v for k, v in os.environ.items() if k.startswith("PIP_") and k != "PIP_NO_INDEX"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_wheel_in_a_fresh_venv_follows_the_readme(built_wheel: Path, tmp_path: Path, pg_url: str, pg_engine: sa.Engine) -> None:
    wheel = built_wheel
    python = _python()
    venv = tmp_path / "venv"
    assert _run([python, "-m", "venv", str(venv)], tmp_path).returncode == 0
    pip, tool = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"], [str(venv / "bin" / "python"), "-m", "sync_schema"]
    installed = _run([*pip, str(wheel)], tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    # The README's quickstart: the example models into an SQLite file, no server, no driver.
    app = tmp_path / "app"
    shutil.copytree(REPO / "examples" / "quickstart", app / "examples" / "quickstart")
    done = _run([*tool, "--models", "examples.quickstart.models", "--database-url", "sqlite:///quickstart.db", "--strict"], app)
    assert done.returncode == 0 and "APPLIED" in done.stdout, done.stdout + done.stderr
    assert sa.inspect(sa.create_engine(f"sqlite:///{app / 'quickstart.db'}")).get_table_names()

    # PostgreSQL without a driver: one line naming the extras; exit 0 (2 with --check).
    (app / "pyproject.toml").write_text('[tool.sync_schema]\nmodels = "examples.quickstart.models"\n')
    done = _run([*tool, "--database-url", pg_url.replace("+psycopg2", "")], app)
    assert done.returncode == 0 and "sync-schema[postgres]" in done.stdout and "Traceback" not in done.stdout + done.stderr, done.stdout

    # psycopg 3 alone, through the README's requirements.txt line (a vendored wheel with the
    # driver as an extra): a bare postgresql:// URL works, the models come from pyproject.toml.
    (app / "vendor").mkdir()
    shutil.copy2(wheel, app / "vendor" / wheel.name)
    (app / "requirements.txt").write_text(f"./vendor/{wheel.name}[psycopg]\n")
    installed = _run([*pip, "-r", "requirements.txt"], app)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert _run([str(venv / "bin" / "python"), "-c", "import psycopg2"], tmp_path).returncode != 0
    done = _run([*tool, "--database-url", pg_url.replace("+psycopg2", ""), "--strict"], app)
    assert done.returncode == 0 and "postgresql+psycopg://" in done.stdout and "settings: flags, then the environment, then pyproject.toml" in done.stdout, done.stdout
    assert sa.inspect(pg_engine).get_table_names()


def test_the_sdist_builds_the_same_wheel(built_wheel: Path, tmp_path: Path) -> None:
    """What PyPI would get: an sdist (with the license, the README and the catalog queries),
    from which pip builds a wheel holding exactly the files of the one built from the checkout."""
    sdist_dir, wheel_dir = tmp_path / "sdist", tmp_path / "wheel"
    done = _run([sys.executable, "-m", "build", "--sdist", "--outdir", str(sdist_dir), str(REPO)], tmp_path)  # not in REPO: its build/ would shadow the package
    assert done.returncode == 0, done.stdout + done.stderr
    (sdist,) = sdist_dir.glob("sync_schema-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "setup.cfg", "pyproject.toml", "sync_schema/py.typed"} <= names
    assert {f"sync_schema/dialects/sql/{p.name}" for p in (REPO / "sync_schema" / "dialects" / "sql").glob("*.sql")} <= names

    done = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheel_dir), str(sdist)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (from_sdist,) = wheel_dir.glob("sync_schema-*.whl")
    assert from_sdist.name == built_wheel.name
    with zipfile.ZipFile(from_sdist) as a, zipfile.ZipFile(built_wheel) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        metadata = a.read(f"{from_sdist.name.split('-')[0]}-{from_sdist.name.split('-')[1]}.dist-info/METADATA").decode()
    assert "Provides-Extra: postgres" in metadata and "Provides-Extra: psycopg" in metadata
    assert 'Requires-Dist: tomli>=1.1; python_version < "3.11"' in metadata
