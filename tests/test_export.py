"""Export of a small hand-made graph in the real Neo4j: exact ids, edges, features and labels; no leak after the cut-off."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from graphfraud import export
from graphfraud.errors import GraphfraudError
from graphfraud.export import export_graph, later_labels, read_transactions
from graphfraud.features import feature_names

CUTOFF = datetime(2024, 1, 10, tzinfo=timezone.utc)


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, minute, tzinfo=timezone.utc)


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


# (id, card, merchant, device, ip, time, amount, status, channel, country, chargeback_at)
ROWS = [
    ("t1", "c1", "m1", "d1", "ip1", at(1, 10), 12.5, "approved", "ecom", "FR", at(5)),  # chargeback known at cutoff
    ("t2", "c1", "m2", "d1", "ip1", at(1, 10, 30), 100.0, "declined", "ecom", "FR", None),
    ("t3", "c2", "m1", "d1", "ip2", at(2, 22), 5.0, "approved", "ecom", "DE", at(20)),  # chargeback after cutoff
    ("t4", "c3", "m2", None, None, at(3), 40.0, "approved", "pos", "FR", None),
    ("t5", "c4", "m3", "d2", "ip3", at(12), 9.0, "approved", "ecom", "FR", at(13)),  # after cutoff: all new entities
    ("t6", "c2", "m1", "d1", "ip2", at(11), 7.0, "approved", "ecom", "DE", None),  # after cutoff: known entities
]


@pytest.fixture
def small_graph(clean_graph):
    keys = ["transaction_id", "card", "merchant", "device", "ip", "timestamp", "amount", "status", "channel",
            "country", "chargeback_at"]
    clean_graph.write("test/transactions", {"rows": [dict(zip(keys, r)) for r in ROWS]})
    clean_graph.write("test/confirm", {"card_id": "c3", "label": "fraud", "labelled_at": at(8)})  # before cutoff
    clean_graph.write("test/confirm", {"card_id": "c2", "label": "fraud", "labelled_at": at(15)})  # after cutoff
    return clean_graph


def test_export_exact_tensors(small_graph):
    ex = export_graph(small_graph, CUTOFF)
    assert ex.ids == {"card": ["c1", "c2", "c3"], "merchant": ["m1", "m2"], "device": ["d1"], "ip": ["ip1", "ip2"]}
    d = ex.data
    assert d["card", "pays", "merchant"].edge_index.tolist() == [[0, 0, 1, 2], [0, 1, 0, 1]]
    assert d["merchant", "rev_pays", "card"].edge_index.tolist() == [[0, 1, 0, 1], [0, 0, 1, 2]]
    assert d["card", "uses", "device"].edge_index.tolist() == [[0, 1], [0, 0]]
    assert d["card", "via", "ip"].edge_index.tolist() == [[0, 1], [0, 1]]
    assert d["device", "via", "ip"].edge_index.tolist() == [[0, 0], [0, 1]]
    assert len(d.edge_types) == 8
    for t, n in (("card", 3), ("merchant", 2), ("device", 1), ("ip", 2)):
        assert d[t].num_nodes == n and "x" not in d[t]  # inputs come from model_inputs, with the model's statistics
        assert ex.features[t].columns == feature_names(t, ["card", "merchant", "device", "ip"])

    pays = ex.edges[("card", "pays", "merchant")]
    assert pays["n_tx"].to_list() == [1, 1, 1, 1]
    assert pays["amount"].to_list() == [12.5, 100.0, 5.0, 40.0]
    assert pays["n_declined"].to_list() == [0, 1, 0, 0]
    uses = ex.edges[("card", "uses", "device")]
    assert uses["n_tx"].to_list() == [2, 1] and uses["amount"].to_list() == [112.5, 5.0]
    assert uses["first_ts"].to_list() == [ms(at(1, 10)), ms(at(2, 22))]
    assert uses["last_ts"].to_list() == [ms(at(1, 10, 30)), ms(at(2, 22))]
    assert ex.edges[("device", "via", "ip")]["n_tx"].to_list() == [2, 1]

    card = ex.features["card"]
    assert card["n_tx"].to_list() == [2, 1, 1]
    assert card["amount_sum"].to_list() == [112.5, 5.0, 40.0]
    assert card["decline_share"].to_list() == [0.5, 0.0, 0.0]
    assert card["ecom_share"].to_list() == [1.0, 1.0, 0.0]
    assert card["small_share"].to_list() == [0.0, 1.0, 0.0]
    assert card["whole_share"].to_list() == [0.5, 1.0, 1.0]
    assert card["round_share"].to_list() == [0.5, 0.0, 1.0]
    assert card["n_merchants"].to_list() == [2, 1, 1]
    assert card["n_devices"].to_list() == [1, 1, 0]
    assert card["n_ips"].to_list() == [1, 1, 0]
    assert card["max_tx_hour"].to_list() == [2, 1, 1]
    assert card["max_cards_per_device"].to_list() == [2, 2, 0]
    assert card["age_days"].to_list() == pytest.approx([(ms(CUTOFF) - ms(at(1, 10))) / 86_400_000, 7 + 2 / 24, 7])
    dev = ex.features["device"]
    assert dev["n_cards"].to_list() == [2] and dev["n_tx"].to_list() == [3] and dev["n_ips"].to_list() == [2]
    merchant = ex.features["merchant"]
    assert merchant["n_cards"].to_list() == [2, 2] and merchant["top_card_share"].to_list() == [0.5, 0.5]


def test_transactions_read_in_time_windows_make_the_same_frame(small_graph, monkeypatch):
    """Windows of about 2 or 3 payments (4 rows) give the frame of one window, entity links land in their own row's
    columns, and a payment on a window boundary is read once."""
    whole = read_transactions(small_graph, CUTOFF).sort("ts")
    assert whole["card"].to_list() == ["c1", "c1", "c2", "c3"]
    assert whole["device"].to_list() == ["d1", "d1", "d1", None] and whole["ip"].to_list() == ["ip1", "ip1", "ip2", None]
    assert whole["amount"].to_list() == [12.5, 100.0, 5.0, 40.0] and whole["declined"].to_list() == [0, 1, 0, 0]
    monkeypatch.setattr(export, "STREAM_CHUNK", 2)
    assert read_transactions(small_graph, CUTOFF).sort("ts").equals(whole)
    monkeypatch.setattr(export, "STREAM_CHUNK", 3)
    assert read_transactions(small_graph, CUTOFF).sort("ts").equals(whole)
    assert read_transactions(small_graph, at(1)).height == 0  # nothing before the first payment: an empty frame
    # One payment per window: two windows before 4 Jan 10:00, cut halfway from t1 (1 Jan 10:00), exactly at t3
    monkeypatch.setattr(export, "STREAM_CHUNK", 1)
    bounds = [(w["from"], w["to"]) for w in export.windows(small_graph, at(4, 10))]
    assert bounds == [(export.FAR_PAST, at(2, 22)), (at(2, 22), at(4, 10))]
    assert read_transactions(small_graph, at(4, 10)).sort("ts")["card"].to_list() == ["c1", "c1", "c2", "c3"]


def test_read_row_refuses_a_query_of_many_rows(small_graph):
    """The column-wise reader takes one row per query; a query answering more (two confirmed labels) is an error, not
    a silently dropped row."""
    with pytest.raises(GraphfraudError, match="returned 2 rows"):
        small_graph.read_row("export/confirmed_labels", {"horizon": export.FAR_FUTURE})


def test_labels_known_before_cutoff_only(small_graph):
    ex = export_graph(small_graph, CUTOFF)
    # c1: chargeback on day 5; c2: chargeback and confirmation after the cut-off -> unknown; c3: confirmed on day 8
    assert ex.labels["card"].tolist() == [1, -1, 1]
    assert ex.label_times["card"].tolist() == [ms(at(5)), -1, ms(at(8))]
    # one chargeback among few transactions: not enough to call m1/d1/ip1 fraud; nothing confirmed legit
    assert ex.labels["merchant"].tolist() == [-1, -1]
    assert ex.labels["device"].tolist() == [-1]
    assert ex.labels["ip"].tolist() == [-1, -1]
    assert all(v.dtype == np.int8 for v in ex.labels.values())
    # later knowledge, for evaluation: c2's fraud became known after the cut-off
    assert later_labels(small_graph, ex)["card"].tolist() == [1, 1, 1]


def test_nothing_after_cutoff_leaks(small_graph):
    ex = export_graph(small_graph, CUTOFF)
    assert "c4" not in ex.ids["card"] and "m3" not in ex.ids["merchant"] and "d2" not in ex.ids["device"]
    for e in ex.edges.values():
        assert e["last_ts"].max() < ms(CUTOFF)
    assert ex.features["card"]["n_tx"].sum() == 4  # t5 and t6 are after the cut-off
    later = export_graph(small_graph, at(14))
    assert later.ids["card"] == ["c1", "c2", "c3", "c4"] and later.labels["card"].tolist() == [1, -1, 1, 1]  # c4: charged back on day 13
    assert later.fingerprint != ex.fingerprint
    assert export_graph(small_graph, CUTOFF).fingerprint == ex.fingerprint
