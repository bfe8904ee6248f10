"""build-graph --engine spark (Spark local[2] + the Neo4j Connector) against the default path, on the real Neo4j: the
same graph, the same ledger and quarantine, and later days loaded on top behave the same."""

from __future__ import annotations

import shutil
from datetime import timedelta

import polars as pl
import pytest

from graphfraud.ingest import build_graph
from graphfraud.spark_ingest import spark_build_graph

from conftest import wipe
from test_bulk import BULK_DAYS, content, day_files, history, ledger


@pytest.fixture(scope="module")
def both(graph, settings, tmp_path_factory):
    """The bulk test's history (every ledger outcome) loaded by the default path and by Spark; each then gets day 5
    and a rerun of day 4 by the default path, and a second Spark load of the history (a rerun: all present). Spark's
    first load is given file:// URIs (discovered through Hadoop's file system, as hdfs:// or s3a:// would be), its
    rerun local paths."""
    tmp = tmp_path_factory.mktemp("spark")
    files = history(tmp)
    out = {}
    for how in ("polars", "spark"):
        wipe(graph)
        qdir = tmp / f"quarantine-{how}"
        if how == "spark":
            summary = spark_build_graph(graph, [f.resolve().as_uri() for f in files], qdir)
        else:
            summary = build_graph(graph, files, settings.batch_size, qdir)
        quarantined = pl.read_csv(summary.quarantine_file).drop("file").sort("row", "reason")
        after_history = content(graph)
        rerun = ledger(spark_build_graph(graph, files, tmp / "q-rerun") if how == "spark"
                       else build_graph(graph, files, settings.batch_size, tmp / "q-rerun"))
        assert content(graph) == after_history
        build_graph(graph, day_files(BULK_DAYS), settings.batch_size, qdir)
        build_graph(graph, day_files(BULK_DAYS - timedelta(days=1)), settings.batch_size, qdir)
        out[how] = (ledger(summary), quarantined, after_history, content(graph), rerun)
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def test_spark_builds_the_graph_build_graph_builds(both):
    p, s = both["polars"], both["spark"]
    assert len(p[2]["nodes"]) > 1000 and len(p[2]["relationships"]) > 1000
    assert s[2]["nodes"] == p[2]["nodes"]
    assert s[2]["relationships"] == p[2]["relationships"]


def test_spark_ledger_and_quarantine_match_build_graph(both):
    p, s = both["polars"], both["spark"]
    assert s[0] == p[0]
    assert p[0]["rows_quarantined"] > 3 and p[0]["rows_already_present"] >= 3
    assert p[0]["chargebacks"]["rows_loaded"] > 0 and p[0]["chargebacks"]["rows_quarantined"] > 0
    assert s[1].equals(p[1])


def test_a_spark_rerun_and_later_days_behave_as_on_build_graph(both):
    p, s = both["polars"], both["spark"]
    assert s[4] == p[4] and p[4]["rows_loaded"] == 0  # the rerun: everything already present
    assert p[3] != p[2]
    assert s[3] == p[3]
