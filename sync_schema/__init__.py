"""sync-schema: bring a live database up to an app's SQLAlchemy models at deploy time.

`sync_schema.sync(models, database)` and `sync_schema.check(...)` are the Python API
(sync_schema/api.py); `python -m sync_schema` is the command line. The API is imported on
first use, so that the command line starts without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Result", "__version__", "check", "sync"]

if TYPE_CHECKING:
    from .api import Result, check, sync


def __getattr__(name: str) -> Any:
    if name in ("sync", "check", "Result"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'sync_schema' has no attribute {name!r}")
