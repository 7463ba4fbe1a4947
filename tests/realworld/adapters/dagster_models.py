"""Dagster's core storage tables, on three MetaData objects (runs, event log, schedules).
Its Alembic history needs dagster-postgres's storage classes: not replayed here. dagster-mysql
stores the same tables on MySQL (the models carry mysql_length for it): the MariaDB column runs it."""
from dagster._core.storage.event_log.schema import SqlEventLogStorageMetadata as events
from dagster._core.storage.runs.schema import RunStorageSqlMetadata as runs
from dagster._core.storage.schedules.schema import ScheduleStorageSqlMetadata as schedules

__all__ = ["events", "runs", "schedules"]
MODELS = "dagster_models:runs,dagster_models:events,dagster_models:schedules"
OLD_REVISION = None
OLD_RELEASE = "dagster==1.5.14"  # the old state: what this release's create_all() made
WHY_NO_HISTORY = "its Alembic history needs dagster-postgres's storage classes; not replayed"
