"""optuna's RDB storage models and its own Alembic history."""
from optuna.storages._rdb import models

metadata = models.BaseModel.metadata
MODELS = "optuna_models:metadata"
OLD_REVISION = "v0.9.0.a"


def migrate(url: str, revision: str) -> None:
    import os

    import optuna.storages._rdb as rdb
    from alembic import command
    from alembic.config import Config

    config = Config(os.path.join(os.path.dirname(rdb.__file__), "alembic.ini"))
    config.set_main_option("script_location", os.path.join(os.path.dirname(rdb.__file__), "alembic"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, revision)
