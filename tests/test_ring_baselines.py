"""Ring baselines without the GNN (graphfraud.ring_baselines) on hand-made and planted exports: exact answers
for the rules and labels baselines and FraudAR's peeling, and FraudAR recovering a camouflaged dense block."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pytest

from graphfraud.ring_baselines import fraudar_peel, fraudar_rings, labels_only_rings, wcc_rule_rings

EDGE_SCHEMA = {"src": pl.Int64, "dst": pl.Int64, "n_tx": pl.Int64, "amount": pl.Float64, "n_declined": pl.Int64,
               "first_ts": pl.Int64, "last_ts": pl.Int64}


@dataclass
class Export:
    """The part of a GraphExport the baselines read."""

    ids: dict[str, list[str]]
    edges: dict[tuple[str, str, str], pl.DataFrame]
    labels: dict[str, np.ndarray] = field(default_factory=dict)


def make_export(links: dict[tuple[str, str, str], list[tuple[str, str]]],
                extra_ids: dict[str, list[str]] | None = None) -> Export:
    """An export from (src id, dst id) links per edge type; ids are every id seen, sorted, plus `extra_ids`."""
    seen: dict[str, set[str]] = {t: set(v) for t, v in (extra_ids or {}).items()}
    for (st, _, dt), pairs in links.items():
        seen.setdefault(st, set()).update(a for a, _ in pairs)
        seen.setdefault(dt, set()).update(b for _, b in pairs)
    ids = {t: sorted(v) for t, v in seen.items()}
    index = {t: {x: i for i, x in enumerate(v)} for t, v in ids.items()}
    edges = {}
    for et, pairs in links.items():
        rows = [(index[et[0]][a], index[et[2]][b], 1, 10.0, 0, 0, 1) for a, b in pairs]
        edges[et] = pl.DataFrame(rows, schema=EDGE_SCHEMA, orient="row")
    return Export(ids, edges)


def graph(n: int, edges: list[tuple[int, int]], w: float = 1.0) -> list[dict[int, float]]:
    adj: list[dict[int, float]] = [dict() for _ in range(n)]
    for a, b in edges:
        adj[a][b] = adj[b][a] = w
    return adj


def f1(found: frozenset, truth: set) -> float:
    tp = len(found & truth)
    return 2 * tp / (len(found) + len(truth)) if found or truth else 1.0


# --- FraudAR peeling, exact ------------------------------------------------------------------------------------------

def test_fraudar_peel_exact_on_tiny_graphs():
    # Block A = K_{3,3} on 0-2 x 3-5 (9 edges / 6 nodes = 1.5), block B = K_{2,2} on 6-7 x 8-9 (4 / 4 = 1.0), joined
    # by the edge 5-6; the whole graph is 14 / 10 = 1.4, so the densest set is A.
    edges = [(a, b) for a in (0, 1, 2) for b in (3, 4, 5)] + [(a, b) for a in (6, 7) for b in (8, 9)] + [(5, 6)]
    adj = graph(10, edges)
    block, density = fraudar_peel(adj, np.ones(10, dtype=bool))
    assert block == {0, 1, 2, 3, 4, 5} and density == pytest.approx(1.5)
    # Restricted to B's nodes the edge 5-6 leaves the graph: B alone, density exactly 4 / 4.
    alive = np.zeros(10, dtype=bool)
    alive[6:] = True
    block, density = fraudar_peel(adj, alive)
    assert block == {6, 7, 8, 9} and density == pytest.approx(1.0)
    # Weighted: a star of 4 heavy edges (4 * 3 / 5 = 2.4) beats the unit K_{3,3}.
    adj = graph(15, edges)
    for leaf in (11, 12, 13, 14):
        adj[10][leaf] = adj[leaf][10] = 3.0
    block, density = fraudar_peel(adj)
    assert block == {10, 11, 12, 13, 14} and density == pytest.approx(2.4)
    assert fraudar_peel(graph(3, [])) == (set(), 0.0)


def test_fraudar_rings_exact_and_generic_types():
    # Block A: 4 cards x 3 emails, complete, the emails used by nobody else: 12 links of w = 1/log(4 + 5), g = 0.78.
    # Block B: 10 cards x 3 merchants, complete, each merchant also paid by 40 cards of its own: 30 links of
    # 1/log(50 + 5), g = 0.576. Unweighted, B (30/13) would beat A (12/7): the column weights decide.
    # No device or ip table at all, and an empty phone table.
    a_cards, b_cards = [f"a{i}" for i in range(4)], [f"b{i}" for i in range(10)]
    emails, merchants = ["e1", "e2", "e3"], ["m1", "m2", "m3"]
    links = {("card", "has", "email"): [(c, e) for c in a_cards for e in emails],
             ("card", "pays", "merchant"): [(c, m) for c in b_cards for m in merchants]
             + [(f"{m}_{j:02d}", m) for m in merchants for j in range(40)],
             ("card", "has", "phone"): []}
    export = make_export(links, extra_ids={"phone": []})
    block_a = frozenset({("card", c) for c in a_cards} | {("email", e) for e in emails})
    block_b = frozenset({("card", c) for c in b_cards} | {("merchant", m) for m in merchants})
    # A first; then B (a merchant's own card adds 1/log(55) < B's density); then the 3 merchant stars
    # (40/log(55)/41 each, all three together on a tie), then nothing.
    blocks = fraudar_rings(export, n_blocks=5)
    assert blocks[:2] == [block_a, block_b] and len(blocks) == 3
    assert blocks[2] == frozenset({("merchant", m) for m in merchants}
                                  | {("card", f"{m}_{j:02d}") for m in merchants for j in range(40)})
    assert fraudar_rings(export, n_blocks=1, column_types=["merchant"]) == [block_b]
    assert fraudar_rings(export, n_blocks=1, min_cards=5) == []
    assert fraudar_rings(make_export({}, extra_ids={"card": ["a"]}), n_blocks=2) == []


# --- FraudAR on a planted, camouflaged block -------------------------------------------------------------------------

def planted_world(seed: int, n_cards: int = 2000, n_merchants: int = 300, n_devices: int = 200,
                  block_cards: int = 30, block_cols: int = 10, camouflage: int = 8) -> tuple[Export, set]:
    """A sparse random card x (merchant, device) graph (~3 links per card; merchant popularity is power-law) with
    a dense block of `block_cards` cards x `block_cols` devices (each card on 80-100% of them) whose cards also pay
    at `camouflage` merchants drawn by popularity."""
    r = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, n_merchants + 1) ** 1.1
    pop /= pop.sum()
    cards = [f"card{i:05d}" for i in range(n_cards)]
    merchants = [f"m{i:04d}" for i in range(n_merchants)]
    devices = [f"d{i:04d}" for i in range(n_devices)]
    pays, uses = set(), set()
    for c in cards:
        for m in r.choice(n_merchants, size=r.integers(1, 4), p=pop):
            pays.add((c, merchants[m]))
        if r.random() < 0.7:
            uses.add((c, devices[r.integers(n_devices)]))
    bc = [cards[i] for i in r.choice(n_cards, size=block_cards, replace=False)]
    bd = [devices[i] for i in r.choice(n_devices, size=block_cols, replace=False)]
    for c in bc:
        share = r.uniform(0.8, 1.0)
        for d in bd:
            if r.random() < share:
                uses.add((c, d))
        for m in r.choice(n_merchants, size=camouflage, p=pop):
            pays.add((c, merchants[m]))
    export = make_export({("card", "pays", "merchant"): sorted(pays), ("card", "uses", "device"): sorted(uses),
                          ("card", "via", "ip"): []}, extra_ids={"card": cards, "ip": []})
    return export, {("card", c) for c in bc} | {("device", d) for d in bd}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fraudar_recovers_camouflaged_block(seed):
    export, truth = planted_world(seed)
    blocks = fraudar_rings(export, n_blocks=1)
    assert len(blocks) == 1 and f1(blocks[0], truth) >= 0.9


def test_fraudar_recovers_two_blocks():
    export, truth = planted_world(3)
    # A second block of 20 cards x 6 devices, disjoint from the first, in the same world.
    r = np.random.default_rng(9)
    truth_cards = {i for t, i in truth if t == "card"}
    truth_devs = {i for t, i in truth if t == "device"}
    cards = [c for c in export.ids["card"] if c not in truth_cards]
    devs = [d for d in export.ids["device"] if d not in truth_devs]
    bc = [cards[i] for i in r.choice(len(cards), 20, replace=False)]
    bd = [devs[i] for i in r.choice(len(devs), 6, replace=False)]
    ci = {c: i for i, c in enumerate(export.ids["card"])}
    di = {d: i for i, d in enumerate(export.ids["device"])}
    et = ("card", "uses", "device")
    extra = pl.DataFrame([(ci[c], di[d], 1, 10.0, 0, 0, 1) for c in bc for d in bd], schema=EDGE_SCHEMA, orient="row")
    export.edges[et] = pl.concat([export.edges[et], extra]).unique(["src", "dst"]).sort("src", "dst")
    truth2 = {("card", c) for c in bc} | {("device", d) for d in bd}
    blocks = fraudar_rings(export, n_blocks=2)
    assert len(blocks) == 2
    assert max(f1(b, truth) for b in blocks) >= 0.9 and max(f1(b, truth2) for b in blocks) >= 0.9


# --- WCC rules ---------------------------------------------------------------------------------------------------------

def rules_export() -> Export:
    """Ring 1: r1a-r1d on devices d1/d2 and ip i1 (r1a, r1b also on the public ip 'pub'; r1d on its own device too),
    all but r1d paying at merchant mR (one more card pays there too). Ring 2 (r2a alone pays at mSolo): r2a-r2c on device d3 and ip i2; card
    w uses i2 with three devices of its own (Jaccard 1/5 with ring 2's cards). Household: h1, h2 on device dh.
    25 filler cards on 'pub' only, each with a device of its own. Everyone pays at mPop."""
    fill = [f"x{i:02d}" for i in range(25)]
    uses = [("r1a", "d1"), ("r1b", "d1"), ("r1c", "d2"), ("r1d", "d2"), ("r1d", "own_r1d"),
            ("r2a", "d3"), ("r2b", "d3"), ("r2c", "d3"), ("w", "w1"), ("w", "w2"), ("w", "w3"),
            ("h1", "dh"), ("h2", "dh")] + [(x, f"dev_{x}") for x in fill]
    via = [("r1a", "i1"), ("r1b", "i1"), ("r1c", "i1"), ("r1d", "i1"), ("r1a", "pub"), ("r1b", "pub"),
           ("r2a", "i2"), ("r2b", "i2"), ("r2c", "i2"), ("w", "i2")] + [(x, "pub") for x in fill]
    cards = sorted({c for c, _ in uses + via})
    pays = [(c, "mPop") for c in cards] + [("r1a", "mR"), ("r1b", "mR"), ("r1c", "mR"), ("x00", "mR"), ("r2a", "mSolo")]
    dev_ip = [("d1", "i1"), ("d3", "i2"), ("dh", "pub")]
    return make_export({("card", "pays", "merchant"): pays, ("card", "uses", "device"): uses,
                        ("card", "via", "ip"): via, ("device", "via", "ip"): dev_ip})


RING1 = {("card", "r1a"), ("card", "r1b"), ("card", "r1c"), ("card", "r1d"), ("device", "d1"), ("device", "d2"),
         ("ip", "i1")}
RING2 = {("card", "r2a"), ("card", "r2b"), ("card", "r2c"), ("device", "d3"), ("ip", "i2")}


def test_wcc_rules_exact():
    export = rules_export()
    # The public ip (27 cards > 20) is dropped, w is too unlike ring 2 (1/5 < 0.3), the household is 2 cards < 3.
    # mR: 3 of its 4 cards are in ring 1; mPop: 4 of 36; mSolo: 1 of 1 but fewer than 2 ring cards.
    assert sorted(wcc_rule_rings(export), key=sorted) == [frozenset(RING1 | {("merchant", "mR")}), frozenset(RING2)]
    assert sorted(wcc_rule_rings(export, merchant_share=None), key=sorted) == [frozenset(RING1), frozenset(RING2)]
    # Knobs: a lower Jaccard bar takes w in; min_cards=2 keeps the household.
    rings = wcc_rule_rings(export, min_jaccard=0.2, merchant_share=None)
    assert frozenset(RING2 | {("card", "w")}) in rings and len(rings) == 2
    rings = wcc_rule_rings(export, min_cards=2, merchant_share=None)
    assert frozenset({("card", "h1"), ("card", "h2"), ("device", "dh")}) in rings and len(rings) == 3
    # Keeping the public ip (max_cards=30) makes the 25 unrelated filler cards a false ring ({pub, own device}:
    # Jaccard 1/3 between any two of them), and 'pub' dilutes ring 1 apart (r1a {d1, i1, pub} vs r1c {d2, i1}: 1/4).
    rings = wcc_rule_rings(export, max_cards=30, merchant_share=None)
    fillers = frozenset({("card", f"x{i:02d}") for i in range(25)} | {("ip", "pub")})
    assert sorted(rings, key=sorted) == [frozenset(RING2), fillers]


def test_wcc_rules_generic_identifier_types():
    # No device or ip: emails and phones are the identifiers. a, b, c share email e1; c, d share phone p1
    # (Jaccard {e1, p1} vs {p1} = 1/2); e shares nothing. Merchants are never identifiers: f, g, h share mX only.
    links = {("card", "has", "email"): [("a", "e1"), ("b", "e1"), ("c", "e1"), ("e", "e9")],
             ("card", "has", "phone"): [("c", "p1"), ("d", "p1")],
             ("card", "pays", "merchant"): [("f", "mX"), ("g", "mX"), ("h", "mX")]}
    export = make_export(links)
    assert wcc_rule_rings(export) == [frozenset({("card", "a"), ("card", "b"), ("card", "c"), ("card", "d"),
                                                 ("email", "e1"), ("phone", "p1")})]
    assert wcc_rule_rings(make_export({}, extra_ids={"card": ["a"]})) == []


# --- labels only -------------------------------------------------------------------------------------------------------

def test_labels_only_generic():
    export = rules_export()
    export.ids["email"] = ["e1"]
    # Chargebacks with card, merchant and email columns (no device, no ip) and a column that is no entity type.
    cb = pl.DataFrame({"card": ["r1a", "r1b", "h1", "w"], "merchant": ["mR", "mR", None, None],
                       "email": ["e1", None, None, None], "ts": [1, 2, 3, 4]})
    assert sorted(sorted(s) for s in labels_only_rings(export, cb)) == [
        [("card", "r1a"), ("card", "r1b"), ("email", "e1"), ("merchant", "mR")]]
    # From the export's labels: labelled entities linked by any edge table (d1 joins r1c only by device -> ip).
    lab = {t: np.zeros(len(v)) for t, v in export.ids.items()}
    for t, i in [("card", "r2a"), ("card", "r2b"), ("device", "d3"), ("ip", "i2"), ("card", "h1"), ("device", "d1"),
                 ("card", "r1c"), ("ip", "i1")]:
        lab[t][export.ids[t].index(i)] = 1
    del lab["email"]  # a type without labels counts as unlabelled
    export.labels = lab
    assert sorted(sorted(s) for s in labels_only_rings(export)) == [
        [("card", "r1c"), ("device", "d1"), ("ip", "i1")],
        [("card", "r2a"), ("card", "r2b"), ("device", "d3"), ("ip", "i2")]]
