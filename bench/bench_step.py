"""Benchmark: seconds per GNN training step and per evaluation pass on one world, ours against a reference in the
same process. A proxy for training: features without the label column, a squared-output loss, plain Adam.

--compare pyg (default): PyG's own HeteroConv is the reference for model.MeanHeteroConv, which computes the same
function with each destination's root weights summed first (both over the same MeanSAGEConv modules, so only the
root products differ).
--compare heap: the same model with glibc's default malloc (every big tensor a fresh mmap, handed back on free) is
the reference for training inside heap.reuse_freed_memory, as fit_members does; also prints each variant's peak
resident memory (VmHWM, reset before each variant).

The world's files are read as build-graph would load them (bench/dev_loop.history_from_files; no Neo4j); one Scorer
of the production configuration runs `steps` full-batch steps (forward, backward, Adam) and `steps` evaluation
passes per round, the two variants alternating for `rounds` rounds from the same initial weights.

    .venv/bin/python bench/bench_step.py --world /tmp/scale1m/world [--compare pyg|heap] [--rounds 3] [--steps 5] [--json]
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

from graphfraud import heap  # noqa: E402
from graphfraud.config import load_settings  # noqa: E402
from graphfraud.features import FeatureStats, model_inputs  # noqa: E402
from graphfraud.model import ModelConfig, Scorer, adjacency  # noqa: E402


def peak_rss_gib() -> float:
    """This process's peak resident memory since the last reset_peak_rss() (VmHWM), in GiB."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 2**20


def reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM := current resident memory


def time_variant(x: dict, adj: dict, cfg: ModelConfig, reference: bool, steps: int,
                 compare: str = "pyg") -> tuple[float, float]:
    """(seconds per training step, seconds per evaluation pass) of one Scorer; `reference`: PyG's HeteroConv
    (compare pyg) or glibc's default malloc (compare heap; ours reuses freed memory)."""
    with heap.reuse_freed_memory(compare == "heap" and not reference):
        return _time_steps(x, adj, cfg, compare == "pyg" and reference, steps)


def _time_steps(x: dict, adj: dict, cfg: ModelConfig, pyg: bool, steps: int) -> tuple[float, float]:
    torch.manual_seed(0)
    model = Scorer(cfg)
    if pyg:
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
    p.add_argument("--compare", choices=("pyg", "heap"), default="pyg",
                   help="reference: PyG's HeteroConv (pyg) or glibc's default malloc (heap)")
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
    peak: dict[str, float] = {}
    for r in range(args.rounds):
        for name in (list(runs) if r % 2 == 0 else list(runs)[::-1]):  # alternate which goes first
            reset_peak_rss()
            runs[name].append(time_variant(x, adj, cfg, name == "reference", args.steps, args.compare))
            peak[name] = max(peak.get(name, 0.0), peak_rss_gib())
    best = {k: (min(a for a, _ in v), min(b for _, b in v)) for k, v in runs.items()}
    result = {"world": str(args.world), "compare": args.compare, "nodes": sum(v.shape[0] for v in x.values()),
              "edges": sum(int(e.shape[1]) for e in edge_index.values()),
              "step_s": {k: [round(a, 3) for a, _ in v] for k, v in runs.items()},
              "eval_s": {k: [round(b, 3) for _, b in v] for k, v in runs.items()},
              "step_ratio_best": round(best["ours"][0] / best["reference"][0], 3),
              "eval_ratio_best": round(best["ours"][1] / best["reference"][1], 3),
              "peak_rss_gib": {k: round(v, 2) for k, v in peak.items()}}
    if args.json:
        print(json.dumps(result))
        return
    print(f"--compare {args.compare}: {result['nodes']:,} nodes, {result['edges']:,} edges, {args.rounds} rounds of {args.steps} steps")
    for k in runs:
        print(f"  {k:10s} step {result['step_s'][k]} s   eval {result['eval_s'][k]} s   "
              f"peak {result['peak_rss_gib'][k]} GiB")
    print(f"  ours / reference (best of rounds): step {result['step_ratio_best']}x, eval {result['eval_ratio_best']}x")


if __name__ == "__main__":
    main()
