"""Benchmark the export alone on a graph `bench_scale.py --keep DIR` left behind: the export against raw Bolt
streaming of the same rows (bench_scale.export_against_bolt), without loading the graph again (at 10M the load is
12 minutes, the export 3). Starts the kept private Neo4j (DIR/neo4j-state) on free ports and stops it after.
Prints JSON: export_rows_per_s, raw_bolt_rows_per_s, export_over_raw, export_s, raw_bolt_s.

    .venv/bin/python bench/bench_export.py --keep DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from bench_scale import export_against_bolt  # noqa: E402
from graphfraud import neo4j_server  # noqa: E402
from graphfraud.benchmark import private_settings  # noqa: E402
from graphfraud.config import load_settings  # noqa: E402
from graphfraud.db import Graph  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, required=True, help="the folder a `bench_scale.py --keep` run kept")
    args = ap.parse_args()
    state = args.keep / "neo4j-state"
    if not state.is_dir():
        sys.exit(f"{state}: no kept Neo4j here; run bench/bench_scale.py --keep {args.keep} first")
    settings = private_settings(load_settings(), state)
    neo4j_server.start(settings)
    try:
        with Graph.connect(settings) as g:
            print(json.dumps(export_against_bolt(g)))
    finally:
        neo4j_server.stop(settings)


if __name__ == "__main__":
    main()
