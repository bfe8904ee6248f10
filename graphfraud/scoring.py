"""`graphfraud score`: export the graph, score every entity with the trained GNN, find rings, write both back."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .config import Settings
from .db import Graph
from .export import export_graph, time_range
from .locks import results_lock
from .models import fit_warnings, latest_model_dir, load_model
from .predict import predict_heads_and_scores
from .rings import Ring, RingConfig, assign_ids, find_rings, ring_risk
from .triage import fit_triage, hold_back_triaged, judged_rings, training_examples
from .verdicts import cleared_rings, hold_back_cleared, known_fraud_keys
from .writeback import BAND_CUTS, previous_rings, recent_rings, risk_band, write_back


def new_run_id(started: datetime, fingerprint: str, model_version: str) -> str:
    """Sortable run id: UTC start time plus a short hash of the graph fingerprint and model version."""
    h = hashlib.sha1(f"{fingerprint}|{model_version}".encode()).hexdigest()[:6]
    return f"S-{started.astimezone(timezone.utc):%Y%m%dT%H%M%S}-{h}"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()


def ring_summary(r: Ring) -> dict[str, Any]:
    """A ring as a plain dict for JSON output and tables."""
    return {"ring_id": r.ring_id, "type": r.type, "score": round(r.score, 4), "size": r.size,
            "cards": int(r.stats.get("n_cards", 0)), "first_seen": _iso(r.first_seen), "last_seen": _iso(r.last_seen),
            "evidence": [{"kind": e.kind, "entity_id": e.entity_id, "weight": e.weight} for e in r.evidence[:5]],
            "strongest": [m.entity_id for m in r.members if m.strongest][:5], "explanation": r.explanation}


def score_export(graph: Graph, export: Any, scores: dict[str, np.ndarray], model_version: str,
                 cfg: RingConfig | None = None, run_id: str | None = None, started: datetime | None = None,
                 batch_size: int = 20_000, top: int = 10,
                 ring_scores: dict[str, np.ndarray] | None = None, reraise_growth: float = 0.5,
                 ring_memory_runs: int = 7, triage_min_each: int = 80, triage_below: float = 0.5) -> dict[str, Any]:
    """Rings from `ring_scores` (default: `scores`; ids made stable against the graph's current rings and those the
    last `ring_memory_runs` runs found), less those analysts cleared that did not change materially
    (verdicts.hold_back_cleared) and new ones that look like rings analysts cleared (triage.hold_back_triaged),
    written back with the entities' risk `scores`, ring members raised toward their ring's score (rings.ring_risk),
    as one run."""
    started = started or datetime.now(timezone.utc)
    t0 = time.perf_counter()
    rc = cfg or RingConfig()
    rings = find_rings(export, scores if ring_scores is None else ring_scores, rc)
    recent = recent_rings(graph, ring_memory_runs)
    previous = previous_rings(graph)
    rings = assign_ids(rings, previous, recent=recent)
    known_fraud = known_fraud_keys(export)
    # fraud evidence of an entity's own: one known as fraud only because another ring was judged fraud is not news
    # about this ring (it re-raised a cleared false ring in test world 317, and would let a household ring around a
    # swept-in card pass triage)
    own_evidence = known_fraud_keys(export, own_evidence=True)
    cleared = cleared_rings(graph)
    rings, held, reraised = hold_back_cleared(rings, cleared, own_evidence, reraise_growth)
    # members carry their ring's risk, also in a ring triage holds back: it decides what analysts are shown, while
    # a cleared ring's members lost it by an analyst's word
    scores = ring_risk(export, scores, rings, rc)
    judged = judged_rings(graph)
    examples = training_examples(judged, cleared, known_fraud)
    rings, triaged = hold_back_triaged(rings, fit_triage(examples, triage_min_each), {*previous, *recent, *judged},
                                       own_evidence, triage_below)
    held += triaged
    legit = sum(v == "legit" for _, v in examples)
    triage = {"fraud_verdicts": len(examples) - legit, "legit_verdicts": legit,
              "legit_verdicts_left_out": sum(v == "legit" for _, v in judged.values()) - legit}
    # missing from the previous run, found again with its id and verdicts: recently found, or cleared and raised again
    returned = sorted(r.ring_id for r in rings if r.ring_id in recent or r.ring_id in cleared)
    t1 = time.perf_counter()
    run_id = run_id or new_run_id(started, export.fingerprint, model_version)
    counts = write_back(graph, run_id, model_version, int(started.timestamp() * 1000),
                        int(datetime.now(timezone.utc).timestamp() * 1000), export.ids, scores, rings,
                        batch_size=batch_size, cutoff_ms=int(export.cutoff.timestamp() * 1000))
    bands = [name for _, name in BAND_CUTS] + ["low"]
    entities = {}
    for t in export.ids:
        s = np.asarray(scores.get(t, np.zeros(0)))
        c = Counter(risk_band(float(v)) for v in s)
        entities[t] = {"n": int(len(s)), "bands": {b: int(c.get(b, 0)) for b in bands}}
    return {
        "run_id": run_id, "model_version": model_version, "cutoff": export.cutoff.isoformat(),
        "entities": entities, "rings": len(rings), "rings_held_back": held, "rings_reraised": reraised,
        "triage": triage, "rings_returned": returned,
        "rings_by_type": dict(sorted(Counter(r.type for r in rings).items())),
        "top_rings": [ring_summary(r) for r in rings[:top]],
        "written": counts,
        "seconds": {"rings": round(t1 - t0, 2), "write_back": round(time.perf_counter() - t1, 2)},
    }


def score_graph(settings: Settings, model_dir: Path | None = None, cutoff: datetime | None = None,
                cfg: RingConfig | None = None, top: int = 10, progress: Callable | None = None) -> dict[str, Any]:
    """Export every transaction (or those before `cutoff`), score with the model (default: the newest), find rings
    and write scores and rings back as one run, under the results lock; returns the run's summary."""
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    bundle = load_model(Path(model_dir) if model_dir else latest_model_dir(settings.models_dir))
    with results_lock(settings, f"score with model {bundle.version}"), Graph.connect(settings) as graph:
        first, last, _ = time_range(graph)
        warnings = fit_warnings(bundle, first, last)
        if cutoff is None:
            cutoff = last + timedelta(milliseconds=1)  # score everything in the graph
        export = export_graph(graph, cutoff, progress)
        t1 = time.perf_counter()
        heads, scores = predict_heads_and_scores(bundle, export)
        t2 = time.perf_counter()
        summary = score_export(graph, export, scores, bundle.version, cfg, started=started,
                               batch_size=settings.batch_size, top=top, ring_scores=heads,
                               reraise_growth=settings.reraise_growth,
                               ring_memory_runs=settings.ring_memory_runs,
                               triage_min_each=settings.triage_min_each, triage_below=settings.triage_below)
    summary["seconds"] = {"export": round(t1 - t0, 2), "predict": round(t2 - t1, 2), **summary["seconds"]}
    summary["model_path"], summary["warnings"] = str(bundle.path), warnings
    return summary
