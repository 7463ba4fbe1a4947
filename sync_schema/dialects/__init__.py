"""One module per dialect; `dialect_for` picks the one matching an engine."""

from __future__ import annotations

from sqlalchemy.engine import Dialect as SADialect

from ..errors import ConfigError
from .base import Dialect
from .mysql import MySQLDialect
from .postgresql import PostgreSQLDialect
from .sqlite import SQLiteDialect

# SQLAlchemy names a MariaDB server "mariadb" when the URL says mariadb://, "mysql" otherwise.
_DIALECTS: dict[str, type[Dialect]] = {"postgresql": PostgreSQLDialect, "sqlite": SQLiteDialect, "mysql": MySQLDialect, "mariadb": MySQLDialect}


def dialect_for(sa_dialect: SADialect) -> Dialect:
    try:
        return _DIALECTS[sa_dialect.name](sa_dialect)
    except KeyError:
        raise ConfigError(
            f"{sa_dialect.name} is not supported yet", f"supported: {', '.join(sorted(_DIALECTS))}"
        ) from None


__all__ = ["Dialect", "MySQLDialect", "PostgreSQLDialect", "SQLiteDialect", "dialect_for"]
