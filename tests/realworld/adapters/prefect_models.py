"""Prefect's server ORM models and its own Alembic history (run through Prefect's async engine)."""
import os
import subprocess
import sys

from prefect.server.database import orm_models

metadata = orm_models.Base.metadata
MODELS = "prefect_models:metadata"
SETUP = "CREATE EXTENSION IF NOT EXISTS pg_trgm"  # Prefect's migrations create it; its models' GIN indexes need it
OLD_REVISION = "97429116795e"  # 2024-08-14, add deployment concurrency limit (Prefect 3.0)
# server -> why the app is skipped there
UNSUPPORTED = {"MariaDB": "Prefect's server runs on PostgreSQL and SQLite only", "MySQL": "Prefect's server runs on PostgreSQL and SQLite only"}

_UPGRADE = """
import sys, anyio
from prefect.server.database.alembic_commands import alembic_upgrade
anyio.run(anyio.to_thread.run_sync, lambda: alembic_upgrade(sys.argv[1]))
"""


def migrate(url: str, revision: str) -> None:
    """In a process of its own: Prefect reads its database URL from the environment when
    it is first imported."""
    import sqlalchemy as sa

    env = dict(os.environ)
    env["PREFECT_API_DATABASE_CONNECTION_URL"] = sa.make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    env.setdefault("PREFECT_HOME", os.path.join(env.get("TMPDIR", "/tmp"), "sync_schema_prefect_home"))
    subprocess.run([sys.executable, "-c", _UPGRADE, revision], env=env, check=True, capture_output=True)
