"""Run sync_schema's whole pipeline once, in apply mode, and print what each step took as JSON.

    python bench/timed_sync.py DATABASE_URL MODELS

Used by run.py for the large-table ADD COLUMN: the log lines of `python -m sync_schema`
carry no per-step time, and running in a fresh process (not inside run.py) means the
sync_schema code measured is the checkout's as of now, loaded all at once.
"""

from __future__ import annotations

import io
import json
import sys
import time

from sync_schema.config import Settings
from sync_schema.report import Reporter
from sync_schema.run import sync


def main() -> None:
    url, models = sys.argv[1], sys.argv[2]
    log = io.StringIO()
    started = time.perf_counter()
    result = sync(Settings(database_url=url, models=models, mode="apply"), Reporter(stream=log, color=False))
    print(json.dumps({
        "seconds": time.perf_counter() - started,
        "error": result.error,
        "steps": [
            {"description": r.step.description, "status": r.status, "seconds": r.seconds, "sql": list(r.step.sql), "error": r.error}
            for r in result.results
        ],
        "log": log.getvalue(),
    }))


if __name__ == "__main__":
    main()
