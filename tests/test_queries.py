"""Investigation queries on a real Neo4j holding a tiny hand-made scored world with exact expected answers.

Every query runs with the example parameters of its own header. The world's key ids are real ids of the sample
world (data/sample: planted device farm ring_0000 and card-testing ring_0001), so the same examples also work in
the demo on the scored sample; ring ids (R-farm ...) and all other ids are the fixture's own.
The world (written by cypher/test/queries_world + queries_rings):
- device-farm ring R-farm: cards c_1c3e2575, c_23b7a267, c_40fbd832, c_50c96bbf paying from device d_f10e1a51
  and IP 82.105.96.148 (c_x005, an honest card, used d_f10e1a51 once); 4 members in run-1, 5 in run-2 (grown);
- card-testing ring R-test: cards c_007..c_010 testing 1-2 EUR payments at m_cc71f41e from IP 80.160.218.69 /
  device d_fce5af27 on 2026-01-02 23:31-23:39 (one more just after midnight); new in run-2;
- R-other (c_012 + IP 10.0.0.12, same size in both runs) and R-old (retired: current = false);
- chargebacks on t_01 (c_1c3e2575, in R-farm), t_19 (c_012, in R-other) and t_18 (c_011, in no ring: unexplained).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator

import pytest
from graphfraud.db import Graph
from graphfraud.registry import cypher_params
from graphfraud.errors import AccessModeError, UsageError
from graphfraud.queries import (QUERY_DIR, bind_params, example_params, get_query, list_queries, parse_header,
                                run_query)

from conftest import cli as gf



NS_UTC = ".000000000+00:00"  # how graphfraud.db.plain writes a Neo4j DateTime's fraction and zone

ISSUE_QUERIES = {  # the twelve the first issue asks for, scoring_runs, and the analyst's loop (tests/test_verdicts.py)
    "top_rings", "ring_members", "why_flagged", "card_neighbourhood", "cards_sharing_device_or_ip",
    "merchant_ring_exposure", "ring_timeline", "rings_new_or_grown", "shortest_path", "busy_devices",
    "card_testing_bursts", "unexplained_chargebacks", "scoring_runs",
    "review_queue", "verdict_history", "analyst_precision",
}


def _ent(kind: str, ids: list[str], risk: float, band: str) -> list[dict]:
    return [{"kind": kind, "id": i, "risk_score": risk, "risk_band": band} for i in ids]


ENTITIES = (
    [{"kind": "card", "id": "c_1c3e2575", "risk_score": 0.97, "risk_band": "critical"}]
    + _ent("card", ["c_23b7a267", "c_40fbd832", "c_50c96bbf"], 0.92, "critical")
    + _ent("card", ["c_x005"], 0.30, "medium") + _ent("card", ["c_006"], 0.40, "medium")
    + _ent("card", ["c_007", "c_008", "c_009", "c_010"], 0.85, "high")
    + _ent("card", ["c_011"], 0.20, "low") + _ent("card", ["c_012"], 0.58, "medium")
    + _ent("merchant", ["m_001", "m_003"], 0.05, "low") + _ent("merchant", ["m_cc71f41e"], 0.60, "medium")
    + _ent("device", ["d_f10e1a51"], 0.96, "critical") + _ent("device", ["d_002", "d_003"], 0.05, "low")
    + _ent("device", ["d_fce5af27"], 0.81, "high")
    + _ent("ip", ["82.105.96.148", "80.160.218.69"], 0.80, "high") + _ent("ip", ["10.0.0.5", "10.0.0.12"], 0.10, "low")
)


def _tx(id_, card, merchant, device, ip, ts, amount, status="approved", chargeback_at=None) -> dict:
    return {"id": id_, "card": card, "merchant": merchant, "device": device, "ip": ip, "ts": ts, "amount": amount,
            "status": status, "channel": "ecom" if device or ip else "pos", "chargeback_at": chargeback_at}


TRANSACTIONS = [
    # device farm: four cards on d_f10e1a51 / 82.105.96.148
    _tx("t_01", "c_1c3e2575", "m_001", "d_f10e1a51", "82.105.96.148", "2026-01-02T09:00:00Z", 120.0, chargeback_at="2026-01-20T00:00:00Z"),
    _tx("t_02", "c_23b7a267", "m_001", "d_f10e1a51", "82.105.96.148", "2026-01-02T09:05:00Z", 130.0),
    _tx("t_03", "c_40fbd832", "m_003", "d_f10e1a51", "82.105.96.148", "2026-01-02T09:10:00Z", 140.0, "declined"),
    _tx("t_04", "c_50c96bbf", "m_003", "d_f10e1a51", "82.105.96.148", "2026-01-03T11:00:00Z", 150.0),
    _tx("t_05", "c_1c3e2575", "m_003", "d_f10e1a51", "82.105.96.148", "2026-01-03T11:30:00Z", 160.0),
    # c_x005: honest, once on the farm device
    _tx("t_06", "c_x005", "m_001", "d_f10e1a51", "10.0.0.5", "2026-01-03T12:00:00Z", 40.0),
    _tx("t_07", "c_x005", "m_001", "d_002", "10.0.0.5", "2026-01-01T08:00:00Z", 35.0),
    # card testing at m_cc71f41e
    _tx("t_10", "c_007", "m_cc71f41e", "d_fce5af27", "80.160.218.69", "2026-01-02T23:31:00Z", 1.0, "declined"),
    _tx("t_11", "c_008", "m_cc71f41e", "d_fce5af27", "80.160.218.69", "2026-01-02T23:33:00Z", 1.0, "declined"),
    _tx("t_12", "c_009", "m_cc71f41e", "d_fce5af27", "80.160.218.69", "2026-01-02T23:35:00Z", 1.5),
    _tx("t_13", "c_010", "m_cc71f41e", "d_fce5af27", "80.160.218.69", "2026-01-02T23:37:00Z", 1.0, "declined"),
    _tx("t_14", "c_007", "m_cc71f41e", "d_fce5af27", "80.160.218.69", "2026-01-02T23:39:00Z", 2.0, "declined"),
    _tx("t_15", "c_008", "m_cc71f41e", "d_fce5af27", "80.160.218.69", "2026-01-03T00:01:00Z", 1.0, "declined"),
    _tx("t_16", "c_006", "m_cc71f41e", None, None, "2026-01-02T23:36:00Z", 80.0),
    _tx("t_17", "c_006", "m_003", "d_003", "10.0.0.5", "2026-01-04T15:00:00Z", 60.0),
    # the chargeback no ring explains, and one R-other explains
    _tx("t_18", "c_011", "m_003", None, None, "2026-01-06T13:00:00Z", 250.0, chargeback_at="2026-01-25T00:00:00Z"),
    _tx("t_19", "c_012", "m_001", None, "10.0.0.12", "2026-01-07T10:00:00Z", 70.0, chargeback_at="2026-01-26T00:00:00Z"),
]

RUNS = [
    {"run_id": "run-1", "model_version": "test-1", "started_at": "2026-01-10T02:00:00Z",
     "finished_at": "2026-01-10T02:10:00Z", "status": "done"},
    {"run_id": "run-2", "model_version": "test-1", "started_at": "2026-01-11T02:00:00Z",
     "finished_at": "2026-01-11T02:10:00Z", "status": "done"},
    {"run_id": "run-3", "model_version": "test-1", "started_at": "2026-01-12T02:00:00Z",
     "finished_at": "2026-01-12T02:01:00Z", "status": "abandoned"},  # ignored by rings_new_or_grown
]


def _members(kind: str, ids: list[str], role: str, score: float) -> list[dict]:
    return [{"kind": kind, "id": i, "role": role, "score": score} for i in ids]


RINGS = [
    {"ring_id": "R-farm", "type": "device_farm", "score": 0.93, "size": 5, "run_id": "run-2", "current": True,
     "first_seen": "2026-01-02T09:00:00Z", "last_seen": "2026-01-03T11:30:00Z", "explanation": "4 cards on d_f10e1a51",
     "members": [{"kind": "card", "id": "c_1c3e2575", "role": "card", "score": 0.97}]
     + _members("card", ["c_23b7a267", "c_40fbd832", "c_50c96bbf"], "card", 0.92)
     + _members("device", ["d_f10e1a51"], "shared_device", 0.96),
     "evidence": [{"kind": "device", "id": "d_f10e1a51", "weight": 4}, {"kind": "ip", "id": "82.105.96.148", "weight": 4}]},
    {"ring_id": "R-test", "type": "card_testing", "score": 0.88, "size": 6, "run_id": "run-2", "current": True,
     "first_seen": "2026-01-02T23:31:00Z", "last_seen": "2026-01-03T00:01:00Z", "explanation": "tests at m_cc71f41e",
     "members": _members("card", ["c_007", "c_008", "c_009", "c_010"], "card", 0.85)
     + _members("ip", ["80.160.218.69"], "shared_ip", 0.80) + _members("merchant", ["m_cc71f41e"], "target_merchant", 0.60),
     "evidence": [{"kind": "merchant", "id": "m_cc71f41e", "weight": 4}, {"kind": "ip", "id": "80.160.218.69", "weight": 4},
                  {"kind": "device", "id": "d_fce5af27", "weight": 4}]},
    {"ring_id": "R-other", "type": "other", "score": 0.55, "size": 2, "run_id": "run-2", "current": True,
     "first_seen": "2026-01-07T10:00:00Z", "last_seen": "2026-01-07T10:00:00Z", "explanation": "c_012 alone",
     "members": _members("card", ["c_012"], "card", 0.58) + _members("ip", ["10.0.0.12"], "ip", 0.10),
     "evidence": [{"kind": "ip", "id": "10.0.0.12", "weight": 1}]},
    {"ring_id": "R-old", "type": "device_farm", "score": 0.99, "size": 2, "run_id": "run-1", "current": False,
     "first_seen": "2026-01-04T15:00:00Z", "last_seen": "2026-01-04T15:00:00Z", "explanation": "retired",
     "members": _members("card", ["c_006"], "card", 0.40) + _members("device", ["d_003"], "device", 0.05),
     "evidence": [{"kind": "device", "id": "d_003", "weight": 1}]},
]

FOUND = [
    {"run_id": "run-1", "ring_id": "R-farm", "size": 4, "score": 0.90},
    {"run_id": "run-1", "ring_id": "R-other", "size": 2, "score": 0.55},
    {"run_id": "run-1", "ring_id": "R-old", "size": 2, "score": 0.99},
    {"run_id": "run-2", "ring_id": "R-farm", "size": 5, "score": 0.93},
    {"run_id": "run-2", "ring_id": "R-test", "size": 6, "score": 0.88},
    {"run_id": "run-2", "ring_id": "R-other", "size": 2, "score": 0.55},
]


VERDICTS = [  # an analyst judged R-farm fraud the day after run-2 (covering its five members)
    {"verdict_id": "V-farm", "ring_id": "R-farm", "verdict": "fraud", "at": "2026-01-12T09:00:00Z", "analyst": "ana",
     "note": "four cards on one device"},
]


def write_world(graph: Graph, verdicts: list[dict] = VERDICTS) -> None:
    """Empty the graph and write the scored world above (with `verdicts`) through parameterised fixture Cypher."""
    graph.wipe()
    graph.write("test/queries_world", {"entities": ENTITIES, "transactions": TRANSACTIONS,
                                       "model_version": "test-1", "scored_at": "2026-01-11T02:05:00Z",
                                       **cypher_params()})
    graph.write("test/queries_rings", {"runs": RUNS, "rings": RINGS, "found": FOUND, "verdicts": verdicts})


@pytest.fixture(scope="module")
def world(graph: Graph) -> Iterator[Graph]:
    """The scored world above, written once for this module."""
    write_world(graph)
    yield graph
    graph.wipe()


def run_example(g: Graph, name: str) -> list[dict]:
    """Run a query with the example parameters of its own header; rows as plain JSON-able dicts."""
    from graphfraud.db import plain

    columns, rows = run_query(g, name, example_params(get_query(name)))
    return [{c: plain(r[c]) for c in columns} for r in rows]


# --- headers -------------------------------------------------------------------------------------

def test_every_query_file_has_a_valid_header() -> None:
    files = sorted(QUERY_DIR.glob("*.cypher"))
    assert {p.stem for p in files} == ISSUE_QUERIES
    for p in files:
        spec = parse_header(p.stem, p.read_text())
        assert spec.name == p.stem and spec.description and spec.returns
        for param in spec.params:
            assert param.type in ("int", "float", "string", "datetime") and param.example and param.help
            # sizes and thresholds are optional; ids and time windows must be given
            assert (param.default is not None) == (param.type in ("int", "float")), param
    assert [q.name for q in list_queries()] == sorted(ISSUE_QUERIES)


def test_malformed_headers_are_refused() -> None:
    good = "// name: q\n// description: d\n// param: n int example=3 | how many\nRETURN $n"
    assert parse_header("q", good).params[0].example == "3"
    with pytest.raises(UsageError, match="must start with `// name: q`"):
        parse_header("q", good.replace("name: q", "name: other"))
    with pytest.raises(UsageError, match="not `NAME TYPE example=VALUE"):
        parse_header("q", good.replace("int example", "integer example"))
    with pytest.raises(UsageError, match="not a valid int"):
        parse_header("q", good.replace("example=3", "example=three"))
    assert parse_header("q", good).params[0].default is None
    assert parse_header("q", good.replace("example=3", "example=3 default=5")).params[0].default == "5"
    with pytest.raises(UsageError, match=r"n='five' is not a valid int"):
        parse_header("q", good.replace("example=3", "example=3 default=five"))
    with pytest.raises(UsageError, match=r"uses parameters \['m', 'n'\] but the header declares \['n'\]"):
        parse_header("q", good + " + $m")
    with pytest.raises(UsageError, match="is not `// name|description"):
        parse_header("q", "// name: q\n// whatever\nRETURN 1")


# --- every query, with its own example parameters, on the world -----------------------------------

def test_top_rings(world: Graph) -> None:
    rows = run_example(world, "top_rings")
    assert [(r["ring_id"], r["type"], r["size"], r["evidence"]) for r in rows] == [
        ("R-farm", "device_farm", 5, 2), ("R-test", "card_testing", 6, 3), ("R-other", "other", 2, 1)]


def test_ring_members_with_roles_and_binding_entities(world: Graph) -> None:
    rows = run_example(world, "ring_members")
    assert [(r["relation"], r["kind"], r["entity_id"], r["role"], r["weight"]) for r in rows] == [
        ("member", "Card", "c_1c3e2575", "card", 0.97),
        ("member", "Card", "c_23b7a267", "card", 0.92),
        ("member", "Card", "c_40fbd832", "card", 0.92),
        ("member", "Card", "c_50c96bbf", "card", 0.92),
        ("member", "Device", "d_f10e1a51", "shared_device", 0.96),
        ("bound_by", "Device", "d_f10e1a51", "device", 4),
        ("bound_by", "IP", "82.105.96.148", "ip", 4),
    ]


def test_why_flagged(world: Graph) -> None:
    [row] = run_example(world, "why_flagged")
    assert row == {
        "kind": "Card", "entity_id": "c_1c3e2575", "risk_score": 0.97, "risk_band": "critical", "model_version": "test-1",
        "confirmed_label": None, "transactions": 2, "declines": 0, "chargebacks": 1, "ring_id": "R-farm",
        "ring_type": "device_farm", "ring_score": 0.93, "role": "card", "member_score": 0.97,
        "evidence": ["device:Device:d_f10e1a51", "ip:IP:82.105.96.148"], "explanation": "4 cards on d_f10e1a51"}
    # an unringed entity still answers, with its risk and no ring; an IP is found by its address
    [row] = run_query(world, "why_flagged", {"entity_id": "c_011"})[1]
    assert (row["risk_band"], row["chargebacks"], row["ring_id"], row["evidence"]) == ("low", 1, None, [])
    [row] = run_query(world, "why_flagged", {"entity_id": "80.160.218.69"})[1]
    assert (row["kind"], row["transactions"], row["ring_id"], row["evidence"]) == (
        "IP", 6, "R-test", ["device:Device:d_fce5af27", "ip:IP:80.160.218.69", "merchant:Merchant:m_cc71f41e"])


def test_card_neighbourhood(world: Graph) -> None:
    rows = run_example(world, "card_neighbourhood")
    assert [(r["hop"], r["kind"], r["entity_id"], r["via"], r["transactions"], r["amount"]) for r in rows] == [
        (1, "Device", "d_f10e1a51", None, 2, 280.0),
        (1, "IP", "82.105.96.148", None, 2, 280.0),
        (1, "Merchant", "m_001", None, 1, 120.0),
        (1, "Merchant", "m_003", None, 1, 160.0),
        (2, "Card", "c_23b7a267", "82.105.96.148", 1, 130.0),
        (2, "Card", "c_40fbd832", "82.105.96.148", 1, 140.0),
        (2, "Card", "c_50c96bbf", "82.105.96.148", 1, 150.0),
        (2, "Card", "c_23b7a267", "d_f10e1a51", 1, 130.0),
        (2, "Card", "c_40fbd832", "d_f10e1a51", 1, 140.0),
        (2, "Card", "c_50c96bbf", "d_f10e1a51", 1, 150.0),
        (2, "Card", "c_x005", "d_f10e1a51", 1, 40.0),
    ]
    assert {r["entity_id"]: r["rings"] for r in rows}["c_x005"] == []
    assert {r["entity_id"]: r["rings"] for r in rows}["c_23b7a267"] == ["R-farm"]


def test_cards_sharing_device_or_ip(world: Graph) -> None:
    rows = run_example(world, "cards_sharing_device_or_ip")
    assert [(r["card_id"], r["shared"], r["transactions"], r["rings"]) for r in rows] == [
        ("c_23b7a267", ["Device:d_f10e1a51", "IP:82.105.96.148"], 2, ["R-farm"]),
        ("c_40fbd832", ["Device:d_f10e1a51", "IP:82.105.96.148"], 2, ["R-farm"]),
        ("c_50c96bbf", ["Device:d_f10e1a51", "IP:82.105.96.148"], 2, ["R-farm"]),
        ("c_x005", ["Device:d_f10e1a51"], 1, []),
    ]


def test_merchant_ring_exposure(world: Graph) -> None:
    rows = run_example(world, "merchant_ring_exposure")
    # ring payments: m_001 t_01 t_02 t_06 (d_f10e1a51) t_19 = 360 of 395; m_003 t_03 t_04 t_05 = 450 of 760;
    # m_cc71f41e t_10..t_15 = 7.5 of 87.5
    assert [(r["merchant_id"], r["ring_transactions"], r["transactions"], r["ring_amount"], r["amount"],
             r["ring_share"], r["rings"], r["merchant_rings"]) for r in rows] == [
        ("m_001", 4, 5, 360.0, 395.0, round(360 / 395, 4), ["R-farm", "R-other"], []),
        ("m_003", 3, 5, 450.0, 760.0, round(450 / 760, 4), ["R-farm"], []),
        ("m_cc71f41e", 6, 7, 7.5, 87.5, round(7.5 / 87.5, 4), ["R-test"], ["R-test"]),
    ]


def test_ring_timeline(world: Graph) -> None:
    rows = run_example(world, "ring_timeline")
    assert [(r["day"], r["transactions"], r["amount"], r["declines"], r["chargebacks"], r["cards"]) for r in rows] == [
        ("2026-01-02", 3, 390.0, 1, 1, 3),
        ("2026-01-03", 3, 350.0, 0, 0, 3),
    ]


def test_rings_new_or_grown(world: Graph) -> None:
    rows = run_example(world, "rings_new_or_grown")
    assert [(r["ring_id"], r["change"], r["size"], r["previous_size"], r["growth"], r["run_id"],
             r["previous_run_id"]) for r in rows] == [
        ("R-test", "new", 6, None, 6, "run-2", "run-1"),
        ("R-farm", "grown", 5, 4, 1, "run-2", "run-1"),
    ]


def test_shortest_path(world: Graph) -> None:
    # the example: two members of R-farm are two hops apart through their (current) ring
    [row] = run_example(world, "shortest_path")
    assert row == {"hops": 2, "path": ["Card:c_1c3e2575", "FraudRing:R-farm", "Card:c_23b7a267"], "rings": ["R-farm"]}
    # through payments: the only 4-hop path from d_002 to c_006 goes through the IP they share
    [row] = run_query(world, "shortest_path", {"from_id": "d_002", "to_id": "c_006"})[1]
    assert (row["hops"], row["path"], row["rings"]) == (
        4, ["Device:d_002", "Transaction:t_07", "IP:10.0.0.5", "Transaction:t_17", "Card:c_006"], [])
    # a retired ring (R-old holds c_006 and d_003) is not crossed: the path goes through the payment
    [row] = run_query(world, "shortest_path", {"from_id": "c_006", "to_id": "d_003"})[1]
    assert row["path"] == ["Card:c_006", "Transaction:t_17", "Device:d_003"]
    assert run_query(world, "shortest_path", {"from_id": "c_1c3e2575", "to_id": "nobody"})[1] == []


def test_busy_devices(world: Graph) -> None:
    rows = run_example(world, "busy_devices")
    cards = {"d_f10e1a51": 5, "d_002": 1, "d_003": 1, "d_fce5af27": 4}  # distinct cards per device in TRANSACTIONS
    mean, sd = statistics.mean(cards.values()), statistics.stdev(cards.values())
    assert [(r["device_id"], r["cards"], r["z_score"], r["transactions"], r["sample_cards"], r["rings"])
            for r in rows] == [
        ("d_f10e1a51", 5, round((5 - mean) / sd, 2), 6, ["c_1c3e2575", "c_23b7a267", "c_40fbd832", "c_50c96bbf", "c_x005"], ["R-farm"]),
        ("d_fce5af27", 4, round((4 - mean) / sd, 2), 6, ["c_007", "c_008", "c_009", "c_010"], []),
    ]


def test_card_testing_bursts(world: Graph) -> None:
    rows = run_example(world, "card_testing_bursts")
    assert [(r["bucket_start"], r["attempts"], r["cards"], r["declines"], r["decline_rate"], r["amount"],
             r["first_at"], r["last_at"], r["sample_cards"]) for r in rows] == [
        (f"2026-01-02T23:30:00{NS_UTC}", 5, 4, 4, 0.8, 6.5, f"2026-01-02T23:31:00{NS_UTC}", f"2026-01-02T23:39:00{NS_UTC}",
         ["c_007", "c_008", "c_009", "c_010"]),
    ]


def test_unexplained_chargebacks(world: Graph) -> None:
    rows = run_example(world, "unexplained_chargebacks")
    assert [(r["transaction_id"], r["card_id"], r["merchant_id"], r["amount"], r["chargeback_at"]) for r in rows] == [
        ("t_18", "c_011", "m_003", 250.0, f"2026-01-25T00:00:00{NS_UTC}")]


def test_scoring_runs(world: Graph) -> None:
    rows = run_example(world, "scoring_runs")
    assert [(r["run_id"], r["status"], r["rings"]) for r in rows] == [
        ("run-3", "abandoned", 0), ("run-2", "done", 3), ("run-1", "done", 1)]


def test_every_query_answers_its_own_example(world: Graph) -> None:
    """The demo runs each query with its header's example: each must return at least one row on the world."""
    for spec in list_queries():
        assert run_example(world, spec.name), spec.name


# --- validation and access mode -----------------------------------------------------------------

def test_parameters_are_typed_and_validated() -> None:
    spec = get_query("card_testing_bursts")
    typed = bind_params(spec, {"merchant_id": "m_cc71f41e", "since": "2026-01-05T01:00:00+01:00", "until": "2026-01-06",
                               "bucket_minutes": "30", "max_amount": "5", "min_cards": 3})
    assert typed == {"merchant_id": "m_cc71f41e", "since": "2026-01-05T00:00:00+00:00", "until": "2026-01-06T00:00:00+00:00",
                     "bucket_minutes": 30, "max_amount": 5.0, "min_cards": 3}
    takes = r"it takes: merchant_id \(string, e\.g\. m_cc71f41e\), since \(datetime, e\.g\. 2026-01-02T00:00:00Z\)"
    with pytest.raises(UsageError, match=r"needs parameter until; " + takes + r".*, min_cards \(int, default 3\)$"):
        bind_params(spec, {"merchant_id": "m", "since": "2026-01-05", "bucket_minutes": "1", "max_amount": "1"})
    with pytest.raises(UsageError, match=r"bucket_minutes='half an hour' is not a valid int \(e\.g\. 30\)"):
        bind_params(spec, {**example_params(spec), "bucket_minutes": "half an hour"})
    with pytest.raises(UsageError, match=r"since='yesterday' is not a valid datetime"):
        bind_params(spec, {**example_params(spec), "since": "yesterday"})
    with pytest.raises(UsageError, match=r"has no parameter colour; " + takes):
        bind_params(spec, {**example_params(spec), "colour": "red"})
    with pytest.raises(UsageError, match=r"not a valid int"):
        bind_params(get_query("top_rings"), {"limit": "2.5"})
    # a parameter with a default may be left out, and a value given wins over it
    assert bind_params(spec, {"merchant_id": "m", "since": "2026-01-05", "until": "2026-01-06"}) == {
        "merchant_id": "m", "since": "2026-01-05T00:00:00+00:00", "until": "2026-01-06T00:00:00+00:00",
        "bucket_minutes": 30, "max_amount": 5.0, "min_cards": 3}
    assert bind_params(get_query("top_rings"), {}) == {"limit": 10}
    assert bind_params(get_query("top_rings"), {"limit": "1"}) == {"limit": 1}
    with pytest.raises(UsageError, match=r"no query named 'top_ringz'; available: analyst_precision, busy_devices, card_neighbourhood"):
        get_query("top_ringz")


def test_unknown_query_and_bad_parameter_fail_before_the_database(world: Graph) -> None:
    with pytest.raises(UsageError, match="available: .*why_flagged"):
        run_query(world, "../admin/wipe", {})
    with pytest.raises(UsageError, match="needs parameter ring_id"):
        run_query(world, "ring_members", {})


def test_a_query_that_writes_is_refused(world: Graph) -> None:
    """run_query runs in READ access mode: a query file that writes fails and changes nothing."""
    probe = QUERY_DIR / "zz_write_probe.cypher"
    probe.write_text("// name: zz_write_probe\n// description: tries to write\n// returns: nothing\n"
                     "CREATE (:Card {card_id: 'written'}) RETURN 1 AS one\n")
    try:
        with pytest.raises(AccessModeError, match="READ access mode"):
            run_query(world, "zz_write_probe", {})
    finally:
        probe.unlink()
    assert run_query(world, "why_flagged", {"entity_id": "written"})[1] == []


# --- CLI (as a person runs it: a subprocess, exit codes, one-line errors) -------------------------


def test_cli_list_and_run(world: Graph) -> None:
    p = gf("query", "--list", "--format", "json")
    assert p.returncode == 0, p.stderr
    listed = json.loads(p.stdout)
    assert [q["name"] for q in listed] == sorted(ISSUE_QUERIES)
    assert next(q for q in listed if q["name"] == "ring_members")["params"] == [
        {"name": "ring_id", "type": "string", "example": "R-farm", "default": None}]
    assert all(set(q) == {"name", "description", "params"} and q["description"] for q in listed)

    p = gf("query", "ring_members", "-p", "ring_id=R-test", "--format", "json")
    assert p.returncode == 0, p.stderr
    assert [r["entity_id"] for r in json.loads(p.stdout) if r["relation"] == "member"] == [
        "c_007", "c_008", "c_009", "c_010", "80.160.218.69", "m_cc71f41e"]

    p = gf("query", "unexplained_chargebacks", "-p", "since=2026-01-01", "-p", "until=2026-04-01T00:00:00Z",
           "-p", "limit=5", "--format", "csv")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("transaction_id,card_id,merchant_id") and len(lines) == 2
    assert lines[1].startswith("t_18,c_011,m_003,[],250.0,")  # no device, IP or other identifier

    p = gf("query", "top_rings", "-p", "limit=1")
    assert p.returncode == 0 and "R-farm" in p.stdout and "R-test" not in p.stdout and "1 row(s)" in p.stdout
    p = gf("query", "top_rings", "--format", "json")  # limit left at its default (10)
    assert p.returncode == 0, p.stderr
    assert [r["ring_id"] for r in json.loads(p.stdout)] == ["R-farm", "R-test", "R-other"]  # every current ring


def test_cli_errors_are_one_line_exit_2() -> None:
    p = gf("query")
    assert p.returncode == 2 and "graphfraud query --list" in p.stderr and "Traceback" not in p.stderr
    p = gf("query", "top_rings", "-p", "limit=ten")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "limit='ten' is not a valid int" in p.stderr and "it takes: limit (int, default 10)" in p.stderr
    p = gf("query", "no_such_query")
    assert p.returncode == 2 and "no query named 'no_such_query'; available: analyst_precision, busy_devices" in p.stderr
