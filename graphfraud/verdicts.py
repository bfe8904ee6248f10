"""`graphfraud verdict`: analysts' verdicts on rings and entities, kept as history and read back as labels.

A verdict is (:Verdict {verdict_id, verdict, note, analyst, at, run_id})-[:ON]->(ring or entity); a ring verdict
also covers the ring's members of the moment (cypher/verdicts/record). Nothing is ever deleted: a later verdict on
the same target supersedes an earlier one and both stay. Every verdict of a call is checked first (known target, a
ring that is current, a valid verdict) and then all are written in one transaction, under the results lock (a
scoring run cannot retire a ring in between): either all land or none does.
Training reads them as labels (verdicts/label_events, resolved by export.confirmed_as_of): a fraud verdict on an entity, or on a
ring it was a member of, makes it a positive dated at the verdict (not a shop listed with the ring as its victim,
registry.VICTIM_ROLES: card testers' targets are not their accomplices); a legit verdict on an entity, a confirmed
negative; the later of a verdict and a chargeback or file label wins.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl

from .config import Settings
from .db import Graph
from .errors import UsageError
from .locks import results_lock
from .registry import ENTITY_NAMES
from .rings import Key, Ring, best_matches

VERDICTS = ("fraud", "legit")


@dataclass(frozen=True)
class Verdict:
    """One verdict to record: on a ring (ring_id) or on an entity (entity_type, entity_id)."""

    verdict: str  # fraud | legit
    ring_id: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    note: str | None = None
    analyst: str | None = None
    at: datetime | None = None  # when it was given (default: now)

    @property
    def target(self) -> str:
        return f"ring {self.ring_id}" if self.ring_id is not None else f"{self.entity_type} {self.entity_id}"


def parse_entity(text: str) -> tuple[str, str]:
    """'TYPE:ID' (card:c_123, ip:10.0.0.1 ...) as (entity type, id); the type must be one of the registry's."""
    kind, sep, key = text.partition(":")
    if not sep or not key:
        raise UsageError(f"entity {text!r}: expected TYPE:ID, e.g. card:c_1c3e2575")
    if kind not in ENTITY_NAMES:
        raise UsageError(f"entity {text!r}: unknown entity type {kind!r} (one of {', '.join(ENTITY_NAMES)})")
    return kind, key


def read_file(path: Path) -> list[Verdict]:
    """Verdicts from a CSV file (columns ring_id or entity, verdict, note, analyst, at: data/README.md): every row is
    checked, and the first bad rows are reported together, before anything is written."""
    try:
        df = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as e:
        raise UsageError(f"{path}: cannot read as CSV: {str(e).splitlines()[0]}") from None
    if "verdict" not in df.columns or not {"ring_id", "entity"} & set(df.columns):
        raise UsageError(f"{path}: needs a verdict column and a ring_id or entity column (data/README.md); "
                         f"found {', '.join(df.columns) or 'none'}")
    out, errors = [], []
    for n, row in enumerate(df.iter_rows(named=True), start=2):  # line 1 is the header
        try:
            out.append(_from_row(row))
        except UsageError as e:
            errors.append(f"line {n}: {e}")
    if errors:
        raise UsageError(f"{path}: nothing recorded; {_first(errors)}")
    if not out:
        raise UsageError(f"{path}: no verdicts in the file")
    return out


def _first(errors: list[str], n: int = 3) -> str:
    """The first n errors on one line, and how many more there are."""
    return "; ".join(errors[:n]) + (f" (and {len(errors) - n} more)" if len(errors) > n else "")


def _from_row(row: dict) -> Verdict:
    ring, entity = (row.get("ring_id") or "").strip(), (row.get("entity") or "").strip()
    if bool(ring) == bool(entity):
        raise UsageError("give exactly one of ring_id and entity")
    at = None
    if (row.get("at") or "").strip():
        try:
            at = datetime.fromisoformat(row["at"].strip().replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"at {row['at']!r} is not an ISO 8601 time") from None
        at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    etype, eid = parse_entity(entity) if entity else (None, None)
    return check(Verdict(verdict=(row.get("verdict") or "").strip().lower(), ring_id=ring or None, entity_type=etype,
                         entity_id=eid, note=row.get("note") or None, analyst=row.get("analyst") or None, at=at))


def check(v: Verdict) -> Verdict:
    """A verdict whose own fields are valid (the target's existence is checked against the graph by `record`)."""
    if v.verdict not in VERDICTS:
        raise UsageError(f"verdict {v.verdict!r} on {v.target}: expected fraud or legit")
    if (v.ring_id is None) == (v.entity_id is None):
        raise UsageError("a verdict is on a ring or on an entity, not both or neither")
    if v.at is not None and v.at > datetime.now(timezone.utc):
        raise UsageError(f"verdict on {v.target}: time {v.at.isoformat()} is in the future")
    return v


def record(graph: Graph, settings: Settings, verdicts: list[Verdict]) -> dict:
    """Record `verdicts` in one transaction after checking every target: an unknown ring or entity, or a ring that
    is no longer current, fails the whole call (UsageError) with nothing written. Returns counts and verdict ids."""
    verdicts = [check(v) for v in verdicts]
    if not verdicts:
        raise UsageError("no verdicts to record")
    with results_lock(settings, "graphfraud verdict"):
        graph.ensure_schema()  # the verdict_id constraint on a graph written before verdicts existed
        rings = sorted({v.ring_id for v in verdicts if v.ring_id is not None})
        entities = sorted({(v.entity_type, v.entity_id) for v in verdicts if v.entity_id is not None})
        found = graph.read("verdicts/resolve", {
            "rings": rings, "entities": [{"entity_type": t, "entity_id": i} for t, i in entities]})[0]
        current = {r["ring_id"]: r["current"] for r in found["rings"]}
        known = {(e["entity_type"], e["entity_id"]) for e in found["entities"]}
        missing = [r for r in rings if r not in current]
        errors = [f"no ring {r}" for r in missing]
        errors += [f"ring {r} is not current (a later scoring run retired it): judge a current ring"
                   for r in rings if current.get(r) is False]
        errors += [f"no {t} {i} in the graph" for t, i in entities if (t, i) not in known]
        if errors:  # a ring triage held back is not written; its members are, listed in the nightly report
            hint = (" (a ring held back by triage is not in the graph: its members are listed in the nightly report "
                    "and in rings_held_back of `score --json`; judge them with --entity TYPE:ID)" if missing else "")
            raise UsageError(f"nothing recorded: {_first(errors)}{hint}")
        now = datetime.now(timezone.utc)
        # ids sort in recording order (time recorded, then position in the call): of two verdicts on one target at
        # the same `at` (a file without times, a correction on the same day), the one recorded later supersedes
        rec = f"{int(now.timestamp() * 1000):011x}"
        rows = [{"verdict_id": f"V-{rec}{n:04x}-{uuid.uuid4().hex[:6]}", "ring_id": v.ring_id,
                 "entity_type": v.entity_type, "entity_id": v.entity_id, "verdict": v.verdict, "note": v.note,
                 "analyst": v.analyst, "at": int((v.at or now).timestamp() * 1000)} for n, v in enumerate(verdicts)]
        done = graph.write("verdicts/record", {"rows": rows})[0]
    return {"verdicts": done["verdicts"], "ring_members_covered": done["covered"],
            "verdict_ids": [r["verdict_id"] for r in rows]}


def cleared_rings(graph: Graph) -> dict[str, frozenset[Key]]:
    """Rings whose latest verdict is legit: ring_id -> the members that verdict covered."""
    return {r["ring_id"]: frozenset((m["entity_type"], m["entity_id"]) for m in r["members"])
            for r in graph.read("verdicts/cleared_rings")}


def hold_back_cleared(rings: list[Ring], cleared: dict[str, frozenset[Key]], known_fraud: set[Key],
                      growth: float, threshold: float = 0.5) -> tuple[list[Ring], list[dict], list[dict]]:
    """No alert fatigue: a ring found again after an analyst cleared it (same id, or Jaccard >= threshold with the
    members the legit verdict covered) is held back unless it changed materially: at least `growth` x its judged
    size in new members, or a new member known as fraud (`known_fraud`: chargebacks, labels, verdicts; the scoring
    run passes only fraud evidence of the member's own, not a label it inherits from another ring's verdict). A ring raised
    again takes the cleared ring's id, so its verdict history follows it. Returns (rings to raise, held back: ring
    id, reason "cleared", the cleared id, new members; raised again: ring id, what changed, so an analyst who cleared
    it sees why it is back)."""
    ids = sorted(cleared)
    by_id = {r.ring_id: i for i, r in enumerate(rings)}
    pairs = {by_id[c]: c for c in ids if c in by_id}  # the same ring id: assign_ids matched it to the cleared one
    rest = [i for i in range(len(rings)) if i not in pairs]
    free = [c for c in ids if c not in pairs.values()]
    for i, j, _ in best_matches([rings[i].keys() for i in rest], [cleared[c] for c in free], threshold):
        pairs[rest[i]] = free[j]
    raised, held, again = [], [], []
    for i, r in enumerate(rings):
        c = pairs.get(i)
        if c is None:
            raised.append(r)
            continue
        new = r.keys() - cleared[c]
        grew, fraud = len(new) >= growth * max(1, len(cleared[c])), sorted(new & known_fraud)
        if grew or fraud:
            r.ring_id = c  # no other ring of this run has it: a ring with that id was paired with it above
            raised.append(r)
            why = [w for w, on in (("grew", grew), ("known fraud joined", fraud)) if on]
            again.append({"ring_id": c, "because": ", ".join(why), "cleared_members": len(cleared[c]),
                          "new_members": len(new), "new_known_fraud": [f"{t}:{e}" for t, e in fraud[:10]]})
        else:
            held.append({"ring_id": r.ring_id, "reason": "cleared", "cleared_ring": c, "new_members": len(new)})
    return raised, held, again


def known_fraud_keys(export, own_evidence: bool = False) -> set[Key]:
    """(entity_type, entity_id) of every entity an export knows as fraud (label 1); with `own_evidence`, not those
    known only as members of another ring judged fraud (export.GraphExport.inferred)."""
    inferred = export.inferred if own_evidence else {}
    return {(t, export.ids[t][i]) for t, y in export.labels.items()
            for i in np.flatnonzero((y == 1) & ~inferred.get(t, np.zeros(len(y), dtype=bool)))}
