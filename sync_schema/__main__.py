"""`python -m sync_schema`: the CLI, or one line (never a traceback) when the tool's own
dependencies are missing from the environment it runs in."""

import os
import sys

try:
    from .cli import entrypoint
except ModuleNotFoundError as exc:  # SQLAlchemy or python-dotenv not installed here
    strict = "--strict" in sys.argv or "--check" in sys.argv or os.environ.get("SYNC_SCHEMA_STRICT", "").strip().lower() in ("1", "true", "yes", "on")
    sys.stdout.write(
        f"sync-schema: ERROR: {exc.name or 'a dependency'} is not installed in this environment ({sys.executable}): "
        "install the tool with its dependencies (pip install sync-schema, or the line the README gives for requirements.txt)\n"
        f"sync-schema: nothing was synced; exiting {2 if '--check' in sys.argv else 1 if strict else 0}\n"
    )
    raise SystemExit(2 if "--check" in sys.argv else 1 if strict else 0) from None

entrypoint()
