"""`graphfraud demo`: the whole pipeline on the bundled sample, as the README's first command runs it.

Loads every day of the sample but the last as history (with the chargebacks reported before it), then
runs the last day as a nightly job: load, train the first model, score, find rings, write back, report.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from .config import REPO_ROOT, Settings
from .db import Graph
from .errors import UsageError
from .validate import input_format

SAMPLE_DIR = REPO_ROOT / "data" / "sample"


def sample_days(data_dir: Path) -> list[date]:
    """The days that have a transactions file, in order."""
    days = sorted(date.fromisoformat(p.name.split(".")[0]) for p in (data_dir / "transactions").glob("*-*-*.*")
                  if input_format(p))
    if len(days) < 2:
        raise UsageError(f"{data_dir} needs at least two days of transactions (transactions/YYYY-MM-DD.*)")
    return days


def history_files(data_dir: Path, before: date) -> list[Path]:
    """Transactions of the days before `before` and the chargebacks reported before it."""
    out = []
    for kind in ("transactions", "chargebacks"):
        out += sorted(p for p in (data_dir / kind).glob("*-*-*.*")
                      if input_format(p) and date.fromisoformat(p.name.split(".")[0]) < before)
    return out


def run_demo(settings: Settings, data_dir: Path = SAMPLE_DIR, report_root: Path | None = None,
             progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Start Neo4j if needed, load the sample's history, run its last day as a nightly job; returns its summary."""
    from . import neo4j_server
    from .ingest import build_graph
    from .nightly import run_night

    data_dir = Path(data_dir)
    if settings.is_local:
        if progress:
            progress("neo4j")
        neo4j_server.start(settings)
    days = sample_days(data_dir)
    if progress:
        progress("history")
    with Graph.connect(settings) as graph:
        history = build_graph(graph, history_files(data_dir, days[-1]), settings.batch_size,
                              settings.state_dir / "quarantine")
    night = run_night(settings, days[-1], data_dir, report_root, progress)
    return {"history": history.as_dict(), "night": night}
