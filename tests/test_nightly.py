"""The nightly job on the bundled sample, against the real Neo4j: three nights, reruns leave the graph as one
run would, a second concurrent run is refused, reports name new rings. Killed runs: test_recovery.py."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from graphfraud import models
from graphfraud.demo import SAMPLE_DIR, history_files
from graphfraud.export import export_graph, later_labels
from graphfraud.ingest import build_graph
from graphfraud.locks import results_lock
from graphfraud.nightly import HOLDOUT_DAYS, challenge, compare, current_better_share, holdout_set, run_night
from graphfraud.train import train

from conftest import cli, wipe

ROOT = Path(__file__).resolve().parent.parent
D1, D2, D3 = date(2026, 1, 28), date(2026, 1, 29), date(2026, 1, 30)


def snapshot(graph) -> dict:
    """Everything a rerun must leave as it was, with lists sorted so order does not matter."""
    row = graph.read("test/snapshot")[0]
    return {k: sorted(map(repr, v)) if isinstance(v, list) else v for k, v in row.items()}


@pytest.fixture(scope="module")
def night_settings(settings, tmp_path_factory):
    """Settings whose models and reports live in a temporary folder; small training budget for speed (one model,
    not the default ensemble of three: these tests are about the job, not the model)."""
    tmp = tmp_path_factory.mktemp("nightly")
    return dataclasses.replace(settings, model_dir=tmp / "models", epochs=40, patience=10, ensemble=1), tmp / "reports"


def fresh_history(graph, settings) -> None:
    wipe(graph)
    build_graph(graph, history_files(SAMPLE_DIR, D1), settings.batch_size, settings.state_dir / "quarantine")


@pytest.fixture(scope="module")
def three_nights(graph, night_settings):
    """History up to D1, then the nights D1, D2, D3 once each; returns their summaries and snapshots."""
    s, reports = night_settings
    fresh_history(graph, s)
    results, snaps = [], []
    for day in (D1, D2, D3):
        results.append(run_night(s, day, SAMPLE_DIR, reports))
        snaps.append(snapshot(graph))
    return results, snaps


def test_three_nights_leave_run_records_and_reports(graph, three_nights, night_settings):
    results, snaps = three_nights
    assert [r["status"] for r in results] == ["succeeded"] * 3
    assert results[0]["retrained"] and results[0]["retrain_reason"] == "no model yet"
    s, _ = night_settings
    drifted = results[1]["drift_psi"] is not None and results[1]["drift_psi"] > s.drift_psi
    assert results[1]["retrained"] == drifted  # a day after the first model: only drift can retrain
    assert (results[1]["retrain_reason"] or "").startswith("drift") == drifted
    runs = graph.read("nightly/batch_runs", {"limit": 10})
    assert [(r["date"], r["status"]) for r in runs] == [(str(D3), "succeeded"), (str(D2), "succeeded"),
                                                        (str(D1), "succeeded")]
    assert all(r["model_version"] and r["stage_seconds"] for r in runs)
    # every night adds its day's transactions
    assert snaps[0]["transactions"] < snaps[1]["transactions"] < snaps[2]["transactions"]
    first = results[0]
    assert first["rings_total"] > 0 and first["ring_changes"]["new"], "the first night finds the sample's rings"
    for r in results:
        page = Path(r["report_html"]).read_text()
        assert Path(r["report_json"]).exists()
        for ring in r["ring_changes"]["new"]:
            assert ring["ring_id"] in page


def test_every_query_runs_on_the_scored_sample(graph, three_nights):
    """The investigation queries on a real scored world: each runs with its own examples; the ring queries,
    given a ring the nightly job found, return that ring's members and evidence."""
    from graphfraud.queries import example_params, list_queries, run_query

    for spec in list_queries():
        columns, _ = run_query(graph, spec.name, example_params(spec))
        assert columns == spec.columns(), spec.name  # exactly what its header declares
    _, top = run_query(graph, "top_rings", {"limit": "5"})
    assert top, "the scored sample has current rings"
    ring_id = top[0]["ring_id"]
    _, rows = run_query(graph, "ring_members", {"ring_id": ring_id})
    relations = {r["relation"] for r in rows}
    assert relations == {"member", "bound_by"}, "members and the entities that bind the ring"
    assert sum(r["relation"] == "member" for r in rows) == top[0]["size"]
    _, timeline = run_query(graph, "ring_timeline", {"ring_id": ring_id})
    assert timeline and sum(r["transactions"] for r in timeline) > 0


def test_rerunning_a_night_leaves_the_graph_identical(graph, night_settings, three_nights, tmp_path):
    """Rerun through the CLI, as cron does, with --json: nothing loaded twice, the graph as one run left it."""
    _, snaps = three_nights
    s, _ = night_settings
    p = cli("nightly", "--date", str(D3), "--input", str(SAMPLE_DIR), "--report-dir", str(tmp_path), "--json",
            env={"GRAPHFRAUD_MODEL_DIR": str(s.model_dir), "GRAPHFRAUD_EPOCHS": str(s.epochs),
                 "GRAPHFRAUD_ENSEMBLE": str(s.ensemble),
                 "GRAPHFRAUD_PATIENCE": str(s.patience)}, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    again = json.loads(p.stdout)
    assert again["status"] == "succeeded" and again["date"] == str(D3)
    assert again["load"]["rows_loaded"] == 0 and again["load"]["rows_already_present"] > 0
    assert Path(again["report_html"]).parent == tmp_path / str(D3)
    assert snapshot(graph) == snaps[2]


def test_two_days_each_run_twice_equal_each_run_once(graph, night_settings, three_nights):
    _, snaps = three_nights
    s, reports = night_settings
    fresh_history(graph, s)
    for day in (D1, D1, D2, D2):
        run_night(s, day, SAMPLE_DIR, reports)
    assert snapshot(graph) == snaps[1]


def test_a_second_writer_is_refused_while_one_holds_the_lock(night_settings, tmp_path):
    """One results lock for nightly and score: a second process fails at once (exit 3, one line); the holder itself
    may take it again (the CLI locks before importing, the library function locks again)."""
    s, _ = night_settings
    second = ("from graphfraud.config import load_settings\nfrom graphfraud.locks import ResultsLocked, results_lock\n"
              "try:\n    with results_lock(load_settings(), 'second'): print('got it')\n"
              "except ResultsLocked as e:\n    print(e.message)")
    with results_lock(s, "test holder"):
        with results_lock(s, "same process, again"):
            child = subprocess.run([sys.executable, "-c", second], capture_output=True, text=True, timeout=60)
        p = subprocess.run([sys.executable, str(ROOT / "cli.py"), "nightly", "--date", str(D1),
                            "--input", str(SAMPLE_DIR), "--report-dir", str(tmp_path)],
                           capture_output=True, text=True, timeout=120)
        q = subprocess.run([sys.executable, str(ROOT / "cli.py"), "score"], capture_output=True, text=True, timeout=120)
    assert "another run that writes results is in progress (pid" in child.stdout and "test holder" in child.stdout
    assert p.returncode == 3, p.stderr
    assert "another run that writes results is in progress (pid" in p.stderr and "Traceback" not in p.stderr
    assert q.returncode == 3 and "test holder" in q.stderr, q.stderr
    with results_lock(s, "free again"):  # released by the holder: the next writer gets it
        pass


def test_the_holdout_leaves_out_what_the_model_knew_and_what_an_analyst_judged():
    """Cards known at the hold-out start trained both models; cards an analyst judged were chosen from the current
    model's rings. Neither may decide between the candidate and the current model."""
    known = np.array([1, 0, -1, -1, -1, -1])  # two labelled before the hold-out start
    later = np.array([1, 0, 1, 0, 1, -1])  # by tonight: card 2 charged back, 3 confirmed legit, 4 judged fraud
    judged = np.array([False, False, False, False, True, False])
    test, y = holdout_set(known, later, judged)
    assert test.tolist() == [False, False, True, True, False, True]
    assert y[test].tolist() == [1, 0, 0]  # still unknown tonight: a negative, as for every unlabelled card


def test_a_winning_candidate_is_refitted_up_to_tonight_and_that_model_promoted(graph, night_settings, tmp_path):
    """The hold-out week picks the recipe; the model promoted is the same recipe trained on everything known by
    tonight, so the last week's labels reach the weights now. The current model here is the candidate's twin (same
    data, cut-off and seed), so the candidate ties it and wins."""
    s = dataclasses.replace(night_settings[0], model_dir=tmp_path / "models")
    fresh_history(graph, s)
    end = datetime.combine(D1, datetime.min.time(), tzinfo=timezone.utc)  # midnight before D1: all history loaded
    holdout_start = end - timedelta(days=HOLDOUT_DAYS)
    current = train(export_graph(graph, holdout_start), s, holdout_start, s.models_dir, version="current").path

    result = challenge(graph, s, D1 - timedelta(days=1), end, current)
    assert result["promoted"] and result["refit"], result
    assert result["candidate_auprc"] == result["current_auprc"]
    version = f"nightly-{(D1 - timedelta(days=1)).isoformat()}"
    promoted = models.latest_model_dir(s.models_dir)
    assert promoted == s.models_dir / version
    assert models.load_model(promoted).cutoff == end
    assert models.load_model(s.models_dir / "candidates" / version).cutoff == holdout_start  # kept, not promoted
    assert json.loads((promoted / "nightly.json").read_text())["holdout"]["refit"] is True
    assert not (s.models_dir / "candidates" / "refit" / version).exists()

    again = challenge(graph, s, D1 - timedelta(days=1), end, promoted)  # a rerun of the night decides nothing again
    assert again["reused"] and again["refit"] and models.latest_model_dir(s.models_dir) == promoted

    # The next night comes sooner than HOLDOUT_DAYS after the refit, which was trained past tomorrow's hold-out start:
    # cards whose labels it saw (chargebacks known by its cut-off) are no hold-out cards.
    tomorrow = end + timedelta(days=1)
    start = tomorrow - timedelta(days=HOLDOUT_DAYS)
    export = export_graph(graph, start)
    seen = later_labels(graph, export, end)["card"] >= 0
    assert seen.sum() > (export.labels["card"] >= 0).sum()  # the refit knew more cards than the hold-out start did
    nxt = challenge(graph, s, D1, tomorrow, promoted)
    assert nxt["holdout_cards"] == int((~seen).sum())


def test_a_lead_that_rests_on_one_fraud_card_is_noise_and_one_on_fifty_is_not():
    """The promotion test (nightly.challenge keeps the current model only from KEEP_LEVEL of resamples): a current
    model ahead only because it ranks one of ten fraud cards higher is not surely better (resamples without that
    card tie); one ranking fifty of a hundred fraud cards above the other cards that the candidate ranks below
    them is."""
    y = np.r_[np.ones(10), np.zeros(200)].astype(int)
    candidate = np.r_[np.linspace(0.9, 0.5, 10), np.linspace(0.8, 0.0, 200)]
    current = candidate.copy()
    current[9] = 0.95  # the one card it ranks first, the candidate below 60 other cards
    share = current_better_share(y, candidate, current)
    assert 0.5 < share < 0.95  # ahead in the draws holding that card (about 1 - 0.9^10 of them), tied in the rest
    decided = compare(y, candidate, current)
    assert decided["current_auprc"] > decided["candidate_auprc"] and decided["promoted"]  # a lead within noise

    y = np.r_[np.ones(100), np.zeros(2000)].astype(int)
    current = np.r_[np.full(100, 0.9), np.linspace(0.8, 0.0, 2000)]
    candidate = current.copy()
    candidate[:50] = 0.3  # half the fraud below most other cards
    assert current_better_share(y, candidate, current) == 1.0
    assert compare(y, candidate, current) == {"holdout_fraud": 100, "candidate_auprc": 0.537, "current_auprc": 1.0,
                                              "current_better_share": 1.0, "promoted": False}
    assert compare(y, current, candidate)["promoted"] and "current_better_share" not in compare(y, current, candidate)
    assert current_better_share(y, current, candidate) == 0.0  # swapped: the candidate is the better one
