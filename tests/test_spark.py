"""One rule set, two executors: the input contract's rules (rules.py) run by polars (validate.py) and by Spark
(spark.py, local[2]) quarantine the same rows for the same reasons and give the same canonical values, row for row.
No database: these are the read and check stages only."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from graphfraud import rules as r
from graphfraud import spark as sp
from graphfraud import spark_features as sf
from graphfraud import validate as v
from graphfraud.export import TX_SCHEMA, present_types
from graphfraud.features import node_features
from graphfraud.generate import generate
from graphfraud.registry import ENTITIES

from test_faults import corpus
from test_ingest import HEADER, tx

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)  # the plausibility rules' "now", the same for both engines


@pytest.fixture(scope="module")
def spark():
    s = sp.session("local[2]")
    yield s
    s.stop()


def polars_side(files: list[v.SourceFile], kind: str) -> pl.DataFrame:
    """validate.read + the polars executor, file by file, with _file as the file's name."""
    parts = [r.polars_check(v.read(f), kind, now=NOW).with_columns(pl.lit(f.path.name).alias(sp.FILE))
             for f in files if f.kind == kind]
    return pl.concat(parts).sort(sp.FILE, r.ROW)


def spark_side(spark, files: list[v.SourceFile], kind: str) -> pl.DataFrame:
    out = sp.to_polars(sp.check(sp.read(spark, files, kind), kind, now=NOW).drop(sp.FILE_INDEX, sp.AS_READ))
    return out.with_columns(pl.col(sp.FILE).map_elements(lambda p: Path(p).name, return_dtype=pl.String)).sort(
        sp.FILE, r.ROW)


def same(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert sorted(a.columns) == sorted(b.columns)
    assert_frame_equal(a, b.select(a.columns).cast(a.schema), check_exact=True)


def write(root: Path, rel: str, content: bytes) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(content)


def test_fault_corpus_gives_the_same_quarantine_on_both_engines(spark, tmp_path):
    root = tmp_path / "in"
    for _, rel, content, _, _ in corpus(tmp_path):
        write(root, rel, content)
    # a typed parquet file too: datetimes, floats and integer ids travel to Spark as text and must parse back
    pl.DataFrame({"transaction_id": ["p1", "p2", "p3"], "timestamp": [datetime(2026, 1, 1, 10, 0, 0, 123456)] * 3,
                  "card_id": [1, 2, 3], "merchant_id": ["m1", "m1", ""], "amount": [12.5, float("nan"), 0.1],
                  "currency": ["EUR"] * 3, "mcc": ["5411"] * 3, "country": ["FR"] * 3, "channel": ["ecom"] * 3,
                  "status": ["approved", "approved", "declined"]}).write_parquet(root / "transactions" / "p01.parquet")
    files = v.discover([root]).files
    compared = 0
    for kind in v.KIND_ORDER:
        a, b = polars_side(files, kind), spark_side(spark, files, kind)
        same(a, b)
        compared += a.height
    assert compared >= 70
    quarantined = dict(zip(*spark_side(spark, files, "transactions").filter(
        pl.col("reason").is_not_null()).select(pl.concat_str(sp.FILE, pl.lit(":"), r.ROW), "reason")))
    assert quarantined["t03.csv:2"] == "amount is NaN" and quarantined["p01.parquet:2"] == "amount is NaN"
    assert quarantined["p01.parquet:3"] == "empty merchant_id"
    assert "14 fields where the header has 12" in quarantined["s01.csv:2"]


def test_uris_are_discovered_and_read_as_local_files(spark, tmp_path):
    """The fault corpus given as a file:// URI, listed and header-checked through Spark's Hadoop file system
    (HadoopFiles, as hdfs:// or s3a:// would be): the same files of the same kinds in the same order, the same skipped
    and rejected files for the same reasons, and the same rows checked alike. A missing URI and the answer key are
    refused as for local paths."""
    root = tmp_path / "in"
    for _, rel, content, _, _ in corpus(tmp_path):
        write(root, rel, content)
    (root / "notes.txt").write_text("not an input file")
    local = v.discover([root])
    remote = v.discover([root.as_uri()], sp.HadoopFiles(spark))
    assert all(isinstance(f.path, str) and f.path.startswith("file:") for f in remote.files)
    assert [(sp.file_key(f.path), f.kind) for f in remote.files] == [(sp.file_key(f.path), f.kind) for f in local.files]
    assert [(sp.file_key(p), why) for p, why in remote.skipped] == [(sp.file_key(p), why) for p, why in local.skipped]
    assert local.skipped and local.rejected
    # rejected alike; an unreadable file's reason quotes its engine's own error after "cannot read <file>: "
    assert [sp.file_key(p) for p, _ in remote.rejected] == [sp.file_key(p) for p, _ in local.rejected]
    for (p, why), (q, expected) in zip(remote.rejected, local.rejected):
        assert why == expected or (why.startswith(f"cannot read {p}: ") and expected.startswith(f"cannot read {q}: "))
    for kind in v.KIND_ORDER:
        same(polars_side(local.files, kind), spark_side(spark, remote.files, kind))
    with pytest.raises(v.UsageError, match="does not exist"):
        v.discover([(tmp_path / "nowhere").as_uri()], sp.HadoopFiles(spark))
    (tmp_path / "truth").mkdir()
    with pytest.raises(v.UsageError, match="answer key"):
        v.discover([(tmp_path / "truth").as_uri()], sp.HadoopFiles(spark))


# Values at the edges of what each engine parses: (column, value, the reason the row gets, or None to load).
EDGES = [
    ("amount", " 5", "amount is not a number"), ("amount", "5d", "amount is not a number"),
    ("amount", "5\n", "amount is not a number"), ("amount", "+5", None), ("amount", "5.", None), ("amount", ".5", None),
    ("amount", "1e400", "amount is infinite"), ("amount", "-inf", "amount is infinite; amount <= 0"),
    ("amount", "Infinity", "amount is infinite"), ("amount", "nan", "amount is NaN"), ("amount", "\t", "empty amount"),
    ("amount", "1_000", "amount is not a number"), ("amount", "\u0661\u0662", "amount is not a number"),
    ("timestamp", "2026-01-01T10:00:00+0200", None), ("timestamp", "2026-01-01T10:00:00+02", None),
    ("timestamp", "2026-01-01T10:00:00.123456789Z", None), ("timestamp", " 2026-01-01 10:00:00 ", None),
    ("timestamp", "2026-01-01", None), ("timestamp", "2026-1-1", "unparseable timestamp"),
    ("timestamp", "2026-02-30", "unparseable timestamp"), ("timestamp", "2026-01-01T10:00:60Z", "unparseable timestamp"),
    ("timestamp", "2026-01-01T10:00:00 Z", "unparseable timestamp"), ("timestamp", "2026-01-01T10:00:00Z\n", None),
    ("timestamp", "2099-01-01", "timestamp more than 1 day(s) in the future"),
    ("mcc", "5411\n", "mcc is not 4 digits"), ("mcc", "\u0665\u0664\u0661\u0661", "mcc is not 4 digits"),
    ("ip", "10.0.0.1\n", "ip is not an IPv4 or IPv6 address; an id holds control characters"), ("ip", "::1", None), ("ip", "256.0.0.1", "ip is not an IPv4 or IPv6 address"),
    ("card_id", "c\x7f", "an id holds control characters"), ("card_id", " ", None),
    ("channel", "", "unknown channel (expected ecom|pos)"), ("currency", "", None),
]


def test_edge_values_parse_alike_on_both_engines(spark, tmp_path):
    col = {c: i for i, c in enumerate(HEADER)}
    rows = []
    for n, (name, value, _) in enumerate(EDGES):
        row = tx(f"e{n}")
        row[col[name]] = value
        rows.append(row)
    frame = pl.DataFrame(rows, schema=HEADER, orient="row")
    (tmp_path / "transactions").mkdir()
    frame.write_csv(tmp_path / "transactions" / "edges.csv")
    files = v.discover([tmp_path]).files
    a, b = polars_side(files, "transactions"), spark_side(spark, files, "transactions")
    same(a, b)
    assert a["reason"].to_list() == [why for _, _, why in EDGES]  # and both are what the contract says


def world_transactions(world: Path) -> pl.DataFrame:
    """A generated world's transactions in the features' input contract (export.TX_SCHEMA), as the export gives them."""
    raw = pl.concat([pl.read_parquet(f) for f in sorted((world / "transactions").glob("*.parquet"))], how="diagonal")
    entity = [pl.col(e.column).alias(e.name) if e.column in raw.columns else pl.lit(None, pl.String).alias(e.name)
              for e in ENTITIES]
    return raw.select(*entity, ts=pl.col("timestamp").dt.epoch("ms"), amount="amount",
                      declined=pl.col("status") == "declined", ecom=pl.col("channel") == "ecom",
                      country="country").cast(TX_SCHEMA)


@pytest.mark.parametrize("scenario", ["default", "card_present"])
def test_features_are_equal_on_both_engines(spark, tmp_path, scenario):
    """features.node_features (polars) and spark_features.node_features agree to 1e-6 on every feature of every node
    type; card-present worlds include the first-visit surprise, computed half on Spark, half on the driver."""
    generate(tmp_path / "w", transactions=3000, days=20, seed=3, scenario=scenario)
    tx = world_transactions(tmp_path / "w")
    types = present_types(tx)
    assert types == (["card", "merchant", "device", "ip"] if scenario == "default" else ["card", "merchant"])
    cutoff = tx["ts"].max() + 1
    ddl = ", ".join(f"{c} {dict(String='string', Int64='long', Float64='double', Boolean='boolean')[str(d)]}"
                    for c, d in tx.schema.items())
    frame = spark.createDataFrame(tx.rows(), ddl)
    for t in types:
        ids = tx[t].drop_nulls().unique().sort().to_list()
        want = node_features(tx, t, ids, cutoff, types)
        got = pl.DataFrame({t: ids}).join(sp.to_polars(sf.node_features(frame, t, types, cutoff)), on=t,
                                          how="left", maintain_order="left").drop(t)
        assert_frame_equal(got, want, abs_tol=1e-6, rel_tol=0)
        assert want.width >= 22 and (want["n_tx"] > 0).all()  # real values were compared
        if t == "card" and scenario == "card_present":
            assert want["first_visit_surprise"].max() > 1.0
