"""optuna's RDB storage models and its own Alembic history (both on PostgreSQL and on
MySQL / MariaDB, which optuna's RDB storage supports: the runner's MariaDB column replays it too)."""
from optuna.storages._rdb import models

metadata = models.BaseModel.metadata
MODELS = "optuna_models:metadata"
OLD_REVISION = "v0.9.0.a"
# optuna's history on MariaDB: the last revision that runs there, and why the next does not
# (the runner checks that the upgrade still stops there).
MARIADB_HISTORY = ("v1.3.0.a", "v2.4.0.a drops trial_values.step, part of a two-column unique key: MySQL narrows the key "
                   "(the revision expects it), MariaDB refuses (error 1072)")


def migrate(url: str, revision: str) -> None:
    import os

    import optuna.storages._rdb as rdb
    from alembic import command
    from alembic.config import Config

    config = Config(os.path.join(os.path.dirname(rdb.__file__), "alembic.ini"))
    config.set_main_option("script_location", os.path.join(os.path.dirname(rdb.__file__), "alembic"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, revision)
