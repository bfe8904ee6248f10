#!/usr/bin/env bash
# The README's second command: set up, then run the whole test suite against the real Neo4j
# (the test fixture starts the local server when nothing answers). Extra arguments go to pytest.
# Tests empty the database they use, so unless GRAPHFRAUD_STATE_DIR is set (CI sets it), they run
# their own local server (state in ~/.local/state/graphfraud-test, Bolt port 7688), never the demo's.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ -z "${GRAPHFRAUD_STATE_DIR:-}" ]; then
  export GRAPHFRAUD_STATE_DIR="${XDG_STATE_HOME:-$HOME/.local/state}/graphfraud-test"
  export GRAPHFRAUD_BOLT_PORT="${GRAPHFRAUD_BOLT_PORT:-7688}" GRAPHFRAUD_HTTP_PORT="${GRAPHFRAUD_HTTP_PORT:-7475}"
fi
exec .venv/bin/python -m pytest "$@"
