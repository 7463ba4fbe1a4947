#!/usr/bin/env bash
# Start the web app: Render's startCommand, the Procfile's web process.
#
# With SYNC_SCHEMA_ON_START=1 the schema is synced first. That is the way to sync on
# Render's free plan, which has no pre-deploy command, when the build cannot reach the
# database. Concurrent starts are safe: sync-schema runs one at a time (advisory lock)
# and a second run finds nothing left to add.
#
# Environment:
#   WEB_COMMAND           the server to run (default: python app.py), e.g. "gunicorn app:app"
#   SYNC_SCHEMA_ON_START  1 to sync before starting (default 0)
#   PORT                  set by the platform; the example apps listen on it
#   PYTHON                the interpreter to use (default: python)
set -euo pipefail

# The app's root is where this script lives, so it works from any working directory.
cd "$(dirname "${BASH_SOURCE[0]}")"

PYTHON="${PYTHON:-python}"

is_true() {
    case "$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')" in
        1 | true | yes | on) return 0 ;;
        *) return 1 ;;
    esac
}

if is_true "${SYNC_SCHEMA_ON_START:-0}"; then
    if "$PYTHON" -c 'import sync_schema' 2>/dev/null; then
        echo "start.sh: syncing the database schema before starting"
        "$PYTHON" -m sync_schema
    else
        echo "start.sh: sync-schema is not installed for $PYTHON: add it to requirements.txt (README.md, \"Into your app's requirements.txt\"); nothing was synced"
        if is_true "${SYNC_SCHEMA_STRICT:-false}"; then exit 1; fi
    fi
fi

# exec: the server replaces this shell, so the platform's SIGTERM reaches it directly.
if [[ -n "${WEB_COMMAND:-}" ]]; then
    eval "exec $WEB_COMMAND"
fi
if [[ ! -f app.py ]]; then
    echo "start.sh: no app.py in $(pwd) and WEB_COMMAND is not set: set WEB_COMMAND to your server's command (e.g. gunicorn app:app)" >&2
    exit 1
fi
exec "$PYTHON" app.py
