"""Dagster's core storage tables, on three MetaData objects (runs, event log, schedules).
Its Alembic history needs dagster-postgres's storage classes: not replayed here."""

MODELS = "dagster_models:runs,dagster_models:events,dagster_models:schedules"
OLD_REVISION = None
