"""Neighbour sampling for mini-batch training (GraphSAGE's sampler, Hamilton et al. 2017), in numpy: PyG's
NeighborLoader needs pyg-lib or torch-sparse, which are not installable here.

For a batch of seed entities, hop h keeps up to fanouts[h] in-neighbours of every frontier node per edge type
(all of them when it has no more; a uniform sample without replacement otherwise). The batch is the subgraph of
the seeds, the sampled nodes and the sampled edges; a `len(fanouts)`-layer GNN run on it computes the seeds' states
from their sampled neighbourhood. Memory per batch is bounded by the batch size and the fan-outs (batch_bound), not
by the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

EdgeType = tuple[str, str, str]


@dataclass
class Batch:
    nodes: dict[str, np.ndarray]  # node type -> global indices; the seeds of the type come first
    edge_index: dict[EdgeType, torch.Tensor]  # edge type -> [2, E] LOCAL indices into nodes[src] / nodes[dst]
    n_seeds: dict[str, int]  # node type -> how many seeds (positions 0..n-1 of nodes[type])


class NeighborSampler:
    """In-neighbour CSR per edge type, built once per graph; `sample(seeds)` draws one batch."""

    def __init__(self, edge_index: dict[EdgeType, torch.Tensor], num_nodes: dict[str, int], fanouts: list[int],
                 seed: int = 0):
        self.fanouts = list(fanouts)
        self.num_nodes = dict(num_nodes)
        self.rng = np.random.default_rng(seed)
        self.csr: dict[EdgeType, tuple[np.ndarray, np.ndarray]] = {}  # et -> (indptr by dst, src sorted by dst)
        for et, ei in edge_index.items():
            src, dst = ei[0].numpy(), ei[1].numpy()
            order = np.argsort(dst, kind="stable")
            indptr = np.zeros(num_nodes[et[2]] + 1, dtype=np.int64)
            np.cumsum(np.bincount(dst, minlength=num_nodes[et[2]]), out=indptr[1:])
            self.csr[et] = (indptr, src[order])

    def _draw(self, et: EdgeType, frontier: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(src, dst) global ids: up to k distinct in-neighbours of each frontier node along `et`."""
        indptr, nbr = self.csr[et]
        deg = indptr[frontier + 1] - indptr[frontier]
        if not deg.sum():
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        dst = np.repeat(frontier, deg)
        # positions of every in-edge of every frontier node: start of its run + offset inside the run
        starts = np.repeat(indptr[frontier], deg)
        offset = np.arange(len(dst)) - np.repeat(np.cumsum(deg) - deg, deg)
        pos = starts + offset
        many = np.repeat(deg > k, deg)
        if many.any():  # a uniform k-subset per crowded node: keep its k smallest random keys
            key = self.rng.random(len(pos))
            key[~many] = -1.0  # nodes within the fan-out keep every edge
            order = np.lexsort((key, np.repeat(np.arange(len(frontier)), deg)))
            run_start = np.repeat(np.cumsum(deg) - deg, deg)
            rank = np.empty(len(order), np.int64)
            rank[order] = np.arange(len(order)) - run_start
            keep = rank < k
            pos, dst = pos[keep], dst[keep]
        return nbr[pos], dst

    def sample(self, seeds: dict[str, np.ndarray]) -> Batch:
        # global -> local ids per type, as sorted global ids and their local ids: memory follows the batch, not the
        # graph (no array of the graph's size per batch)
        seen = {t: np.zeros(0, np.int64) for t in self.num_nodes}
        local = {t: np.zeros(0, np.int64) for t in self.num_nodes}
        nodes: dict[str, list[np.ndarray]] = {t: [] for t in self.num_nodes}
        size = {t: 0 for t in self.num_nodes}

        def add(t: str, ids: np.ndarray) -> np.ndarray:
            """Give the not yet seen `ids` of type t the next local ids; returns those new global ids."""
            uniq = np.unique(ids)
            new = uniq[~np.isin(uniq, seen[t], assume_unique=True)]
            order = np.argsort(np.concatenate([seen[t], new]), kind="stable")
            seen[t] = np.concatenate([seen[t], new])[order]
            local[t] = np.concatenate([local[t], np.arange(size[t], size[t] + len(new))])[order]
            size[t] += len(new)
            nodes[t].append(new)
            return new

        def pos(t: str, ids: np.ndarray) -> np.ndarray:
            return local[t][np.searchsorted(seen[t], ids)]

        frontier = {t: add(t, np.asarray(s, np.int64)) for t, s in seeds.items() if len(s)}
        n_seeds = {t: len(v) for t, v in frontier.items()}
        edges: dict[EdgeType, list[tuple[np.ndarray, np.ndarray]]] = {et: [] for et in self.csr}
        for k in self.fanouts:
            nxt: dict[str, list[np.ndarray]] = {}
            for et in self.csr:
                if et[2] not in frontier:
                    continue
                src, dst = self._draw(et, frontier[et[2]], k)
                if len(src):
                    nxt.setdefault(et[0], []).append(add(et[0], src))
                    edges[et].append((pos(et[0], src), pos(et[2], dst)))
            frontier = {t: np.concatenate(v) for t, v in nxt.items() if sum(map(len, v))}
        edge_index = {}
        for et, parts in edges.items():
            pairs = np.stack([np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])]) \
                if parts else np.zeros((2, 0), np.int64)
            edge_index[et] = torch.from_numpy(np.unique(pairs, axis=1) if parts else pairs)
        return Batch({t: np.concatenate(v) if v else np.zeros(0, np.int64) for t, v in nodes.items()}, edge_index,
                     n_seeds)


def batch_bound(n_seeds: int, fanouts: list[int], n_edge_types: int) -> int:
    """Most nodes a batch of n_seeds seeds can hold: every node of hop h draws at most fanouts[h] neighbours per
    edge type."""
    total, frontier = n_seeds, n_seeds
    for k in fanouts:
        frontier = frontier * k * n_edge_types
        total += frontier
    return total
