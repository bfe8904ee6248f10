"""Benchmark: data-parallel training (`train --nproc N`, DistributedDataParallel) against one process on one world.

For each process count, trains the production model (train.train) on the world as of the default cut-off and prints
the training seconds and the GNN's AUPRC per node type on the entities not known as fraud at the cut-off, against the
planted truth (bench/dev_loop.node_auprc). Issue goal: card AUPRC within 0.02 of one process. No Neo4j: the world's
files are read as build-graph would load them.

    .venv/bin/python bench/bench_ddp.py --world /tmp/w5 [--transactions 200000] [--nproc 1 2] [--batch-size 0] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dev_loop import default_cutoff, history_from_files, node_auprc  # noqa: E402

from graphfraud.config import load_settings  # noqa: E402
from graphfraud.generate import generate  # noqa: E402
from graphfraud.train import train  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--world", type=Path, required=True, help="generator output folder (generated when missing)")
    p.add_argument("--transactions", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=5, help="world seed, when generating")
    p.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    p.add_argument("--batch-size", type=int, default=0, help="0: full-batch; N: mini-batches of N seeds")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if not (args.world / "truth" / "rings.csv").exists():
        generate(args.world, transactions=args.transactions, days=60, seed=args.seed)
    h = history_from_files(args.world)
    export = h.as_of(default_cutoff(h))
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.nproc:
            settings = load_settings(train_nproc=n, train_batch_size=args.batch_size, model_dir=Path(tmp) / str(n))
            t = time.perf_counter()
            result = train(export, settings)
            seconds = time.perf_counter() - t
            runs.append({"nproc": n, "train_s": round(seconds, 1), "epochs_run": result.metrics["epochs_run"],
                         "auprc": {k: round(v, 4) for k, v in node_auprc(args.world, h, result.path).items()}})
            if not args.json:
                print(f"nproc {n}: {seconds:7.1f} s, {result.metrics['epochs_run']} epochs, AUPRC "
                      + " ".join(f"{k}={v:.4f}" for k, v in runs[-1]["auprc"].items()), flush=True)
    base = runs[0]
    out = {"world": str(args.world), "batch_size": args.batch_size, "runs": runs,
           "card_auprc_diff": {r["nproc"]: round(r["auprc"]["card"] - base["auprc"]["card"], 4) for r in runs[1:]},
           "time_ratio": {r["nproc"]: round(r["train_s"] / base["train_s"], 2) for r in runs[1:]}}
    print(json.dumps(out, indent=2) if args.json else
          f"card AUPRC difference vs nproc {base['nproc']}: {out['card_auprc_diff']}  time ratio: {out['time_ratio']}")


if __name__ == "__main__":
    main()
