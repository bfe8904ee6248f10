"""Fast development loop on the DEV worlds only: the pipeline's pure stages straight from the generated files.

build_export, train, predict and find_rings are the production functions; only the Neo4j round trip is skipped
(the files are read with polars as build-graph would load them), so a ring-step or model change is measured on all
dev worlds in minutes. Knobs are chosen here; the test suite is never read by this script (it refuses it).

    .venv/bin/python bench/dev_loop.py --worlds DIR [--transactions 200000] [--epochs 200] [--rings-only MODELS]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graphfraud.config import load_settings  # noqa: E402
from graphfraud.export import CB_SCHEMA, TX_SCHEMA, History, conform  # noqa: E402
from graphfraud.generate import generate, suite_worlds  # noqa: E402
from graphfraud.models import latest_model_dir, load_model  # noqa: E402
from graphfraud.predict import predict_heads_and_scores  # noqa: E402
from graphfraud.registry import ENTITIES  # noqa: E402
from graphfraud.ring_eval import load_truth, match_metrics, restrict_truth  # noqa: E402
from graphfraud.rings import RingConfig, find_rings, ring_risk  # noqa: E402
from graphfraud.train import train  # noqa: E402


def history_from_files(world: Path) -> History:
    """The world's files as export.History (what Neo4j would hold after build-graph)."""
    tx = pl.read_parquet(world / "transactions" / "*.parquet")
    rename = {e.column: e.name for e in ENTITIES if e.column in tx.columns}
    tx = tx.rename(rename).with_columns(
        ts=pl.col("timestamp").dt.epoch("ms"), declined=pl.col("status") == "declined",
        ecom=pl.col("channel") == "ecom")
    cb = pl.read_parquet(world / "chargebacks" / "*.parquet").with_columns(
        chargeback_ms=pl.col("reported_at").dt.epoch("ms")).join(tx, on="transaction_id")
    labels = pl.read_csv(world / "labels" / "labels.csv")
    conf = labels.select(pl.col("entity_type"), pl.col("entity_id").cast(pl.String),
                         label=(pl.col("label") == "fraud").cast(pl.Int8),
                         labelled_ms=pl.col("labelled_at").str.to_datetime(time_zone="UTC").dt.epoch("ms"))
    end = datetime.fromtimestamp((int(tx["ts"].max()) + 1) / 1000, tz=timezone.utc)
    return History(conform(tx, TX_SCHEMA), conform(cb, CB_SCHEMA), conf, end)


def default_cutoff(h: History) -> datetime:
    """As export.default_cutoff: midnight at 80% of the time span."""
    first = datetime.fromtimestamp(int(h.tx["ts"].min()) / 1000, tz=timezone.utc)
    t = first + (h.end - first) * 0.8
    return t.replace(hour=0, minute=0, second=0, microsecond=0) + (timedelta(days=1) if t.hour >= 12 else timedelta())


def node_auprc(world: Path, h: History, model_dir: Path, cfg: RingConfig) -> dict[str, float]:
    """AUPRC per node type of the risk scores as of the model's cut-off (evaluate's "gnn": rings included), on the entities not known as fraud then, against
    the planted truth (as evaluate.truth_labels: ring members with a ring payment before the cut-off are positives;
    members whose ring payments all come later are left out; everyone else is negative)."""
    cutoff = load_model(model_dir).cutoff
    cut = h.as_of(cutoff)
    raw = pl.read_parquet(world / "transactions" / "*.parquet").filter(
        pl.col("timestamp").dt.epoch("ms") < int(cutoff.timestamp() * 1000))
    fraud = raw.join(pl.read_parquet(world / "truth" / "fraud_transactions.parquet"), on="transaction_id")
    active = {(e.name, v) for e in ENTITIES if e.column in fraud.columns
              for v in fraud[e.column].drop_nulls().unique().to_list()}
    all_members = {k for _, keys in load_truth(world).values() for k in keys}
    members = all_members & active
    ap = {}
    heads, propagated = predict_heads_and_scores(load_model(model_dir), cut)
    cut_scores = ring_risk(cut, propagated, find_rings(cut, heads, cfg), cfg)  # as evaluate's "gnn"
    for t in cut.ids:
        keep = np.array([(t, i) in members or (t, i) not in all_members for i in cut.ids[t]])
        test = (cut.labels[t] != 1) & keep
        yy = np.array([(t, i) in members for i in cut.ids[t]])[test]
        ap[t] = average_precision_score(yy, cut_scores[t][test]) if 0 < yy.sum() < len(yy) else float("nan")
    return ap


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=Path, required=True, help="folder of dev worlds (generated when missing)")
    ap.add_argument("--suite", default="dev")
    ap.add_argument("--transactions", type=int, default=200_000)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=None, help="training seed (the settings' default when not given)")
    ap.add_argument("--only", nargs="*", help="world names")
    ap.add_argument("--models", type=Path, help="reuse models from this folder (<models>/<world>/<version>)")
    ap.add_argument("--ring-config", default="{}", help="JSON overrides of RingConfig")
    ap.add_argument("--ring-scores", choices=("heads", "propagated"), default="heads",
                    help="which scores the ring step reads (production: heads)")
    ap.add_argument("--extra", nargs="*", default=[], metavar="SCENARIO:SEED",
                    help="more dev worlds (dev_<scenario>_<seed>), e.g. card_present:1104; never a test seed")
    args = ap.parse_args()
    if args.suite != "dev":
        sys.exit("dev_loop tunes on the dev suite only")
    settings = load_settings(epochs=args.epochs, seed=args.seed)
    cfg = RingConfig(**json.loads(args.ring_config))
    rows = []
    test_seeds = {seed for _, _, seed in suite_worlds("test")}
    extra = [(f"dev_{sc}_{sd}", sc, int(sd)) for sc, sd in (x.split(":") for x in args.extra)]
    if any(seed in test_seeds for _, _, seed in extra):
        sys.exit("an extra world may not use a test seed")
    for name, scenario, seed in suite_worlds("dev") + extra:
        if args.only and name not in args.only:
            continue
        world = args.worlds / name
        if not (world / "truth" / "rings.csv").exists():
            generate(world, transactions=args.transactions, days=60, seed=seed, scenario=scenario)
        t0 = time.perf_counter()
        h = history_from_files(world)
        if args.models:
            model_dir = latest_model_dir(args.models / name)
        else:
            model_dir = train(h.as_of(default_cutoff(h)), dataclasses.replace(
                settings, model_dir=args.worlds / "_models" / name)).path
        ap = node_auprc(world, h, model_dir, cfg)
        whole = h.as_of(h.end)
        heads, propagated = predict_heads_and_scores(load_model(model_dir), whole)
        rings = find_rings(whole, heads if args.ring_scores == "heads" else propagated, cfg)
        truth = restrict_truth(load_truth(world), whole)
        m = match_metrics([r.keys() for r in rings], truth, [r.type for r in rings])
        rows.append((name, m))
        print(f"{name:22s} AP " + " ".join(f"{t[:2]}={v:.3f}" for t, v in ap.items()) + f" | R {m['recall']:.2f} P {m['precision']:.2f} F1 {m['f1']:.3f} type {m['type_accuracy']:.2f} "
              f"n {m['n_detected']:3d}/{m['n_truth']:3d}  "
              + " ".join(f"{k}:{v['recall']}" for k, v in m["by_type"].items() if v.get("n_truth"))
              + f"  ({time.perf_counter() - t0:.0f}s)", flush=True)
    if rows:
        n = len(rows)
        print(f"{'MEAN':22s} R {sum(m['recall'] for _, m in rows) / n:.3f} P {sum(m['precision'] for _, m in rows) / n:.3f}"
              f" F1 {sum(m['f1'] for _, m in rows) / n:.3f} type {sum(m['type_accuracy'] for _, m in rows) / n:.3f}"
              f"  min R {min(m['recall'] for _, m in rows):.2f}")


if __name__ == "__main__":
    main()
