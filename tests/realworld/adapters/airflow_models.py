"""Airflow's metadata database models (every model module imported, as `airflow db` does)
and its own Alembic history (airflow.utils.db.upgradedb)."""
import os
import subprocess
import sys

# Airflow builds its models for the database it is configured with (utf8mb3_bin ids on
# MySQL): the runner's server kind picks one; nothing connects to it on import.
if os.environ.get("REALWORLD_SERVER") == "mysql":
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "mysql+pymysql://airflow@127.0.0.1/airflow")

import airflow.models  # noqa: E402, F401
from airflow.models.base import Base  # noqa: E402
from airflow.utils.db import import_all_models  # noqa: E402

import_all_models()
metadata = Base.metadata
MODELS = "airflow_models:metadata"
OLD_REVISION = "05234396c6fc"  # Airflow 3.0.0, rename dataset as asset (41st of the history)
EXTRA_REQUIREMENTS = ["asyncpg"]  # Airflow opens an async engine beside the sync one
# On MySQL Airflow insists on mysqlclient (built from source: libmariadb-dev and pkg-config).
MYSQL_REQUIREMENTS = ["mysqlclient", "aiomysql"]
UNSUPPORTED = {"MariaDB": "Airflow supports MySQL 8 but not MariaDB (its docs: known index problems, migrations not tested there)"}

_UPGRADE = """
import sys
from airflow.utils.db import upgradedb
upgradedb(to_revision=None if sys.argv[1] == "head" else sys.argv[1])
"""


def migrate(url: str, revision: str) -> None:
    """In a process of its own: Airflow reads its configuration when it is first imported.
    From an empty database, `upgradedb` to a revision runs every migration up to it (to
    head it would create_all() and stamp instead: that is what is asked for at 'head')."""
    env = dict(os.environ)
    # On MySQL through mysqlclient, the driver Airflow runs on: its migrations send
    # multi-statement procedure blocks, which PyMySQL refuses without a client flag.
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = url.replace("mysql+pymysql://", "mysql+mysqldb://", 1)
    env.setdefault("AIRFLOW_HOME", os.path.join(env.get("TMPDIR", "/tmp"), "sync_schema_airflow_home"))
    subprocess.run([sys.executable, "-c", _UPGRADE, revision], env=env, check=True, capture_output=True)
