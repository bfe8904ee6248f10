"""build-graph against the real Neo4j: exact counts, idempotence, increments, bad rows, hostile ids, a SIGKILL."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from graphfraud import validate as v
from graphfraud.db import Graph, load_cypher
from graphfraud.registry import cypher_params
from graphfraud.errors import UsageError
from graphfraud.ingest import (CONFLICT_IN_GRAPH, CONFLICT_IN_LOAD, LABEL_CONFLICT, UNKNOWN_TRANSACTION,
                               LoadSummary, build_graph)

from conftest import cli

ROOT = Path(__file__).resolve().parent.parent
HEADER = ["transaction_id", "timestamp", "card_id", "merchant_id", "device_id", "ip", "amount", "currency", "mcc",
          "country", "channel", "status"]
ZERO = {"cards": 0, "merchants": 0, "devices": 0, "ips": 0, "transactions": 0, "made": 0, "at": 0, "on_device": 0,
        "from_ip": 0, "chargebacks": 0}


def tx(tid: str, card: str = "c1", merchant: str = "m1", device: str = "d1", ip: str = "10.0.0.1",
       amount: str = "12.50", ts: str = "2026-01-01T10:00:00Z", channel: str = "ecom", status: str = "approved",
       mcc: str = "5411", country: str = "FR") -> list[str]:
    """One transactions row as CSV text fields, in HEADER order."""
    return [tid, ts, card, merchant, device, ip, amount, "EUR", mcc, country, channel, status]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def counts(g: Graph) -> dict[str, int]:
    return g.read("bench/counts")[0]


def load(g: Graph, paths: list[Path], tmp_path: Path, batch_size: int = 2) -> dict:
    """build_graph with a tiny batch size (several batches even on tiny inputs); the summary as a dict."""
    s = build_graph(g, paths, batch_size, tmp_path / "quarantine")
    d = s.as_dict()
    assert d["rows_read"] == d["rows_loaded"] + d["rows_quarantined"] + d["rows_already_present"]
    return d


def quarantined(d: dict) -> list[dict[str, str]]:
    if d["quarantine_file"] is None:
        return []
    with open(d["quarantine_file"], newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def numbers(d: dict) -> tuple[int, int, int, int]:
    return d["rows_read"], d["rows_loaded"], d["rows_quarantined"], d["rows_already_present"]


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """Day 1 as CSV, day 2 as parquet, chargebacks, labels, and a truth/ folder that must be ignored."""
    d = tmp_path / "world"
    write_csv(d / "transactions" / "2026-01-01.csv", HEADER, [
        tx("t1", "c1", "m1", "d1", "10.0.0.1", "10.50", "2026-01-01T10:00:00Z"),
        tx("t2", "c1", "m2", "", "", "20", "2026-01-01T11:30:00Z", channel="pos", mcc="5812", country="DE"),
        tx("t3", "c2", "m1", "d1", "10.0.0.2", "5.25", "2026-01-01T12:00:00.250Z", status="declined"),
    ])
    (d / "transactions").mkdir(exist_ok=True)
    pl.DataFrame({
        "transaction_id": ["t4", "t5"],
        "timestamp": [datetime(2026, 1, 2, 9, 0, tzinfo=timezone.utc), datetime(2026, 1, 2, 23, 59, 59, tzinfo=timezone.utc)],
        "card_id": ["c3", "c2"], "merchant_id": ["m2", "m3"], "device_id": ["d2", None], "ip": ["10.0.0.1", "10.0.0.3"],
        "amount": [99.0, 1.5], "currency": ["EUR", "EUR"], "mcc": ["5812", "5999"], "country": ["FR", "ES"],
        "channel": ["ecom", "ecom"], "status": ["approved", "approved"],
    }, schema_overrides={"timestamp": pl.Datetime("us", "UTC")}).write_parquet(d / "transactions" / "2026-01-02.parquet")
    write_csv(d / "chargebacks" / "2026-01-20.csv", ["transaction_id", "reported_at"], [["t1", "2026-01-20T08:00:00Z"]])
    write_csv(d / "labels" / "labels.csv", ["entity_type", "entity_id", "label", "labelled_at"],
              [["card", "c2", "fraud", "2026-01-21T00:00:00Z"], ["merchant", "m9", "legit", "2026-01-21T00:00:00Z"]])
    write_csv(d / "truth" / "rings.csv", ["ring_id", "ring_type", "entity_type", "entity_id"], [["r1", "x", "card", "c1"]])
    return d


WORLD_COUNTS = {"cards": 3, "merchants": 4, "devices": 2, "ips": 3, "transactions": 5, "made": 5, "at": 5,
                "on_device": 3, "from_ip": 4, "chargebacks": 1}


def test_exact_graph_from_csv_and_parquet(clean_graph: Graph, world: Path, tmp_path: Path) -> None:
    d = load(clean_graph, [world], tmp_path)
    assert numbers(d) == (8, 8, 0, 0)
    assert (d["transactions"]["rows_loaded"], d["chargebacks"]["rows_loaded"], d["labels"]["rows_loaded"]) == (5, 1, 2)
    assert d["files"] == 4 and d["quarantine_file"] is None  # truth/ not read
    assert counts(clean_graph) == WORLD_COUNTS
    txs = {r["id"]: r for r in clean_graph.read("test/ingest_transactions")}
    assert txs["t1"]["ts"] == "2026-01-01T10:00:00Z" and txs["t1"]["chargeback_at"] == "2026-01-20T08:00:00Z"
    assert (txs["t1"]["cards"], txs["t1"]["merchants"], txs["t1"]["devices"], txs["t1"]["ips"]) == (
        ["c1"], ["m1"], ["d1"], ["10.0.0.1"])
    assert (txs["t2"]["devices"], txs["t2"]["ips"], txs["t2"]["amount"], txs["t2"]["channel"]) == ([], [], 20.0, "pos")
    assert txs["t3"]["ts"] == "2026-01-01T12:00:00.25Z" and txs["t3"]["status"] == "declined"
    assert txs["t4"]["ts"] == "2026-01-02T09:00:00Z" and txs["t4"]["amount"] == 99.0 and txs["t4"]["devices"] == ["d2"]
    assert txs["t5"]["devices"] == [] and txs["t5"]["ips"] == ["10.0.0.3"] and txs["t5"]["chargeback_at"] is None
    ents = {(r["kind"], r["id"]): r for r in clean_graph.read("test/ingest_entities")}
    assert (ents[("merchant", "m2")]["mcc"], ents[("merchant", "m2")]["country"]) == ("5812", "DE")
    assert (ents[("card", "c2")]["label"], ents[("card", "c2")]["labelled_at"]) == ("fraud", "2026-01-21T00:00:00Z")
    assert ents[("merchant", "m9")]["label"] == "legit" and ents[("card", "c1")]["label"] is None


def test_same_content_from_csv_or_parquet_has_the_same_hash(tmp_path: Path) -> None:
    a = write_csv(tmp_path / "a" / "transactions" / "x.csv", HEADER, [tx("t1", amount="99.00", ts="2026-01-02T09:00:00Z")])
    b = tmp_path / "b.parquet"
    pl.read_csv(a, infer_schema=False).with_columns(
        pl.col("timestamp").str.to_datetime(time_zone="UTC"), pl.col("amount").cast(pl.Float64)).write_parquet(b)
    hashes = [v.content_hash(v.check(v.read(v.SourceFile(p, "transactions")), "transactions")) for p in (a, b)]
    assert hashes[0] == hashes[1] and isinstance(hashes[0][0], int)


def test_loading_twice_leaves_the_graph_identical(clean_graph: Graph, world: Path, tmp_path: Path) -> None:
    first = load(clean_graph, [world], tmp_path)
    before = (counts(clean_graph), clean_graph.read("test/ingest_transactions"), clean_graph.read("test/ingest_entities"))
    second = load(clean_graph, [world], tmp_path)
    assert numbers(first) == (8, 8, 0, 0)
    assert numbers(second) == (8, 0, 0, 8)
    assert before == (counts(clean_graph), clean_graph.read("test/ingest_transactions"),
                      clean_graph.read("test/ingest_entities"))


def test_day_two_after_day_one_adds_day_two(clean_graph: Graph, world: Path, tmp_path: Path) -> None:
    day1 = load(clean_graph, [world / "transactions" / "2026-01-01.csv"], tmp_path)
    assert numbers(day1) == (3, 3, 0, 0)
    assert counts(clean_graph) == {**ZERO, "cards": 2, "merchants": 2, "devices": 1, "ips": 2, "transactions": 3,
                                   "made": 3, "at": 3, "on_device": 2, "from_ip": 2}
    day2 = load(clean_graph, [world / "transactions" / "2026-01-02.parquet", world / "chargebacks"], tmp_path)
    assert numbers(day2) == (3, 3, 0, 0)
    assert counts(clean_graph) == {**WORLD_COUNTS, "merchants": 3}  # m9 comes only with the labels


def test_earliest_chargeback_wins_whatever_the_order(clean_graph: Graph, world: Path, tmp_path: Path) -> None:
    load(clean_graph, [world / "transactions"], tmp_path)
    late = write_csv(tmp_path / "cb" / "chargebacks" / "late.csv", ["transaction_id", "reported_at"],
                     [["t2", "2026-02-10T00:00:00Z"], ["t2", "2026-02-12T00:00:00Z"]])
    assert numbers(load(clean_graph, [late], tmp_path)) == (2, 1, 0, 1)
    early = write_csv(tmp_path / "cb2" / "chargebacks" / "early.csv", ["transaction_id", "reported_at"],
                      [["t2", "2026-02-01T00:00:00Z"]])
    assert numbers(load(clean_graph, [early], tmp_path)) == (1, 1, 0, 0)
    assert numbers(load(clean_graph, [late], tmp_path)) == (2, 0, 0, 2)
    txs = {r["id"]: r for r in clean_graph.read("test/ingest_transactions")}
    assert txs["t2"]["chargeback_at"] == "2026-02-01T00:00:00Z"


def test_latest_label_wins(clean_graph: Graph, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "labels" / "l.csv", ["entity_type", "entity_id", "label", "labelled_at"], [
        ["device", "d1", "legit", "2026-01-01T00:00:00Z"], ["device", "d1", "fraud", "2026-01-05T00:00:00Z"],
        ["ip", "1.2.3.4", "fraud", "2026-01-05T00:00:00Z"], ["ip", "1.2.3.4", "legit", "2026-01-05T00:00:00Z"]])
    d = load(clean_graph, [f], tmp_path)
    assert numbers(d) == (4, 2, 1, 1)
    assert [r["reason"] for r in quarantined(d)] == [LABEL_CONFLICT]
    ents = {(r["kind"], r["id"]): r for r in clean_graph.read("test/ingest_entities")}
    assert ents[("device", "d1")]["label"] == "fraud" and ents[("ip", "1.2.3.4")]["label"] == "fraud"


BAD_TRANSACTIONS = [
    ("unparseable timestamp", tx("b", ts="yesterday"), "unparseable timestamp"),
    ("impossible date", tx("b", ts="2026-02-30T10:00:00Z"), "unparseable timestamp"),
    ("zero amount", tx("b", amount="0"), "amount <= 0"),
    ("negative amount", tx("b", amount="-3.5"), "amount <= 0"),
    ("NaN amount", tx("b", amount="NaN"), "amount is NaN"),
    ("infinite amount", tx("b", amount="inf"), "amount is infinite"),
    ("text amount", tx("b", amount="12,50"), "amount is not a number"),
    ("empty amount", tx("b", amount=""), "empty amount"),
    ("empty transaction_id", tx(""), "empty transaction_id"),
    ("empty card_id", tx("b", card=""), "empty card_id"),
    ("empty merchant_id", tx("b", merchant=""), "empty merchant_id"),
    ("id over the index limit", tx("b", device="é" * 4001), v.TOO_LONG),
    ("unknown channel", tx("b", channel="atm"), "unknown channel (expected ecom|pos)"),
    ("unknown status", tx("b", status="APPROVED"), "unknown status (expected approved|declined)"),
    ("id repeated with other content", tx("g1", amount="13.00"), CONFLICT_IN_LOAD),
]


@pytest.mark.parametrize("row,reason", [(r, why) for _, r, why in BAD_TRANSACTIONS],
                         ids=[name for name, _, _ in BAD_TRANSACTIONS])
def test_bad_transaction_row_is_quarantined(clean_graph: Graph, tmp_path: Path, row: list[str], reason: str) -> None:
    f = write_csv(tmp_path / "transactions" / "d.csv", HEADER, [tx("g1"), row, tx("g2", card="c2")])
    d = load(clean_graph, [f], tmp_path)
    assert numbers(d) == (3, 2, 1, 0)
    q = quarantined(d)
    assert [(r["file"], r["row"], r["kind"], r["reason"]) for r in q] == [(str(f.resolve()), "2", "transactions", reason)]
    assert json.loads(q[0]["row_as_read"])["amount"] == (row[6] or None)
    assert counts(clean_graph)["transactions"] == 2


def test_identical_repeat_in_a_load_is_already_present(clean_graph: Graph, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "transactions" / "d.csv", HEADER, [tx("g1"), tx("g1", amount="12.5000"), tx("g2")])
    d = load(clean_graph, [f], tmp_path)
    assert numbers(d) == (3, 2, 0, 1)
    assert counts(clean_graph)["transactions"] == 2


def test_id_in_graph_with_other_content_is_quarantined(clean_graph: Graph, tmp_path: Path) -> None:
    load(clean_graph, [write_csv(tmp_path / "a" / "transactions" / "1.csv", HEADER, [tx("g1"), tx("g2")])], tmp_path)
    f = write_csv(tmp_path / "b" / "transactions" / "2.csv", HEADER,
                  [tx("g1", card="cX", device="dX", status="declined"), tx("g2"), tx("g3"),
                   tx("g1", card="cX", device="dX", status="declined")])
    d = load(clean_graph, [f], tmp_path)
    assert numbers(d) == (4, 1, 2, 1)
    assert [(r["row"], r["reason"]) for r in quarantined(d)] == [("1", CONFLICT_IN_GRAPH), ("4", CONFLICT_IN_GRAPH)]
    txs = {r["id"]: r for r in clean_graph.read("test/ingest_transactions")}
    assert sorted(txs) == ["g1", "g2", "g3"] and txs["g1"]["status"] == "approved"
    ents = clean_graph.read("test/ingest_entities")  # the rejected row's card and device were not written
    assert {(r["kind"], r["id"]) for r in ents} == {("card", "c1"), ("merchant", "m1"), ("device", "d1"), ("ip", "10.0.0.1")}


def test_bad_chargebacks_and_labels_are_quarantined(clean_graph: Graph, tmp_path: Path) -> None:
    t = write_csv(tmp_path / "w" / "transactions" / "1.csv", HEADER, [tx("g1")])
    write_csv(tmp_path / "w" / "chargebacks" / "1.csv", ["transaction_id", "reported_at"],
                   [["g1", "2026-01-09T00:00:00Z"], ["nope", "2026-01-09T00:00:00Z"], ["g1", "soon"], ["", "2026-01-09"]])
    write_csv(tmp_path / "w" / "labels" / "1.csv", ["entity_type", "entity_id", "label", "labelled_at"],
                   [["card", "c1", "fraud", "2026-01-09T00:00:00Z"], ["person", "p", "fraud", "2026-01-09T00:00:00Z"],
                    ["card", "c1", "maybe", "2026-01-09T00:00:00Z"], ["card", "", "fraud", "x"]])
    d = load(clean_graph, [t.parent.parent], tmp_path)
    assert numbers(d) == (9, 3, 6, 0)
    assert [r["reason"] for r in quarantined(d)] == [
        "unparseable reported_at", "empty transaction_id", UNKNOWN_TRANSACTION,
        "unknown entity_type (expected card|merchant|device|ip|email|phone|shipping_address)", "unknown label (expected fraud|legit)",
        "empty entity_id; unparseable labelled_at"]
    assert counts(clean_graph)["chargebacks"] == 1


def test_unusable_files_are_rejected_whole_and_the_others_load(clean_graph: Graph, tmp_path: Path) -> None:
    """Files lacking required columns, a 0-byte parquet and binary junk: each rejected with its reason; the good
    file loads; through the CLI the exit code (4) says some input was rejected."""
    write_csv(tmp_path / "w" / "transactions" / "1.csv", HEADER, [tx("g1")])
    write_csv(tmp_path / "w" / "transactions" / "2.csv", [c for c in HEADER if c not in ("amount", "ip")],
              [["g2", "2026-01-01T00:00:00Z", "c", "m", "d", "EUR", "1", "FR", "ecom", "approved"]])
    write_csv(tmp_path / "w" / "chargebacks" / "1.csv", ["transaction_id", "reported"], [["g1", "2026-01-01"]])
    (tmp_path / "w" / "transactions" / "3.parquet").write_bytes(b"")
    (tmp_path / "w" / "transactions" / "4.csv").write_bytes(bytes(range(256)) * 8)
    s = build_graph(clean_graph, [tmp_path / "w"], 10, tmp_path / "q")
    why = {p.name: r for p, r in s.rejected_files}
    assert sorted(why) == ["1.csv", "2.csv", "3.parquet", "4.csv"]
    assert why["2.csv"] == "transactions file lacks column(s) amount"
    assert why["1.csv"] == "chargebacks file lacks column(s) reported_at"
    assert "cannot read" in why["3.parquet"] and "lacks column(s)" in why["4.csv"]
    assert (s.total("files"), s.total("rows_loaded")) == (1, 1)
    assert counts(clean_graph)["transactions"] == 1
    p = cli("build-graph", str(tmp_path / "w"), "--json")
    assert p.returncode == 4 and len(json.loads(p.stdout)["rejected_files"]) == 4
    assert "rejected" in p.stderr and "Traceback" not in p.stderr


def test_empty_files_load_nothing(clean_graph: Graph, tmp_path: Path) -> None:
    (tmp_path / "transactions").mkdir()
    (tmp_path / "transactions" / "empty.csv").write_bytes(b"")
    (tmp_path / "transactions" / "header.csv").write_text(",".join(HEADER) + "\n")
    d = load(clean_graph, [tmp_path / "transactions"], tmp_path)
    assert numbers(d) == (0, 0, 0, 0) and d["files"] == 2
    assert counts(clean_graph) == ZERO


def test_non_utf8_row_is_quarantined_not_dropped(clean_graph: Graph, tmp_path: Path) -> None:
    f = tmp_path / "transactions" / "latin1.csv"
    f.parent.mkdir()
    f.write_bytes((",".join(HEADER) + "\n" + ",".join(tx("g1")) + "\n").encode()
                  + ",".join(tx("g2", merchant="caf\xe9")).encode("latin-1") + b"\n")
    d = load(clean_graph, [f], tmp_path)
    assert numbers(d) == (2, 1, 1, 0)
    q = quarantined(d)
    assert q[0]["reason"] == v.NON_UTF8 and json.loads(q[0]["row_as_read"])["merchant_id"] == "caf\ufffd"
    assert counts(clean_graph)["transactions"] == 1


HOSTILE = ["a'b\"c", "back\\slash\\", "ünïcødé €😀", "x" * 5000, "'}) DETACH DELETE n //", "$param", "  spaced  "]


def test_hostile_ids_are_stored_verbatim(clean_graph: Graph, tmp_path: Path) -> None:
    rows = [tx(f"t{i}-{h}", card=h, merchant=h, device=h, ip="10.0.0.9") for i, h in enumerate(HOSTILE)]
    f = write_csv(tmp_path / "transactions" / "h.csv", HEADER, rows)
    pl.DataFrame({"entity_type": ["card"], "entity_id": [HOSTILE[4]], "label": ["fraud"],
                  "labelled_at": ["2026-01-03T00:00:00Z"]}).write_parquet(tmp_path / "labels.parquet")
    d = load(clean_graph, [f, tmp_path / "labels.parquet"], tmp_path)
    assert numbers(d) == (8, 8, 0, 0)
    ents = clean_graph.read("test/ingest_entities")
    for kind in ("card", "merchant", "device"):  # (an IP must be an IP address: see the plausibility test)
        assert sorted(r["id"] for r in ents if r["kind"] == kind) == sorted(HOSTILE)
    assert [r["id"] for r in clean_graph.read("test/ingest_transactions")] == sorted(r[0] for r in rows)
    assert [r["label"] for r in ents if r["kind"] == "card" and r["id"] == HOSTILE[4]] == ["fraud"]
    assert numbers(load(clean_graph, [f], tmp_path)) == (7, 0, 0, 7)


def test_truth_folder_is_refused_and_paths_must_exist(clean_graph: Graph, world: Path, tmp_path: Path) -> None:
    for bad in (world / "truth", world / "truth" / "rings.csv", tmp_path / "absent"):
        with pytest.raises(UsageError):
            build_graph(clean_graph, [bad], 10, tmp_path / "q")
    assert counts(clean_graph) == ZERO


def test_cli_json_summary(clean_graph: Graph, world: Path, tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "graphfraud"
    p = subprocess.run([str(exe), "build-graph", str(world), "--json", "--quarantine-dir", str(tmp_path / "q")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert numbers(d) == (8, 8, 0, 0) and d["transactions"]["rows_loaded"] == 5
    p = subprocess.run([str(exe), "build-graph", str(tmp_path / "absent")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "does not exist" in p.stderr


KILL_SCRIPT = """
import sys
from pathlib import Path
from graphfraud.config import load_settings
from graphfraud.db import Graph, load_cypher
from graphfraud.registry import cypher_params
from graphfraud.ingest import build_graph
with Graph(load_settings()) as g:
    build_graph(g, [Path(sys.argv[1])], int(sys.argv[2]), Path(sys.argv[3]))
"""


def test_sigkill_midway_then_rerun_completes_without_duplicates(clean_graph: Graph, tmp_path: Path) -> None:
    n = 6000
    rows = [tx(f"k{i:05d}", card=f"c{i % 700}", merchant=f"m{i % 40}", device=f"d{i % 300}" if i % 3 else "",
               ip=f"10.0.{i % 250}.{i % 7}" if i % 5 else "", amount=f"{1 + i % 97}.{i % 100:02d}",
               ts=f"2026-01-01T{i % 24:02d}:{i % 60:02d}:00Z") for i in range(n)]
    f = write_csv(tmp_path / "transactions" / "big.csv", HEADER, rows)
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(f), "50", str(tmp_path / "q")], cwd=ROOT,
                            env=os.environ.copy())
    deadline, seen = time.monotonic() + 60, 0
    while time.monotonic() < deadline and proc.poll() is None:
        seen = counts(clean_graph)["transactions"]
        if seen >= 500:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the load ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = counts(clean_graph)["transactions"]
    assert 500 <= partial < n
    d = load(clean_graph, [f], tmp_path, batch_size=2000)
    assert d["rows_loaded"] == n - partial and d["rows_already_present"] == partial and d["rows_quarantined"] == 0
    with_device, with_ip = sum(1 for r in rows if r[4]), sum(1 for r in rows if r[5])
    assert counts(clean_graph) == {
        "cards": 700, "merchants": 40, "devices": len({r[4] for r in rows if r[4]}), "ips": len({r[5] for r in rows if r[5]}),
        "transactions": n, "made": n, "at": n, "on_device": with_device, "from_ip": with_ip, "chargebacks": 0}


def test_summary_invariant_and_keys() -> None:
    s = LoadSummary()
    s.kinds["transactions"].rows_read, s.kinds["transactions"].rows_loaded = 5, 3
    s.kinds["transactions"].rows_quarantined, s.kinds["transactions"].rows_already_present = 1, 1
    d = s.as_dict()
    assert {"rows_read", "rows_loaded", "rows_quarantined", "rows_already_present", "quarantine_file", "transactions",
            "chargebacks", "labels", "seconds", "rows_per_s"} <= set(d)
    assert numbers(d) == (5, 3, 1, 1)


def test_extensions_in_any_case_gzip_csv_and_skipped_files_reported(clean_graph: Graph, tmp_path: Path) -> None:
    """A .CSV and a .csv.gz load like .csv; a .csv.zst or a README in the folder is reported as skipped, with the
    reason, never silently ignored; discovery reads gzip headers too."""
    import gzip

    d = tmp_path / "in" / "transactions"
    write_csv(d / "2026-01-01.CSV", HEADER, [tx("u1")])
    write_csv(tmp_path / "plain.csv", HEADER, [tx("u2")])
    (d / "2026-01-02.csv.gz").write_bytes(gzip.compress((tmp_path / "plain.csv").read_bytes()))
    (d / "2026-01-03.csv.zst").write_bytes(b"\x28\xb5\x2f\xfd not really zstd")
    (d / "README.txt").write_text("notes")
    s = build_graph(clean_graph, [tmp_path / "in"], 10, tmp_path / "q")
    assert (s.total("rows_read"), s.total("rows_loaded"), s.total("files")) == (2, 2, 2)
    assert sorted((p.name, r.startswith("not a .csv, .csv.gz or .parquet")) for p, r in s.skipped_files) == [
        ("2026-01-03.csv.zst", True), ("README.txt", True)]
    assert s.as_dict()["skipped_files"][0]["reason"].startswith("not a .csv")
    assert sorted(r["id"] for r in clean_graph.read("test/ingest_transactions")) == ["u1", "u2"]


def test_implausible_values_are_quarantined_and_cannot_move_the_cutoff(clean_graph: Graph, tmp_path: Path) -> None:
    """The contract's plausibility rules: each bad value is quarantined with its reason, the rest loads, and the
    default cut-off is computed from plausible payments only."""
    from graphfraud.export import default_cutoff

    bad = {
        "p1": dict(ts="1900-01-01T00:00:00Z"), "p2": dict(ts="2099-01-01T00:00:00Z"),
        "p3": dict(ts="9999-12-31T00:00:00Z"), "p4": dict(amount="1e308"), "p5": dict(mcc="54"),
        "p6": dict(country="XX"), "p7": dict(ip="999.1.1.1"), "p8": dict(ip="not-an-ip"),
    }
    rows = [tx(t, **kw) for t, kw in bad.items()] + [tx("ok1"), tx("ok2", ip="2001:db8::1", ts="2026-01-02T10:00:00Z")]
    rows.append([*tx("p9")[:7], "XYZ", *tx("p9")[8:]])  # unknown currency
    rows.append(["p10", "2026-01-01T10:00:00Z", "c\x01ard", "m1", "d1", "10.0.0.1", "1.0", "EUR", "5411", "FR", "ecom",
                 "approved"])  # a control character in an id
    write_csv(tmp_path / "w" / "transactions" / "1.csv", HEADER, rows)
    s = build_graph(clean_graph, [tmp_path / "w"], 100, tmp_path / "q")
    assert (s.total("rows_read"), s.total("rows_loaded"), s.total("rows_quarantined")) == (12, 2, 10)
    reasons = {r[1]: r[3] for r in csv.reader(s.quarantine_file.open()) if r[0] != "file"}
    assert reasons == {
        "1": "timestamp before 2000-01-01", "2": "timestamp more than 1 day(s) in the future",
        "3": "timestamp more than 1 day(s) in the future", "4": "amount above the ceiling 1e+09",
        "5": "mcc is not 4 digits", "6": "country is not an ISO 3166-1 alpha-2 code",
        "7": "ip is not an IPv4 or IPv6 address", "8": "ip is not an IPv4 or IPv6 address",
        "11": "currency is not an ISO 4217 code", "12": "an id holds control characters"}
    assert default_cutoff(clean_graph).year == 2026  # the years 1900, 2099 and 9999 never reached the graph


def test_structurally_broken_rows_are_quarantined_and_the_rest_loads(clean_graph: Graph, tmp_path: Path) -> None:
    """A row with extra fields and one with an unterminated quote: each quarantined with its file line and the raw
    line; the file's other rows and the next file load; the ledger balances."""
    d = tmp_path / "w" / "transactions"
    write_csv(d / "1.csv", HEADER, [tx("b1"), tx("b2"), tx("b3")])
    lines = (d / "1.csv").read_text().splitlines()
    lines[2] = lines[2] + ",extra,fields"  # file line 3: b2 with two fields too many
    lines.insert(3, 'b9,2026-01-01T10:00:00Z,"c9,m1,d1,10.0.0.1,1.0,EUR,5411,FR,ecom,approved')  # stray quote
    (d / "1.csv").write_text("\n".join(lines) + "\n")
    write_csv(d / "2.csv", HEADER, [tx("b4")])
    s = build_graph(clean_graph, [tmp_path / "w"], 10, tmp_path / "q")
    assert (s.total("rows_read"), s.total("rows_loaded"), s.total("rows_quarantined")) == (5, 3, 2)
    assert s.total("rows_read") == s.total("rows_loaded") + s.total("rows_quarantined") + s.total("rows_already_present")
    q = [r for r in csv.reader(s.quarantine_file.open()) if r[0] != "file"]
    assert [(r[1], r[3].split(":")[0]) for r in q] == [("2", "structurally broken row (file line 3"),
                                                       ("3", "structurally broken row (file line 4")]
    assert "14 fields where the header has 12" in q[0][3] and q[0][3].endswith("approved,extra,fields")
    assert "unparseable" in q[1][3] and '"c9' in q[1][3]
    assert sorted(r["id"] for r in clean_graph.read("test/ingest_transactions")) == ["b1", "b3", "b4"]


def test_second_step_finds_entities_by_element_id(clean_graph: Graph) -> None:
    """ingest/transaction_links never looks entities up by key: a key lookup planned while the entity index looked
    empty (an empty graph, the first batches) scanned every card per row, and a 133k-row load took over 10 minutes
    instead of 45 s, at random. Planned on an empty graph, it reads its three entities by element id only."""
    one = {"new": [0], "transaction_id": ["t1"], "ts": [0], "card_id": ["c"], "merchant_id": ["m"], "amount": [1.0],
           "currency": ["EUR"], "mcc": ["5411"], "country": ["FR"], "channel": ["pos"], "status": ["approved"],
           "content_hash": [1], "links": [[["device", "d"]]], "card_node": ["x"], "merchant_node": ["y"],
           "link_nodes": [["z"]], **cypher_params()}
    with clean_graph.driver.session(database=clean_graph.database) as s:
        plan = s.run("EXPLAIN " + load_cypher("ingest/transaction_links"), one).consume().plan

    def operators(p: dict) -> list[str]:
        return [p["operatorType"].split("@")[0]] + [o for c in p.get("children", []) for o in operators(c)]

    ops = operators(plan)
    assert ops.count("NodeByElementIdSeek") == 3, ops
    assert not [o for o in ops if "Index" in o or "Scan" in o], ops
