"""Ring baselines without the GNN, for `graphfraud evaluate`: shared-identifier rules (wcc_rules, as Neo4j's fraud
examples build them), labels alone (components of the entities on charged-back transactions known at the cut-off),
and FraudAR's greedy peeling (Hooi et al., KDD 2016).

Pure functions over a GraphExport (`ids`: entity type -> ids in index order; `edges`: (src_type, rel, dst_type) ->
polars frame with int columns src, dst). Entity types are not hard-coded: they come from `export.ids`, card links
from the edge types whose source is "card"; a type without an edge table simply has no links. Each baseline returns
rings as frozensets of (entity_type, entity_id) keys.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import networkx as nx
import numpy as np

from .registry import CARD, MERCHANT, EdgeType
from .rings import Key, Node, card_edges, count_cards, node_keys

FRAUDAR_C = 5.0  # column weight 1/log(deg + c), the constant of the FraudAR paper


# --- helpers ---------------------------------------------------------------------------------------------------------

def _pairs(export: Any, et: EdgeType) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (src, dst) index pairs of one edge type; empty arrays when the table is absent or empty."""
    df = export.edges.get(et)
    if df is None or df.height == 0 or et[0] not in export.ids or et[2] not in export.ids:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    src, dst = df["src"].to_numpy().astype(np.int64), df["dst"].to_numpy().astype(np.int64)
    if not len(src):
        return src, dst
    both = np.unique(np.stack([src, dst], axis=1), axis=0)
    return both[:, 0], both[:, 1]


def _card_links(export: Any, types: set[str] | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Distinct (card, entity) index pairs per linked entity type (all card edge types into it merged)."""
    out: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    for et in card_edges(export):
        if types is None or et[2] in types:
            out[et[2]].append(_pairs(export, et))
    merged = {}
    for t, parts in out.items():
        src = np.concatenate([p[0] for p in parts])
        dst = np.concatenate([p[1] for p in parts])
        if len(src):
            both = np.unique(np.stack([src, dst], axis=1), axis=0)
            src, dst = both[:, 0], both[:, 1]
        merged[t] = (src, dst)
    return merged


# --- wcc rules ------------------------------------------------------------------------------------------------------

def wcc_rule_rings(export: Any, max_cards: int = 20, min_jaccard: float = 0.3, min_cards: int = 3,
                   merchant_share: float | None = 0.5) -> list[frozenset[Key]]:
    """Rules baseline as Neo4j's fraud examples build it: shared identifiers -> card similarity -> WCC.

    Identifiers are the entities of every type other than card and merchant (device, ip, email, ...). One used by
    more than `max_cards` distinct cards is dropped (public IP, popular device model). Two cards are linked when the
    Jaccard similarity of their remaining identifier sets is >= `min_jaccard` (so they share at least one). Rings are
    the connected components (WCC, not Louvain: deterministic, no resolution knob) with >= `min_cards` cards; members
    are the cards, the kept identifiers used by >= 2 of them, and, when `merchant_share` is not None, each merchant
    with >= 2 ring cards that make >= `merchant_share` of all its cards (a merchant living off the ring).
    """
    n_card = len(export.ids.get(CARD, []))
    id_types = {t for t in export.ids if t not in (CARD, MERCHANT)}
    links = _card_links(export, id_types)
    card_ids: dict[int, set[Node]] = defaultdict(set)  # card -> kept identifiers
    cards_of: dict[Node, list[int]] = {}  # kept identifier -> its cards
    for t in sorted(links):
        src, dst = links[t]
        if not len(src):
            continue
        deg = np.bincount(dst, minlength=len(export.ids[t]))
        for c, d in zip(src.tolist(), dst.tolist()):
            if deg[d] <= max_cards:
                card_ids[c].add((t, d))
                cards_of.setdefault((t, d), []).append(c)
    shared: dict[tuple[int, int], int] = defaultdict(int)  # card pair -> kept identifiers in common
    for cs in cards_of.values():
        cs = sorted(cs)
        for i, a in enumerate(cs):
            for b in cs[i + 1:]:
                shared[(a, b)] += 1
    parent = list(range(n_card))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for (a, b), k in shared.items():
        if k / (len(card_ids[a]) + len(card_ids[b]) - k) >= min_jaccard:
            parent[find(a)] = find(b)
    comps: dict[int, set[int]] = defaultdict(set)
    for c in card_ids:
        comps[find(c)].add(c)
    merchants = _card_links(export, {MERCHANT}).get(MERCHANT) if merchant_share is not None else None
    m_deg = np.bincount(merchants[1], minlength=len(export.ids[MERCHANT])) if merchants is not None else None
    out = []
    for cards in sorted(comps.values(), key=min):
        if len(cards) < min_cards:
            continue
        nodes: set[Node] = {(CARD, c) for c in cards}
        for ident, cs in cards_of.items():
            if sum(1 for c in cs if c in cards) >= 2:
                nodes.add(ident)
        if merchants is not None and len(merchants[0]):
            inside = np.isin(merchants[0], np.fromiter(cards, dtype=np.int64))
            k = np.bincount(merchants[1][inside], minlength=len(m_deg))
            for m in np.flatnonzero((k >= 2) & (k >= merchant_share * np.maximum(m_deg, 1))):
                nodes.add((MERCHANT, int(m)))
        out.append(node_keys(export, nodes))
    return out


# --- labels only ----------------------------------------------------------------------------------------------------

def labels_only_rings(export: Any, chargebacks: Any = None) -> list[frozenset[Key]]:
    """Labels baseline: connected components (>= 2 entities, >= 1 card) of the entities of every charged-back
    transaction known at the cut-off (`chargebacks`: polars frame with a card column and any other entity-type
    columns, e.g. merchant, device, ip, as export.read_chargebacks gives; only columns naming a type of export.ids
    are used). Without it: components of the entities labelled fraud in the export, linked by its edges."""
    g = nx.Graph()
    if chargebacks is not None:
        others = [c for c in chargebacks.columns if c != CARD and c in export.ids]
        for card, *vals in chargebacks.select(CARD, *others).iter_rows():
            if card is None:
                continue
            g.add_node((CARD, card))
            for t, v in zip(others, vals):
                if v is not None:
                    g.add_edge((CARD, card), (t, v))
        return [frozenset(c) for c in nx.connected_components(g) if len(c) >= 2 and any(k[0] == CARD for k in c)]
    labels = getattr(export, "labels", None) or {}
    lab = {t: np.asarray(labels.get(t, np.zeros(len(ids)))) == 1 for t, ids in export.ids.items()}
    for t, m in lab.items():
        g.add_nodes_from((t, int(i)) for i in np.flatnonzero(m))
    for et in sorted(export.edges):
        src, dst = _pairs(export, et)
        if not len(src):
            continue
        keep = lab[et[0]][src] & lab[et[2]][dst]
        g.add_edges_from(((et[0], int(s)), (et[2], int(d))) for s, d in zip(src[keep], dst[keep]))
    return [node_keys(export, c) for c in nx.connected_components(g) if len(c) >= 2 and any(n[0] == CARD for n in c)]


# --- FraudAR --------------------------------------------------------------------------------------------------------

def fraudar_peel(adj: list[dict[int, float]], alive: np.ndarray | None = None) -> tuple[set[int], float]:
    """FraudAR's greedy peeling of the subgraph induced by `alive` (default: all nodes) of a weighted undirected
    graph (adj[u][v] = adj[v][u] = weight): repeatedly remove the node of least weighted degree among the remaining
    ones; return the remaining set of highest density g(S) = f(S)/|S| (f = total edge weight inside S) and g(S).
    Ties keep the larger set. The greedy is a 2-approximation of the densest subgraph (Hooi et al., Thm. 2)."""
    n = len(adj)
    on = np.ones(n, dtype=bool) if alive is None else np.asarray(alive, dtype=bool)
    # Degrees within the alive subgraph only: an edge to a node outside S contributes nothing to f(S).
    deg = np.zeros(n, dtype=np.float64)
    for u in np.flatnonzero(on):
        deg[u] = sum(w for v, w in adj[u].items() if on[v])
    nodes = [int(u) for u in np.flatnonzero(on & (deg > 0))]
    if not nodes:
        return set(), 0.0
    f = float(deg[nodes].sum()) / 2
    size = len(nodes)
    heap = [(deg[u], u) for u in nodes]
    heapq.heapify(heap)
    gone = ~on | (deg <= 0)
    order: list[int] = []
    best, best_k = f / size, 0
    while heap:
        d, u = heapq.heappop(heap)
        if gone[u] or d != deg[u]:
            continue  # stale entry: u's degree dropped since it was pushed
        gone[u] = True
        order.append(u)
        f -= deg[u]  # u's edges to the remaining nodes leave S
        size -= 1
        for v, w in adj[u].items():
            if not gone[v]:
                deg[v] -= w
                heapq.heappush(heap, (deg[v], v))
        if size and f / size > best * (1 + 1e-12):
            best, best_k = f / size, len(order)
    return set(nodes) - set(order[:best_k]), best


def fraudar_rings(export: Any, n_blocks: int, min_cards: int = 2, c: float = FRAUDAR_C,
                  column_types: Iterable[str] | None = None) -> list[frozenset[Key]]:
    """FraudAR baseline: the card x (every type cards link to: merchant, device, ip, ...) bipartite graph, each
    distinct card-entity link weighted 1/log(deg + c) with deg the entity's distinct cards (column weights, which
    make camouflage links to popular entities cheap); peel the densest block, delete its internal links, repeat
    `n_blocks` times on the whole graph (column weights stay those of the original graph, as in the paper).
    Blocks with fewer than `min_cards` cards are not returned. `column_types`: the entity types used as columns
    (default: every type cards link to)."""
    links = _card_links(export, None if column_types is None else set(column_types))
    col_types = sorted(links)
    offsets: dict[str, int] = {CARD: 0}
    n = len(export.ids.get(CARD, []))
    for t in col_types:
        offsets[t] = n
        n += len(export.ids[t])
    adj: list[dict[int, float]] = [dict() for _ in range(n)]
    for t in col_types:
        src, dst = links[t]
        if not len(src):
            continue
        deg = np.bincount(dst, minlength=len(export.ids[t]))
        w = 1.0 / np.log(deg[dst] + c)
        for s, d, x in zip(src.tolist(), (dst + offsets[t]).tolist(), w.tolist()):
            adj[s][d] = x
            adj[d][s] = x
    node_of = [(CARD, i) for i in range(len(export.ids.get(CARD, [])))]
    for t in col_types:
        node_of.extend((t, i) for i in range(len(export.ids[t])))
    out = []
    for _ in range(n_blocks):
        block, dens = fraudar_peel(adj)
        if not block or dens <= 0:
            break
        for u in block:  # delete the block's internal links; its members stay for the next peel
            for v in [v for v in adj[u] if v in block]:
                del adj[u][v]
        nodes = {node_of[u] for u in block}
        if count_cards(nodes) >= min_cards:
            out.append(node_keys(export, nodes))
    return out

