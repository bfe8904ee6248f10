"""build-graph --bulk (Neo4j's offline importer) against the UNWIND path, on the real Neo4j: the same graph, the
same ledger, and incremental days on top of a bulk load behave as on top of an UNWIND load."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from graphfraud.bulk import bulk_build_graph
from graphfraud.demo import SAMPLE_DIR
from graphfraud.errors import UsageError
from graphfraud.locks import ResultsLocked
from graphfraud.ingest import build_graph

from conftest import wipe

BULK_DAYS = date(2026, 1, 5)  # the bulk load: days before this (and their chargebacks) plus the labels


def day_files(day: date) -> list[Path]:
    return [p for kind in ("transactions", "chargebacks") for p in (SAMPLE_DIR / kind).glob(f"{day.isoformat()}.*")]


def history(tmp: Path) -> list[Path]:
    """Days 1-4 of the sample, chargebacks, the labels, and a file of bad and repeated rows (quarantined
    rows, an id repeated with other content, an identical repeat) so the two ledgers have every outcome to agree on."""
    files = [p for p in sorted((SAMPLE_DIR / "transactions").glob("*.*"))
             if date.fromisoformat(p.name.split(".")[0]) < BULK_DAYS]
    # chargebacks reported up to the 25th: some on these days' payments, the others unknown (quarantined)
    files += [p for p in sorted((SAMPLE_DIR / "chargebacks").glob("*.*"))
              if date.fromisoformat(p.name.split(".")[0]) <= date(2026, 1, 25)]
    first = pl.read_parquet(files[0])
    bad = pl.concat([first.head(3),  # identical repeats: already present
                     first.slice(3, 2).with_columns(amount=pl.col("amount") + 1),  # same id, other content
                     first.slice(5, 1).with_columns(amount=pl.lit(-5.0))])  # amount <= 0: quarantined
    extra = tmp / "transactions"
    extra.mkdir(parents=True, exist_ok=True)
    bad.write_parquet(extra / "zz-repeats.parquet")
    cbs = tmp / "chargebacks"
    cbs.mkdir(parents=True, exist_ok=True)
    tid = first["transaction_id"][7]  # a later, then an earlier report (the earlier wins), and an unknown id
    (cbs / "zz-reports.csv").write_text(f"transaction_id,reported_at\n{tid},2026-01-20T10:00:00Z\n"
                                        f"{tid},2026-01-15T10:00:00Z\nno-such-id,2026-01-15T10:00:00Z\n")
    return [*files, extra / "zz-repeats.parquet", cbs / "zz-reports.csv", SAMPLE_DIR / "labels" / "labels.csv"]


def content(graph) -> dict:
    """The graph's content, order-free: nodes (labels, properties), relationships, indexes."""
    row = graph.read("test/graph_content")[0]
    norm = lambda x: repr(sorted(x.items())) if isinstance(x, dict) else repr(sorted(x) if isinstance(x, list) else x)
    return {"nodes": sorted("|".join(norm(p) for p in n) for n in row["nodes"]),
            "relationships": sorted("|".join(norm(p) for p in r) for r in row["relationships"]),
            "indexes": [tuple(map(repr, r.values())) for r in graph.read("test/schema_objects")]}


def ledger(summary) -> dict:
    d = summary.as_dict()
    return {k: v for k, v in d.items() if k not in ("seconds", "rows_per_s", "quarantine_file", "phases")}


@pytest.fixture(scope="module")
def both(graph, settings, tmp_path_factory):
    """The same files loaded twice: all through UNWIND, and the history with --bulk; each then gets day 5 through
    UNWIND and a rerun of day 4. Returns both graphs' content after the history and after the later days, and the
    two ledgers of the history."""
    tmp = tmp_path_factory.mktemp("bulk")
    files = history(tmp)
    out = {}
    for how in ("unwind", "bulk"):
        wipe(graph)
        qdir = tmp / f"quarantine-{how}"
        if how == "bulk":
            summary = bulk_build_graph(graph, files, qdir)
        else:
            summary = build_graph(graph, files, settings.batch_size, qdir)
        quarantined = pl.read_csv(summary.quarantine_file).drop("file").sort("row", "reason")
        after_history = content(graph)
        build_graph(graph, day_files(BULK_DAYS), settings.batch_size, qdir)
        build_graph(graph, day_files(BULK_DAYS - timedelta(days=1)), settings.batch_size, qdir)
        out[how] = (ledger(summary), quarantined, after_history, content(graph))
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def test_bulk_import_builds_the_graph_unwind_builds(both):
    u, b = both["unwind"], both["bulk"]
    assert len(u[2]["nodes"]) > 1000 and len(u[2]["relationships"]) > 1000
    assert b[2]["nodes"] == u[2]["nodes"]
    assert b[2]["relationships"] == u[2]["relationships"]
    assert b[2]["indexes"] == u[2]["indexes"]


def test_bulk_ledger_and_quarantine_match_unwind(both):
    u, b = both["unwind"], both["bulk"]
    assert b[0] == u[0]
    assert u[0]["rows_quarantined"] > 3 and u[0]["rows_already_present"] >= 3
    assert u[0]["chargebacks"]["rows_loaded"] > 0 and u[0]["chargebacks"]["rows_quarantined"] > 0
    assert b[1].equals(u[1])


def test_later_days_on_a_bulk_load_behave_as_on_an_unwind_load(both):
    u, b = both["unwind"], both["bulk"]
    assert u[3] != u[2]  # day 5 added something
    assert b[3] == u[3]


def test_bulk_refuses_a_graph_that_holds_data(graph, settings, tmp_path):
    wipe(graph)
    build_graph(graph, day_files(date(2026, 1, 1)), settings.batch_size, tmp_path)
    before = content(graph)
    with pytest.raises(UsageError, match="empty database only"):
        bulk_build_graph(graph, day_files(date(2026, 1, 2)), tmp_path)
    assert content(graph) == before


def test_bulk_is_refused_while_another_writer_holds_the_results_lock(graph, settings, tmp_path):
    """A score or nightly run (another process holding the results lock) makes --bulk fail at once, untouched."""
    wipe(graph)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom graphfraud.config import load_settings\n"
                               "from graphfraud.locks import results_lock\n"
                               "with results_lock(load_settings(), 'a nightly'):\n"
                               "    print('held', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ResultsLocked, match="a nightly"):
            bulk_build_graph(graph, day_files(date(2026, 1, 1)), tmp_path)
    finally:
        holder.kill()
        holder.wait()
    assert graph.read("admin/size")[0]["nodes"] == 0
