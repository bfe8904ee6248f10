"""Benchmark `graphfraud generate`: wall time and peak RSS for 1M transactions over 60 days (and 10M with --big).

Each size runs in a fresh child process so its peak RSS is its own. Prints one line per run.
Usage: .venv/bin/python bench/bench_generate.py [--big] [--format parquet|csv] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, resource, sys, time
from pathlib import Path
from graphfraud.generate import generate
t0 = time.perf_counter()
s = generate(Path(sys.argv[1]), transactions=int(sys.argv[2]), days=int(sys.argv[3]), seed=5, fmt=sys.argv[4])
wall = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
print(json.dumps({"wall_s": round(wall, 2), "peak_rss_mib": round(rss, 1), "summary": s.to_dict()}))
"""


def run(n: int, days: int, fmt: str, root: Path) -> dict:
    out = root / f"gen_{n}"
    p = subprocess.run([sys.executable, "-c", CHILD, str(out), str(n), str(days), fmt],
                       capture_output=True, text=True, check=True)
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res["bytes_on_disk"] = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--big", action="store_true", help="also run 10M transactions over 60 days")
    ap.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    ap.add_argument("--keep", type=Path, help="write here instead of a temporary folder (kept)")
    a = ap.parse_args()
    sizes = [1_000_000] + ([10_000_000] if a.big else [])
    with tempfile.TemporaryDirectory(prefix="gf-bench-") as tmp:
        root = a.keep or Path(tmp)
        for n in sizes:
            r = run(n, 60, a.format, root)
            s = r["summary"]
            print(f"generate {n:>10,} tx / 60 days ({a.format}): {r['wall_s']:7.2f} s wall (in-process), "
                  f"peak RSS {r['peak_rss_mib']:8.1f} MiB, {s['transactions']:,} rows, "
                  f"{s['fraud_transactions']:,} fraud, {s['chargebacks']:,} chargebacks, rings {s['rings']}, "
                  f"{r['bytes_on_disk'] / 2**20:.1f} MiB on disk", flush=True)
    print(f"cpus: {len(__import__('os').sched_getaffinity(0))}")


if __name__ == "__main__":
    main()
