"""The GNN's output shapes, and training on a small generated world loaded into the real Neo4j:
the loss decreases, save/load gives identical predictions, a model with another schema is refused."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

import numpy as np
import polars as pl
import pytest
import torch

from graphfraud.errors import GraphfraudError
from graphfraud.export import CB_SCHEMA, TX_SCHEMA, build_export, conform, export_graph
from graphfraud.features import FeatureStats, feature_names
from graphfraud.generate import generate
from graphfraud.ingest import build_graph
from graphfraud.model import FraudGNN, MeanSAGEConv, ModelConfig, adjacency, dropout
from graphfraud.models import latest_model_dir, load_model
from graphfraud.predict import predict
from graphfraud.features import model_inputs as inputs
from graphfraud.fit import split_labels
from graphfraud.train import train

CUTOFF = datetime(2024, 1, 10, tzinfo=timezone.utc)


def tiny_export():
    """Three cards, two merchants, one device, two IPs, built from hand-made transaction rows (no database)."""
    ts = int(datetime(2024, 1, 2, tzinfo=timezone.utc).timestamp() * 1000)
    tx = pl.DataFrame({"card": ["c1", "c1", "c2", "c3"], "merchant": ["m1", "m2", "m1", "m2"],
                       "device": ["d1", "d1", "d1", None], "ip": ["i1", "i1", "i2", None],
                       "ts": [ts, ts + 60_000, ts + 3_600_000, ts], "amount": [1.0, 99.99, 5.0, 40.0],
                       "declined": [True, False, False, False], "ecom": [True, True, True, False],
                       "country": ["FR", "FR", "DE", "FR"]}, schema_overrides=TX_SCHEMA)
    tx = conform(tx, TX_SCHEMA)
    cb = pl.DataFrame(schema=CB_SCHEMA)
    conf = pl.DataFrame({"entity_type": [], "entity_id": [], "label": [], "labelled_ms": []},
                        schema={"entity_type": pl.String, "entity_id": pl.String, "label": pl.Int8,
                                "labelled_ms": pl.Int64})
    return build_export(tx, cb, conf, CUTOFF)


@pytest.mark.parametrize("layers", [0, 1, 3])
def test_model_output_shapes(layers):
    ex = tiny_export()
    x, edge_index = inputs(ex, FeatureStats.fit(ex.features))
    cfg = ModelConfig(node_types=list(x), edge_types=list(edge_index), in_dims={t: v.shape[1] for t, v in x.items()},
                      hidden=16, layers=layers)
    out = FraudGNN(cfg)(x, edge_index)
    assert {t: tuple(v.shape) for t, v in out.items()} == {"card": (3,), "merchant": (2,), "device": (1,), "ip": (2,)}
    assert all(torch.isfinite(v).all() for v in out.values())
    assert x["card"].shape == (3, len(feature_names("card", ["card", "merchant", "device", "ip"])))


def test_adjacency_is_the_normalised_transposed_matrix_and_aggregates_as_the_scatter_does():
    """The sparse adjacency holds exactly the export's edges (row = destination, value 1 / in-degree) and its
    transpose; MeanSAGEConv over it equals PyG's SAGEConv gather-scatter mean over the [2, E] index, outputs and
    gradients: hand-made 3 sources -> 2 destinations, one destination without edges, plus an edge type with no
    edges at all."""
    from torch_geometric.nn import SAGEConv
    e = torch.tensor([[0, 2, 1], [1, 1, 0]])  # sources 0 and 2 -> destination 1, source 1 -> destination 0
    empty = torch.zeros((2, 0), dtype=torch.long)
    adj = adjacency({("a", "r", "b"): e, ("b", "s", "a"): empty, ("a", "q", "b"): e}, {"a": 3, "b": 3})
    assert adj[("a", "r", "b")].to_dense().tolist() == [[0, 1, 0], [0.5, 0, 0.5], [0, 0, 0]]
    assert adj[("a", "r", "b")].mean_t.to_dense().tolist() == [[0, 0.5, 0], [1, 0, 0], [0, 0.5, 0]]
    assert adj[("b", "s", "a")].to_dense().tolist() == [[0] * 3] * 3
    assert adjacency(adj, {"a": 3, "b": 3})[("a", "r", "b")] is adj[("a", "r", "b")]  # sparse passes through
    torch.manual_seed(0)
    ours, pyg = MeanSAGEConv((4, 4), 5, aggr="mean"), SAGEConv((4, 4), 5, aggr="mean")
    pyg.load_state_dict(ours.state_dict())  # same parameters: saved models load into either
    for index, a in ((e, adj[("a", "r", "b")]), (empty, adj[("b", "s", "a")])):
        xa, xb = torch.randn(3, 4, requires_grad=True), torch.randn(3, 4)
        g = torch.randn(3, 5)
        y = ours((xa, xb), a)
        (y * g).sum().backward()
        grad, xa.grad = xa.grad.clone(), None
        y_ref = pyg((xa, xb), index)
        (y_ref * g).sum().backward()
        assert torch.allclose(y, y_ref, atol=1e-6) and torch.allclose(grad, xa.grad, atol=1e-6)



def test_mean_hetero_conv_equals_pyg_hetero_conv_in_outputs_and_every_gradient():
    """MeanHeteroConv (each destination's root weights summed before the product) computes what PyG's
    HeteroConv(SAGEConv, aggr="sum") computes from the same state_dict: outputs, input gradients and the gradient of
    every weight, on a hand-made graph where "b" and "a" each receive from two edge types (two root weights to sum;
    one of a's has no edges) and "c" sends but receives nothing. It refuses settings it does not compute."""
    from torch_geometric.nn import HeteroConv, SAGEConv
    from graphfraud.model import MeanHeteroConv
    index = {("a", "r", "b"): torch.tensor([[0, 2, 1], [1, 1, 0]]), ("c", "s", "b"): torch.tensor([[0, 1], [2, 2]]),
             ("b", "t", "a"): torch.zeros((2, 0), dtype=torch.long), ("c", "u", "a"): torch.tensor([[1], [0]])}
    n = {"a": 3, "b": 3, "c": 2}
    torch.manual_seed(0)
    ours = MeanHeteroConv({et: MeanSAGEConv((4, 4), 5, aggr="mean") for et in index}, aggr="sum")
    pyg = HeteroConv({et: SAGEConv((4, 4), 5, aggr="mean") for et in index}, aggr="sum")
    pyg.load_state_dict(ours.state_dict())
    g = {t: torch.randn(k, 5) for t, k in n.items()}
    results = []
    for conv, edges in ((ours, adjacency(index, n)), (pyg, index)):
        torch.manual_seed(1)
        x = {t: torch.randn(k, 4, requires_grad=True) for t, k in n.items()}
        conv.zero_grad()
        y = conv(x, edges)
        sum((y[t] * g[t]).sum() for t in y).backward()
        results.append((y, {t: v.grad for t, v in x.items() if v.grad is not None},
                        {k: p.grad.clone() for k, p in conv.named_parameters()}))
    (y, xg, pg), (y_ref, xg_ref, pg_ref) = results
    assert set(y) == set(y_ref) == {"a", "b"} and set(xg) == set(xg_ref)
    assert all(torch.allclose(y[t], y_ref[t], atol=1e-5) for t in y)
    assert all(torch.allclose(xg[t], xg_ref[t], atol=1e-5) for t in xg)
    assert set(pg) == set(pg_ref) and all(torch.allclose(pg[k], pg_ref[k], atol=1e-5) for k in pg)
    with pytest.raises(ValueError):
        MeanHeteroConv({("a", "r", "b"): MeanSAGEConv((4, 4), 5, aggr="mean", normalize=True)}, aggr="sum")
    with pytest.raises(ValueError):
        MeanHeteroConv({("a", "r", "b"): MeanSAGEConv((4, 4), 5, aggr="mean")}, aggr="mean")

def test_dropout_drops_its_share_keeps_the_expectation_and_follows_the_torch_seed():
    x = torch.ones(400, 250)
    torch.manual_seed(3)
    a = dropout(x, 0.25, True)
    torch.manual_seed(3)
    assert torch.equal(a, dropout(x, 0.25, True))  # torch.manual_seed fixes the mask
    assert not torch.equal(a, dropout(x, 0.25, True))  # and each call draws a fresh one
    assert torch.allclose(a.unique(), torch.tensor([0.0, 256 / 192]))  # p = 64/256: kept units scaled by 1/(1-p)
    assert abs(float((a == 0).float().mean()) - 0.25) < 0.01
    assert abs(float(a.mean()) - 1.0) < 0.01
    assert dropout(x, 0.25, False) is x and dropout(x, 0.0, True) is x
    g = torch.ones(3, 4, requires_grad=True)
    dropout(g, 0.5, True).sum().backward()
    assert set(g.grad.unique().tolist()) <= {0.0, 2.0}  # gradients flow through the kept units only


def test_ensemble_scores_the_mean_logit_of_distinct_members():
    ex = tiny_export()
    x, edge_index = inputs(ex, FeatureStats.fit(ex.features))
    torch.manual_seed(0)
    cfg = ModelConfig(node_types=list(x), edge_types=list(edge_index), in_dims={t: v.shape[1] for t, v in x.items()},
                      hidden=8, layers=1, members=3)
    model = FraudGNN(cfg).eval()
    outs = [m(x, edge_index)["card"] for m in model.members]
    assert len(outs) == 3 and not torch.allclose(outs[0], outs[1])  # members start apart
    assert torch.allclose(model(x, edge_index)["card"], torch.stack(outs).mean(0))


def test_split_is_stratified_and_fixed():
    labels = {"card": np.array([1] * 10 + [0] * 40 + [-1] * 50, dtype=np.int8)}
    a, b = split_labels(labels, 7, 0.2), split_labels(labels, 7, 0.2)
    assert np.array_equal(a.val["card"], b.val["card"])
    assert labels["card"][a.val["card"]].tolist().count(1) == 2 and len(a.val["card"]) == 20
    assert len(a.train["card"]) == 80 and not set(a.train["card"]) & set(a.val["card"])
    assert sorted(np.concatenate([a.train["card"], a.val["card"]]).tolist()) == list(range(100))  # unknown included
    assert not np.array_equal(split_labels(labels, 8, 0.2).val["card"], a.val["card"])


@pytest.fixture(scope="module")
def small_world(tmp_path_factory, graph):
    """3,000 generated transactions over 30 days, loaded into Neo4j with build-graph."""
    out = tmp_path_factory.mktemp("world")
    generate(out, transactions=3000, days=30, seed=3)
    graph.write_autocommit("admin/wipe")
    build_graph(graph, [out], 5000, out / "quarantine")
    return graph


def test_train_save_load_and_refuse(small_world, settings, tmp_path):
    end = datetime(2026, 2, 1, tzinfo=timezone.utc)  # after the last transaction: all known labels
    ex = export_graph(small_world, end)
    assert (ex.labels["card"] == 1).sum() > 0
    s = dataclasses.replace(settings, epochs=20, patience=100, hidden=16, model_dir=tmp_path, ensemble=2)
    result = train(ex, s)
    assert len(result.losses) == 40  # two members, 20 epochs each, each learning
    assert result.losses[19] < 0.8 * result.losses[0] and result.losses[39] < 0.8 * result.losses[20]
    assert result.path == latest_model_dir(s.models_dir) and result.path.parent == tmp_path
    for f in ("weights.safetensors", "config.json", "feature_stats.json", "metrics.json"):
        assert (result.path / f).exists()
    assert json.loads((result.path / "config.json").read_text())["fingerprint"] == ex.fingerprint
    assert load_model(result.path).version == result.path.name == result.version
    assert [p.name for p in tmp_path.iterdir()] == [result.version]  # no hidden partial directory left

    first = predict(load_model(result.path), ex)
    again = predict(load_model(result.path), export_graph(small_world, end))
    assert set(first) == {"card", "merchant", "device", "ip"}
    for t in first:
        assert first[t].shape == (len(ex.ids[t]),) and np.array_equal(first[t], again[t])
        assert ((first[t] >= 0) & (first[t] <= 1)).all()
    # the label trick shows known fraud to the model, but not fraud only inferred from a ring verdict: scored as if
    # unlabelled (and a shown label does move the scores, so the check can fail)
    bundle = load_model(result.path)
    shown = predict(bundle, ex, propagate_alpha=0.0)["card"]
    fraud = int(np.flatnonzero(ex.labels["card"] == 1)[0])
    ex.inferred["card"] = np.arange(len(ex.ids["card"])) == fraud
    hidden = predict(bundle, ex, propagate_alpha=0.0)["card"]
    unlabelled = dataclasses.replace(ex, labels={**ex.labels, "card": np.where(ex.inferred["card"], -1, ex.labels["card"])},
                                     inferred={})
    assert np.array_equal(hidden, predict(bundle, unlabelled, propagate_alpha=0.0)["card"])
    assert not np.array_equal(hidden, shown)

    # a model trained on another feature schema (an older graphfraud) is refused, with the differing feature named
    cfg = json.loads((result.path / "config.json").read_text())
    cfg["feature_names"]["card"][0] = "n_payments"
    (result.path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(GraphfraudError, match="n_payments|n_tx"):
        predict(load_model(result.path), ex)


def test_predict_refuses_other_export_schema(small_world, settings, tmp_path):
    ex = export_graph(small_world, datetime(2026, 2, 1, tzinfo=timezone.utc))
    s = dataclasses.replace(settings, epochs=2, patience=100, hidden=8, model_dir=tmp_path)
    bundle = load_model(train(ex, s).path)
    ex.features["device"] = ex.features["device"].drop("n_cards")
    with pytest.raises(GraphfraudError, match="device features.*n_cards"):
        predict(bundle, ex)
    with pytest.raises(GraphfraudError, match="no trained model"):
        latest_model_dir(tmp_path / "empty")


def test_propagate_pulls_cards_toward_their_riskiest_device_and_ip():
    """Prediction propagation on a hand-made export: exact values, cards never a source, merchants unchanged and no
    source for their cards; in a graph with merchants only (card-present data) cards keep their own score."""
    from types import SimpleNamespace

    import numpy as np
    import polars as pl

    from graphfraud.predict import propagate

    def e(pairs):
        return pl.DataFrame({"src": [a for a, _ in pairs], "dst": [b for _, b in pairs]})

    export = SimpleNamespace(
        ids={"card": ["c0", "c1", "c2"], "device": ["d0", "d1"], "ip": ["i0"], "merchant": ["m0"]},
        edges={("card", "uses", "device"): e([(0, 0), (1, 0), (1, 1)]), ("card", "via", "ip"): e([(1, 0)]),
               ("card", "pays", "merchant"): e([(0, 0), (1, 0), (2, 0)]), ("device", "via", "ip"): e([(1, 0)])})
    heads = {"card": np.array([0.1, 0.2, 0.9], np.float32), "device": np.array([0.8, 0.4], np.float32),
             "ip": np.array([0.6], np.float32), "merchant": np.array([0.3], np.float32)}
    out = propagate(export, heads, alpha=0.5)
    # c0: device max 0.8, no ip (0) -> 0.5*0.1 + 0.5*mean(0.8, 0); c1: device max 0.8, ip 0.6; c2: neither (0, 0)
    np.testing.assert_allclose(out["card"], [0.05 + 0.5 * 0.8 / 2, 0.1 + 0.5 * 1.4 / 2, 0.45], rtol=1e-6)
    np.testing.assert_allclose(out["device"], [0.4 + 0.0, 0.2 + 0.3], rtol=1e-6)  # from its ip only
    np.testing.assert_allclose(out["ip"], [0.3 + 0.2], rtol=1e-6)  # from its device d1 (0.4)
    np.testing.assert_allclose(out["merchant"], heads["merchant"])  # linked to cards only: unchanged
    assert propagate(export, heads, alpha=0.0)["card"].tolist() == heads["card"].tolist()
    shops_only = SimpleNamespace(ids={"card": export.ids["card"], "merchant": ["m0"]},
                                 edges={("card", "pays", "merchant"): export.edges[("card", "pays", "merchant")]})
    only = propagate(shops_only, {"card": heads["card"], "merchant": np.array([0.95], np.float32)}, alpha=0.75)
    assert only["card"].tolist() == heads["card"].tolist()
