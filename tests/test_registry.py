"""The entity registry is the one vocabulary: every Cypher file and stage follows it, nothing fans out by hand."""

from __future__ import annotations

import re

from graphfraud import registry
from graphfraud.config import REPO_ROOT
from graphfraud.export import TX_SCHEMA
from graphfraud.features import feature_names
from graphfraud.rules import NotIn, row_rules
from graphfraud.validate import OPTIONAL

CYPHER = REPO_ROOT / "cypher"
NON_ENTITY_LABELS = {"Entity", "Transaction", "FraudRing", "ScoringRun", "RingStage", "BatchRun", "Verdict"}
# Hand-written fixtures and the LOAD CSV baseline may name types; the schema keeps the pre-registry constraints.
EXEMPT = ("test/", "bench/", "schema.cypher", "admin/migrate_entities.cypher")


def product_cypher() -> dict[str, str]:
    """Cypher the product runs, comments stripped."""
    out = {}
    for p in sorted(CYPHER.rglob("*.cypher")):
        rel = str(p.relative_to(CYPHER))
        if not rel.startswith(EXEMPT):
            out[rel] = "\n".join(line.split("//")[0] for line in p.read_text().splitlines())
    return out


def test_registry_is_consistent():
    names = [e.name for e in registry.ENTITIES]
    assert len(set(names)) == len(names) and len({e.label for e in registry.ENTITIES}) == len(names)
    assert len({e.rel for e in registry.ENTITIES}) == len(names)
    assert [e.name for e in registry.ENTITIES if e.required] == ["card", "merchant"]
    assert registry.CARD == "card" and registry.MERCHANT in names
    # every edge type joins registry types; every non-card type is linked from the card
    edges = registry.edge_columns()
    assert {d for (s, _, d) in edges if s == "card"} == set(names) - {"card"}
    assert all(s in names and d in names for (s, _, d) in edges)


def test_stages_follow_the_registry():
    names = list(registry.ENTITY_NAMES)
    assert [c for c in TX_SCHEMA if c in names] == names  # export: one column per entity type
    entity_type_rule = [x.breaks for x in row_rules("labels") if getattr(x.breaks, "col", "") == "entity_type"]
    assert entity_type_rule == [NotIn("entity_type", tuple(names), True)]  # labels files may name any entity type
    assert OPTIONAL["transactions"] == [e.column for e in registry.ENTITIES if not e.required]
    # features: a counterpart block per other type present, crowding only for binding types
    f = feature_names("card", ["card", "merchant", "email"])
    assert "n_emails" in f and "max_cards_per_email" in f and "n_devices" not in f and "max_cards_per_merchant" not in f
    # a graph without devices or IPs has neither in its edge types
    assert registry.edge_columns(["card", "merchant"]) == {("card", "pays", "merchant"): ("card", "merchant")}


def fan_out_problems(name: str, text: str) -> list[str]:
    """What is wrong with a Cypher text: a label outside the registry, two or more optional entity types named by
    hand (labels or relationship types), or a hand-written fall-through over entity types."""
    labels = {e.label for e in registry.ENTITIES}
    type_of = {**{e.label: e.name for e in registry.OPTIONAL_ENTITIES},
               **{e.rel: e.name for e in registry.OPTIONAL_ENTITIES}}
    used = set(re.findall(r"[(\[|]\s*\w*\s*:\s*`?([A-Z][A-Za-z_]*)", text)) | set(re.findall(r"\|([A-Z][A-Z_a-z]*)", text))
    unknown = {u for u in used if not u.isupper() and u not in labels | NON_ENTITY_LABELS}
    fan = {type_of[u] for u in used if u in type_of}  # optional entity types the text names
    problems = []
    if unknown:
        problems.append(f"{name}: labels outside the registry {sorted(unknown)}")
    if len(fan) >= 2:
        problems.append(f"{name}: enumerates {sorted(fan)}")
    if re.search(r"ELSE\s+'(ip|IP|device|Device)'", text) or "coalesce(n.card_id" in text:
        problems.append(f"{name}: a hand-written fall-through over entity types")
    return problems


def test_no_cypher_file_fans_out_over_entity_types_by_hand():
    """Product Cypher reaches entities generically (:Entity, entity_type, registry maps as parameters)."""
    problems = [p for name, text in product_cypher().items() for p in fan_out_problems(name, text)]
    assert not problems, "\n".join(problems)


def test_the_fan_out_check_can_fail():
    """The check on Cypher written the old way: each kind of fan-out is caught."""
    assert fan_out_problems("x", "MATCH (n:Card|Merchant|Device|IP) RETURN count(n)") == ["x: enumerates ['device', 'ip']"]
    assert fan_out_problems("y", "MATCH (t)-[:ON_DEVICE|FROM_IP]->(x) RETURN x") == ["y: enumerates ['device', 'ip']"]
    assert fan_out_problems("z", "MATCH (n:Printer) RETURN n") == ["z: labels outside the registry ['Printer']"]
    assert fan_out_problems("ok", "MATCH (n:Entity)-[:MEMBER_OF]->(r:FraudRing) RETURN n") == []
