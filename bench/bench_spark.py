"""Benchmark the two build-graph engines on the same files: polars (this process, UNWIND transactions) and Spark
(--engine spark: Spark local[N] + the Neo4j Connector), each into an emptied graph of its own private Neo4j.

The files are the first days of a generated world holding at most --transactions payments (a bench_scale world
can be reused with --world). Prints JSON: rows, polars_s, polars_rows_per_s, spark_s, spark_rows_per_s,
spark_phases_s, spark_over_polars, same_ledger (the two ledgers equal), master.

    .venv/bin/python bench/bench_spark.py [--world W] [--transactions 1000000] [--master local[2]] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_scale import unwind_slice  # noqa: E402
from graphfraud import neo4j_server  # noqa: E402
from graphfraud.benchmark import private_settings  # noqa: E402
from graphfraud.config import load_settings  # noqa: E402
from graphfraud.db import Graph  # noqa: E402
from graphfraud.generate import generate  # noqa: E402
from graphfraud.ingest import build_graph  # noqa: E402
from graphfraud.spark_ingest import spark_build_graph  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", type=Path, help="a generated world to load (default: generate one)")
    ap.add_argument("--transactions", type=int, default=1_000_000, help="at most this many payments are loaded")
    ap.add_argument("--master", default="local[2]", help="Spark master")
    ap.add_argument("--json", action="store_true", help="print only the JSON")
    args = ap.parse_args()
    log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))
    root = Path(tempfile.mkdtemp(prefix="graphfraud-spark-"))
    world = args.world
    if world is None:
        world = root / "world"
        log(f"generating {args.transactions:,} transactions ...")
        generate(world, transactions=args.transactions, days=60, seed=5)
    files, rows = unwind_slice(world, args.transactions)
    settings = private_settings(load_settings(), root / "neo4j-state")
    neo4j_server.start(settings)
    out: dict = {"rows": rows, "master": args.master}
    try:
        with Graph.connect(settings) as g:
            ledgers = {}
            for engine in ("polars", "spark"):
                g.wipe()
                log(f"{engine}: loading {rows:,} transactions from {len(files)} files ...")
                t = time.perf_counter()
                if engine == "spark":
                    s = spark_build_graph(g, files, root / "quarantine", args.master)
                    out["spark_phases_s"] = {k: round(v, 1) for k, v in s.phases.items()}
                else:
                    s = build_graph(g, files, settings.batch_size, root / "quarantine")
                seconds = time.perf_counter() - t
                out[f"{engine}_s"] = round(seconds, 1)
                out[f"{engine}_rows_per_s"] = round(s.rows_read / seconds)
                ledgers[engine] = {k: v for k, v in s.as_dict().items()
                                   if k not in ("seconds", "rows_per_s", "quarantine_file", "phases")}
            out["spark_over_polars"] = round(out["spark_rows_per_s"] / out["polars_rows_per_s"], 2)
            out["same_ledger"] = ledgers["spark"] == ledgers["polars"]
    finally:
        neo4j_server.stop(settings)
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
