"""One module per dialect; `dialect_for` picks the one matching an engine."""

from __future__ import annotations

from sqlalchemy.engine import Dialect as SADialect

from ..errors import ConfigError
from .base import Dialect
from .postgresql import PostgreSQLDialect
from .sqlite import SQLiteDialect

_DIALECTS: dict[str, type[Dialect]] = {"postgresql": PostgreSQLDialect, "sqlite": SQLiteDialect}


def dialect_for(sa_dialect: SADialect) -> Dialect:
    try:
        return _DIALECTS[sa_dialect.name](sa_dialect)
    except KeyError:
        raise ConfigError(
            f"{sa_dialect.name} is not supported yet", f"supported: {', '.join(sorted(_DIALECTS))}"
        ) from None


__all__ = ["Dialect", "PostgreSQLDialect", "SQLiteDialect", "dialect_for"]
