"""Benchmark at scale: a generated history of N transactions over 60 days, loaded with `build-graph --bulk`, and,
on the same file set in the same run, the UNWIND path on a slice of at most 1M transactions (the first days).

Runs on its own private Neo4j (own state directory and ports, started and stopped here), never the user's.
Prints JSON: transactions, bulk_rows_per_s, unwind_rows_per_s (rows read per second, the same ledger on both),
bulk_over_unwind, bulk_s, bulk_phases_s (validate, write_files, stop_server, import, start_server, schema),
unwind_s, unwind_rows, peak_rss_gib {python, neo4j} (neo4j: the server after the import; the importer's own JVM is
not counted). Issue #14's training, scoring and
nightly figures are not measured here yet (mini-batch training is not built).

    .venv/bin/python bench/bench_scale.py --transactions 1000000 [--json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graphfraud import neo4j_server  # noqa: E402
from graphfraud.benchmark import private_settings  # noqa: E402
from graphfraud.bulk import bulk_build_graph  # noqa: E402
from graphfraud.config import load_settings  # noqa: E402
from graphfraud.db import Graph  # noqa: E402
from graphfraud.generate import generate  # noqa: E402
from graphfraud.ingest import build_graph  # noqa: E402

UNWIND_MAX = 1_000_000


def neo4j_peak_gib(settings) -> float:
    """Peak resident memory (VmHWM) of the private server's JVM, GiB."""
    pid = neo4j_server._read_pid(settings)
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    except (OSError, TypeError):
        pass
    return float("nan")


def unwind_slice(world: Path, limit: int) -> tuple[list[Path], int]:
    """The first days' transaction files (and nothing else) holding at most `limit` rows."""
    files, rows = [], 0
    for f in sorted((world / "transactions").glob("*.parquet")):
        n = pl.scan_parquet(f).select(pl.len()).collect().item()
        if rows + n > limit and files:
            break
        files.append(f)
        rows += n
    return files, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transactions", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--json", action="store_true", help="print only the JSON")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="graphfraud-scale-"))
    log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))
    settings = private_settings(load_settings(), root / "neo4j-state")
    world = root / "world"
    if not (world / "transactions").is_dir():
        log(f"generating {args.transactions:,} transactions over {args.days} days ...")
        generate(world, transactions=args.transactions, days=args.days, seed=5)
    neo4j_server.start(settings)
    try:
        with Graph.connect(settings) as g:
            g.wipe()
            log("bulk load ...")
            t = time.perf_counter()
            bulk = bulk_build_graph(g, [world], root / "quarantine")
            bulk_s = time.perf_counter() - t
            size = g.read("admin/size")[0]
            log(f"  {bulk.rows_read:,} rows in {bulk_s:.1f} s; {size['nodes']:,} nodes, "
                f"{size['relationships']:,} relationships")
            files, rows = unwind_slice(world, min(UNWIND_MAX, args.transactions))
            g.wipe()
            log(f"UNWIND load of {rows:,} transactions ...")
            t = time.perf_counter()
            unwind = build_graph(g, files, settings.batch_size, root / "quarantine")
            unwind_s = time.perf_counter() - t
        bulk_rate, unwind_rate = bulk.rows_read / bulk_s, unwind.rows_read / unwind_s
        out = {"transactions": args.transactions, "bulk_rows": bulk.rows_read, "bulk_s": round(bulk_s, 1),
               "bulk_rows_per_s": round(bulk_rate), "bulk_phases_s": {k: round(v, 1) for k, v in bulk.phases.items()},
               "unwind_rows": unwind.rows_read, "unwind_s": round(unwind_s, 1),
               "unwind_rows_per_s": round(unwind_rate), "bulk_over_unwind": round(bulk_rate / unwind_rate, 2),
               "peak_rss_gib": {"python": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
                                "neo4j": round(neo4j_peak_gib(settings), 2)}}
    finally:
        neo4j_server.stop(settings)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(out, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
