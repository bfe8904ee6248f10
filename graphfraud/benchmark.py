"""`graphfraud benchmark`: the production pipeline on a suite of generated worlds, against every baseline.

Each world of the suite (generate.SUITES: every scenario once, dev and test with disjoint seeds) is generated, then
run through the very code paths a user runs: build-graph, train, score, evaluate (with the world's truth). It never
touches the user's graph: it starts its own local Neo4j (own state directory and port) and stops it at the end.
Knobs are chosen on `dev`; `test` is for reporting. Everything is seeded, so a rerun gives the same figures.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from . import neo4j_server
from .config import REPO_ROOT, Settings
from .db import Graph
from .evaluate import evaluate
from .generate import generate, suite_worlds
from .ingest import build_graph
from .scoring import score_graph
from .train import train

NODE_METHODS = ("gnn", "gnn_no_rings", "gnn_raw", "xgb_graph", "mlp", "rules")
RING_METHODS = ("gnn", "wcc_rules", "fraudar", "labels_only")

# progress(world name, step, steps done in this world, steps per world)
Progress = Callable[[str, str, int, int], None]
STEPS = ("generate", "build-graph", "train", "score", "evaluate")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def private_settings(settings: Settings, state_dir: Path) -> Settings:
    """Settings for the benchmark's own local Neo4j: its own state directory and ports, never the user's server."""
    return dataclasses.replace(settings, neo4j_uri=None, neo4j_password=None, state_dir=state_dir,
                               bolt_port=_free_port(), http_port=_free_port(), model_dir=None)


def run_world(settings: Settings, name: str, scenario: str, seed: int, transactions: int, days: int, root: Path,
              progress: Progress | None = None) -> dict[str, Any]:
    """One world end to end (generate, build-graph, train, score, evaluate) on an emptied graph."""
    def step(i: int) -> None:
        if progress:
            progress(name, STEPS[i], i, len(STEPS))

    world_dir = root / "worlds" / name
    step(0)
    generate(world_dir, transactions=transactions, days=days, seed=seed, scenario=scenario)
    step(1)
    with Graph.connect(settings) as graph:
        graph.wipe()
        load = build_graph(graph, [world_dir], settings.batch_size, root / "quarantine" / name)
        step(2)
        model = train(graph, settings, out_dir=root / "models" / name)
    step(3)
    scored = score_graph(settings, model_dir=model.path)
    step(4)
    with Graph.connect(settings) as graph:
        result = evaluate(graph, model.path, world_dir, settings=settings)
    return {"name": name, "scenario": scenario, "seed": seed, "rows_loaded": load.total("rows_loaded"),
            "rings_written": scored["rings"], "nodes": result["nodes"], "rings": result["rings"],
            "test_entities": result["test_entities"]}


def _stat(values: list[float | None]) -> dict[str, float | None]:
    v = [x for x in values if x is not None]
    return {"mean": round(float(np.mean(v)), 4), "min": round(float(np.min(v)), 4)} if v else {"mean": None,
                                                                                               "min": None}


def summarise(worlds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per method: card AUPRC, ring recall / precision / F1 (and type accuracy) as {mean, min} over the worlds, and
    the mean AUPRC per node type."""
    out: dict[str, Any] = {}
    for method in dict.fromkeys((*NODE_METHODS, *RING_METHODS)):
        m: dict[str, Any] = {}
        if method in NODE_METHODS:
            m["card_auprc"] = _stat([((w["nodes"].get("card") or {}).get(method) or {}).get("auprc") for w in worlds])
            types = sorted({t for w in worlds for t in w["nodes"]})
            m["node_auprc_mean"] = {t: _stat([((w["nodes"].get(t) or {}).get(method) or {}).get("auprc")
                                              for w in worlds if t in w["nodes"]])["mean"] for t in types}
        if method in RING_METHODS:
            rings = [w["rings"][method] for w in worlds]
            for k in ("recall", "precision", "f1"):
                m[f"ring_{k}"] = _stat([r[k] for r in rings])
            if all("type_accuracy" in r for r in rings):
                m["type_accuracy"] = _stat([r["type_accuracy"] for r in rings])
        out[method] = m
    return out


def provenance(command: str) -> dict[str, Any]:
    """Commit, machine and command behind a results file, so anyone can rerun it and compare (read when the run
    starts: the code that ran, even if the checkout moves on meanwhile)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    import os

    return {"commit": commit, "dirty": dirty, "command": command, "machine": {
        "platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def run_benchmark(settings: Settings, suite: str, transactions: int, out_dir: Path, days: int = 60,
                  worlds: list[str] | None = None, command: str = "", progress: Progress | None = None) -> dict[str, Any]:
    """Run every world of `suite` (or the named `worlds` of it) on a private Neo4j; returns (and writes
    <out_dir>/results.json) {"suite", "transactions", "worlds": [...], "summary": {...}, "provenance": {...}}."""
    plan = suite_worlds(suite)
    if worlds:
        unknown = sorted(set(worlds) - {w[0] for w in plan})
        if unknown:
            from .errors import UsageError

            raise UsageError(f"no world {', '.join(unknown)} in suite {suite} (worlds: "
                             f"{', '.join(w[0] for w in plan)})")
        plan = [w for w in plan if w[0] in worlds]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    private = private_settings(settings, out_dir / "neo4j-state")
    origin = provenance(command)
    t0 = time.perf_counter()
    results = []
    neo4j_server.start(private)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a plain `kill` also stops the private server below
    try:
        for name, scenario, seed in plan:
            w0 = time.perf_counter()
            results.append(run_world(private, name, scenario, seed, transactions, days, out_dir, progress))
            results[-1]["seconds"] = round(time.perf_counter() - w0, 1)
    finally:
        signal.signal(signal.SIGTERM, previous)
        neo4j_server.stop(private)
    report = {"suite": suite, "transactions": transactions, "days": days, "worlds": results,
              "summary": summarise(results), "seconds": round(time.perf_counter() - t0, 1),
              "provenance": {**origin, "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}}
    (out_dir / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
