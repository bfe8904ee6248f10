"""Benchmark: ring detection (graphfraud.rings.find_rings) against the FraudAR baseline on the same graph.

The graph is built from a generated world's files without Neo4j (graphfraud.export.build_export on every
transaction), so only the ring step is timed. Entity scores come from a trained model (--model DIR: the model's
cut-off decides nothing here, every transaction is scored) or, without one, from the truth (0.9 for planted ring
members, 0.05 otherwise: an upper bound on quality, the same work for timing). FraudAR peels repeatedly, one block
per truth ring (an oracle number of blocks). Prints seconds, peak memory and ring metrics of both.

    .venv/bin/python bench/bench_rings.py --world /tmp/w200k [--transactions 200000] [--model DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graphfraud.export import CB_SCHEMA, build_export  # noqa: E402
from graphfraud.generate import generate  # noqa: E402
from graphfraud.ring_eval import load_truth, match_metrics, restrict_truth  # noqa: E402
from graphfraud.ring_baselines import fraudar_rings  # noqa: E402
from graphfraud.rings import find_rings  # noqa: E402


def read_dir(d: Path) -> pl.DataFrame:
    files = sorted(d.glob("*.parquet")) or sorted(d.glob("*.csv"))
    return pl.concat([pl.read_parquet(f) if f.suffix == ".parquet" else pl.read_csv(f, try_parse_dates=True)
                      for f in files], how="vertical_relaxed")


def world_export(world: Path):
    """Every transaction of a generated world as a GraphExport (no chargebacks needed for ring timing)."""
    tx = read_dir(world / "transactions").select(
        card=pl.col("card_id"), merchant=pl.col("merchant_id"), device=pl.col("device_id"), ip=pl.col("ip"),
        ts=pl.col("timestamp").dt.epoch("ms"), amount=pl.col("amount"), declined=pl.col("status") == "declined",
        ecom=pl.col("channel") == "ecom", country=pl.col("country"))
    cb = pl.DataFrame(schema=CB_SCHEMA)
    conf = pl.DataFrame(schema={"entity_type": pl.String, "entity_id": pl.String, "label": pl.Int8,
                                "labelled_ms": pl.Int64})
    cutoff = datetime.fromtimestamp((tx["ts"].max() + 1) / 1000, tz=timezone.utc)
    return build_export(tx, cb, conf, cutoff)


def timed(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    secs = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, secs, peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", type=Path, required=True, help="generated world folder (created if missing)")
    ap.add_argument("--transactions", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", type=Path, default=None, help="model directory; default: truth-derived scores")
    args = ap.parse_args()
    if not (args.world / "truth" / "rings.csv").exists():
        generate(args.world, transactions=args.transactions, seed=args.seed)
    t0 = time.perf_counter()
    export = world_export(args.world)
    export_s = time.perf_counter() - t0
    truth = restrict_truth(load_truth(args.world), export)
    if args.model:
        from graphfraud.models import load_model
        from graphfraud.predict import predict

        scores, source = predict(load_model(args.model), export), f"model {args.model}"
    else:
        members = set().union(*(m for _, m in truth.values()))
        scores = {t: np.array([0.9 if (t, i) in members else 0.05 for i in ids]) for t, ids in export.ids.items()}
        source = "truth-derived (0.9 ring members / 0.05 others)"
    rings, ring_s, ring_mb = timed(lambda: find_rings(export, scores))
    blocks, fr_s, fr_mb = timed(lambda: fraudar_rings(export, n_blocks=len(truth)))
    m_rings = match_metrics([r.keys() for r in rings], truth, [r.type for r in rings])
    m_fr = match_metrics(blocks, truth)
    report = {
        "graph": {"nodes": {t: len(v) for t, v in export.ids.items()},
                  "edges": {"/".join(k): v.height for k, v in export.edges.items()},
                  "export_seconds": round(export_s, 2), "truth_rings": len(truth), "scores": source},
        "find_rings": {"seconds": round(ring_s, 3), "peak_mib": round(ring_mb, 1), "rings": len(rings),
                       "recall": m_rings["recall"], "precision": m_rings["precision"], "f1": m_rings["f1"]},
        "fraudar": {"seconds": round(fr_s, 3), "peak_mib": round(fr_mb, 1), "blocks": len(blocks),
                    "recall": m_fr["recall"], "precision": m_fr["precision"], "f1": m_fr["f1"]},
    }
    print(json.dumps(report, indent=2))
    print(f"find_rings {ring_s:.2f} s vs FraudAR {fr_s:.2f} s ({fr_s / max(ring_s, 1e-9):.1f}x) on "
          f"{sum(report['graph']['nodes'].values()):,} nodes")


if __name__ == "__main__":
    main()
