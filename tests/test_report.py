"""The nightly report renders from a plain summary: self-contained HTML naming the new rings, and JSON beside it."""

import html
import json

import numpy as np

from graphfraud.nightly import SCORE_BINS, psi, ring_changes, score_hist
from graphfraud.report import browser_link, challenge_line, write_report


def _summary() -> dict:
    new_ring = {"ring_id": "R-abc123", "type": "device_farm", "score": 0.91, "size": 3,
                "explanation": "3 cards on device d_1",
                "members": [{"entity_type": "card", "entity_id": "c_1"}, {"entity_type": "card", "entity_id": "c_2"},
                            {"entity_type": "device", "entity_id": "d_1"}],
                "links": [("card:c_1", "device:d_1"), ("card:c_2", "device:d_1")]}
    return {"date": "2026-01-30", "status": "succeeded", "model_version": "nightly-2026-01-30", "retrained": True,
            "retrain_reason": "no model yet", "drift_psi": 0.01, "rings_total": 2,
            "score_histogram": {"bins": SCORE_BINS[:-1] + [1.0], "today": score_hist(np.array([0.001, 0.5, 0.95])),
                                "previous": score_hist(np.array([0.001, 0.002, 0.9]))},
            "ring_changes": {"new": [new_ring], "grown": [{"ring_id": "R-old", "type": "card_testing", "score": 0.8,
                                                           "size": 9, "previous_size": 7}],
                             "merged": [], "dissolved": [{"ring_id": "R-gone", "size": 4}]},
            "top_entities": [{"entity_type": "card", "entity_id": "c_1", "risk_score": 0.97, "risk_band": "critical",
                              "ring_id": "R-abc123"}],
            "model_metrics": {"val_auprc": 0.8}, "load": {"rows_read": 10, "rows_loaded": 9, "rows_quarantined": 1,
                                                          "rows_already_present": 0},
            "stage_seconds": {"load": 1.0, "score": 2.0}}


def test_report_files_name_the_new_rings(tmp_path):
    html_path, json_path = write_report(_summary(), tmp_path / "r")
    page = html_path.read_text()
    assert page.startswith("<!doctype html>")
    for text in ("R-abc123", "device_farm", "R-old", "R-gone", "c_1", "2026-01-30"):
        assert text in page
    assert page.count('src="data:image/png;base64,') == 2  # the score histogram and the new ring's drawing
    assert json.loads(json_path.read_text())["ring_changes"]["new"][0]["ring_id"] == "R-abc123"


def test_the_retraining_line_says_whether_the_candidate_went_live_and_on_how_much_fraud(tmp_path):
    """A night that retrained but kept the current model must not read like one that changed models."""
    lost = {"version": "nightly-2026-02-23", "promoted": False, "reused": False,
            "holdout_start": "2026-02-17T00:00:00+00:00", "holdout_cards": 9376, "holdout_fraud": 9,
            "candidate_auprc": 0.0816, "current_auprc": 0.2}
    assert challenge_line(lost) == (
        "candidate nightly-2026-02-23 not promoted, the current model stays: hold-out AUPRC 0.0816 against the "
        "current model's 0.2, on 9,376 cards neither model knew and no analyst judged (hold-out from 2026-02-17), "
        "9 of them fraud by tonight")
    close = {**lost, "promoted": True, "current_better_share": 0.62}  # ahead, but within noise: promoted
    assert challenge_line(close).endswith("9 of them fraud by tonight; the current model ahead in 62% of resamples of "
                                          "the hold-out (it stays from 95%)")
    assert challenge_line(close).startswith("candidate nightly-2026-02-23 promoted: ")
    won = {**lost, "promoted": True, "refit": True, "candidate_auprc": 0.3}
    assert challenge_line(won).startswith("candidate nightly-2026-02-23 promoted (refitted on everything known "
                                          "tonight): hold-out AUPRC 0.3 against the current model's 0.2")
    empty = {**lost, "promoted": True, "holdout_fraud": 0, "candidate_auprc": None, "current_auprc": None}
    assert challenge_line(empty) == ("candidate nightly-2026-02-23 promoted: no fraud by tonight among the 9,376 cards"
                                     " neither model knew and no analyst judged (hold-out from 2026-02-17), so nothing"
                                     " to compare")
    assert challenge_line({"version": "nightly-2026-01-30", "promoted": True, "reused": False,
                           "first_model": True}) == ("first model nightly-2026-01-30 trained on everything known "
                                                     "tonight and promoted")
    assert challenge_line(None) is None
    page = write_report({**_summary(), "challenge": lost}, tmp_path / "r")[0].read_text()
    assert "Retraining: candidate nightly-2026-02-23 not promoted, the current model stays" in page
    assert "Retraining:" not in write_report(_summary(), tmp_path / "s")[0].read_text()


def test_psi_and_histogram():
    h = score_hist(np.array([0.0, 0.004, 0.5, 0.99, 1.0]))
    assert len(h) == len(SCORE_BINS) - 1 and abs(sum(h) - 1) < 1e-9
    assert h[0] == 0.4 and h[-1] == 0.4  # 1.0 falls in the last bin
    same = psi(np.array(h), np.array(h))
    assert same == 0.0
    shifted = psi(np.array([0.9, 0.1]), np.array([0.1, 0.9]))
    assert shifted > 1.0


def test_ring_changes_new_grown_merged_dissolved():
    k = lambda *ids: frozenset(("card", i) for i in ids)  # noqa: E731
    before = {"A": k(1, 2, 3, 4), "B": k(10, 11, 12), "C": k(20, 21, 22), "D": k(30, 31, 32)}
    after = {"A": k(1, 2, 3, 4, 5), "B": k(10, 11, 12, 20, 21, 22), "N": k(40, 41, 42)}
    ch = ring_changes(before, after, {"N": {"type": "device_farm", "score": 0.7}})
    assert [r["ring_id"] for r in ch["new"]] == ["N"] and ch["new"][0]["type"] == "device_farm"
    assert [(r["ring_id"], r["previous_size"]) for r in ch["grown"]] == [("A", 4)]
    assert [(r["ring_id"], r["merged_from"]) for r in ch["merged"]] == [("B", "B, C")]
    assert [r["ring_id"] for r in ch["dissolved"]] == ["D"]
    # a ring that a recent run found, missing from the previous one, is back: returned, not new
    ch = ring_changes(before, {**after, "R": k(50, 51, 52, 53)}, {}, returned={"R"})
    assert [r["ring_id"] for r in ch["returned"]] == ["R"] and [r["ring_id"] for r in ch["new"]] == ["N"]


def test_each_ring_in_the_report_links_to_browser_with_its_members_query(tmp_path):
    url = browser_link("http://127.0.0.1:7474/browser/", 'R-"x"', "MATCH (r:FraudRing {ring_id: $ring_id}) RETURN r")
    assert url == ("http://127.0.0.1:7474/browser/?cmd=edit&arg=%3Aparam%20ring_id%20%3D%3E%20%22R-%5C%22x%5C%22%22%3B"
                   "%0AMATCH%20%28r%3AFraudRing%20%7Bring_id%3A%20%24ring_id%7D%29%20RETURN%20r")
    summary = {**_summary(), "browser": {"url": "http://127.0.0.1:7474/browser/", "ring_members": "RETURN $ring_id"}}
    page = write_report(summary, tmp_path / "r")[0].read_text()
    for ring in ("R-abc123", "R-old", "R-gone"):  # new (and among the top entities), grown, dissolved
        assert f'<a href="{html.escape(browser_link("http://127.0.0.1:7474/browser/", ring, "RETURN $ring_id"))}"' in page
    assert page.count("<a href=") == 4
    no_browser = write_report(_summary(), tmp_path / "s")[0].read_text()
    assert "<a href=" not in no_browser  # a remote Neo4j: no Browser URL known, no links


def test_the_verdict_section_shows_reviewed_precision_held_back_and_time_to_verdict(tmp_path):
    verdicts = {"current": 3, "reviewed": 1, "unreviewed": 2, "judged": 4, "judged_fraud": 3, "precision": 0.75,
                "median_hours_to_verdict": 54.83, "held_back": [
                    {"ring_id": "R-x", "reason": "cleared", "cleared_ring": "R-x"},
                    {"ring_id": "R-y", "reason": "triage", "fraud_probability": 0.1234, "size": 9,
                     "explanation": "device_farm: 9 cards", "members": [["card", "c_1"], ["device", "d_2"]]},
                    {"ring_id": "R-z", "reason": "triage", "fraud_probability": 0.2, "size": 5, "explanation": "x"}],
                "reraised": [{"ring_id": "R-w", "because": "known fraud joined", "cleared_members": 7,
                              "new_members": 1, "new_known_fraud": ["card:c_1", "device:d_2"]}],
                "triage": {"fraud_verdicts": 3, "legit_verdicts": 1, "legit_verdicts_left_out": 2}}
    page = write_report({**_summary(), "verdicts": verdicts}, tmp_path / "r")[0].read_text()
    section = page[page.index("<h2>Analysts' verdicts</h2>"):page.index("<h2>Top risky entities</h2>")]
    for cell in ("<td>3</td><td>1</td><td>2</td>", "<td>3 / 4</td>", "<td>0.750</td><td>1</td><td>1</td><td>2</td><td>3 fraud / 1 legit (2 left out: known fraud inside)</td><td>54.8 h</td>",
                 "<td>R-y</td><td>0.123</td><td>9</td><td>device_farm: 9 cards</td><td>card:c_1, device:d_2</td>",
                 "<td>R-w</td><td>known fraud joined</td><td>7</td><td>1</td><td>card:c_1, device:d_2</td>"):
        assert cell in section
    assert "held back by triage</h2>" in section and "<td>R-x</td>" not in section  # a cleared ring is not listed
    assert "Analysts' verdicts" not in write_report(_summary(), tmp_path / "s")[0].read_text()
