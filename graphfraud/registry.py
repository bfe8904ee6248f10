"""The one vocabulary: entity types, edge types and ring types, which every stage and every Cypher fan-out follows.

An entity type is a column of the transactions file whose values are entities (the card paying, the merchant paid,
the device, IP, e-mail ... used). In Neo4j each entity is a node with its own label and key property (`(:Card
{card_id})`) and, for generic queries, the label `:Entity` with `entity_type` and `entity_id`; a transaction links to
it by the entity's relationship (`(:Card)-[:MADE]->(:Transaction)`, `(:Transaction)-[:ON_DEVICE]->(:Device)`).
In the exported HeteroData each entity type present in the data is a node type, linked to cards (`card -uses->
device`) and by the extra pairs below. Adding an entity type is one entry in ENTITIES plus its tests: ingest,
export, features, model, rings, write-back, queries and the report read this module.
"""

from __future__ import annotations

from dataclasses import dataclass

@dataclass(frozen=True)
class EntityType:
    name: str  # entity_type in files, labels, truth and the HeteroData node type ("card")
    label: str  # Neo4j label ("Card")
    key: str  # Neo4j key property, unique per label ("card_id")
    column: str  # column of the transactions file holding the entity's id ("card_id")
    rel: str  # relationship type between the transaction and the entity ((:Card)-[:MADE]->(t); (t)-[:AT]->(:Merchant))
    required: bool  # every transaction has one (card and merchant); the others may be empty or absent
    binding: bool  # cards sharing one are bound together (devices, IPs, identities), unlike a merchant they pay
    card_relation: str  # relation of the card -> entity edge type in the HeteroData ("uses": card -uses-> device)
    nouns: tuple[str, str]  # how a ring's explanation counts it, singular and plural ("IP", "IPs")


ENTITIES: tuple[EntityType, ...] = (
    EntityType("card", "Card", "card_id", "card_id", "MADE", True, False, "", ("card", "cards")),
    EntityType("merchant", "Merchant", "merchant_id", "merchant_id", "AT", True, False, "pays",
               ("merchant", "merchants")),
    EntityType("device", "Device", "device_id", "device_id", "ON_DEVICE", False, True, "uses", ("device", "devices")),
    EntityType("ip", "IP", "ip", "ip", "FROM_IP", False, True, "via", ("IP", "IPs")),
    EntityType("email", "Email", "email", "email", "WITH_EMAIL", False, True, "has_email", ("e-mail", "e-mails")),
    EntityType("phone", "Phone", "phone", "phone", "WITH_PHONE", False, True, "has_phone", ("phone", "phones")),
    EntityType("shipping_address", "ShippingAddress", "shipping_address", "shipping_address", "SHIPS_TO", False,
               True, "ships_to", ("shipping address", "shipping addresses")),
)
BY_NAME: dict[str, EntityType] = {e.name: e for e in ENTITIES}
ENTITY_NAMES: tuple[str, ...] = tuple(e.name for e in ENTITIES)
CARD = "card"  # the payer: every edge type of the HeteroData starts from a card, except the extra pairs
MERCHANT = "merchant"
OPTIONAL_ENTITIES: tuple[EntityType, ...] = tuple(e for e in ENTITIES if not e.required)

# Pairs of non-card entities linked when one transaction has both (a device seen on an IP).
EXTRA_EDGES: tuple[tuple[str, str, str], ...] = (("device", "via", "ip"),)

# Ring types, from the behaviour a ring shows (rings.ring_type).
RING_TYPES: tuple[str, ...] = ("card_testing", "device_farm", "merchant_collusion", "bust_out", "other")

# Roles of ring members listed with a ring for the analyst but not its accomplices: the shops a ring's cards tested
# or spent at, where its cards are under half of the customers (rings.py). A fraud verdict on the ring does not
# label them fraud (cypher/verdicts/label_events); a verdict on the shop itself does.
VICTIM_ROLES: tuple[str, ...] = ("target_merchant",)

EdgeType = tuple[str, str, str]


def edge_columns(present: tuple[str, ...] | list[str] | set[str] | None = None) -> dict[EdgeType, tuple[str, str]]:
    """Forward edge types of the HeteroData -> the two entity types they join, for the entity types `present`
    (default: all). Each forward type gets a reverse type 'rev_<relation>' in the HeteroData."""
    have = set(ENTITY_NAMES if present is None else present)
    out: dict[EdgeType, tuple[str, str]] = {}
    if CARD in have:
        for e in ENTITIES:
            if e.name != CARD and e.name in have:
                out[(CARD, e.card_relation, e.name)] = (CARD, e.name)
    for s, r, d in EXTRA_EDGES:
        if s in have and d in have:
            out[(s, r, d)] = (s, d)
    return out


def card_edge_types(present: tuple[str, ...] | list[str] | set[str] | None = None) -> list[EdgeType]:
    """The card -> entity edge types among the entity types `present`."""
    return [et for et in edge_columns(present) if et[0] == CARD]


def binding_types() -> tuple[str, ...]:
    """Entity types whose sharing binds cards (not the card itself, not a merchant)."""
    return tuple(e.name for e in ENTITIES if e.binding)


def cypher_params() -> dict[str, dict[str, str]]:
    """Registry maps that generic Cypher takes as parameters (values, never query text): entity_type -> label, key
    property and relationship type."""
    return {"labels": {e.name: e.label for e in ENTITIES}, "keys": {e.name: e.key for e in ENTITIES},
            "rels": {e.name: e.rel for e in ENTITIES}}
