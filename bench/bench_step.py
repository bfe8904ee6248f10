"""Benchmark: seconds per GNN training step and per evaluation pass on one world, against PyG's own HeteroConv in
the same process (the reference for model.MeanHeteroConv, which computes the same function with each destination's
root weights summed first; both over the same MeanSAGEConv modules, so only the root products differ). A proxy for
training: features without the label column, a squared-output loss, plain Adam.

The world's files are read as build-graph would load them (bench/dev_loop.history_from_files; no Neo4j); one Scorer
of the production configuration runs `steps` full-batch steps (forward, backward, Adam) and `steps` evaluation
passes per round, the two variants alternating for `rounds` rounds from the same initial weights.

    .venv/bin/python bench/bench_step.py --world /tmp/scale1m/world [--rounds 3] [--steps 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch_geometric.nn import HeteroConv

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dev_loop import history_from_files  # noqa: E402

from graphfraud.config import load_settings  # noqa: E402
from graphfraud.features import FeatureStats, model_inputs  # noqa: E402
from graphfraud.model import ModelConfig, Scorer, adjacency  # noqa: E402


def time_variant(x: dict, adj: dict, cfg: ModelConfig, reference: bool, steps: int) -> tuple[float, float]:
    """(seconds per training step, seconds per evaluation pass) of one Scorer; `reference`: PyG's HeteroConv."""
    torch.manual_seed(0)
    model = Scorer(cfg)
    if reference:
        for conv in model.encoder.convs:
            conv.__class__ = HeteroConv  # same submodules and parameters, PyG's forward
    opt = torch.optim.Adam(model.parameters(), lr=0.01)

    def step() -> None:
        model.train()
        opt.zero_grad()
        out = model(x, adj)
        sum((v ** 2).mean() for v in out.values()).backward()
        opt.step()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    t1 = time.perf_counter()
    model.eval()
    with torch.no_grad():
        for _ in range(steps):
            model(x, adj)
    return (t1 - t0) / steps, (time.perf_counter() - t1) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--world", type=Path, required=True, help="a generated world's folder")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    settings = load_settings()
    history = history_from_files(args.world)
    export = history.as_of(history.end)
    x, edge_index = model_inputs(export, FeatureStats.fit(export.features))
    adj = adjacency(edge_index, {t: v.shape[0] for t, v in x.items()})
    cfg = ModelConfig(list(x), list(edge_index), {t: v.shape[1] for t, v in x.items()}, hidden=settings.hidden,
                      layers=settings.layers, dropout=settings.dropout)
    runs: dict[str, list[tuple[float, float]]] = {"reference": [], "ours": []}
    for r in range(args.rounds):
        for name in (list(runs) if r % 2 == 0 else list(runs)[::-1]):  # alternate which goes first
            runs[name].append(time_variant(x, adj, cfg, name == "reference", args.steps))
    best = {k: (min(a for a, _ in v), min(b for _, b in v)) for k, v in runs.items()}
    result = {"world": str(args.world), "nodes": sum(v.shape[0] for v in x.values()),
              "edges": sum(int(e.shape[1]) for e in edge_index.values()),
              "step_s": {k: [round(a, 3) for a, _ in v] for k, v in runs.items()},
              "eval_s": {k: [round(b, 3) for _, b in v] for k, v in runs.items()},
              "step_ratio_best": round(best["ours"][0] / best["reference"][0], 3),
              "eval_ratio_best": round(best["ours"][1] / best["reference"][1], 3)}
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['nodes']:,} nodes, {result['edges']:,} edges, {args.rounds} rounds of {args.steps} steps")
    for k in runs:
        print(f"  {k:10s} step {result['step_s'][k]} s   eval {result['eval_s'][k]} s")
    print(f"  ours / reference (best of rounds): step {result['step_ratio_best']}x, eval {result['eval_ratio_best']}x")


if __name__ == "__main__":
    main()
