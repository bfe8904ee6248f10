"""Write scores and rings back to Neo4j, idempotently, never leaving a half-written run visible as current.

A run (run_id) goes: clean_staging (remove what abandoned runs left) -> start_run (ScoringRun 'running', with
host, pid and heartbeat) -> stage (entity scores in properties named for the run, rings as :RingStage nodes of the
run, batched; each batch moves the heartbeat) -> flip (ONE transaction: old rings current = false, the run's staged
rings become :FraudRing current = true with MEMBER_OF/BOUND_BY, its staged scores become
risk_score/risk_band/scored_at/model_version, ScoringRun 'done'). Until the flip, analysts' queries on
`(:FraudRing) WHERE r.current` and on risk_score see the previous run only.

Staging is scoped to its run: a second run cleans only the staging of runs that are gone (abandoned_runs), never
that of a live one, so whichever flips last leaves exactly one current ring set, from one completed run. (score and
nightly also hold the results lock, locks.py; run scoping is what keeps two machines, or a lock bypassed, safe.)
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .db import Graph, rows_in_batches
from .killpoints import kill_point
from .rings import Key, Ring

# Risk bands: low < 0.3 <= medium < 0.6 <= high < 0.85 <= critical (scores are fraud probabilities).
BAND_CUTS: tuple[tuple[float, str], ...] = ((0.85, "critical"), (0.6, "high"), (0.3, "medium"))


def risk_band(score: float) -> str:
    """The analyst-facing band of a risk score (cut points in BAND_CUTS)."""
    for cut, name in BAND_CUTS:
        if score >= cut:
            return name
    return "low"


def _ring_keys(rows: list[dict]) -> dict[str, frozenset[Key]]:
    return {row["ring_id"]: frozenset((m["entity_type"], m["entity_id"]) for m in row["members"]) for row in rows}


def previous_rings(graph: Graph) -> dict[str, frozenset[Key]]:
    """The current rings in the graph: ring_id -> member keys (for stable ids)."""
    return _ring_keys(graph.read("writeback/current_rings"))


def recent_rings(graph: Graph, runs: int) -> dict[str, frozenset[Key]]:
    """Rings no longer current that one of the last `runs` finished scoring runs found: ring_id -> member keys."""
    return _ring_keys(graph.read("writeback/recent_rings", {"runs": runs})) if runs > 0 else {}


LEASE_MS = 15 * 60_000  # a run on another host whose staging has not moved for this long is abandoned
FLIP_BATCH = 50_000  # entity scores flipped (flip_run) or cleaned (clean_staging) per transaction: bounded memory


def staging_keys(run_id: str) -> dict[str, str]:
    """The entity properties a run stages its scores in: {score_key, band_key}, unique to the run."""
    tag = hashlib.sha1(run_id.encode()).hexdigest()[:12]
    return {"score_key": f"staged_score_{tag}", "band_key": f"staged_band_{tag}"}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def abandoned_runs(graph: Graph, now_ms: int | None = None, lease_ms: int = LEASE_MS) -> list[str]:
    """Runs still 'running' that nobody will flip: on this host, their process is gone (or is this very process,
    which writes back one run at a time); on another host, their heartbeat is older than `lease_ms`; without an
    owner (written by an older graphfraud), always."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    me = socket.gethostname()
    gone = []
    for run in graph.read("writeback/running_runs"):
        if run["host"] is None or run["pid"] is None:
            gone.append(run["run_id"])
        elif run["host"] == me:
            if run["pid"] == os.getpid() or not _pid_alive(int(run["pid"])):
                gone.append(run["run_id"])
        elif run["heartbeat_ms"] is None or now_ms - int(run["heartbeat_ms"]) > lease_ms:
            gone.append(run["run_id"])
    return gone


def clean_staging(graph: Graph, lease_ms: int = LEASE_MS) -> list[str]:
    """Remove the staging of abandoned runs (abandoned_runs) and mark them 'abandoned'; live runs' staging and the
    current results stay. Returns the run ids cleaned."""
    runs = abandoned_runs(graph, lease_ms=lease_ms)
    keys = [k for r in runs for k in staging_keys(r).values()]
    graph.write_autocommit("writeback/clean_staged_scores", {"keys": keys, "batch": FLIP_BATCH})  # first: see its header
    graph.write_batch("writeback/clean_staging", {"runs": runs})
    return runs


def start_run(graph: Graph, run_id: str, model_version: str, started_at_ms: int, cutoff_ms: int | None,
              host: str | None = None, pid: int | None = None) -> None:
    """Record the run as 'running', owned by `host`/`pid` (default: this process)."""
    graph.write("writeback/start_run", {"run_id": run_id, "model_version": model_version,
                                        "started_at": started_at_ms, "cutoff": cutoff_ms,
                                        "host": host or socket.gethostname(), "pid": os.getpid() if pid is None else pid})


def stage_scores(graph: Graph, run_id: str, ids: dict[str, list[str]], scores: dict[str, np.ndarray],
                 batch_size: int, progress: Callable[[int], None] | None = None) -> int:
    """Stage every entity's score in batches; returns how many entities were staged."""
    rows = ({"type": t, "id": i, "score": float(v), "band": risk_band(float(v))}
            for t, s in scores.items() for i, v in zip(ids[t], np.asarray(s)))
    n = 0
    for batch in rows_in_batches(rows, batch_size):
        graph.write_batch("writeback/stage_scores", {"run_id": run_id, "rows": batch, **staging_keys(run_id)})
        n += len(batch)
        if progress:
            progress(len(batch))
    return n


def _ring_rows(rings: list[Ring], model_version: str, run_id: str) -> list[dict[str, Any]]:
    rows = []
    for r in rings:
        props = {"ring_id": r.ring_id, "type": r.type, "score": float(r.score), "size": r.size,
                 "explanation": r.explanation, "model_version": model_version, "run_id": run_id}
        props.update({k: float(v) for k, v in r.stats.items()})
        rows.append({"ring_id": r.ring_id, "props": props, "first_seen": int(r.first_seen),
                     "last_seen": int(r.last_seen)})
    return rows


def stage_rings(graph: Graph, run_id: str, rings: list[Ring], model_version: str, batch_size: int = 200) -> int:
    """Stage rings, their memberships and evidence as :RingStage under run_id; returns rings staged."""
    for start in range(0, len(rings), batch_size):
        chunk = rings[start:start + batch_size]
        params: dict[str, Any] = {
            "run_id": run_id, "rings": _ring_rows(chunk, model_version, run_id),
            "members": [{"ring_id": r.ring_id, "type": m.entity_type, "id": m.entity_id, "score": m.score,
                         "role": m.role, "strongest": m.strongest} for r in chunk for m in r.members],
            "evidence": [{"ring_id": r.ring_id, "type": e.kind, "id": e.entity_id, "weight": e.weight}
                         for r in chunk for e in r.evidence]}
        graph.write_batch("writeback/stage_rings", params)
    return len(rings)


def flip_run(graph: Graph, run_id: str, finished_at_ms: int, batch_size: int = FLIP_BATCH) -> None:
    """Make the staged run current: its rings in one transaction (the run becomes 'flipping'), then its entity scores
    in batches, then the run 'done' (finish_flip). A process killed in between leaves a 'flipping' run whose rings
    are current and some of whose entities still show the previous score; the next write-back finishes it first."""
    graph.write_batch("writeback/flip_run", {"run_id": run_id, "finished_at": finished_at_ms})
    kill_point("writeback.rings_flipped")
    finish_flip(graph, run_id, batch_size)


def finish_flip(graph: Graph, run_id: str, batch_size: int = FLIP_BATCH) -> None:
    """Flip a 'flipping' run's remaining staged entity scores, batch by batch, and mark it 'done'."""
    graph.write_autocommit("writeback/flip_scores", {"run_id": run_id, "batch": batch_size, **staging_keys(run_id)})
    graph.write("writeback/finish_run", {"run_id": run_id})


def finish_flips(graph: Graph, batch_size: int = FLIP_BATCH) -> list[str]:
    """Finish every run left 'flipping' by a killed process (oldest first); returns their ids."""
    runs = [r["run_id"] for r in graph.read("writeback/flipping_runs")]
    for run_id in runs:
        finish_flip(graph, run_id, batch_size)
    return runs


def write_back(graph: Graph, run_id: str, model_version: str, started_at_ms: int, finished_at_ms: int,
               ids: dict[str, list[str]], scores: dict[str, np.ndarray], rings: list[Ring],
               batch_size: int = 20_000, cutoff_ms: int | None = None,
               progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """The whole write-back of one run; rerunning it with the same arguments leaves the same graph."""
    finish_flips(graph)
    clean_staging(graph)
    start_run(graph, run_id, model_version, started_at_ms, cutoff_ms)
    kill_point("writeback.started")

    def staged(n: int) -> None:
        kill_point("writeback.scores")
        if progress:
            progress(n)

    n_entities = stage_scores(graph, run_id, ids, scores, batch_size, staged)
    n_rings = stage_rings(graph, run_id, rings, model_version)
    kill_point("writeback.staged")
    flip_run(graph, run_id, finished_at_ms)
    kill_point("writeback.flipped")
    return {"entities": n_entities, "rings": n_rings}


def graph_counts(graph: Graph) -> dict[str, int]:
    """How many rings, memberships, evidence links, staged items, scored entities and runs the graph holds."""
    return graph.read("writeback/graph_counts")[0]


def reset_results(graph: Graph) -> dict[str, int]:
    """Delete every scoring result (rings, staging, runs, entity risk properties); transactions stay."""
    return graph.write_batch("writeback/reset_results", {})


def snapshot(graph: Graph) -> dict[str, list]:
    """All scoring results as sorted plain rows, for comparing two graphs (idempotence)."""
    return graph.read("writeback/snapshot")[0]
