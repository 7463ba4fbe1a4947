"""Simulated PaaS deploys of the example apps with the deploy kit at the repository's top
(build.sh, start.sh, render.yaml, Procfile), against a real PostgreSQL database.

Each deploy assembles an app root the way a user's repository looks (the kit next to one
example app's files, the tool's wheel in its vendor/ as the README says), runs the
platform's commands exactly as render.yaml and the Procfile write them, in an environment
holding only the platform's variables, starts the app and talks HTTP to it on 127.0.0.1.
`python` on that PATH is a virtualenv of its own that has the apps' dependencies but not
sync-schema: the build installs it from the wheel, through the app's requirements.txt.
The repository itself is deployed as it is, too (its render.yaml runs the Flask example).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
KIT = ("build.sh", "start.sh", "render.yaml", "Procfile")
PLATFORMS = ("render", "heroku")
# The server trusts 127.0.0.1, so any password works; it must never reach a log.
PASSWORD = "Kit-s3cret-Pa55"
STEP_TIMEOUT = 120  # one build or sync step, in seconds
START_TIMEOUT = 30  # until the started app answers HTTP
SUMMARY = "----- sync-schema summary"
MISSING_COLUMN = re.compile(r"column \w+\.\w+ does not exist")
# No proxy from the test runner's environment may stand between us and 127.0.0.1.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --- the app under test ---------------------------------------------------------------


@dataclass
class Web:
    """The started app, reached over HTTP, and the file its output goes to."""

    base: str
    log_path: Path

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with HTTP.open(req, timeout=10) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")  # error pages are HTML

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        return self.request("POST", path, {} if body is None else body)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass(frozen=True)
class Example:
    name: str  # directory under examples/
    critical: int  # critical columns in its setup.cfg
    columns_added: int  # by the first sync of the old schema
    old_tables: dict[str, str]  # table -> the columns the old schema had
    crash_path: str  # a route that reads new columns
    exercise: Callable[[Web], None]  # requests that use the new columns, with assertions

    def old_rows(self, engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
        with engine.connect() as conn:
            return {t: [tuple(r) for r in conn.exec_driver_sql(f"SELECT {cols} FROM {t} ORDER BY id")] for t, cols in self.old_tables.items()}

    def load_old_schema(self, engine: sa.Engine) -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql((REPO / "examples" / self.name / "old_schema.sql").read_text())


def exercise_flask_app(web: Web) -> None:
    assert web.get("/healthz") == (200, {"status": "ok"})
    status, users = web.get("/users")
    assert status == 200, users
    # The old rows got the new column's default.
    assert [(u["email"], u["is_active"]) for u in users] == [
        ("ada@example.com", True), ("alan@example.com", True), ("grace@example.com", True)
    ]
    status, courses = web.get("/courses")
    assert status == 200, courses
    assert [(c["title"], c["capacity"], c["enrolled"]) for c in courses] == [("Analytical Engines", 30, 2), ("Computable Numbers", 30, 1)]
    status, user = web.post("/users", {"email": "linus@example.com", "name": "Linus"})
    assert status == 201 and user["is_active"] is True, user
    status, enrollment = web.post("/courses/2/enrollments", {"user_id": user["id"]})
    assert status == 201 and enrollment["status"] == "active", enrollment
    status, courses = web.get("/courses")
    assert [(c["enrolled"], c["seats_left"]) for c in courses] == [(2, 28), (2, 28)]


def exercise_sqlmodel_app(web: Web) -> None:
    assert web.get("/healthz") == (200, {"status": "ok"})
    status, projects = web.get("/projects")
    assert status == 200, projects
    assert [(p["name"], p["archived"], p["open_tasks"]) for p in projects] == [("Website", False, 2), ("Mobile app", False, 1)]
    status, tasks = web.get("/tasks")
    assert status == 200, tasks
    assert {(t["done"], t["priority"], t["due_date"]) for t in tasks} == {(False, 0, None)}
    status, task = web.post("/tasks", {"project_id": 2, "title": "Ship it", "priority": 5})
    assert status == 201 and (task["done"], task["priority"]) == (False, 5), task
    status, finished = web.post("/tasks/1/done")
    assert status == 200 and finished["done"] is True, finished
    assert web.get("/tasks")[1][0]["title"] == "Ship it"  # ordered by the new priority column
    status, projects = web.get("/projects")
    assert [(p["name"], p["open_tasks"]) for p in projects] == [("Website", 1), ("Mobile app", 2)]


FLASK_APP = Example(
    name="flask_app",
    critical=3,
    columns_added=4,
    old_tables={"users": "id, email, name", "courses": "id, title", "enrollments": "id, user_id, course_id"},
    crash_path="/users",
    exercise=exercise_flask_app,
)
SQLMODEL_APP = Example(
    name="sqlmodel_app",
    critical=3,
    columns_added=4,
    old_tables={"projects": "id, name", "tasks": "id, project_id, title"},
    crash_path="/projects",
    exercise=exercise_sqlmodel_app,
)
EXAMPLES = (FLASK_APP, SQLMODEL_APP)


# --- the platforms ----------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    code: int
    log: str


@dataclass(frozen=True)
class Platform:
    """One platform's commands, read from the kit's files, and the variables it sets."""

    name: str
    build: str
    release: str  # Render's preDeployCommand, Heroku's release process
    start: str
    config_vars: dict[str, str]  # set by the user's blueprint / config, present in every phase
    bin_dir: Path
    home: Path
    offline: bool = True  # pip may not download: every requirement is installed or vendored

    def env(self, phase: str, database_url: str | None, port: int) -> dict[str, str]:
        env = {"PATH": f"{self.bin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": str(self.home), "LANG": "C.UTF-8"}
        if self.offline:
            # The test's own guard, not the platform's: the apps' dependencies are in the
            # virtualenv already and the tool comes from the app's vendor/, so pip must
            # never download anything.
            env["PIP_NO_INDEX"] = "1"
        env.update(self.config_vars)
        if self.name == "render":
            env.update(RENDER="true", PORT=str(port))
            if database_url is not None:
                env["DATABASE_URL"] = database_url
        elif phase != "build":
            # Heroku's build is not a dyno (no DYNO, no PORT), and it is not where Heroku
            # wants schema changes: the database is left out, so only the release phase
            # can sync.
            env["DYNO"] = "release.1" if phase == "release" else "web.1"
            env["PORT"] = str(port)
            if database_url is not None:
                env["DATABASE_URL"] = database_url
        return env


# The variables of the repository's own deploy (render.yaml), which an app deletes.
DEMO_VARS = ("SYNC_SCHEMA_MODELS", "SYNC_SCHEMA_CRITICAL_COLUMNS", "WEB_COMMAND")


def render_blueprint(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The web service's commands and its envVars with literal values, from render.yaml
    (a line-based reading: PyYAML is not among the test dependencies). The pre-deploy
    command is the commented line a paid plan uncomments."""
    text = (root / "render.yaml").read_text()
    fields = {}
    for key in ("plan", "buildCommand", "startCommand", "healthCheckPath"):
        match = re.search(rf"^\s+{key}:\s*([^#\n]*?)\s*(?:#.*)?$", text, re.M)
        assert match, f"render.yaml has no {key}"
        fields[key] = match.group(1).strip("'\"")
    paid = re.search(r"^\s+# preDeployCommand:\s*(.+?)\s*$", text, re.M)
    assert paid, "render.yaml must show the pre-deploy command for paid plans"
    fields["preDeployCommand"] = paid.group(1)
    values = dict(re.findall(r"^\s*-\s*key:\s*(\w+)\s*\n\s+value:\s*\"?([^\"\n#]*?)\"?\s*(?:#.*)?$", text, re.M))
    return fields, values


def procfile(root: Path) -> dict[str, str]:
    lines = [line.split(":", 1) for line in (root / "Procfile").read_text().splitlines() if line.strip()]
    return {name.strip(): command.strip() for name, command in lines}


def platform(name: str, root: Path, tmp_path: Path, python: Path, demo: bool = False) -> Platform:
    """`name`: "render" (a paid plan: the pre-deploy command uncommented, SYNC_SCHEMA_ON_START
    "0", as render.yaml says), "render-free" (render.yaml as it is) or "heroku". `demo`: the
    repository's own deploy, which keeps render.yaml's demo variables (an app deletes them)."""
    bin_dir = tmp_path / "bin"
    if not bin_dir.exists():
        # `python` as the platform's runtime provides it: the deploy virtualenv's.
        bin_dir.mkdir()
        (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{python}" "$@"\n')
        (bin_dir / "python").chmod(0o755)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    if name.startswith("render"):
        fields, values = render_blueprint(root)
        if not demo:
            values = {k: v for k, v in values.items() if k not in DEMO_VARS}
        if name == "render":
            values["SYNC_SCHEMA_ON_START"] = "0"
            return Platform("render", fields["buildCommand"], fields["preDeployCommand"], fields["startCommand"], values, bin_dir, home)
        return Platform("render", fields["buildCommand"], "true", fields["startCommand"], values, bin_dir, home, offline=not demo)
    processes = procfile(root)
    # Heroku's Python buildpack installs requirements.txt; build.sh stands in for it.
    return Platform(name, "./build.sh", processes["release"], processes["web"], {}, bin_dir, home)


# --- the deploy virtualenv --------------------------------------------------------------


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-m", "pip", "-q", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def deploy_venv(tmp_path_factory: pytest.TempPathFactory, built_wheel: Path) -> Path:
    """A virtualenv with the example apps' dependencies and the tool's, made once: the
    wheel installed with the apps' requirements, then the tool uninstalled again."""
    venv = tmp_path_factory.mktemp("deploy") / "venv"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    requirements = [line.strip() for example in EXAMPLES for line in (REPO / "examples" / example.name / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#") and "vendor/" not in line]
    done = _pip(python, "install", f"{built_wheel}[postgres]", *requirements)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _pip(python, "uninstall", "-y", "sync-schema").returncode == 0
    return python


@pytest.fixture
def python(deploy_venv: Path) -> Path:
    """The deploy virtualenv, without sync-schema (an earlier test's build installed it)."""
    _pip(deploy_venv, "uninstall", "-y", "sync-schema")
    lacks = subprocess.run([str(deploy_venv), "-c", "import sync_schema"], cwd=deploy_venv.parent, capture_output=True, timeout=60)
    assert lacks.returncode != 0, "the deploy virtualenv must not have sync-schema before the build"
    return deploy_venv


# --- helpers ----------------------------------------------------------------------------


def app_root(tmp_path: Path, example: Example, wheel: Path) -> Path:
    """A user's repository: the kit's files next to the example app's, and the tool's wheel
    in vendor/, where the app's requirements.txt names it."""
    root = tmp_path / "app"
    root.mkdir()
    for name in KIT:
        shutil.copy2(REPO / name, root / name)
    for path in (REPO / "examples" / example.name).iterdir():
        if path.is_file():
            shutil.copy2(path, root / path.name)
    assert f"./vendor/{wheel.name}[postgres]" in (root / "requirements.txt").read_text().splitlines(), \
        f"{example.name}/requirements.txt must name the wheel the checkout builds ({wheel.name})"
    (root / "vendor").mkdir()
    shutil.copy2(wheel, root / "vendor" / wheel.name)
    return root


def run(command: str, cwd: Path, env: dict[str, str]) -> Step:
    """A build or release command, as the platform runs it: through a shell."""
    proc = subprocess.Popen(
        ["bash", "-c", command], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=STEP_TIMEOUT)
    except subprocess.TimeoutExpired:
        # Kill the whole group: a grandchild holding the pipe would keep communicate() waiting.
        stop(proc)
        out, _ = proc.communicate()
        pytest.fail(f"{command!r} did not finish within {STEP_TIMEOUT} s:\n{out}")
    return Step(proc.returncode, out)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def platform_url(pg_url: str) -> tuple[str, str]:
    """The test database as the platforms hand it out (postgres://, with a password)."""
    url = sa.make_url(pg_url)
    password = url.password or PASSWORD
    return f"postgres://{url.username}:{password}@{url.host}:{url.port or 5432}/{url.database}", password


@contextmanager
def started(command: str, cwd: Path, env: dict[str, str], port: int, log_path: Path) -> Iterator[Web]:
    """Run the web command until the block ends; it is stopped even when the block fails."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            web = Web(f"http://127.0.0.1:{port}", log_path)
            wait_until_answering(web, proc)
            yield web
        finally:
            stop(proc)


def wait_until_answering(web: Web, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the app exited with {proc.returncode} before answering:\n{web.log}")
        try:
            with HTTP.open(web.base + "/healthz", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # an error page is an answer too
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the app did not answer on {web.base} within {START_TIMEOUT} s:\n{web.log}")


def stop(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM the app's process group (as a platform stops a dyno), SIGKILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def summary_row(log: str, key: str) -> str:
    """The value of one row of the last summary block in a log."""
    rows = re.findall(rf"^{re.escape(key)}\s{{2,}}(.*)$", log, re.M)
    assert rows, f"no {key!r} row in:\n{log}"
    return rows[-1]


def installed_from_the_wheel(log: str, wheel: Path) -> bool:
    """Whether a build log shows pip installing the tool from the app's vendored wheel."""
    return f"vendor/{wheel.name}" in log and re.search(r"Successfully installed .*\bsync[-_]schema-", log) is not None


# --- tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
@pytest.mark.parametrize("platform_name", PLATFORMS)
def test_deploy_syncs_the_old_schema_and_the_app_works(
    platform_name: str, example: Example, tmp_path: Path, pg_url: str, pg_engine: sa.Engine, python: Path, built_wheel: Path
) -> None:
    example.load_old_schema(pg_engine)
    before = example.old_rows(pg_engine)
    root = app_root(tmp_path, example, built_wheel)
    kit = platform(platform_name, root, tmp_path, python)
    url, password = platform_url(pg_url)
    port = free_port()

    build = run(kit.build, root, kit.env("build", url, port))
    assert build.code == 0, build.log
    assert installed_from_the_wheel(build.log, built_wheel), build.log
    release = run(kit.release, root, kit.env("release", url, port))
    assert release.code == 0, release.log
    with started(kit.start, root, kit.env("web", url, port), port, tmp_path / "web.log") as web:
        example.exercise(web)

    # Render syncs in the build and finds nothing left in pre-deploy; Heroku's build has
    # no database, so its release phase does the work.
    if platform_name == "render":
        synced, second = build.log, release.log
        assert summary_row(second, "columns added") == "0", second
        assert summary_row(second, "verification").startswith("PASSED"), second
    else:
        synced = release.log
        assert "no database URL" in build.log and "nothing was synced" in build.log, build.log
    assert SUMMARY in synced
    assert summary_row(synced, "verification") == f"PASSED ({example.critical} critical columns present)", synced
    assert summary_row(synced, "columns added") == str(example.columns_added), synced
    assert re.search(r"^database\s+postgresql\+\w+://\w+:\*\*\*@127\.0\.0\.1", synced, re.M), synced
    for log in (build.log, release.log, web.log):
        assert password not in log

    # Every old row is intact (the app added rows after them).
    after = example.old_rows(pg_engine)
    assert {t: rows[: len(before[t])] for t, rows in after.items()} == before


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_render_free_plan_syncs_on_start(
    example: Example, tmp_path: Path, pg_url: str, pg_engine: sa.Engine, python: Path, built_wheel: Path
) -> None:
    """Free plan (render.yaml as it is): no pre-deploy command, and a build that cannot
    reach the database; start.sh syncs, as SYNC_SCHEMA_ON_START says."""
    example.load_old_schema(pg_engine)
    root = app_root(tmp_path, example, built_wheel)
    kit = platform("render-free", root, tmp_path, python)
    assert kit.config_vars["SYNC_SCHEMA_ON_START"] == "1"
    url, password = platform_url(pg_url)
    port = free_port()
    unreachable = f"postgres://app:{password}@127.0.0.1:{free_port()}/app"

    build = run(kit.build, root, kit.env("build", unreachable, port))
    assert build.code == 0 and "nothing was synced" in build.log, build.log

    # Without a sync the new code meets the old schema: every route that reads a new
    # column fails, and so does the health check that would hold the deploy back.
    with started(kit.start, root, kit.env("web", url, port) | {"SYNC_SCHEMA_ON_START": "0"}, port, tmp_path / "unsynced.log") as web:
        assert web.get(example.crash_path)[0] == 500
        assert web.get("/healthz")[0] == 500
    assert MISSING_COLUMN.search(web.log), web.log

    with started(kit.start, root, kit.env("web", url, port), port, tmp_path / "synced.log") as web:
        example.exercise(web)
    assert "start.sh: syncing the database schema" in web.log
    assert summary_row(web.log, "verification") == f"PASSED ({example.critical} critical columns present)", web.log
    for log in (build.log, web.log):
        assert password not in log


def test_the_repository_deploys_as_it_is(tmp_path: Path, pg_url: str, pg_engine: sa.Engine, python: Path) -> None:
    """The repository's own render.yaml, on a copy of the checkout's files: the tool
    installed from the checkout by the root requirements.txt, the Flask example served,
    its old schema synced on the free plan."""
    root = tmp_path / "repository"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True, text=True,
                           check=True, timeout=60).stdout.splitlines()
    for name in files:
        if (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    FLASK_APP.load_old_schema(pg_engine)
    before = FLASK_APP.old_rows(pg_engine)
    kit = platform("render-free", root, tmp_path, python, demo=True)
    assert kit.config_vars["SYNC_SCHEMA_MODELS"] == "examples.flask_app.models:db"
    url, password = platform_url(pg_url)
    port = free_port()

    build = run(kit.build, root, kit.env("build", url, port))
    assert build.code == 0, build.log
    assert re.search(r"Successfully installed .*\bsync[-_]schema-", build.log), build.log
    assert summary_row(build.log, "columns added") == str(FLASK_APP.columns_added), build.log
    assert summary_row(build.log, "verification") == "PASSED (3 critical columns present)", build.log
    with started(kit.start, root, kit.env("web", url, port), port, tmp_path / "web.log") as web:
        FLASK_APP.exercise(web)
    assert summary_row(web.log, "columns added") == "0", web.log  # start.sh's sync found it done
    for log in (build.log, web.log):
        assert password not in log and "Traceback" not in log
    after = FLASK_APP.old_rows(pg_engine)
    assert {t: rows[: len(before[t])] for t, rows in after.items()} == before


@pytest.mark.parametrize("platform_name", PLATFORMS)
def test_unreachable_database_does_not_stop_the_deploy(platform_name: str, tmp_path: Path, python: Path, built_wheel: Path) -> None:
    root = app_root(tmp_path, FLASK_APP, built_wheel)
    kit = platform(platform_name, root, tmp_path, python)
    dead_port = free_port()  # nothing listens there
    url = f"postgres://app:{PASSWORD}@127.0.0.1:{dead_port}/app"

    build = run(kit.build, root, kit.env("build", url, free_port()))
    release = run(kit.release, root, kit.env("release", url, free_port()))

    assert build.code == 0, build.log
    assert release.code == 0, release.log
    for log in ([build.log] if platform_name == "render" else []) + [release.log]:
        assert f"sync-schema: ERROR: connection refused by 127.0.0.1:{dead_port}" in log, log
        assert "nothing was synced; exiting 0 so the deploy goes on" in log
        assert summary_row(log, "verification").startswith("SKIPPED"), log
        assert summary_row(log, "exit code") == "0"
    for log in (build.log, release.log):
        assert PASSWORD not in log


def test_strict_sync_fails_the_build_wherever_it_is_run_from(tmp_path: Path, python: Path, built_wheel: Path) -> None:
    root = app_root(tmp_path, FLASK_APP, built_wheel)
    kit = platform("render", root, tmp_path, python)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = kit.env("build", f"postgres://app:{PASSWORD}@127.0.0.1:{free_port()}/app", free_port()) | {"SYNC_SCHEMA_STRICT": "true"}

    build = run(str(root / "build.sh"), elsewhere, env)

    assert build.code == 1, build.log
    # It ran in the app's root: the models and critical columns came from its setup.cfg.
    assert "models models:db: 3 tables from models:db" in build.log, build.log
    assert summary_row(build.log, "exit code") == "1"


def test_failed_install_fails_the_build_before_any_sync(tmp_path: Path, python: Path, built_wheel: Path) -> None:
    root = app_root(tmp_path, FLASK_APP, built_wheel)
    with open(root / "requirements.txt", "a") as requirements:
        requirements.write("no-such-package-for-sync-schema-tests==1.0\n")
    kit = platform("render", root, tmp_path, python)

    build = run(kit.build, root, kit.env("build", f"postgres://app:{PASSWORD}@127.0.0.1:{free_port()}/app", free_port()))

    assert build.code != 0, build.log
    assert "no-such-package-for-sync-schema-tests" in build.log
    assert "sync-schema:" not in build.log


def test_without_the_tool_the_kit_says_so_in_one_line(tmp_path: Path, python: Path, built_wheel: Path) -> None:
    """requirements.txt without the tool: the build and a start that syncs say what to add
    (no "No module named" exit 1, no traceback); a start without app.py nor WEB_COMMAND too."""
    root = app_root(tmp_path, FLASK_APP, built_wheel)
    requirements = root / "requirements.txt"
    requirements.write_text("".join(line + "\n" for line in requirements.read_text().splitlines() if "vendor/" not in line))
    kit = platform("render", root, tmp_path, python)
    env = kit.env("build", f"postgres://app:{PASSWORD}@127.0.0.1:{free_port()}/app", free_port())

    build = run(kit.build, root, env)
    start = run(kit.start, root, env | {"SYNC_SCHEMA_ON_START": "1", "WEB_COMMAND": "echo served"})
    strict = run(kit.build, root, env | {"SYNC_SCHEMA_STRICT": "true"})
    (root / "app.py").unlink()
    no_app = run(kit.start, root, env)

    missing = "sync-schema is not installed for python: add it to requirements.txt"
    assert build.code == 0 and f"build.sh: {missing}" in build.log, build.log
    assert start.code == 0 and f"start.sh: {missing}" in start.log and start.log.rstrip().endswith("served"), start.log
    assert strict.code == 1 and missing in strict.log, strict.log
    assert no_app.code == 1 and f"start.sh: no app.py in {root} and WEB_COMMAND is not set" in no_app.log, no_app.log
    for step in (build, start, strict, no_app):
        assert "Traceback" not in step.log and "No module named" not in step.log


def test_start_runs_web_command_from_the_app_root(tmp_path: Path, python: Path, built_wheel: Path) -> None:
    root = app_root(tmp_path, FLASK_APP, built_wheel)
    kit = platform("heroku", root, tmp_path, python)
    env = kit.env("web", None, 4321) | {"WEB_COMMAND": 'echo "serving on $PORT from $(pwd)"'}

    result = run(str(root / "start.sh"), tmp_path, env)

    assert result.code == 0, result.log
    assert result.log.strip() == f"serving on 4321 from {root}"  # no sync unless asked


def test_kit_files_say_what_the_platforms_run() -> None:
    for script in ("build.sh", "start.sh"):
        path = REPO / script
        assert os.access(path, os.X_OK), f"{script} must be executable: Render and Heroku run ./{script}"
        text = path.read_text()
        assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
        assert subprocess.run(["bash", "-n", str(path)], capture_output=True, timeout=10).returncode == 0
    assert procfile(REPO) == {"release": "python -m sync_schema", "web": "./start.sh"}
    fields, values = render_blueprint(REPO)
    assert fields == {
        "plan": "free",
        "buildCommand": "./build.sh",
        "preDeployCommand": "python -m sync_schema",
        "startCommand": "./start.sh",
        "healthCheckPath": "/healthz",
    }
    assert values.get("SYNC_SCHEMA_STRICT") == "false" and values.get("SYNC_SCHEMA_ON_START") == "1"
    text = (REPO / "render.yaml").read_text()
    assert "\n    preDeployCommand:" not in text, "the free plan has no pre-deploy command"
    database = re.search(r"key: DATABASE_URL\s*\n\s+fromDatabase:\s*\n\s+name: (\S+)\s*\n\s+property: connectionString", text)
    assert database, "DATABASE_URL must come from the database's connectionString"
    assert re.search(rf"^databases:\s*\n\s+- name: {re.escape(database.group(1))}\n(?:\s+\w+:.*\n)*?\s+plan: free$", text, re.M), \
        "the database must be on the free plan: deploying the repository creates nothing paid"
    # The demo's variables, and only those, follow the comment that tells an app to delete them.
    demo = re.search(r"# Demo only.*delete these three:\n((?:\s+- key: \w+\n\s+value: .*\n){3})", text)
    assert demo and tuple(re.findall(r"key: (\w+)", demo.group(1))) == DEMO_VARS
