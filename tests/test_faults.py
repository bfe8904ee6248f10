"""The fault corpus: every kind of bad input we know of, loaded together in ONE build-graph run against the real
Neo4j. Each case is one file holding a good row and the fault; the run must load every good row, quarantine each bad
row with its reason (or reject the file whole, or report it skipped), and balance the ledger
(read = loaded + quarantined + already present). Folder-level faults get a one-line UsageError, nothing written.
Crash recovery (kill points) and concurrency are in test_recovery.py."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import polars as pl
import pytest

from graphfraud import validate as v
from graphfraud.errors import UsageError
from graphfraud.ingest import CONFLICT_IN_LOAD, UNKNOWN_TRANSACTION, build_graph

from test_ingest import HEADER, tx

CB = ["transaction_id", "reported_at"]
LB = ["entity_type", "entity_id", "label", "labelled_at"]


def text(header: list[str], rows: list[list[str]]) -> bytes:
    return ("\n".join(",".join(r) for r in [header, *rows]) + "\n").encode()


def good(n: str) -> list[str]:
    return tx(f"{n}-ok", card=f"c{n}")


def bad(n: str, **kw: str) -> bytes:
    """A transactions CSV: the case's good row, then its bad row."""
    return text(HEADER, [good(n), tx(f"{n}-bad", **kw)])


def parquet_bytes(df: pl.DataFrame, tmp: Path) -> bytes:
    p = tmp / "_p.parquet"
    df.write_parquet(p)
    return p.read_bytes()


def corpus(tmp: Path) -> list[tuple[str, str, bytes, str, str | None]]:
    """(case, file path under the input folder, content, outcome, reason fragment). Outcomes: row (the bad row is
    quarantined with the reason), file (the file is rejected whole), skip (reported as skipped), ok (loads whole),
    present (the repeat counts as already present)."""
    ok_line = ",".join(good("s04")).encode()
    rows = [
        # --- structure ---
        ("extra fields", "transactions/s01.csv", text(HEADER, [good("s01"), tx("s01-bad") + ["x", "y"]]), "row",
         "14 fields where the header has 12"),
        ("missing fields", "transactions/s02.csv", text(HEADER, [good("s02"), tx("s02-bad")[:7]]), "row",
         "7 fields where the header has 12"),
        ("unterminated quote", "transactions/s03.csv",
         text(HEADER, [good("s03")]) + b's03-bad,2026-01-01T10:00:00Z,"c9,m1,d1,10.0.0.1,1.0,EUR,5411,FR,ecom,approved\n',
         "row", "structurally broken row"),
        ("CRLF line endings", "transactions/s04.csv", ",".join(HEADER).encode() + b"\r\n" + ok_line + b"\r\n", "ok", None),
        ("UTF-8 byte order mark", "transactions/s05.csv", b"\xef\xbb\xbf" + text(HEADER, [good("s05")]), "ok", None),
        ("quoted comma in a field", "transactions/s06.csv",
         text(HEADER, [tx("s06-ok", merchant='"Shop, Ltd"')]), "ok", None),
        ("header only", "transactions/s07.csv", text(HEADER, []), "ok", None),
        ("0-byte CSV", "transactions/s08.csv", b"", "ok", None),
        ("required column missing", "transactions/f01.csv",
         text([c for c in HEADER if c != "amount"], [[f for c, f in zip(HEADER, good("f01")) if c != "amount"]]),
         "file", "lacks column(s) amount"),
        ("binary junk", "transactions/f02.csv", bytes(range(256)) * 8, "file", "lacks column(s)"),
        ("0-byte parquet", "transactions/f03.parquet", b"", "file", "cannot read"),
        ("truncated parquet", "transactions/f04.parquet",
         parquet_bytes(pl.DataFrame([dict(zip(HEADER, good("f04")))]), tmp)[:-20], "file", "cannot read"),
        ("truncated gzip", "transactions/f05.csv.gz", gzip.compress(text(HEADER, [good("f05")]))[:30], "file",
         "end-of-stream marker"),
        # --- encoding ---
        ("latin-1 byte", "transactions/e01.csv",
         text(HEADER, [good("e01")]) + ",".join(tx("e01-bad", merchant="caf\xe9")).encode("latin-1") + b"\n",
         "row", v.NON_UTF8),
        ("NUL byte in an id", "transactions/e02.csv", bad("e02", card="c\x00x"), "row", "control characters"),
        ("control character in an id", "transactions/e03.csv", bad("e03", device="d\x1bx"), "row",
         "control characters"),
        # --- types ---
        ("decimal comma", "transactions/t01.csv", text(HEADER, [good("t01"), tx("t01-bad", amount='"12,50"')]), "row",
         "amount is not a number"),
        ("empty amount", "transactions/t02.csv", bad("t02", amount=""), "row", "empty amount"),
        ("NaN amount", "transactions/t03.csv", bad("t03", amount="NaN"), "row", "amount is NaN"),
        ("infinite amount", "transactions/t04.csv", bad("t04", amount="inf"), "row", "amount is infinite"),
        ("negative amount", "transactions/t05.csv", bad("t05", amount="-5"), "row", "amount <= 0"),
        ("zero amount", "transactions/t06.csv", bad("t06", amount="0"), "row", "amount <= 0"),
        ("unparseable timestamp", "transactions/t07.csv", bad("t07", ts="yesterday"), "row", "unparseable timestamp"),
        ("unknown channel", "transactions/t08.csv", bad("t08", channel="atm"), "row", "unknown channel"),
        ("status in capitals", "transactions/t09.csv", bad("t09", status="APPROVED"), "row", "unknown status"),
        # --- ranges ---
        ("timestamp in 1900", "transactions/r01.csv", bad("r01", ts="1900-01-01T00:00:00Z"), "row",
         "timestamp before"),
        ("timestamp in 9999", "transactions/r02.csv", bad("r02", ts="9999-12-31T00:00:00Z"), "row", "in the future"),
        ("amount 1e308", "transactions/r03.csv", bad("r03", amount="1e308"), "row", "above the ceiling"),
        ("mcc of 2 digits", "transactions/r04.csv", bad("r04", mcc="54"), "row", "mcc is not 4 digits"),
        ("unknown country", "transactions/r05.csv", bad("r05", country="XX"), "row", "country is not"),
        ("unknown currency", "transactions/r06.csv",
         text(HEADER, [good("r06"), [*tx("r06-bad")[:7], "XYZ", *tx("r06-bad")[8:]]]), "row", "currency is not"),
        ("IP out of range", "transactions/r07.csv", bad("r07", ip="999.1.1.1"), "row", "ip is not"),
        ("IP that is a word", "transactions/r08.csv", bad("r08", ip="localhost"), "row", "ip is not"),
        # --- ids ---
        ("empty transaction_id", "transactions/i01.csv", text(HEADER, [good("i01"), tx("")]), "row",
         "empty transaction_id"),
        ("empty card_id", "transactions/i02.csv", bad("i02", card=""), "row", "empty card_id"),
        ("empty merchant_id", "transactions/i03.csv", bad("i03", merchant=""), "row", "empty merchant_id"),
        ("id over the index limit", "transactions/i04.csv", bad("i04", device="é" * 4001), "row", v.TOO_LONG),
        ("same id, other content", "transactions/i05.csv",
         text(HEADER, [good("i05"), tx("i05-ok", card="ci05", amount="99")]), "row", CONFLICT_IN_LOAD),
        ("same id, same content", "transactions/i06.csv", text(HEADER, [good("i06"), good("i06")]), "present", None),
        # --- chargebacks and labels ---
        ("chargeback of an unknown payment", "chargebacks/c01.csv",
         text(CB, [["s01-ok", "2026-01-09T00:00:00Z"], ["nope", "2026-01-09T00:00:00Z"]]), "row", UNKNOWN_TRANSACTION),
        ("chargeback date unparseable", "chargebacks/c02.csv",
         text(CB, [["s02-ok", "2026-01-09T00:00:00Z"], ["s03-ok", "soon"]]), "row", "unparseable reported_at"),
        ("label of an unknown entity type", "labels/l01.csv",
         text(LB, [["card", "cs01", "fraud", "2026-01-09T00:00:00Z"], ["person", "p", "fraud", "2026-01-09T00:00:00Z"]]),
         "row", "unknown entity_type"),
        ("label neither fraud nor legit", "labels/l02.csv",
         text(LB, [["card", "cs02", "legit", "2026-01-09T00:00:00Z"], ["card", "cs02", "maybe", "2026-01-09T00:00:00Z"]]),
         "row", "unknown label"),
        # --- files ---
        ("a README in the folder", "transactions/README.txt", b"notes", "skip", "not a .csv"),
        ("zstd CSV", "transactions/x01.csv.zst", b"\x28\xb5\x2f\xfd junk", "skip", "not a .csv"),
        ("extension in capitals", "transactions/x02.CSV", text(HEADER, [good("x02")]), "ok", None),
        ("gzip CSV", "transactions/x03.csv.gz", gzip.compress(text(HEADER, [good("x03")])), "ok", None),
    ]
    return rows


def test_fault_corpus_in_one_load(clean_graph, tmp_path):
    root = tmp_path / "in"
    cases = corpus(tmp_path)
    for _, rel, content, _, _ in cases:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    s = build_graph(clean_graph, [root], 7, tmp_path / "quarantine")
    d = s.as_dict()
    assert d["rows_read"] == d["rows_loaded"] + d["rows_quarantined"] + d["rows_already_present"]

    q: dict[str, list[str]] = {}
    if s.quarantine_file:
        for r in csv.DictReader(s.quarantine_file.open(newline="", encoding="utf-8")):
            q.setdefault(Path(r["file"]).name, []).append(r["reason"])
    rejected = {p.name: why for p, why in s.rejected_files}
    skipped = {p.name: why for p, why in s.skipped_files}
    loaded = {r["id"] for r in clean_graph.read("test/ingest_transactions")}
    for name, rel, _, outcome, why in cases:
        f = Path(rel).name
        ok_id = f"{f.split('.')[0]}-ok"
        if outcome == "row":
            assert len(q.get(f, [])) == 1 and why in q[f][0], (name, q.get(f))
        else:
            assert f not in q, (name, q[f])
        if outcome == "file":
            assert why in rejected.get(f, ""), (name, rejected.get(f))
            assert ok_id not in loaded, name
        if outcome == "skip":
            assert why in skipped.get(f, ""), (name, skipped.get(f))
        if rel.startswith("transactions/") and outcome in ("row", "ok", "present") and f not in ("s07.csv", "s08.csv"):
            assert ok_id in loaded, name  # every good row of a usable file loads
    assert d["chargebacks"]["rows_loaded"] == 2 and d["labels"]["rows_loaded"] == 2  # their good rows too
    assert len(rejected) == sum(c[3] == "file" for c in cases) and len(skipped) == sum(c[3] == "skip" for c in cases)
    assert d["rows_already_present"] == 1
    assert len(cases) >= 30


@pytest.mark.parametrize("paths,why", [
    (["nowhere"], "does not exist"),
    (["world/truth"], "truth"),
])
def test_folder_faults_are_one_line_usage_errors(clean_graph, tmp_path, paths, why):
    (tmp_path / "world" / "truth").mkdir(parents=True)
    (tmp_path / "world" / "truth" / "rings.csv").write_text("ring_id\n")
    with pytest.raises(UsageError) as e:
        build_graph(clean_graph, [tmp_path / p for p in paths], 10, tmp_path / "q")
    assert why in e.value.message and "\n" not in e.value.message
    assert clean_graph.read("test/ingest_transactions") == []
