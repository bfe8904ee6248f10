"""Time every investigation query on the configured graph: each with its header's example parameters
(ring_id replaced by the best current ring when the graph has rings). Prints rows and milliseconds.

    .venv/bin/python bench/bench_queries.py [--repeat 3] [-p name=value ...]

-p overrides a parameter in every query that takes it (e.g. -p card_id=... for ids of another world).
"""

from __future__ import annotations

import argparse
import statistics
import time

from graphfraud.config import load_settings
from graphfraud.db import Graph
from graphfraud.queries import example_params, list_queries, run_query


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per query (the first one includes planning)")
    ap.add_argument("-p", "--param", action="append", default=[], help="name=value override (repeatable)")
    args = ap.parse_args()
    overrides = dict(item.split("=", 1) for item in args.param)
    with Graph(load_settings()) as g:
        n_tx = g.run_text("MATCH (t:Transaction) RETURN count(t) AS n")[1][0]["n"]
        top = run_query(g, "top_rings", {"limit": "1"})[1]
        ring_id = top[0]["ring_id"] if top else None
        print(f"graph: {n_tx:,} transactions; ring_id used: {ring_id}")
        print(f"{'query':28s} {'rows':>6s} {'first ms':>9s} {'median ms':>10s}")
        for spec in list_queries():
            params = example_params(spec)
            if ring_id and "ring_id" in params:
                params["ring_id"] = ring_id
            params.update({k: v for k, v in overrides.items() if k in params})
            times, rows = [], []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                _, rows = run_query(g, spec.name, params)
                times.append((time.perf_counter() - t0) * 1000)
            print(f"{spec.name:28s} {len(rows):6d} {times[0]:9.0f} {statistics.median(times[1:] or times):10.0f}")


if __name__ == "__main__":
    main()
