"""Analysts' verdicts (verdicts.py, `graphfraud verdict`) on the real Neo4j, on the hand-made scored world of
tests/test_queries.py: storage as history, ring members covered, supersession, the labels training reads, their
precedence over file labels, and bad targets or files that record nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from types import SimpleNamespace

import numpy as np
import pytest

from graphfraud.db import Graph
from graphfraud.errors import UsageError
from graphfraud.export import confirmed_as_of, export_graph, label_sources, read_confirmed, read_history
from graphfraud.registry import cypher_params
from graphfraud.rings import Ring, RingMember
from graphfraud.triage import judged_rings
from graphfraud.verdicts import Verdict, cleared_rings, hold_back_cleared, known_fraud_keys, record

from conftest import cli
from test_queries import write_world


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=timezone.utc)


@pytest.fixture
def world(graph: Graph) -> Iterator[Graph]:
    """The scored world of test_queries (rings R-farm, R-test, R-other current; R-old retired), fresh per test."""
    write_world(graph, verdicts=[])
    yield graph
    graph.wipe()


def verdicts(g: Graph) -> list[dict]:
    return g.run_text("MATCH (v:Verdict)-[:ON]->(t) OPTIONAL MATCH (v)-[:COVERS]->(m) "
                      "WITH v, t, collect(m.entity_id) AS covered "
                      "RETURN v.verdict AS verdict, coalesce(t.ring_id, t.entity_id) AS target, v.run_id AS run, "
                      "v.analyst AS analyst, v.note AS note, size(covered) AS covered ORDER BY v.at")[1]


def labels(g: Graph, horizon: datetime) -> dict[tuple[str, str], tuple[int, str]]:
    df = read_confirmed(g, horizon)
    return {(r["entity_type"], r["entity_id"]): (r["label"], r["source"]) for r in df.iter_rows(named=True)}


def test_a_ring_verdict_covers_its_members_and_a_later_one_supersedes_it(world, settings):
    r = record(world, settings, [Verdict("fraud", ring_id="R-farm", analyst="ana", note="same device", at=at(12))])
    assert r["verdicts"] == 1 and r["ring_members_covered"] == 5 and r["verdict_ids"][0].startswith("V-")
    farm = {("card", c) for c in ("c_1c3e2575", "c_23b7a267", "c_40fbd832", "c_50c96bbf")} | {("device", "d_f10e1a51")}
    assert labels(world, at(13)) == {k: (1, "verdict") for k in farm}  # members: positives dated at the verdict
    assert labels(world, at(12)) == {}  # not yet known before it was given

    record(world, settings, [Verdict("legit", ring_id="R-farm", analyst="bo", at=at(14))])
    assert verdicts(world) == [  # both kept, in time order
        {"verdict": "fraud", "target": "R-farm", "run": "run-2", "analyst": "ana", "note": "same device", "covered": 5},
        {"verdict": "legit", "target": "R-farm", "run": "run-2", "analyst": "bo", "note": None, "covered": 5}]
    assert labels(world, at(13)) == {k: (1, "verdict") for k in farm}
    assert labels(world, at(15)) == {}  # clearing the ring withdraws its fraud labels, and makes nobody legit


def test_history_resolves_labels_as_of_any_earlier_time(world, settings):
    """export.History reads every label event once and resolves them at any cut-off as the database would: a
    fraud verdict later superseded by a legit one still labels its targets before the legit one was given."""
    record(world, settings, [Verdict("fraud", ring_id="R-farm", at=at(12)),
                             Verdict("fraud", entity_type="card", entity_id="c_007", at=at(12))])
    record(world, settings, [Verdict("legit", ring_id="R-farm", at=at(14)),
                             Verdict("legit", entity_type="card", entity_id="c_007", at=at(14))])
    history = read_history(world)
    for day in (11, 13, 15):
        ms = int(at(day).timestamp() * 1000)
        got = confirmed_as_of(history.confirmed, ms).sort("entity_type", "entity_id")
        assert got.equals(read_confirmed(world, at(day)).sort("entity_type", "entity_id")), day
    as_of_13 = confirmed_as_of(history.confirmed, int(at(13).timestamp() * 1000))
    assert as_of_13.height == 6 and set(as_of_13["label"]) == {1}  # R-farm's 5 members and c_007, before clearing
    as_of_15 = confirmed_as_of(history.confirmed, int(at(15).timestamp() * 1000))
    assert as_of_15.select("entity_id", "label").rows() == [("c_007", 0)]


def test_entity_verdicts_outrank_ring_verdicts_and_older_file_labels(world, settings):
    world.write("ingest/labels", {"rows": [
        {"entity_type": "card", "entity_id": "c_007", "label": "fraud", "ms": int(at(5).timestamp() * 1000)},
        {"entity_type": "card", "entity_id": "c_x005", "label": "fraud", "ms": int(at(20).timestamp() * 1000)}],
        **cypher_params()})
    record(world, settings, [Verdict("fraud", ring_id="R-test", at=at(12)),
                             Verdict("legit", entity_type="card", entity_id="c_007", at=at(12)),
                             Verdict("legit", entity_type="card", entity_id="c_x005", at=at(12))])
    got = labels(world, at(25))
    assert got[("card", "c_007")] == (0, "verdict")  # its own verdict beats the ring's (same time) and the file's
    assert got[("card", "c_008")] == (1, "verdict") and got[("ip", "80.160.218.69")] == (1, "verdict")
    assert ("merchant", "m_cc71f41e") not in got  # the shop R-test tested at is its victim, not an accomplice
    assert got[("card", "c_x005")] == (1, "file")  # a later file label beats an earlier verdict
    # and training sees them: the export as of the 13th labels R-test's cards fraud and c_007 confirmed legit
    ex = export_graph(world, at(13))
    card = {c: int(ex.labels["card"][i]) for i, c in enumerate(ex.ids["card"])}
    assert card["c_008"] == card["c_009"] == 1 and card["c_007"] == 0
    # and evaluate counts them by source: as of the 25th, c_1c3e2575 and c_011 are charged back (reported on the 20th
    # and the 25th), c_x005's file label is later than its verdict, c_007's own verdict is later than its file label
    ex = export_graph(world, at(25))
    assert label_sources(ex.labels, ex.ids, read_confirmed(world, at(25))) == {
        "card": {"chargeback": 2, "file": 1, "verdict": 4}, "merchant": {"chargeback": 0, "file": 0, "verdict": 0},
        "device": {"chargeback": 0, "file": 0, "verdict": 0}, "ip": {"chargeback": 0, "file": 0, "verdict": 1}}


def test_a_ring_verdict_alone_makes_its_members_inferred_fraud_not_confirmed(world, settings):
    """Members labelled fraud only through a ring judged fraud are marked `inferred` in the export (training weighs
    them below confirmed fraud and never shows them as known fraud); a member with a chargeback of its own, or with
    a verdict of its own, is not."""
    record(world, settings, [Verdict("fraud", ring_id="R-farm", at=at(12)), Verdict("fraud", ring_id="R-test", at=at(12)),
                             Verdict("fraud", entity_type="card", entity_id="c_008", at=at(12))])
    ex = export_graph(world, at(25))  # c_1c3e2575 (R-farm) charged back, reported on the 20th
    inferred = {(t, ex.ids[t][i]) for t, m in ex.inferred.items() for i in np.flatnonzero(m)}
    assert inferred == {("card", "c_23b7a267"), ("card", "c_40fbd832"), ("card", "c_50c96bbf"),
                        ("device", "d_f10e1a51"), ("card", "c_007"), ("card", "c_009"), ("card", "c_010"),
                        ("ip", "80.160.218.69")}
    card = {c: int(ex.labels["card"][i]) for i, c in enumerate(ex.ids["card"])}
    assert card["c_1c3e2575"] == card["c_008"] == card["c_009"] == 1  # all still positives


def test_fraud_evidence_of_its_own_leaves_out_labels_inherited_from_a_ring_verdict():
    """What re-raises a cleared ring (scoring.score_export): a new member known as fraud by its own chargeback or
    verdict, not one labelled only because another ring was judged fraud."""
    ex = SimpleNamespace(ids={"card": ["c1", "c2", "c3"], "device": ["d1"]},
                         labels={"card": np.array([1, 1, -1]), "device": np.array([1])},
                         inferred={"card": np.array([False, True, False])})
    assert known_fraud_keys(ex) == {("card", "c1"), ("card", "c2"), ("device", "d1")}
    assert known_fraud_keys(ex, own_evidence=True) == {("card", "c1"), ("device", "d1")}


def test_of_two_verdicts_at_the_same_time_the_one_recorded_later_wins(world, settings):
    """A correction in the same file (no times given, or the same day): everywhere the later row is the verdict."""
    record(world, settings, [Verdict("fraud", ring_id="R-test", at=at(12)), Verdict("legit", ring_id="R-test", at=at(12)),
                             Verdict("legit", entity_type="card", entity_id="c_012", at=at(12)),
                             Verdict("fraud", entity_type="card", entity_id="c_012", at=at(12))])
    assert set(cleared_rings(world)) == {"R-test"} and judged_rings(world)["R-test"][1] == "legit"
    assert [(h["verdict"], h["superseded"]) for h in query(world, "verdict_history", target="R-test")] == [
        ("legit", False), ("fraud", True)]
    assert labels(world, at(13)) == {("card", "c_012"): (1, "verdict")}  # R-test's members: withdrawn, unlabelled
    assert world.run_text("MATCH (c:Card) WHERE c.card_id IN ['c_007', 'c_012'] RETURN c.card_id AS card, "
                          "c.verdict AS verdict, c.ring_verdict AS ring_verdict ORDER BY card")[1] == [
        {"card": "c_007", "verdict": None, "ring_verdict": "legit"},
        {"card": "c_012", "verdict": "fraud", "ring_verdict": None}]


def test_a_bad_target_records_nothing(world, settings):
    good = Verdict("fraud", ring_id="R-farm")
    for bad, message in ((Verdict("fraud", ring_id="R-nope"), r"no ring R-nope \(a ring held back by triage is not in the graph: its members are listed"),
                         (Verdict("legit", ring_id="R-old"), "ring R-old is not current"),
                         (Verdict("fraud", entity_type="card", entity_id="c_nope"), "no card c_nope in the graph")):
        with pytest.raises(UsageError, match=message):
            record(world, settings, [good, bad])
    with pytest.raises(UsageError, match="expected fraud or legit"):
        record(world, settings, [Verdict("maybe", ring_id="R-farm")])
    assert verdicts(world) == []


def test_the_cli_records_one_verdict_or_a_whole_file_and_refuses_a_bad_file(world, tmp_path):
    p = cli("verdict", "R-test", "--fraud", "--note", "testing burst", "--analyst", "ana", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["ring_members_covered"] == 6
    p = cli("verdict", "--entity", "card:c_012", "--legit", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["verdicts"] == 1

    bad = tmp_path / "bad.csv"
    bad.write_text("ring_id,entity,verdict,note\nR-farm,,fraud,ok\n,card:c_006,maybe,\nR-farm,card:c_006,legit,\n")
    p = cli("verdict", "--from-file", str(bad))
    assert p.returncode == 2 and "nothing recorded" in p.stderr
    assert "line 3: verdict 'maybe' on card c_006" in p.stderr and "line 4: give exactly one of ring_id" in p.stderr
    assert len(verdicts(world)) == 2  # the good first row was not written either

    good = tmp_path / "good.csv"
    good.write_text("ring_id,entity,verdict,note,analyst,at\nR-farm,,fraud,ok,bo,2026-01-12T08:00:00Z\n"
                    ",card:c_006,legit,,bo,\n")
    p = cli("verdict", "--from-file", str(good), "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["verdicts"] == 2 and len(verdicts(world)) == 4
    p = cli("verdict", "R-farm", "--fraud", "--legit")
    assert p.returncode == 2 and "exactly one of --fraud and --legit" in p.stderr


def query(g: Graph, name: str, **params) -> list[dict]:
    """An investigation query run as `graphfraud query` runs it (parameters as the CLI's strings); plain rows."""
    from graphfraud.db import plain
    from graphfraud.queries import run_query

    return [{k: plain(v) for k, v in r.items()} for r in run_query(g, name, {k: str(v) for k, v in params.items()})[1]]


def test_the_verdict_command_loads_no_model_library():
    """An analyst runs `graphfraud verdict` ring after ring: what it imports must not pull in torch, PyG,
    scikit-learn or scipy.stats, which took it from under 2 s to 7 s a call."""
    code = ("import sys, graphfraud.db, graphfraud.verdicts\n"  # what cli.py's verdict command imports
            "print(sorted(m for m in ('torch', 'torch_geometric', 'sklearn', 'scipy.stats') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr[-1000:]
    assert p.stdout.strip() == "[]"


def test_review_queue_history_and_precision_queries(world, settings):
    queue = query(world, "review_queue", limit=10)
    assert [(r["ring_id"], r["strongest_evidence"], r["shared_by"], r["evidence"]) for r in queue] == [
        ("R-farm", "device:d_f10e1a51", 4, 2), ("R-test", "device:d_fce5af27", 4, 3), ("R-other", "ip:10.0.0.12", 1, 1)]
    record(world, settings, [Verdict("fraud", ring_id="R-farm", analyst="ana", at=at(12))])
    record(world, settings, [Verdict("legit", ring_id="R-test", analyst="bo", at=at(13)),
                             Verdict("legit", ring_id="R-other", analyst="bo", at=at(13))])
    record(world, settings, [Verdict("legit", entity_type="card", entity_id="c_007", at=at(14))])
    record(world, settings, [Verdict("fraud", ring_id="R-test", analyst="bo", note="came back", at=at(20))])
    assert query(world, "review_queue", limit=10) == []  # every current ring has a verdict

    hist = query(world, "verdict_history", target="c_007")
    assert [(h["at"][:10], h["verdict"], h["on"], h["via_ring"], h["covered"], h["superseded"]) for h in hist] == [
        ("2026-01-20", "fraud", "R-test", "R-test", 6, False),
        ("2026-01-14", "legit", "card:c_007", None, 0, False),
        ("2026-01-13", "legit", "R-test", "R-test", 6, True)]
    assert [(h["verdict"], h["superseded"], h["note"]) for h in query(world, "verdict_history", target="R-test")] == [
        ("fraud", False, "came back"), ("legit", True, None)]

    # latest verdict per ring: R-farm fraud and R-other legit in the week of Monday 12 January, R-test fraud in the next
    assert query(world, "analyst_precision", since="2026-01-01T00:00:00Z") == [
        {"week": "2026-01-12", "reviewed": 2, "fraud": 1, "legit": 1, "precision": 0.5},
        {"week": "2026-01-19", "reviewed": 1, "fraud": 1, "legit": 0, "precision": 1.0}]
    assert query(world, "analyst_precision", since="2026-01-15T00:00:00Z") == [
        {"week": "2026-01-19", "reviewed": 1, "fraud": 1, "legit": 0, "precision": 1.0}]
    assert world.read("nightly/verdict_summary")[0]["unreviewed"] == 0
    # a later run writes the cleared R-other again (raised again: it changed materially; an unchanged one is held
    # back, not written): it needs a verdict again, and leaves the queue with the next one
    world.run_text("MATCH (r:FraudRing {ring_id: 'R-other'}) SET r.run_id = 'run-3'", write=True)
    assert [r["ring_id"] for r in query(world, "review_queue", limit=10)] == ["R-other"]
    assert world.read("nightly/verdict_summary")[0]["unreviewed"] == 1
    record(world, settings, [Verdict("legit", ring_id="R-other", analyst="bo", at=at(21))])
    assert query(world, "review_queue", limit=10) == []


def ring(ring_id: str, cards: list[str]) -> Ring:
    return Ring(ring_id, "device_farm", 0.9, [RingMember("card", c, 0.9, "card") for c in cards], [], 0, 0, "")


def test_a_cleared_ring_stays_down_until_it_grows_or_gains_known_fraud():
    cleared = {"R-farm": frozenset(("card", c) for c in ("c1", "c2", "c3", "c4"))}
    same = ring("R-farm", ["c1", "c2", "c3", "c4"])
    one_more = ring("R-farm", ["c1", "c2", "c3", "c4", "c5"])
    renamed = ring("h-123", ["c1", "c2", "c3", "c5"])  # a new content-hash id, Jaccard 3/5 with the cleared members
    grown = ring("h-456", ["c1", "c2", "c3", "c4", "c5", "c6"])
    other = ring("R-other", ["c7", "c8"])
    raised, held, again = hold_back_cleared([same, other], cleared, set(), growth=0.5)
    assert [r.ring_id for r in raised] == ["R-other"] and again == []
    assert held == [{"ring_id": "R-farm", "reason": "cleared", "cleared_ring": "R-farm", "new_members": 0}]
    assert hold_back_cleared([one_more], cleared, set(), 0.5)[0] == []  # 1 new member < 0.5 x 4
    assert hold_back_cleared([renamed], cleared, set(), 0.5)[1] == [
        {"ring_id": "h-123", "reason": "cleared", "cleared_ring": "R-farm", "new_members": 1}]
    raised, held, again = hold_back_cleared([grown], cleared, set(), 0.5)  # 2 new members >= 0.5 x 4: raised
    assert [r.ring_id for r in raised] == ["R-farm"] and held == []  # again, under the id its verdicts are on,
    assert again == [{"ring_id": "R-farm", "because": "grew", "cleared_members": 4, "new_members": 2,
                      "new_known_fraud": []}]  # saying why
    raised, _, again = hold_back_cleared([ring("R-farm", ["c1", "c2", "c3", "c4", "c5"])], cleared,
                                         {("card", "c5"), ("card", "c1")}, 0.5)
    assert [r.ring_id for r in raised] == ["R-farm"]  # one new member, but known as fraud
    assert again == [{"ring_id": "R-farm", "because": "known fraud joined", "cleared_members": 4, "new_members": 1,
                      "new_known_fraud": ["card:c5"]}]  # c1 was in the ring when it was cleared: not new evidence


def test_cleared_rings_are_those_whose_latest_verdict_is_legit_and_members_carry_it(world, settings):
    record(world, settings, [Verdict("legit", ring_id="R-test", at=at(12)), Verdict("fraud", ring_id="R-farm", at=at(12)),
                             Verdict("legit", entity_type="card", entity_id="c_012", at=at(12))])
    members = {("card", c) for c in ("c_007", "c_008", "c_009", "c_010")} | {("ip", "80.160.218.69"), ("merchant", "m_cc71f41e")}
    assert cleared_rings(world) == {"R-test": frozenset(members)}
    shown = world.run_text("MATCH (c:Card) WHERE c.card_id IN ['c_007', 'c_012'] RETURN c.card_id AS card, "
                           "c.risk_score AS risk, c.ring_verdict AS ring_verdict, c.ring_verdict_ring AS ring, "
                           "c.verdict AS verdict ORDER BY card")[1]
    assert [(r["card"], r["ring_verdict"], r["ring"], r["verdict"]) for r in shown] == [
        ("c_007", "legit", "R-test", None), ("c_012", None, None, "legit")]
    record(world, settings, [Verdict("fraud", ring_id="R-test", at=at(15))])
    assert cleared_rings(world) == {}


def test_judged_rings_carry_their_latest_verdict_and_numeric_properties(world, settings):
    record(world, settings, [Verdict("fraud", ring_id="R-farm", at=at(12)), Verdict("legit", ring_id="R-test", at=at(12)),
                             Verdict("legit", ring_id="R-other", at=at(13)),
                             Verdict("legit", entity_type="card", entity_id="c_012", at=at(12))])
    record(world, settings, [Verdict("fraud", ring_id="R-test", at=at(15))])  # supersedes its legit verdict
    assert judged_rings(world) == {  # the stats a ring was written with are its numeric properties (here two)
        "R-farm": ({"score": 0.93, "size": 5}, "fraud"), "R-other": ({"score": 0.55, "size": 2}, "legit"),
        "R-test": ({"score": 0.88, "size": 6}, "fraud")}


def test_the_nightly_verdict_summary_on_the_queries_world(graph):
    write_world(graph)  # with its verdict: R-farm judged fraud on 12 January 09:00, first found by run-1 (done 10 Jan 02:10)
    try:
        row = graph.read("nightly/verdict_summary")[0]
    finally:
        graph.wipe()
    assert row == {"current": 3, "reviewed": 1, "unreviewed": 2, "judged": 1, "judged_fraud": 1, "precision": 1.0,
                   "median_hours_to_verdict": pytest.approx(54 + 50 / 60)}
