#!/usr/bin/env bash
# The README's first command: set everything up, start the local Neo4j, run the whole pipeline
# on the bundled sample (graphfraud demo).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/graphfraud neo4j start
exec .venv/bin/graphfraud demo "$@"
