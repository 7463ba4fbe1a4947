"""Prefect's server ORM models. Its Alembic history runs through Prefect's async engine
(asyncpg, Prefect settings): not replayed here."""
from prefect.server.database import orm_models

metadata = orm_models.Base.metadata
MODELS = "prefect_models:metadata"
OLD_REVISION = None
