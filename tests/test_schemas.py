"""Any entity schema, against the real Neo4j: a world without devices or IPs and a world with identity columns go
through build-graph, train, score, evaluate and the queries; a graph written before the registry is migrated."""

from __future__ import annotations

import dataclasses

from graphfraud.evaluate import evaluate
from graphfraud.export import export_graph
from graphfraud.generate import generate
from graphfraud.ingest import build_graph
from graphfraud.queries import example_params, list_queries, run_query
from graphfraud.scoring import score_graph
from graphfraud.train import train

from conftest import end_of


def run_pipeline(graph, settings, tmp_path, scenario: str) -> dict:
    """Generate a small world of `scenario`, load it, train, score and evaluate it; returns what each step said."""
    world = tmp_path / scenario
    generate(world, transactions=6000, days=30, seed=4, scenario=scenario)
    graph.wipe()
    load = build_graph(graph, [world], 5000, tmp_path / "quarantine")
    s = dataclasses.replace(settings, epochs=30, patience=100, hidden=16, model_dir=tmp_path / "models", ensemble=1)
    model = train(graph, s)
    scored = score_graph(s, model_dir=model.path)
    result = evaluate(graph, model.path, world, settings=s)
    return {"load": load, "model": model, "scored": scored, "eval": result,
            "export": export_graph(graph, end_of(graph))}


def test_card_present_world_without_devices_or_ips(graph, settings, tmp_path):
    r = run_pipeline(graph, settings, tmp_path, "card_present")
    assert r["load"].total("rows_quarantined") == 0
    assert set(r["export"].ids) == {"card", "merchant"}
    assert set(r["model"].metrics["nodes"]) == {"card", "merchant"}
    assert set(r["scored"]["entities"]) == {"card", "merchant"} and r["scored"]["entities"]["card"]["n"] > 0
    assert set(r["eval"]["nodes"]) == {"card", "merchant"}
    assert set(r["eval"]["rings"]["gnn"]) >= {"recall", "precision", "f1", "type_accuracy"}
    for spec in list_queries():  # every investigation query runs on a graph that has no device or IP at all
        columns, _ = run_query(graph, spec.name, example_params(spec))
        assert columns == spec.columns(), spec.name


def test_rich_identity_world_links_identities_from_cards(graph, settings, tmp_path):
    r = run_pipeline(graph, settings, tmp_path, "rich_identity")
    ex = r["export"]
    assert {"email", "phone", "shipping_address"} <= set(ex.ids)
    for t, rel in (("email", "has_email"), ("phone", "has_phone"), ("shipping_address", "ships_to")):
        assert ex.data["card", rel, t].edge_index.shape[1] > 0
    rows = graph.run_text("MATCH (e:Email:Entity) RETURN count(e) AS n, count(e.email) AS keyed, "
                          "count(CASE WHEN e.entity_id = e.email THEN 1 END) AS same")[1][0]
    assert rows["n"] == len(ex.ids["email"]) == rows["keyed"] == rows["same"]
    assert set(r["eval"]["nodes"]) >= {"email", "phone", "shipping_address"}


def test_graph_written_before_the_registry_is_migrated(clean_graph):
    clean_graph.write("test/legacy_entities")
    assert clean_graph.run_text("MATCH (n:Entity) RETURN count(n) AS n")[1][0]["n"] == 0
    clean_graph.ensure_schema()
    rows = clean_graph.run_text("MATCH (n:Entity) RETURN n.entity_type AS t, n.entity_id AS id ORDER BY t")[1]
    assert [(r["t"], r["id"]) for r in rows] == [("card", "old-c"), ("device", "old-d"), ("ip", "10.9.9.9"),
                                                  ("merchant", "old-m")]
    clean_graph.ensure_schema()  # idempotent
    assert clean_graph.run_text("MATCH (n:Entity) RETURN count(n) AS n")[1][0]["n"] == 4
