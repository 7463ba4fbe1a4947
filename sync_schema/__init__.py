"""sync-schema: bring a live database up to an app's SQLAlchemy models at deploy time."""

__version__ = "0.1.0"
