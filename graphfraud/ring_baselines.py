"""Ring baselines without the GNN, for `graphfraud evaluate`: shared device/IP components (wcc_rules), labels alone
(components of the entities on charged-back transactions known at the cut-off), and FraudAR's greedy peeling.
Pure functions over a GraphExport; each returns rings as sets of (entity_type, entity_id) keys.
"""

from __future__ import annotations

import heapq
from typing import Any

import networkx as nx
import numpy as np

from .rings import CARD_EDGES, DEVICE_IP, ENTITY_TYPES, Key, _edge_arrays, _keys, column_weights


def wcc_rule_rings(export: Any, min_cards: int = 3) -> list[frozenset[Key]]:
    """Rules baseline: connected components of cards, devices and IPs linked by shared use, >= min_cards cards."""
    g = nx.Graph()
    for et in (("card", "uses", "device"), ("card", "via", "ip"), DEVICE_IP):
        e = _edge_arrays(export, et)
        g.add_edges_from(((et[0], int(s)), (et[2], int(d))) for s, d in zip(e["src"], e["dst"]))
    out = []
    for comp in nx.connected_components(g):
        if sum(1 for n in comp if n[0] == "card") >= min_cards:
            out.append(_keys(export, comp))
    return out


def labels_only_rings(export: Any, chargebacks: Any = None) -> list[frozenset[Key]]:
    """Labels baseline: connected components (>= 2 entities, >= 1 card) of the card, merchant, device and ip of every
    charged-back transaction known at the cut-off (`chargebacks`: polars frame with columns card, merchant, device,
    ip, as export.read_chargebacks gives). Without it: components of the entities labelled fraud in the export."""
    g = nx.Graph()
    if chargebacks is not None:
        for card, *others in chargebacks.select("card", "merchant", "device", "ip").iter_rows():
            g.add_node(("card", card))
            for t, v in zip(("merchant", "device", "ip"), others):
                if v is not None:
                    g.add_edge(("card", card), (t, v))
        comps = nx.connected_components(g)
        return [frozenset(c) for c in comps if len(c) >= 2 and any(k[0] == "card" for k in c)]
    lab = {t: np.asarray(export.labels.get(t, np.zeros(len(export.ids.get(t, []))))) == 1 for t in ENTITY_TYPES}
    for t in ENTITY_TYPES:
        g.add_nodes_from((t, int(i)) for i in np.flatnonzero(lab[t]))
    for et in (*CARD_EDGES, DEVICE_IP):
        e = _edge_arrays(export, et)
        if not len(e["src"]):
            continue
        keep = lab[et[0]][e["src"]] & lab[et[2]][e["dst"]]
        g.add_edges_from(((et[0], int(s)), (et[2], int(d))) for s, d in zip(e["src"][keep], e["dst"][keep]))
    return [_keys(export, c) for c in nx.connected_components(g) if len(c) >= 2 and any(n[0] == "card" for n in c)]


def fraudar_peel(adj: list[dict[int, float]], alive: np.ndarray) -> tuple[set[int], float]:
    """FraudAR's greedy peeling on a weighted undirected graph: remove the node of least weighted degree
    until empty; return the node set of highest density f(S)/|S| (f = edge weight inside S) and that density."""
    deg = np.array([sum(a.values()) for a in adj], dtype=np.float64)
    nodes = [i for i in np.flatnonzero(alive) if adj[i]]
    if not nodes:
        return set(), 0.0
    f = deg[nodes].sum() / 2
    size = len(nodes)
    heap = [(deg[i], i) for i in nodes]
    heapq.heapify(heap)
    removed: list[int] = []
    gone = np.zeros(len(adj), dtype=bool)
    best, best_k = f / size, 0
    while heap:
        d, i = heapq.heappop(heap)
        if gone[i] or d != deg[i]:
            continue
        gone[i] = True
        removed.append(i)
        f -= deg[i]
        size -= 1
        for j, w in adj[i].items():
            if not gone[j]:
                deg[j] -= w
                heapq.heappush(heap, (deg[j], j))
        if size and f / size > best:
            best, best_k = f / size, len(removed)
    block = set(nodes) - set(removed[:best_k])
    return block, best


def fraudar_rings(export: Any, n_blocks: int, min_cards: int = 2) -> list[frozenset[Key]]:
    """FraudAR baseline: repeated greedy peeling of the card x (device, ip, merchant) bipartite graph with column
    weights 1/log(deg+5); after each block its internal edges are removed and peeling starts again."""
    offsets, n = {}, 0
    for t in ENTITY_TYPES:
        offsets[t] = n
        n += len(export.ids.get(t, []))
    adj: list[dict[int, float]] = [dict() for _ in range(n)]
    weights = column_weights(export)
    for et in CARD_EDGES:
        e = _edge_arrays(export, et)
        for s, d, w in zip(e["src"], e["dst"], weights[et]):
            u, v = offsets["card"] + int(s), offsets[et[2]] + int(d)
            adj[u][v] = adj[u].get(v, 0.0) + float(w)
            adj[v][u] = adj[v].get(u, 0.0) + float(w)
    types = [(t, i - offsets[t]) for t in ENTITY_TYPES for i in range(offsets[t], offsets[t] + len(export.ids.get(t, [])))]
    alive = np.ones(n, dtype=bool)
    out = []
    for _ in range(n_blocks):
        block, dens = fraudar_peel(adj, alive)
        if not block or dens <= 0:
            break
        for u in block:  # remove the block's internal edges
            for v in [v for v in adj[u] if v in block]:
                del adj[u][v]
        nodes = {types[u] for u in block}
        if sum(1 for t, _ in nodes if t == "card") >= min_cards:
            out.append(_keys(export, nodes))
    return out
