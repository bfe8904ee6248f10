"""Benchmark: time and peak memory of the GNN stage on a generated world (goal at 1M transactions: <= 5 min, <= 8 GiB).

Steps: generate the world, load it with build-graph (WIPES the configured Neo4j: point GRAPHFRAUD_* at a scratch
instance), export as of the default cut-off, train. Prints seconds per step and the peak resident memory of this
process (ru_maxrss: the real high-water mark, including torch/polars native allocations).

    .venv/bin/python bench/bench_train.py --transactions 1000000 [--skip-load] [--epochs 200] [--threads 2]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import torch

from graphfraud.config import load_settings
from graphfraud.db import Graph
from graphfraud.export import export_graph
from graphfraud.generate import generate
from graphfraud.ingest import build_graph
from graphfraud.train import train


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # ru_maxrss is KiB on Linux


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--transactions", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=60)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--epochs", type=int, default=None, help="default: settings.epochs")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--skip-load", action="store_true", help="use the graph already in Neo4j")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    settings = load_settings(epochs=args.epochs)
    figures: dict[str, float] = {}
    with Graph(settings) as g, tempfile.TemporaryDirectory() as tmp:
        if not args.skip_load:
            t = time.perf_counter()
            generate(Path(tmp) / "world", transactions=args.transactions, days=args.days, seed=args.seed)
            figures["generate_s"] = time.perf_counter() - t
            g.wipe()
            t = time.perf_counter()
            build_graph(g, [Path(tmp) / "world"], settings.batch_size, Path(tmp) / "quarantine")
            figures["build_graph_s"] = time.perf_counter() - t
        t = time.perf_counter()
        export = export_graph(g)
        figures["export_s"] = time.perf_counter() - t
        figures["peak_after_export_gib"] = peak_gib()
        t = time.perf_counter()
        result = train(export, settings, out_dir=Path(tmp) / "models")
        figures["train_s"] = time.perf_counter() - t
    figures["export_plus_train_s"] = figures["export_s"] + figures["train_s"]
    figures["peak_rss_gib"] = peak_gib()
    print(f"transactions in export: {int(export.features['card']['n_tx'].sum())}  nodes: "
          f"{ {t: len(v) for t, v in export.ids.items()} }  epochs run: {result.metrics['epochs_run']} "
          f"(best {result.metrics['best_epoch']})  threads: {args.threads}")
    for k, v in figures.items():
        print(f"{k:24s} {v:10.2f}")


if __name__ == "__main__":
    main()
