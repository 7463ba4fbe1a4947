"""JupyterHub's ORM. Its Alembic history starts from the 0.5 schema that JupyterHub itself
made with create_all() (the base revision creates nothing): not replayed from an empty database.
JupyterHub's docs name PostgreSQL and MySQL for production: the MariaDB column runs it."""
from jupyterhub import orm

metadata = orm.Base.metadata
MODELS = "jupyterhub_models:metadata"
OLD_REVISION = None
OLD_RELEASE = "jupyterhub==3.1.1"  # the old state: what this release's create_all() made
WHY_NO_HISTORY = "its Alembic history starts from the 0.5 schema JupyterHub made with create_all() (the base revision creates nothing), so it is not replayed from an empty database"
