#!/usr/bin/env bash
# The README's second command: set up, then run the whole test suite against the real Neo4j
# (the test fixture starts the local server when nothing answers). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
