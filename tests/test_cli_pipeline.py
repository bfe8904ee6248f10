"""Every pipeline command through the CLI, as a user chains them, with --json parsed and checked: generate,
build-graph, train, score, evaluate (and the model each names), on a small world in the real Neo4j."""

from __future__ import annotations

import json
import subprocess
from datetime import date

from graphfraud.generate import generate

from conftest import CLI, cli


def ok(*args: str, timeout: float = 300) -> dict:
    p = cli(*args, "--json", timeout=timeout)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout)


def test_generate_build_train_score_evaluate(clean_graph, tmp_path):
    world, models = tmp_path / "world", tmp_path / "models"
    g = ok("generate", "--out", str(world), "--transactions", "5000", "--days", "30", "--seed", "8")
    assert g["transactions"] == 5000 and sum(g["rings"].values()) == 8

    b = ok("build-graph", str(world))
    assert b["rows_read"] == b["rows_loaded"] + b["rows_quarantined"] + b["rows_already_present"]
    assert b["transactions"]["rows_loaded"] == 5000 and b["rows_quarantined"] == 0
    again = ok("build-graph", str(world))  # a rerun loads nothing twice
    assert again["rows_loaded"] == 0 and again["rows_already_present"] == b["rows_loaded"]

    t = ok("train", "--out", str(models), "--epochs", "15")
    model = t["path"]
    assert model.startswith(str(models)) and len(t["best_epoch"]) == 3 and t["epochs_run"] == 3 * 15  # 3 members
    assert set(t["nodes"]) == {"card", "merchant", "device", "ip"} and t["labelled_fraud"]["card"] > 0

    s = ok("score", "--model", model)
    assert s["model_version"] == t["version"] and s["rings"] == s["written"]["rings"]
    assert s["model_path"] == model and s["warnings"] == []
    cards = clean_graph.run_text("MATCH (c:Card) RETURN count(c) AS n")[1][0]["n"]
    assert s["entities"]["card"]["n"] == cards > t["nodes"]["card"]  # score: the whole graph; train: before the cut-off
    current = clean_graph.run_text("MATCH (r:FraudRing) WHERE r.current RETURN count(r) AS n")[1][0]["n"]
    assert current == s["rings"]

    e = ok("evaluate", "--model", model, "--truth", str(world))
    assert e["model"]["version"] == t["version"] and e["model"]["path"] == model
    assert set(e["nodes"]["card"]) == {"gnn", "gnn_no_rings", "gnn_raw", "xgb_graph", "mlp", "rules"}
    assert 0.0 <= e["nodes"]["card"]["gnn"]["auprc"] <= 1.0
    assert set(e["rings"]) >= {"gnn", "wcc_rules", "fraudar", "labels_only"}
    assert e["test_entities"]["card"]["n"] > e["test_entities"]["card"]["positives"] > 0 and e["warnings"] == []

    # Two score runs started together: one writes, the other is refused at once (exit 3, nothing written); the graph
    # keeps exactly one current ring set, from the run that completed.
    procs = [subprocess.Popen([*CLI, "score", "--model", model, "--json"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert sorted(p.returncode for p in procs) == [0, 3], [o[1][-500:] for o in outs]
    won = json.loads(outs[[p.returncode for p in procs].index(0)][0])
    assert "another run that writes results is in progress" in outs[[p.returncode for p in procs].index(3)][1]
    current = clean_graph.run_text("MATCH (r:FraudRing) WHERE r.current RETURN r.run_id AS run, count(*) AS n")[1]
    assert current == [{"run": won["run_id"], "n": won["rings"]}]

    # The same model on another graph (an earlier year's payments): scoring still works, with a warning naming it.
    clean_graph.wipe()
    generate(tmp_path / "later", transactions=2000, days=10, seed=9, start=date(2025, 3, 1))
    ok("build-graph", str(tmp_path / "later"))
    p = cli("score", "--model", model)
    assert p.returncode == 0, p.stderr[-2000:]
    assert f"warning: model {t['version']}" in p.stderr and "probably trained on another graph" in p.stderr
    assert "held back: 0 cleared by an analyst" in p.stdout and "raised again: 0" in p.stdout  # no verdicts


def test_demo_through_the_cli(clean_graph, tmp_path):
    """The README's main job with --json: history loaded, the last sample day run as a night that trains the first
    model, finds rings, writes them back and reports."""
    p = cli("demo", "--report-dir", str(tmp_path / "reports"), "--json", timeout=600,
            env={"GRAPHFRAUD_MODEL_DIR": str(tmp_path / "models"), "GRAPHFRAUD_EPOCHS": "30"})
    assert p.returncode == 0, p.stderr[-2000:]
    d = json.loads(p.stdout)
    h, night = d["history"], d["night"]
    assert h["rows_loaded"] > 0 and h["rows_quarantined"] == 0
    assert night["status"] == "succeeded" and night["retrain_reason"] == "no model yet"
    assert night["load"]["rows_loaded"] > 0 and night["rings_total"] > 0
    current = clean_graph.run_text("MATCH (r:FraudRing) WHERE r.current RETURN count(r) AS n")[1][0]["n"]
    assert current == night["rings_total"] and (tmp_path / "reports" / night["date"] / "report.html").exists()
