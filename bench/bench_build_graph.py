"""Benchmark: build-graph against Neo4j's own LOAD CSV ... CALL { ... } IN TRANSACTIONS on one transactions file.

Both load the same CSV (>= 1M rows by default) into an EMPTY database with the same schema and constraints,
one after the other in one run (wiped in between); prints both rates (rows/s), their ratio and the graph counts.

    GRAPHFRAUD_STATE_DIR=... GRAPHFRAUD_BOLT_PORT=... .venv/bin/python bench/bench_build_graph.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graphfraud.config import load_settings  # noqa: E402
from graphfraud.db import Graph  # noqa: E402
from graphfraud.ingest import build_graph  # noqa: E402


def make_csv(path: Path, rows: int, seed: int = 5) -> None:
    """A one-day transactions CSV of the input contract: heavy-tailed cards and merchants, optional device/IP."""
    rng = np.random.default_rng(seed)
    n_cards, n_merchants = max(rows // 5, 1), max(rows // 50, 1)
    n_devices, n_ips = max(rows // 6, 1), max(rows // 8, 1)
    card = np.minimum(rng.zipf(1.3, rows), n_cards) - 1 + rng.integers(0, n_cards, rows) * (rng.random(rows) < 0.7)
    card %= n_cards
    merchant = (np.minimum(rng.zipf(1.2, rows), n_merchants) - 1 + rng.integers(0, n_merchants, rows)
                * (rng.random(rows) < 0.5)) % n_merchants
    ecom = rng.random(rows) < 0.6
    device = np.where(ecom, rng.integers(0, n_devices, rows), -1)
    ip = np.where(ecom | (rng.random(rows) < 0.2), rng.integers(0, n_ips, rows), -1)
    mccs = np.array(["5411", "5812", "5999", "4111", "5732", "7995"])
    countries = np.array(["FR", "DE", "GB", "ES", "IT", "US", "NL"])
    seconds = np.sort(rng.integers(0, 86_400, rows))
    ts = (np.datetime64("2026-01-05T00:00:00") + seconds.astype("timedelta64[s]"))
    df = pl.DataFrame({
        "transaction_id": [f"tx{i:09d}" for i in range(rows)],
        "timestamp": np.datetime_as_string(ts, unit="s"),
        "card_id": [f"card{c:07d}" for c in card],
        "merchant_id": [f"m{m:06d}" for m in merchant],
        "device_id": [f"dev{d:07d}" if d >= 0 else None for d in device],
        "ip": [f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}" if i >= 0 else None for i in ip],
        "amount": np.round(rng.lognormal(3.5, 1.0, rows), 2) + 0.01,
        "currency": "EUR",
        "mcc": mccs[merchant % len(mccs)],
        "country": countries[merchant % len(countries)],
        "channel": np.where(ecom, "ecom", "pos"),
        "status": np.where(rng.random(rows) < 0.05, "declined", "approved"),
    }).with_columns(pl.col("timestamp") + "Z")
    df.write_csv(path)


def generated_csv(workdir: Path, rows: int) -> tuple[Path, str]:
    """One transactions CSV of `rows` rows: a week from `graphfraud generate` (its day files concatenated) when
    the generator exists, else from make_csv."""
    if (ROOT / "graphfraud" / "generate.py").exists():
        out = workdir / "world"
        proc = subprocess.run([str(ROOT / ".venv" / "bin" / "graphfraud"), "generate", "--out", str(out),
                               "--transactions", str(rows), "--days", "7", "--format", "csv", "--seed", "5"],
                              capture_output=True, text=True)
        files = sorted((out / "transactions").glob("*.csv")) if proc.returncode == 0 else []
        if files:
            path = workdir / "transactions.csv"
            pl.concat([pl.read_csv(f, infer_schema=False) for f in files]).write_csv(path)
            shutil.rmtree(out)
            return path, f"graphfraud generate --days 7 --seed 5, {len(files)} day files concatenated"
        print(f"generator unusable here (rc={proc.returncode}); writing the bench's own CSV", file=sys.stderr)
    path = workdir / "transactions.csv"
    make_csv(path, rows)
    return path, "bench make_csv"


def wipe(g: Graph) -> None:
    """Empty the database (constraints stay): transactions first, so no dense node is detached in one go."""
    g.wipe()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="transactions to generate (ignored with --input)")
    ap.add_argument("--input", type=Path, help="an existing transactions CSV to load instead")
    ap.add_argument("--simple", action="store_true", help="use the bench's own numpy CSV maker, not the generator")
    ap.add_argument("--batch-size", type=int, default=None, help="build-graph rows per transaction (default: settings)")
    ap.add_argument("--csv-batch", type=int, default=10_000, help="LOAD CSV rows per transaction")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    settings = load_settings()
    batch = args.batch_size or settings.batch_size
    with tempfile.TemporaryDirectory(prefix="gf-bench-") as tmp, Graph(settings) as g:
        tmpdir = Path(tmp)
        t0 = time.perf_counter()
        if args.input:
            src, origin = args.input, str(args.input)
        elif args.simple:
            src, origin = tmpdir / "transactions.csv", "bench make_csv"
            make_csv(src, args.rows)
        else:
            src, origin = generated_csv(tmpdir, args.rows)
        made_s = time.perf_counter() - t0
        rows = pl.scan_csv(src, infer_schema=False).select(pl.len()).collect().item()
        g.ensure_schema()

        wipe(g)
        summary = build_graph(g, [src], batch, tmpdir / "quarantine")
        bg_counts = g.read("bench/counts")[0]
        bg_rate = rows / summary.seconds
        print(f"build-graph: {rows:,} rows in {summary.seconds:.1f} s", file=sys.stderr, flush=True)

        wipe(g)
        import_dir = settings.neo4j_home / "import"
        import_dir.mkdir(parents=True, exist_ok=True)
        target = import_dir / "bench_build_graph.csv"
        shutil.copyfile(src, target)
        try:
            t0 = time.perf_counter()
            g.write_autocommit("bench/load_csv", {"url": f"file:///{target.name}", "batch": args.csv_batch})
            csv_s = time.perf_counter() - t0
        finally:
            target.unlink(missing_ok=True)
        csv_counts = g.read("bench/counts")[0]
        csv_rate = rows / csv_s
        wipe(g)

    result = {
        "rows": rows, "input": origin, "input_seconds": round(made_s, 1),
        "build_graph": {"seconds": round(summary.seconds, 2), "rows_per_s": round(bg_rate), "batch_size": batch,
                        "summary": {k: summary.as_dict()[k] for k in
                                    ("rows_loaded", "rows_quarantined", "rows_already_present")},
                        "counts": bg_counts},
        "load_csv": {"seconds": round(csv_s, 2), "rows_per_s": round(csv_rate), "batch": args.csv_batch,
                     "counts": csv_counts},
        "ratio_build_graph_over_load_csv": round(bg_rate / csv_rate, 3),
        "same_graph_counts": {k: v for k, v in bg_counts.items() if k != "chargebacks"}
        == {k: v for k, v in csv_counts.items() if k != "chargebacks"},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"rows: {rows:,}  (input {result['input']})")
    print(f"build-graph : {summary.seconds:8.1f} s  {bg_rate:10,.0f} rows/s  (batch {batch})")
    print(f"LOAD CSV    : {csv_s:8.1f} s  {csv_rate:10,.0f} rows/s  (IN TRANSACTIONS OF {args.csv_batch} ROWS)")
    print(f"ratio build-graph / LOAD CSV: {bg_rate / csv_rate:.2f}")
    print(f"graph counts equal: {result['same_graph_counts']}  build-graph: {bg_counts}")


if __name__ == "__main__":
    main()
