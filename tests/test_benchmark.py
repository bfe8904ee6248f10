"""`graphfraud benchmark` through the CLI on a tiny slice of the dev suite: its own private Neo4j, the JSON shape
the issue asks for, and the results file with its provenance. Figures are not asserted: they live in the benchmark."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from graphfraud.benchmark import NODE_METHODS, RING_METHODS, summarise
from graphfraud.config import REPO_ROOT

STAT = {"mean", "min"}


def test_benchmark_json_on_a_tiny_suite(tmp_path):
    out = tmp_path / "bench"
    p = subprocess.run([sys.executable, str(REPO_ROOT / "cli.py"), "benchmark", "--suite", "dev", "--transactions",
                        "3000", "--days", "14", "--world", "dev_card_present", "--out",
                        str(out), "--json"], capture_output=True, text=True, timeout=900,
                       env={**os.environ, "GRAPHFRAUD_ENSEMBLE": "1", "GRAPHFRAUD_EPOCHS": "10"})  # shape, not skill
    assert p.returncode == 0, p.stderr[-3000:]
    report = json.loads(p.stdout)
    assert set(report) == {"suite", "transactions", "worlds", "summary"}
    assert (report["suite"], report["transactions"]) == ("dev", 3000)
    assert [(w["name"], w["scenario"]) for w in report["worlds"]] == [("dev_card_present", "card_present")]
    for w in report["worlds"]:
        assert {"name", "scenario", "seed", "nodes", "rings"} <= set(w)
        assert set(w["rings"]) >= set(RING_METHODS) and set(w["nodes"]["card"]) == set(NODE_METHODS)
    assert set(report["worlds"][0]["nodes"]) == {"card", "merchant"}  # card-present: no device, no IP
    s = report["summary"]
    assert set(s) == set(NODE_METHODS) | set(RING_METHODS)
    for k in ("card_auprc", "ring_recall", "ring_precision", "ring_f1", "type_accuracy"):
        assert set(s["gnn"][k]) == STAT
    assert set(s["gnn"]["node_auprc_mean"]) == {"card", "merchant"}
    saved = json.loads((out / "results.json").read_text())
    assert saved["summary"] == s and saved["provenance"]["command"].startswith("graphfraud benchmark")
    assert saved["provenance"]["commit"] and saved["provenance"]["machine"]["cpus"] >= 1
    assert not (out / "neo4j-state" / "neo4j" / "run" / "graphfraud-launcher.pid").exists()  # its server stopped


def test_summary_means_and_worst_worlds():
    worlds = [{"nodes": {"card": {m: {"auprc": a} for m in NODE_METHODS}},
               "rings": {m: {"recall": r, "precision": 0.5, "f1": f, "type_accuracy": 1.0} for m in RING_METHODS}}
              for a, r, f in ((0.9, 1.0, 0.6), (0.7, 0.5, 0.4))]
    s = summarise(worlds)
    assert s["gnn"]["card_auprc"] == {"mean": 0.8, "min": 0.7} and s["gnn"]["ring_recall"] == {"mean": 0.75, "min": 0.5}
    assert s["gnn"]["ring_f1"] == {"mean": 0.5, "min": 0.4} and s["xgb_graph"]["node_auprc_mean"] == {"card": 0.8}
    assert "ring_recall" not in s["xgb_graph"] and "card_auprc" not in s["fraudar"]
