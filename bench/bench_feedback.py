"""Benchmark: does the analysts' loop pay? A generated world replayed night by night, with and without verdicts.

Both arms load the same history (every day before the first replayed night), start from the same first model and
run the production nightly job (`nightly.run_night`: load, retrain on schedule, score, rings, write-back) on each of
the last --nights days. In the feedback arm a simulated analyst then reviews the top --k unreviewed rings of the
night (the `review_queue` query) and records a verdict on each (`verdicts.record`), answering from the world's
truth, wrong with probability --error: a ring is fraud when at least half of its cards are ring members in the
truth. The next nights train on these verdicts, hold back cleared rings (verdicts.hold_back_cleared) and new rings
like those the analyst cleared (triage.py: only once there are settings.triage_min_each ring verdicts of each kind,
80 by default, more than two weeks give; GRAPHFRAUD_TRIAGE_MIN_EACH=1 measures it as the runs before that default).

Per night and arm it prints:
- the rings raised for the first time that night (ids not current the night before) and their precision, judged as
  the analyst judges (the primary figure), and by Jaccard >= 0.5 with a truth ring (as `evaluate`);
- card AUPRC of the written scores against the truth, on the same cards in both arms: cards with a payment by then,
  not known as fraud from chargebacks or labels by then, and not judged by the analyst in the feedback arm (a card
  the analyst confirmed would score high in one arm for free); ring members whose ring payments all come later are
  left out (as evaluate.truth_labels);
- in the feedback arm, rings an analyst cleared that were raised again without a material change (no growth by
  settings.reraise_growth of the judged size and no new member known as fraud): the goal is none; those the job
  raised again after such a change (verdicts.hold_back_cleared), with how many of them were fraud; and the new rings
  triage held back, with how many of them were fraud (its cost: fraud rings an analyst was not shown).
Summary: precision of newly raised rings over the last week, both arms, and mean card AUPRC.
Runs on its own private Neo4j (own state dir and ports), started and stopped here, like `graphfraud benchmark`.

    .venv/bin/python bench/bench_feedback.py [--transactions 200000] [--nights 14] [--k 10] [--error 0.05]
        [--seed 301] [--scenario default] [--out DIR] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path

import polars as pl
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graphfraud import neo4j_server  # noqa: E402
from graphfraud.benchmark import private_settings  # noqa: E402
from graphfraud.config import load_settings  # noqa: E402
from graphfraud.db import Graph  # noqa: E402
from graphfraud.demo import history_files, sample_days  # noqa: E402
from graphfraud.export import export_graph  # noqa: E402
from graphfraud.generate import generate  # noqa: E402
from graphfraud.ingest import build_graph  # noqa: E402
from graphfraud.models import latest_model_dir, load_model  # noqa: E402
from graphfraud.nightly import run_night  # noqa: E402
from graphfraud.predict import predict_heads_and_scores  # noqa: E402
from graphfraud.queries import run_query  # noqa: E402
from graphfraud.registry import CARD, ENTITIES  # noqa: E402
from graphfraud.ring_eval import load_truth  # noqa: E402
from graphfraud.rings import jaccard  # noqa: E402
from graphfraud.train import train  # noqa: E402
from graphfraud.verdicts import Verdict, known_fraud_keys, record  # noqa: E402
from graphfraud.writeback import previous_rings  # noqa: E402

ARMS = ("without", "with")


class World:
    """The world's truth as the benchmark needs it: ring members, when each entity first paid, when each ring
    member first made a ring payment, and when each card became known as fraud from chargebacks or labels."""

    def __init__(self, root: Path):
        self.truth = load_truth(root)
        self.members = {k for _, keys in self.truth.values() for k in keys}
        tx = pl.read_parquet(root / "transactions" / "*.parquet").with_columns(ms=pl.col("timestamp").dt.epoch("ms"))
        cols = [e for e in ENTITIES if e.column in tx.columns]
        self.first_ms = {(e.name, i): ms for e in cols for i, ms in tx.group_by(e.column).agg(
            pl.col("ms").min()).drop_nulls().iter_rows()}
        fraud = tx.join(pl.read_parquet(root / "truth" / "fraud_transactions.parquet"), on="transaction_id")
        self.first_fraud_ms = {(e.name, i): ms for e in cols for i, ms in fraud.group_by(e.column).agg(
            pl.col("ms").min()).drop_nulls().iter_rows()}
        cb = pl.read_parquet(root / "chargebacks" / "*.parquet").join(tx, on="transaction_id").group_by(
            pl.col("card_id")).agg(pl.col("reported_at").dt.epoch("ms").min())
        labels = pl.read_csv(root / "labels" / "labels.csv", schema_overrides={"entity_id": pl.String}).filter(
            (pl.col("entity_type") == CARD) & (pl.col("label") == "fraud")).select(
            pl.col("entity_id"), pl.col("labelled_at").str.to_datetime(time_zone="UTC").dt.epoch("ms"))
        self.known_ms: dict[str, int] = {}
        for card, ms in list(cb.iter_rows()) + list(labels.iter_rows()):
            self.known_ms[card] = min(ms, self.known_ms.get(card, ms))

    def analyst_says_fraud(self, members: frozenset) -> bool:
        cards = [k for k in members if k[0] == CARD]
        return bool(cards) and sum(k in self.members for k in cards) >= len(cards) / 2

    def matches_truth(self, members: frozenset, end_ms: int) -> bool:
        return any(jaccard(members, {k for k in keys if self.first_ms.get(k, end_ms) < end_ms}) >= 0.5
                   for _, keys in self.truth.values())


def night_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), dtime(0), tzinfo=timezone.utc)


def run_arm(arm: str, settings, world_dir: Path, world: World, days: list[date], first_model: Path, k: int,
            error: float, seed: int, out: Path, log) -> tuple[list[dict], set[str]]:
    """One arm: load the history, install the shared first model, replay the nights. Returns per-night figures
    and the cards the analyst judged."""
    settings = dataclasses.replace(settings, model_dir=out / arm / "models")
    shutil.copytree(first_model, settings.models_dir / first_model.name)
    rng = random.Random(seed)
    with Graph.connect(settings) as graph:
        graph.wipe()
        build_graph(graph, history_files(world_dir, days[0]), settings.batch_size, out / arm / "quarantine")
    nights, cleared, judged = [], {}, set()
    growth = settings.reraise_growth
    for n, day in enumerate(days, start=1):
        end = night_end(day)
        end_ms = int(end.timestamp() * 1000)
        t0 = time.perf_counter()
        summary = run_night(settings, day, world_dir, out / arm / "reports")
        new = [r["ring_id"] for r in summary["ring_changes"]["new"]]
        with Graph.connect(settings) as graph:
            current = previous_rings(graph)
            export = export_graph(graph, end)
            _, scores = predict_heads_and_scores(load_model(latest_model_dir(settings.models_dir)), export)
            known = known_fraud_keys(export)
            # cleared rings raised again (same id, or Jaccard >= 0.5 with the members the verdict covered), checked
            # here on the rings written, independently of verdicts.hold_back_cleared
            reraised = []
            for cid, judged_keys in cleared.items():
                for rid, keys in current.items():
                    if rid == cid or jaccard(keys, judged_keys) >= 0.5:
                        added = keys - judged_keys
                        material = len(added) >= growth * max(1, len(judged_keys)) or bool(added & known)
                        reraised.append({"cleared": cid, "ring_id": rid, "new_members": len(added),
                                         "material": material})
            reviewed = []
            if arm == "with":
                queue = run_query(graph, "review_queue", {"limit": k})[1]
                verdicts = []
                for row in queue:
                    keys = current[row["ring_id"]]
                    truth = world.analyst_says_fraud(keys)
                    says = truth if rng.random() >= error else not truth
                    verdicts.append(Verdict("fraud" if says else "legit", ring_id=row["ring_id"], analyst="bench",
                                            at=end - timedelta(seconds=1)))
                    reviewed.append({"ring_id": row["ring_id"], "verdict": verdicts[-1].verdict, "right": says == truth})
                    judged |= {i for t, i in keys if t == CARD}
                    if not says:
                        cleared[row["ring_id"]] = keys
                    else:
                        cleared.pop(row["ring_id"], None)
                if verdicts:
                    record(graph, settings, verdicts)
        held = summary.get("verdicts", {}).get("held_back", [])
        triaged = [h for h in held if h.get("reason") == "triage"]
        again = [r for r in summary.get("verdicts", {}).get("reraised", []) if r["ring_id"] in current]
        night = {
            "night": n, "date": day.isoformat(), "seconds": round(time.perf_counter() - t0, 1),
            "retrained": summary["retrained"], "model": summary["model_version"], "rings": len(current),
            "new_rings": len(new), "new_fraud": sum(world.analyst_says_fraud(current[r]) for r in new if r in current),
            "new_matching_truth": sum(world.matches_truth(current[r], end_ms) for r in new if r in current),
            "held_back": len(held),
            # new rings triage held back (triage.py), and how many of them were fraud: what it cost
            "triage_held_back": len(triaged),
            "triage_held_back_fraud": sum(world.analyst_says_fraud(frozenset(map(tuple, h["members"]))) for h in triaged),
            # cleared rings the job raised again because they grew or a member known as fraud joined, and how many
            # of them are fraud by the truth
            "raised_again_changed": len(again),
            "raised_again_changed_fraud": sum(world.analyst_says_fraud(current[r["ring_id"]]) for r in again),
            "reviewed": len(reviewed), "reviewed_fraud": sum(r["verdict"] == "fraud" for r in reviewed),
            "analyst_errors": sum(not r["right"] for r in reviewed),
            "reraised_without_change": sum(not r["material"] for r in reraised),
            "reraised_after_change": sum(r["material"] for r in reraised),
            "_cards": export.ids[CARD], "_scores": scores[CARD].tolist(),
        }
        nights.append(night)
        log(f"{arm:7s} night {n:2d} {day}: {night['rings']} rings, {night['new_rings']} new "
            f"({night['new_fraud']} fraud), held back {night['held_back']}, reviewed {night['reviewed']}, "
            f"re-raised without change {night['reraised_without_change']} ({night['seconds']} s)")
    return nights, judged


def card_auprc(world: World, night: dict, exclude: set[str]) -> float | None:
    """AUPRC of one night's card scores on the cards shared by both arms' test sets (see the module docstring)."""
    end_ms = int(night_end(date.fromisoformat(night["date"])).timestamp() * 1000)
    y, s = [], []
    for card, score in zip(night["_cards"], night["_scores"]):
        key = (CARD, card)
        if card in exclude or world.known_ms.get(card, end_ms) < end_ms:
            continue
        if key in world.members and world.first_fraud_ms.get(key, end_ms) >= end_ms:
            continue  # a ring member with no ring payment yet: nothing to find
        y.append(key in world.members)
        s.append(score)
    return round(float(average_precision_score(y, s)), 4) if 0 < sum(y) < len(y) else None


def precision(nights: list[dict], field: str) -> float | None:
    new = sum(n["new_rings"] for n in nights)
    return round(sum(n[field] for n in nights) / new, 4) if new else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--transactions", type=int, default=200_000)
    p.add_argument("--days", type=int, default=60, help="days of the world; the last --nights are replayed")
    p.add_argument("--nights", type=int, default=14)
    p.add_argument("--k", type=int, default=10, help="rings the analyst reviews each night")
    p.add_argument("--error", type=float, default=0.05, help="share of verdicts the analyst gets wrong")
    p.add_argument("--seed", type=int, default=301, help="world seed (outside the dev and test suites' seeds)")
    p.add_argument("--scenario", default="default")
    p.add_argument("--out", type=Path, help="keep the world, models and reports here (default: a temporary folder)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args()
    log = (lambda m: print(m, file=sys.stderr, flush=True)) if args.json else (lambda m: print(m, flush=True))
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        world_dir = out / "world"
        t0 = time.perf_counter()
        if not (world_dir / "truth" / "rings.csv").exists():
            generate(world_dir, transactions=args.transactions, days=args.days, seed=args.seed,
                     scenario=args.scenario)
        world = World(world_dir)
        days = sample_days(world_dir)[-args.nights:]
        settings = private_settings(load_settings(), out / "neo4j-state")
        neo4j_server.start(settings)
        try:
            with Graph.connect(settings) as graph:  # the first model, shared by both arms
                graph.wipe()
                build_graph(graph, history_files(world_dir, days[0]), settings.batch_size, out / "quarantine")
                first = train(graph, settings, night_end(days[0] - timedelta(days=1)), out / "first",
                              version="bench-first").path
            (first / "nightly.json").write_text(json.dumps({"date": (days[0] - timedelta(days=1)).isoformat()}))
            log(f"history to {days[0]} loaded and first model trained ({time.perf_counter() - t0:.0f} s)")
            runs = {arm: run_arm(arm, settings, world_dir, world, days, first, args.k, args.error, args.seed, out,
                                 log) for arm in ARMS}
        finally:
            neo4j_server.stop(settings)
    judged = runs["with"][1]
    result = {"transactions": args.transactions, "nights": args.nights, "k": args.k, "error": args.error,
              "seed": args.seed, "scenario": args.scenario, "triage_min_each": settings.triage_min_each, "arms": {}}
    for arm in ARMS:
        nights = runs[arm][0]
        for night in nights:
            night["card_auprc"] = card_auprc(world, night, judged)
        last_week = nights[-7:]
        aps = [n["card_auprc"] for n in nights if n["card_auprc"] is not None]
        result["arms"][arm] = {
            "nights": [{k: v for k, v in n.items() if not k.startswith("_")} for n in nights],
            "last_week_new_rings": sum(n["new_rings"] for n in last_week),
            "last_week_new_ring_precision": precision(last_week, "new_fraud"),
            "last_week_new_ring_precision_jaccard": precision(last_week, "new_matching_truth"),
            "card_auprc_mean": round(sum(aps) / len(aps), 4) if aps else None,
            "reraised_without_change": sum(n["reraised_without_change"] for n in nights),
            "triage_held_back": sum(n["triage_held_back"] for n in nights),
            "triage_held_back_fraud": sum(n["triage_held_back_fraud"] for n in nights),
            "raised_again_changed": sum(n["raised_again_changed"] for n in nights),
            "raised_again_changed_fraud": sum(n["raised_again_changed_fraud"] for n in nights),
        }
    w, wo = result["arms"]["with"], result["arms"]["without"]
    gain = (w["last_week_new_ring_precision"] or 0) - (wo["last_week_new_ring_precision"] or 0)
    result["goals"] = {
        "last_week_precision_gain": round(gain, 4), "precision_gain_met": gain >= 0.15,
        "reraised_without_change": w["reraised_without_change"],
        "card_auprc_not_lower": (w["card_auprc_mean"] or 0) >= (wo["card_auprc_mean"] or 0),
        "seconds": round(time.perf_counter() - t0, 1)}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{'night':>5} | {'without: new (fraud) AUPRC':>28} | {'with: new (fraud) AUPRC reviewed held':>40}")
    for a, b in zip(wo["nights"], w["nights"]):
        print(f"{a['night']:5d} | {a['new_rings']:6d} ({a['new_fraud']:3d}) {a['card_auprc'] or float('nan'):8.4f}      | "
              f"{b['new_rings']:6d} ({b['new_fraud']:3d}) {b['card_auprc'] or float('nan'):8.4f} "
              f"{b['reviewed']:8d} {b['held_back']:4d}")
    print(f"last week: new-ring precision {wo['last_week_new_ring_precision']} without, "
          f"{w['last_week_new_ring_precision']} with (gain {gain:+.3f}, goal >= +0.15); "
          f"cleared rings re-raised without change: {w['reraised_without_change']} (goal 0); "
          f"mean card AUPRC {wo['card_auprc_mean']} without, {w['card_auprc_mean']} with (goal: not lower); "
          f"new rings held back by triage: {w['triage_held_back']}, of them fraud: {w['triage_held_back_fraud']}; "
          f"cleared rings raised again after a change: {w['raised_again_changed']}, of them fraud: "
          f"{w['raised_again_changed_fraud']}")


if __name__ == "__main__":
    main()
