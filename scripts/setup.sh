#!/usr/bin/env bash
# Sets up graphfraud on a fresh machine: a virtualenv with the Python packages, and the local
# Neo4j (launcher built by Maven, jars from Maven Central). Idempotent and quick the second time.
# The Python environment is scripts/venv.sh's: dependencies shared under ~/.cache/graphfraud, graphfraud per checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "error: $1 not found: install $2" >&2; exit 2; }; }
need python3 "Python 3.11 (python3.11 with venv)"
need java "Java 17 (apt-get install openjdk-17-jdk-headless)"
need mvn "Maven (apt-get install maven)"

PY=${PYTHON:-python3}
"$PY" - <<'PYEOF' || { echo "error: graphfraud needs Python >= 3.11 (set PYTHON=/path/to/python3.11)" >&2; exit 2; }
import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)
PYEOF

scripts/venv.sh

echo "==> building the Neo4j launcher (Maven downloads Neo4j 5.26 the first time)"
.venv/bin/python -c "from graphfraud.neo4j_server import build_launcher; build_launcher()"
echo "==> ready: .venv/bin/graphfraud --help"
