"""Benchmark: one nightly day of ~100k transactions on a graph of ~1M (goal: <= 3 min, <= 8 GiB on 2 cores).

Generates a world of --transactions over --days days, loads every day but the last as history, trains a first
model (few epochs: its quality does not matter here, and its time is reported apart), then times
`run_night` on the last day with no retrain (the usual night). Prints the night's seconds per stage, the peak
resident memory of this process (ru_maxrss) and the Neo4j server's (VmHWM of the launcher, local server only).
WIPES the configured Neo4j: point GRAPHFRAUD_STATE_DIR / GRAPHFRAUD_BOLT_PORT at a scratch instance.

    .venv/bin/python bench/bench_nightly.py [--transactions 1000000] [--days 10] [--epochs 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from graphfraud import neo4j_server
from graphfraud.config import load_settings
from graphfraud.db import Graph
from graphfraud.demo import history_files, sample_days
from graphfraud.generate import generate
from graphfraud.ingest import build_graph
from graphfraud.nightly import run_night
from graphfraud.train import train


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def neo4j_peak_gib(settings) -> float | None:
    st = neo4j_server.status(settings)
    if st.pid is None:
        return None
    for line in Path(f"/proc/{st.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--transactions", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=10)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--epochs", type=int, default=10, help="epochs of the first model (not part of the night)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        settings = dataclasses.replace(load_settings(), model_dir=tmp / "models", epochs=args.epochs,
                                       retrain_every_days=0, drift_psi=10.0)  # a usual night: no retrain
        figures: dict[str, object] = {}
        t = time.perf_counter()
        generate(tmp / "world", transactions=args.transactions, days=args.days, seed=args.seed)
        figures["generate_s"] = round(time.perf_counter() - t, 1)
        days = sample_days(tmp / "world")
        last = days[-1]
        with Graph.connect(settings) as g:
            g.wipe()
            t = time.perf_counter()
            hist = build_graph(g, history_files(tmp / "world", last), settings.batch_size, tmp / "q")
            figures["history_rows"] = hist.rows_read
            figures["history_load_s"] = round(time.perf_counter() - t, 1)
            t = time.perf_counter()
            from datetime import datetime, time as dtime, timezone

            cutoff = datetime.combine(last, dtime(0), tzinfo=timezone.utc)
            model = train(g, settings, cutoff, settings.models_dir, version="bench-first")
            figures["first_model_train_s"] = round(time.perf_counter() - t, 1)
        (model.path / "nightly.json").write_text(json.dumps({"date": (last - timedelta(days=1)).isoformat()}))
        t = time.perf_counter()
        night = run_night(settings, last, tmp / "world", tmp / "reports")
        figures["night_s"] = round(time.perf_counter() - t, 1)
        figures["night_rows"] = night["load"]["rows_read"]
        figures["night_stage_seconds"] = night["stage_seconds"]
        figures["graph_transactions_after"] = figures["history_rows"] + figures["night_rows"]
        figures["rings"] = night["rings_total"]
        figures["python_peak_rss_gib"] = round(peak_gib(), 2)
        n = neo4j_peak_gib(settings)
        figures["neo4j_peak_rss_gib"] = round(n, 2) if n is not None else None
        print(json.dumps(figures, indent=2))
        print(f"night: {figures['night_s']} s for {figures['night_rows']:,} rows on a graph of "
              f"{figures['graph_transactions_after']:,} transactions (goal <= 180 s); "
              f"peak RSS python {figures['python_peak_rss_gib']} GiB, neo4j {figures['neo4j_peak_rss_gib']} GiB "
              "(goal <= 8 GiB)")


if __name__ == "__main__":
    main()
