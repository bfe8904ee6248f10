"""The heterogeneous GNN that scores every card, merchant, device and IP.

Scorer = per-type input projection -> `layers` rounds of HeteroConv(SAGEConv, mean aggregation) with residual
connections and LayerNorm -> per-type decoder MLP over [hidden state, raw input features]. FraudGNN averages the
logits of `members` Scorers trained from different seeds (a seed ensemble: one training run on a few hundred known
frauds varies with its seed; the mean does much less), then applies Platt scaling.
With layers=0 it sees no graph at all: that is the MLP baseline, trained by the same loop.
Full-batch, CPU-friendly: no pyg-lib or torch-sparse needed. Edges reach SAGEConv as row-normalised transposed sparse
CSR adjacency matrices (`adjacency`), so each mean aggregation is one sparse-dense product (SparseMean) instead of E
gathered messages.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.nn import HeteroConv, SAGEConv

EdgeType = tuple[str, str, str]


@dataclass
class ModelConfig:
    node_types: list[str]
    edge_types: list[EdgeType]
    in_dims: dict[str, int]  # node type -> number of input features (label column included when label_input)
    hidden: int = 64
    layers: int = 2
    dropout: float = 0.2
    label_input: bool = False  # the last input column is the label trick's known-fraud flag (features.with_known_fraud)
    members: int = 1  # Scorers in the seed ensemble, each trained on its own (fit.fit_members)

    def to_json(self) -> dict:
        d = asdict(self)
        d["edge_types"] = [list(e) for e in self.edge_types]
        return d

    @classmethod
    def from_json(cls, d: dict) -> "ModelConfig":
        return cls(**{**d, "edge_types": [tuple(e) for e in d["edge_types"]]})


def _csr(rows: Tensor, cols: Tensor, values: Tensor, n_rows: int, n_cols: int) -> Tensor:
    """A sparse CSR [n_rows, n_cols] matrix from (row, col, value) triples of unique pairs."""
    order = torch.argsort(rows * n_cols + cols)  # rows ascending, then columns
    crow = torch.zeros(n_rows + 1, dtype=torch.int64)
    crow[1:] = torch.cumsum(torch.bincount(rows, minlength=n_rows), 0)
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state": the product used here is not
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, cols[order], values[order], (n_rows, n_cols),
                                       check_invariants=False)  # valid by construction


def adjacency(edge_index: dict[EdgeType, Tensor], num_nodes: dict[str, int]) -> dict[EdgeType, Tensor]:
    """Each edge type's [2, E] index as its row-normalised transposed adjacency: a sparse CSR [num_dst, num_src]
    matrix A with A[d, s] = 1 / in-degree(d), so that A @ x is the mean over each destination's sources, one
    sparse-dense product instead of E gathered messages (on CPU a training step on a dev world went from 2.6 s to
    0.6 s). The matrix carries its transpose (attribute `mean_t`), built once here: the backward pass of
    A @ x is A^T @ grad, and torch would otherwise re-sort A into A^T on every backward (SparseMean: 0.22 -> 0.15 s
    per layer on the 1M bench graph). Indices that are already sparse pass through; duplicate edges would count
    twice, as they do in a scatter (export edges are unique pairs)."""
    out = {}
    for et, e in edge_index.items():
        if e.layout != torch.strided:
            out[et] = e
            continue
        n_src, n_dst = num_nodes[et[0]], num_nodes[et[2]]
        w = 1.0 / torch.bincount(e[1], minlength=n_dst).clamp(min=1).float()[e[1]]  # [E]: 1 / in-degree of dst
        out[et] = _csr(e[1], e[0], w, n_dst, n_src)
        out[et].mean_t = _csr(e[0], e[1], w, n_src, n_dst)
    return out


class SparseMean(torch.autograd.Function):
    """y = A @ x for a row-normalised sparse A (adjacency), with the gradient A^T @ dy from A's precomputed
    transpose. Gradients flow to x only: A is data."""

    @staticmethod
    def forward(ctx, x: Tensor, a: Tensor, a_t: Tensor) -> Tensor:
        ctx.a_t = a_t
        return torch.sparse.mm(a, x)

    @staticmethod
    def backward(ctx, dy: Tensor) -> tuple[Tensor, None, None]:
        return torch.sparse.mm(ctx.a_t, dy), None, None


class MeanSAGEConv(SAGEConv):
    """SAGEConv with mean aggregation through SparseMean (same parameters and state_dict as SAGEConv)."""

    def message_and_aggregate(self, adj_t: Tensor, x: tuple[Tensor, Tensor | None]) -> Tensor:
        return SparseMean.apply(x[0], adj_t, adj_t.mean_t)


def dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Inverted dropout whose keep-mask is uint8 noise from numpy's PCG64, seeded from torch's generator (so
    torch.manual_seed still fixes every mask). Same expectation as nn.functional.dropout, with p rounded to a multiple
    of 1/256; on CPU torch's bernoulli_ took a fifth of a training step on the 1M bench graph, and this 4x less."""
    if not training or p <= 0.0:
        return x
    drop = min(255, round(p * 256))  # a byte below `drop` drops the unit: P(drop) = drop / 256
    noise = np.random.default_rng(int(torch.randint(2**62, ()))).integers(0, 256, size=tuple(x.shape), dtype=np.uint8)
    return x * torch.from_numpy(noise >= drop) * (256.0 / (256 - drop))


class MeanHeteroConv(HeteroConv):
    """HeteroConv of MeanSAGEConvs summed per destination type, computed with each destination's root weights summed
    first: sum_e (W_l^e mean_e(h_src) + b^e + W_r^e h_dst) = sum_e (W_l^e mean_e(h_src) + b^e) + (sum_e W_r^e) h_dst,
    one [N_dst, hidden] x [hidden, hidden] product per node type instead of one per edge type (a card receives from
    merchants, devices and IPs). Same parameters, state_dict and function as HeteroConv(SAGEConv, aggr="sum"); on the
    1M bench graph the root products were a third of a training step. Needs adjacency()'s sparse matrices."""

    def __init__(self, convs: dict[EdgeType, MeanSAGEConv], aggr: str = "sum"):
        if aggr != "sum" or not all(isinstance(c, MeanSAGEConv) and c.aggr == "mean" and not c.normalize
                                    and not c.project for c in convs.values()):
            raise ValueError("MeanHeteroConv sums MeanSAGEConvs of mean aggregation, without normalize or project")
        super().__init__(convs, aggr)

    def forward(self, x: dict[str, Tensor], adj: dict[EdgeType, Tensor]) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        root: dict[str, list[Tensor]] = {}
        for (src, rel, dst), conv in self.convs.items():
            a = adj.get((src, rel, dst))
            if a is None or src not in x:  # as HeteroConv: an edge type absent here sends nothing
                continue
            y = conv.lin_l(SparseMean.apply(x[src], a, a.mean_t))
            out[dst] = y if dst not in out else out[dst] + y
            if conv.root_weight and dst in x:
                root.setdefault(dst, []).append(conv.lin_r.weight)  # lin_r has no bias
        return {t: v + x[t] @ torch.stack(root[t]).sum(0).t() if t in root else v for t, v in out.items()}


class Dropout(nn.Module):
    """`dropout` as a module, for nn.Sequential."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)


class HeteroEncoder(nn.Module):
    """Node states after `layers` hops of typed message passing: dict type -> [num_nodes, hidden]."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.dropout = cfg.dropout
        self.proj = nn.ModuleDict({t: nn.Linear(cfg.in_dims[t], cfg.hidden) for t in cfg.node_types})
        self.convs = nn.ModuleList(
            MeanHeteroConv({et: MeanSAGEConv((cfg.hidden, cfg.hidden), cfg.hidden, aggr="mean")
                            for et in cfg.edge_types}, aggr="sum")
            for _ in range(cfg.layers))
        self.norms = nn.ModuleList(
            nn.ModuleDict({t: nn.LayerNorm(cfg.hidden) for t in cfg.node_types}) for _ in range(cfg.layers))

    def forward(self, x: dict[str, Tensor], edge_index: dict[EdgeType, Tensor]) -> dict[str, Tensor]:
        edge_index = adjacency(edge_index, {t: v.shape[0] for t, v in x.items()})  # no-op when already sparse
        h = {t: torch.relu(self.proj[t](x[t])) for t in x}
        for conv, norm in zip(self.convs, self.norms):
            msg = conv(h, edge_index)
            # residual: a node type that received no message keeps its state
            h = {t: h[t] + dropout(torch.relu(norm[t](msg[t])), self.dropout, self.training)
                 if t in msg else h[t] for t in h}
        return h


class Decoder(nn.Module):
    """Per node type: a small MLP over [hidden state, raw input features] -> one fraud logit per node."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.dropout = cfg.dropout
        self.mlp = nn.ModuleDict({
            t: nn.Sequential(nn.Linear(cfg.hidden + cfg.in_dims[t], cfg.hidden), nn.ReLU(),
                             Dropout(cfg.dropout), nn.Linear(cfg.hidden, 1))
            for t in cfg.node_types})

    def forward(self, h: dict[str, Tensor], x: dict[str, Tensor]) -> dict[str, Tensor]:
        return {t: self.mlp[t](torch.cat([h[t], x[t]], dim=-1)).squeeze(-1) for t in h}  # [num_nodes] logits


class Scorer(nn.Module):
    """Encoder + decoder: logits per node type from features and edges."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.encoder = HeteroEncoder(cfg)
        self.decoder = Decoder(cfg)

    def forward(self, x: dict[str, Tensor], edge_index: dict[EdgeType, Tensor]) -> dict[str, Tensor]:
        return self.decoder(self.encoder(x, edge_index), x)


class FraudGNN(nn.Module):
    """A seed ensemble of Scorers: the mean of their logits per node type, and calibrated probabilities from it."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.members = nn.ModuleList(Scorer(cfg) for _ in range(max(1, cfg.members)))
        # Platt scaling per node type, [scale, bias] on the logit (fit.calibrate): identity until calibrated
        for t in cfg.node_types:
            self.register_buffer(f"platt_{t}", torch.tensor([1.0, 0.0]))

    def forward(self, x: dict[str, Tensor], edge_index: dict[EdgeType, Tensor]) -> dict[str, Tensor]:
        edge_index = adjacency(edge_index, {t: v.shape[0] for t, v in x.items()})  # once for all members
        outs = [m(x, edge_index) for m in self.members]
        return {t: torch.stack([o[t] for o in outs]).mean(0) for t in outs[0]}

    def probabilities(self, logits: dict[str, Tensor]) -> dict[str, Tensor]:
        """Calibrated fraud probabilities from forward()'s logits."""
        return {t: torch.sigmoid(getattr(self, f"platt_{t}")[0] * v + getattr(self, f"platt_{t}")[1])
                for t, v in logits.items()}
