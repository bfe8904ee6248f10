"""Benchmark at scale: a generated history of N transactions over 60 days, loaded with `build-graph --bulk`, and,
on the same file set in the same run, the UNWIND path on a slice of at most 1M transactions (the first days); then,
on the bulk-loaded graph, the export against raw Bolt streaming of the same rows, training, scoring and one nightly
day of N/20 new transactions.

The history is every day but the last three; the night loads those three days' payments (about N/20) as one day's
file (a late batch), with the usual night's settings (no scheduled retrain, no drift retrain).
Runs on its own private Neo4j (own state directory and ports, started and stopped here), never the user's.
Prints JSON: transactions, bulk_rows_per_s, unwind_rows_per_s (rows read per second, the same ledger on both),
bulk_over_unwind, bulk_s, bulk_phases_s (validate, write_files, stop_server, import, start_server, schema),
unwind_s, unwind_rows, export_rows_per_s (export_graph: transactions, chargebacks, labels, aggregation and
features; the transactions read column-wise, one record per time window), raw_bolt_rows_per_s (the same transaction
rows streamed one record each, cypher/bench/transaction_rows, records only iterated), export_over_raw, train_s
(`graphfraud train`'s code: export, features, fit, save; --train-batch-size 0 is full-batch), score_s (export,
predict, rings, write-back), nightly_s, nightly_rows, peak_rss_gib {python, neo4j, together} (neo4j: the server's peak
after the import; the importer's own JVM is not counted; together: the largest sum of the two, sampled each second
over the whole run, the server that ran the UNWIND slice before the import included).
A phase that fails ends the run with the figures measured before it and failed: {phase, error}, exit status 1; the
figures also go to stderr as each phase ends.

    .venv/bin/python bench/bench_scale.py --transactions 1000000 [--train-batch-size N] [--load-only] [--json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
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
from graphfraud.demo import history_files, sample_days  # noqa: E402
from graphfraud.export import export_graph, time_range, utc  # noqa: E402
from graphfraud.generate import generate  # noqa: E402
from graphfraud.ingest import build_graph  # noqa: E402
from graphfraud.nightly import run_night  # noqa: E402
from graphfraud.scoring import score_graph  # noqa: E402
from graphfraud.train import train  # noqa: E402

UNWIND_MAX = 1_000_000


def status_gib(pid: int | None, field: str, missing: float = float("nan")) -> float:
    """A memory field of /proc/<pid>/status (VmRSS: now, VmHWM: peak), GiB; `missing` when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 2**20
    except (OSError, TypeError):
        pass
    return missing


def neo4j_peak_gib(settings) -> float:
    """Peak resident memory (VmHWM) of the private server's JVM, GiB."""
    return status_gib(neo4j_server._read_pid(settings), "VmHWM")


class JointPeak:
    """Samples every `every` seconds, in a daemon thread, this process's resident memory plus the private server's
    (its pid read anew each time: the bulk load restarts it) and keeps the largest sum: the two processes' peak
    together, which the sum of their separate peaks (VmHWM) overstates when they fall at different times."""

    def __init__(self, settings, every: float = 1.0) -> None:
        self.settings, self.every, self.gib = settings, every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            server = neo4j_server._read_pid(self.settings)
            self.gib = max(self.gib, status_gib(os.getpid(), "VmRSS", 0.0) + status_gib(server, "VmRSS", 0.0))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


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


def night_input(world: Path, days: list, out: Path) -> Path:
    """One nightly input folder whose single day (the last of `days`) holds all `days`' transactions and
    chargebacks."""
    for kind in ("transactions", "chargebacks"):
        files = [f for d in days for f in (world / kind).glob(f"{d.isoformat()}.parquet")]
        (out / kind).mkdir(parents=True, exist_ok=True)
        if files:
            pl.concat([pl.read_parquet(f) for f in files]).write_parquet(out / kind / f"{days[-1].isoformat()}.parquet")
    return out


def export_against_bolt(g: Graph) -> dict[str, float]:
    """Rows per second of the full export (export_graph) and of merely iterating the same transactions query's
    rows streamed one record each over Bolt (the plain way), on the whole graph, after one untimed pass that warms
    Neo4j's page cache for both."""
    _, last, n = time_range(g)
    cutoff = last + dt.timedelta(milliseconds=1)
    sum(1 for _ in g.stream("bench/transaction_rows", {"cutoff": utc(cutoff)}))  # warm the page cache for both
    t = time.perf_counter()
    raw = sum(1 for _ in g.stream("bench/transaction_rows", {"cutoff": utc(cutoff)}))
    raw_s = time.perf_counter() - t
    t = time.perf_counter()
    export = export_graph(g, cutoff)
    export_s = time.perf_counter() - t
    assert raw == n and sum(df.height for df in export.edges.values()) > 0
    return {"export_rows_per_s": round(n / export_s), "raw_bolt_rows_per_s": round(raw / raw_s),
            "export_over_raw": round(raw_s / export_s, 2), "export_s": round(export_s, 1), "raw_bolt_s": round(raw_s, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transactions", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--json", action="store_true", help="print only the JSON")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    ap.add_argument("--load-only", action="store_true",
                    help="stop after the UNWIND slice, the bulk load and the export against raw Bolt: their figures only")
    ap.add_argument("--train-batch-size", type=int, default=None,
                    help="seed cards per mini-batch (0: full-batch; default: the settings')")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="graphfraud-scale-"))
    log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))
    settings = private_settings(load_settings(), root / "neo4j-state")
    settings = dataclasses.replace(settings, model_dir=root / "models", retrain_every_days=0, drift_psi=1e9,
                                   **({} if args.train_batch_size is None else
                                      {"train_batch_size": args.train_batch_size}))
    world = root / "world"
    if not (world / "transactions").is_dir():
        log(f"generating {args.transactions:,} transactions over {args.days} days ...")
        generate(world, transactions=args.transactions, days=args.days, seed=5)
    days = sample_days(world)
    night = days[-3:]  # about N/20 of the payments, loaded in one night
    history = history_files(world, night[0])
    out: dict = {"transactions": args.transactions}
    phase = "start"
    neo4j_server.start(settings)
    joint = JointPeak(settings)
    joint.start()
    try:
        with Graph.connect(settings) as g:
            files, rows = unwind_slice(world, min(UNWIND_MAX, args.transactions))
            g.wipe()
            phase = "unwind"
            log(f"UNWIND load of {rows:,} transactions ...")
            t = time.perf_counter()
            unwind = build_graph(g, files, settings.batch_size, root / "quarantine")
            unwind_s = time.perf_counter() - t
            log(f"  {unwind.rows_read:,} rows in {unwind_s:.1f} s")
            g.wipe()
            phase = "bulk"
            log("bulk load of the history ...")
            t = time.perf_counter()
            bulk = bulk_build_graph(g, history, root / "quarantine")
            bulk_s = time.perf_counter() - t
            size = g.read("admin/size")[0]
            log(f"  {bulk.rows_read:,} rows in {bulk_s:.1f} s; {size['nodes']:,} nodes, "
                f"{size['relationships']:,} relationships; phases (s): "
                + ", ".join(f"{k} {v:.1f}" for k, v in bulk.phases.items()))
            bulk_rate, unwind_rate = bulk.rows_read / bulk_s, unwind.rows_read / unwind_s
            out.update({"bulk_rows": bulk.rows_read, "bulk_s": round(bulk_s, 1), "bulk_rows_per_s": round(bulk_rate),
                        "bulk_phases_s": {k: round(v, 1) for k, v in bulk.phases.items()},
                        "unwind_rows": unwind.rows_read, "unwind_s": round(unwind_s, 1),
                        "unwind_rows_per_s": round(unwind_rate), "bulk_over_unwind": round(bulk_rate / unwind_rate, 2)})
            phase = "export"
            log("export against raw Bolt ...")
            out.update(export_against_bolt(g))
            log(f"  export {out['export_rows_per_s']:,} rows/s, raw Bolt {out['raw_bolt_rows_per_s']:,} rows/s")
            if not args.load_only:
                phase = "train"
                log("train ...")
                t = time.perf_counter()
                model = train(g, settings)
                out["train_s"] = round(time.perf_counter() - t, 1)
                out["train_batch_size"] = settings.train_batch_size
                log(f"  {out['train_s']} s")
        if not args.load_only:
            phase = "score"
            log("score ...")
            t = time.perf_counter()
            score_graph(settings, model.path)
            out["score_s"] = round(time.perf_counter() - t, 1)
            (model.path / "nightly.json").write_text(json.dumps({"date": (night[0] - dt.timedelta(days=1)).isoformat()}))
            phase = "nightly"
            log(f"nightly day {night[-1]} ({', '.join(d.isoformat() for d in night)}) ...")
            t = time.perf_counter()
            summary = run_night(settings, night[-1], night_input(world, night, root / "night"), root / "reports")
            out["nightly_s"] = round(time.perf_counter() - t, 1)
            out["nightly_rows"] = summary["load"]["rows_read"]
            out["nightly_stage_s"] = summary["stage_seconds"]
    except Exception as e:  # a run of an hour or more keeps what it measured before the phase that failed
        out["failed"] = {"phase": phase, "error": f"{type(e).__name__}: {e}"}
    finally:
        joint.stop()
        out["peak_rss_gib"] = {"python": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
                               "neo4j": round(neo4j_peak_gib(settings), 2), "together": round(joint.gib, 2)}
        neo4j_server.stop(settings)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(out, indent=None if args.json else 2))
    if "failed" in out:
        sys.exit(1)


if __name__ == "__main__":
    main()
