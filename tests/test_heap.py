"""heap.reuse_freed_memory: big blocks stay in the heap inside it, glibc's defaults come back after it, and a fit
inside it is the same arithmetic as one outside (no database)."""

from __future__ import annotations

import numpy as np
import torch

from graphfraud import heap
from graphfraud.fit import fit_members, member_splits
from graphfraud.model import FraudGNN, ModelConfig

MIB = 2**20


def _mmaps_for_a_big_tensor() -> int:
    """How many more mmapped blocks malloc holds while a big tensor is alive: one bigger than 32 MiB (glibc's largest
    mmap threshold) and than all the free memory in the heap, which would otherwise serve it."""
    before = heap.malloc_stats()
    t = torch.empty(max(48 * MIB, before["free_heap_bytes"] + 16 * MIB) // 4)
    t.fill_(1.0)
    during = heap.malloc_stats()["mmapped_blocks"]
    del t
    return during - before["mmapped_blocks"]


def test_big_blocks_come_from_the_heap_inside_and_from_mmap_outside():
    assert heap.malloc_stats() is not None, "this test machine runs glibc"
    assert _mmaps_for_a_big_tensor() == 1  # glibc's default: a block of its own
    with heap.reuse_freed_memory() as on:
        assert on is True
        assert _mmaps_for_a_big_tensor() == 0
        with heap.reuse_freed_memory():  # nested: still on inside, and still on after the inner block
            assert _mmaps_for_a_big_tensor() == 0
        assert _mmaps_for_a_big_tensor() == 0
    assert _mmaps_for_a_big_tensor() == 1  # restored on exit
    with heap.reuse_freed_memory(False) as on:
        assert on is False and _mmaps_for_a_big_tensor() == 1


def _fit(reuse: bool) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    cfg = ModelConfig(node_types=["card", "merchant"], edge_types=[("card", "pays", "merchant"),
                                                                   ("merchant", "rev_pays", "card")],
                      in_dims={"card": 3, "merchant": 2}, hidden=8, layers=1, members=2)
    rng = np.random.default_rng(0)
    x = {"card": torch.from_numpy(rng.normal(size=(60, 3)).astype(np.float32)),
         "merchant": torch.from_numpy(rng.normal(size=(6, 2)).astype(np.float32))}
    src, dst = torch.arange(60), torch.arange(60) % 6
    edges = {("card", "pays", "merchant"): torch.stack([src, dst]),
             ("merchant", "rev_pays", "card"): torch.stack([dst, src])}
    labels = {"card": (np.arange(60) % 5 == 0).astype(np.int8), "merchant": np.zeros(6, np.int8)}
    model = FraudGNN(cfg)
    fit_members(model, lambda m: torch.optim.Adam(m.parameters(), lr=0.01), x, edges, labels,
                member_splits(labels, 0, 0.2, 2), epochs=5, patience=5, seed=0, reuse_memory=reuse)
    return model.state_dict()


def test_a_fit_reusing_memory_learns_the_same_weights():
    on, off = _fit(True), _fit(False)
    assert on.keys() == off.keys() and all(torch.equal(on[k], off[k]) for k in on)
