"""Settings precedence: flag > environment (.env fills in, never overrides) > setup.cfg /
pyproject.toml > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync_schema.config import CriticalColumn, resolve_settings
from sync_schema.errors import ConfigError

FLAGS_NONE: dict = {}


def test_defaults(tmp_path: Path) -> None:
    settings = resolve_settings(FLAGS_NONE, tmp_path, environ={})
    assert settings.database_url is None and settings.database_url_source == "DATABASE_URL"
    assert settings.mode == "apply" and settings.strict is False
    assert settings.connect_timeout == 10 and settings.lock_timeout == 2


def test_setup_cfg_then_env_then_flags(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text(
        "[metadata]\nname = app\n\n[sync_schema]\nmodels = app.models\ncritical_columns =\n    users.email\n    billing.invoices.total\n"
        "lock_timeout = 5\nstrict = true\n"
    )
    settings = resolve_settings(FLAGS_NONE, tmp_path, environ={})
    assert settings.models == "app.models"
    assert settings.critical_columns == [CriticalColumn(None, "users", "email"), CriticalColumn("billing", "invoices", "total")]
    assert settings.lock_timeout == 5 and settings.strict is True

    env = {"SYNC_SCHEMA_MODELS": "env.models", "SYNC_SCHEMA_STRICT": "false", "DATABASE_URL": "sqlite:///env.db"}
    settings = resolve_settings(FLAGS_NONE, tmp_path, environ=env)
    assert settings.models == "env.models" and settings.strict is False and settings.lock_timeout == 5
    assert settings.database_url == "sqlite:///env.db"

    settings = resolve_settings({"models": "flag.models", "database_url": "sqlite:///flag.db"}, tmp_path, environ=env)
    assert settings.models == "flag.models"
    assert settings.database_url == "sqlite:///flag.db" and settings.database_url_source == "--database-url"


def test_pyproject_section(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.sync_schema]\nmodels = "pkg.models:Base"\ncritical_columns = ["users.is_active"]\nexclude_tables = ["legacy"]\n'
    )
    settings = resolve_settings(FLAGS_NONE, tmp_path, environ={})
    assert settings.models == "pkg.models:Base"
    assert settings.critical_columns == [CriticalColumn(None, "users", "is_active")]
    assert settings.exclude_tables == ["legacy"]


def test_database_url_env_names_the_variable(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "sqlite:///a.db", "PROD_DB": "sqlite:///b.db"}
    settings = resolve_settings({"database_url_env": "PROD_DB"}, tmp_path, environ=env)
    assert settings.database_url == "sqlite:///b.db" and settings.database_url_source == "PROD_DB"


def test_dotenv_never_overrides_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///from-dotenv.db\nSYNC_SCHEMA_MODELS=dotenv.models\n")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from-env.db")
    monkeypatch.delenv("SYNC_SCHEMA_MODELS", raising=False)
    settings = resolve_settings(FLAGS_NONE, tmp_path)
    assert settings.database_url == "sqlite:///from-env.db"
    assert settings.models == "dotenv.models"
    monkeypatch.delenv("SYNC_SCHEMA_MODELS")  # load_dotenv wrote it to os.environ


@pytest.mark.parametrize(
    "files, message",
    [
        ({"setup.cfg": "[sync_schema]\nmodles = x\n"}, "unknown setting(s) modles"),
        ({"setup.cfg": "[sync_schema]\nlock_timeout = soon\n"}, "not a number of seconds: 'soon'"),
        ({"setup.cfg": "[sync_schema]\nmode = yolo\n"}, "unknown mode 'yolo'"),
        ({"setup.cfg": "[sync_schema]\nallow = everything\n"}, "unknown --allow class everything"),
        ({"pyproject.toml": "[tool.sync_schema\n"}, "cannot parse"),
    ],
)
def test_bad_config_files(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve_settings(FLAGS_NONE, tmp_path, environ={})
