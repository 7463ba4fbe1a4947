"""Airflow's metadata database models (every model module imported, as `airflow db` does).
Its Alembic history needs a configured Airflow home: not replayed here."""
import airflow.models  # noqa: F401
from airflow.models.base import Base
from airflow.utils.db import import_all_models

import_all_models()
metadata = Base.metadata
MODELS = "airflow_models:metadata"
OLD_REVISION = None
