"""Write scores and rings back to Neo4j, idempotently, never leaving a half-written run visible as current.

A run (run_id) goes: clean_staging (remove what a crashed run left) -> start_run (ScoringRun 'running') ->
stage (entity scores as staged_* properties, rings as :RingStage nodes, batched) -> flip (ONE transaction: old
rings current = false, staged rings become :FraudRing current = true with MEMBER_OF/BOUND_BY, staged scores become
risk_score/risk_band/scored_at/model_version, ScoringRun 'done'). Until the flip, analysts' queries on
`(:FraudRing) WHERE r.current` and on risk_score see the previous run only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .db import Graph, rows_in_batches
from .rings import Key, Ring

# Risk bands: low < 0.3 <= medium < 0.6 <= high < 0.85 <= critical (scores are fraud probabilities).
BAND_CUTS: tuple[tuple[float, str], ...] = ((0.85, "critical"), (0.6, "high"), (0.3, "medium"))


def risk_band(score: float) -> str:
    """The analyst-facing band of a risk score (cut points in BAND_CUTS)."""
    for cut, name in BAND_CUTS:
        if score >= cut:
            return name
    return "low"


def previous_rings(graph: Graph) -> dict[str, frozenset[Key]]:
    """The current rings in the graph: ring_id -> member keys (for stable ids)."""
    return {row["ring_id"]: frozenset((m["entity_type"], m["entity_id"]) for m in row["members"])
            for row in graph.read("writeback/current_rings")}


def clean_staging(graph: Graph) -> dict[str, int]:
    """Remove staging left by runs that never flipped; current results stay."""
    return graph.write_batch("writeback/clean_staging", {})


def start_run(graph: Graph, run_id: str, model_version: str, started_at_ms: int, cutoff_ms: int | None) -> None:
    graph.write("writeback/start_run", {"run_id": run_id, "model_version": model_version,
                                        "started_at": started_at_ms, "cutoff": cutoff_ms})


def stage_scores(graph: Graph, run_id: str, ids: dict[str, list[str]], scores: dict[str, np.ndarray],
                 batch_size: int, progress: Callable[[int], None] | None = None) -> int:
    """Stage every entity's score in batches; returns how many entities were staged."""
    rows = ({"type": t, "id": i, "score": float(v), "band": risk_band(float(v))}
            for t, s in scores.items() for i, v in zip(ids[t], np.asarray(s)))
    n = 0
    for batch in rows_in_batches(rows, batch_size):
        graph.write_batch("writeback/stage_scores", {"run_id": run_id, "rows": batch})
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


def flip_run(graph: Graph, run_id: str, finished_at_ms: int) -> None:
    """Make the staged run current in one transaction."""
    graph.write_batch("writeback/flip_run", {"run_id": run_id, "finished_at": finished_at_ms})


def write_back(graph: Graph, run_id: str, model_version: str, started_at_ms: int, finished_at_ms: int,
               ids: dict[str, list[str]], scores: dict[str, np.ndarray], rings: list[Ring],
               batch_size: int = 20_000, cutoff_ms: int | None = None,
               progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """The whole write-back of one run; rerunning it with the same arguments leaves the same graph."""
    clean_staging(graph)
    start_run(graph, run_id, model_version, started_at_ms, cutoff_ms)
    n_entities = stage_scores(graph, run_id, ids, scores, batch_size, progress)
    n_rings = stage_rings(graph, run_id, rings, model_version)
    flip_run(graph, run_id, finished_at_ms)
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
