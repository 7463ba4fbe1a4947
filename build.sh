#!/usr/bin/env bash
# Build step (Render's buildCommand, or any platform's build hook): install the app's
# dependencies, then bring the database schema up to the models with sync-schema.
#
# A failed install fails the build. The sync does not: sync-schema exits 0 whatever
# happens (unreachable database, failed verification...) and says why in this log;
# set SYNC_SCHEMA_STRICT=true to make such problems fail the build instead.
#
# Copy this file into your app's root (next to requirements.txt and the setup.cfg or
# pyproject.toml that holds the [sync_schema] settings) and make it executable.
#
# Environment:
#   DATABASE_URL           the database to sync (postgres://... is fine)
#   SYNC_SCHEMA_ON_BUILD   1 (default) syncs here; 0 leaves it to a pre-deploy/release step
#   SYNC_SCHEMA_ALEMBIC    upgrade: the app's `alembic upgrade head` runs first, then the sync
#   PYTHON                 the interpreter to use (default: python)
set -euo pipefail

# The app's root is where this script lives, so it works from any working directory.
cd "$(dirname "${BASH_SOURCE[0]}")"

PYTHON="${PYTHON:-python}"
export PIP_DISABLE_PIP_VERSION_CHECK=1  # keep the build log to what matters

is_true() {
    case "$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')" in
        1 | true | yes | on) return 0 ;;
        *) return 1 ;;
    esac
}

if [[ -f requirements.txt ]]; then
    echo "build.sh: installing requirements.txt"
    "$PYTHON" -m pip install --no-input -r requirements.txt
else
    echo "build.sh: no requirements.txt in $(pwd); nothing to install"
fi

if is_true "${SYNC_SCHEMA_ON_BUILD:-1}"; then
    if "$PYTHON" -c 'import sync_schema' 2>/dev/null; then
        echo "build.sh: syncing the database schema"
        "$PYTHON" -m sync_schema
    else
        # Said in one line rather than Python's "No module named sync_schema" (exit 1).
        echo "build.sh: sync-schema is not installed for $PYTHON: add it to requirements.txt (README.md, \"Into your app's requirements.txt\"); nothing was synced"
        if is_true "${SYNC_SCHEMA_STRICT:-false}"; then exit 1; fi
    fi
else
    echo "build.sh: SYNC_SCHEMA_ON_BUILD is off; the pre-deploy/release step syncs the schema"
fi
