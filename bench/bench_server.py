"""Benchmark: how long the local Neo4j takes to start and to stop, on a throw-away server of its own.

A fresh state directory (first start: store and password created), then restarts of the same server; prints each
start and stop in seconds (stop: from SIGTERM until the process is gone). Every bulk import stops and starts the
server, and the test suite starts a few of its own, so these seconds add up.

    .venv/bin/python bench/bench_server.py [--restarts 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graphfraud import neo4j_server  # noqa: E402
from graphfraud.benchmark import private_settings  # noqa: E402
from graphfraud.config import load_settings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--restarts", type=int, default=2, help="restarts after the first start")
    ap.add_argument("--json", action="store_true", help="one JSON document instead of lines")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        s = private_settings(load_settings(), Path(tmp) / "state")
        rows = []
        try:
            for i in range(args.restarts + 1):
                t0 = time.perf_counter()
                neo4j_server.start(s)
                t1 = time.perf_counter()
                neo4j_server.stop(s)
                t2 = time.perf_counter()
                rows.append({"start": "first" if i == 0 else "restart", "start_s": round(t1 - t0, 2),
                             "stop_s": round(t2 - t1, 2)})
                if not args.json:
                    print(f"{rows[-1]['start']:8} start {rows[-1]['start_s']:6.2f} s   stop {rows[-1]['stop_s']:6.2f} s")
        finally:
            neo4j_server.stop(s)
    if args.json:
        print(json.dumps({"runs": rows}, indent=2))


if __name__ == "__main__":
    main()
