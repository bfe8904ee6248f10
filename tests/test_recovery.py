"""Crash recovery and concurrency against the real Neo4j: the nightly job SIGKILLed at each of its kill points
(killpoints.py: a real SIGKILL at an exact place) and rerun leaves the graph exactly as an uninterrupted run does
(canonical snapshot); two build-graph runs at once load every row once; two scoring runs at once leave one current
ring set (test_cli_pipeline), score and nightly exclude each other (test_nightly)."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
from datetime import date
from pathlib import Path

import pytest

from graphfraud.demo import history_files
from graphfraud.generate import generate
from graphfraud.ingest import build_graph
from graphfraud.killpoints import ENV
from graphfraud.models import list_models
from graphfraud.nightly import run_night

from conftest import CLI, wipe
from test_nightly import snapshot

D1 = date(2026, 1, 28)
# Points a rerun of a finished night passes through (it loads nothing new, scores, writes back, reports again).
# (nightly.load and writeback.started are passed too, each just before ingest.batch / writeback.scores: not repeated)
RERUN_POINTS = ["ingest.batch", "nightly.score", "nightly.rings", "writeback.scores", "writeback.staged",
                "writeback.rings_flipped", "writeback.flipped", "nightly.report"]
# Points only the first run of a night passes through (it trains the first model).
FIRST_RUN_POINTS = ["nightly.retrain", "models.weights"]


@pytest.fixture(scope="module")
def night(settings, tmp_path_factory):
    """Settings for quick nights (models and reports in a temporary folder, one small model) and a small generated
    world (4,000 payments over 30 days, daily files like the sample's) whose day D1 the nights run."""
    tmp = tmp_path_factory.mktemp("recovery")
    generate(tmp / "world", transactions=4000, days=30, seed=3)
    s = dataclasses.replace(settings, model_dir=tmp / "models", epochs=30, patience=10, ensemble=1)
    return s, tmp


def load_history(graph, s, world: Path) -> None:
    """An empty graph, then the world's days before D1 (and the chargebacks reported before it)."""
    wipe(graph)
    build_graph(graph, history_files(world, D1), s.batch_size, s.state_dir / "quarantine")


def _night_killed_at(point: str, s, world: Path, reports: Path) -> None:
    os.environ[ENV] = point
    run_night(s, D1, world, reports)


def killed_night(s, world: Path, point: str, reports: Path) -> int | None:
    """The night D1 (what `graphfraud nightly --date D1` runs) in a process of its own that SIGKILLs itself at
    `point`; its exit code (None: still running after 10 minutes, then stopped). The process is forked from a server
    that imported graphfraud once, so each kill does not pay the 4-5 s of importing torch again (the kills through
    the CLI are in the last test below)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["graphfraud.nightly"])
    proc = ctx.Process(target=_night_killed_at, args=(point, s, world, reports))
    proc.start()
    proc.join(600)
    if proc.exitcode is None:  # hung: stop it, or it would hold the results lock for the tests after this one
        proc.kill()
        proc.join()
        return None
    return proc.exitcode


@pytest.fixture(scope="module")
def reference(graph, night):
    """The graph after an uninterrupted first night."""
    s, tmp = night
    load_history(graph, s, tmp / "world")
    run_night(s, D1, tmp / "world", tmp / "reports")
    return snapshot(graph)


@pytest.mark.parametrize("point", RERUN_POINTS)
def test_rerun_killed_at_a_point_then_rerun_leaves_the_graph_of_one_run(graph, night, reference, point):
    s, tmp = night
    code = killed_night(s, tmp / "world", point, tmp / "reports")
    assert code == -signal.SIGKILL, f"not killed at {point}: exit code {code}"
    run_night(s, D1, tmp / "world", tmp / "reports")
    assert snapshot(graph) == reference


def test_a_night_with_a_rejected_file_says_so_in_its_exit_code(graph, night, reference, tmp_path):
    """A junk file among the day's inputs: the night loads the rest and succeeds, names the file on stderr and in
    the report, and exits 4; the graph is the one the clean night left."""
    s, tmp = night
    world = tmp_path / "world"
    shutil.copytree(tmp / "world", world)
    (world / "transactions" / f"{D1}.extra.csv").write_bytes(bytes(range(256)) * 4)
    p = subprocess.run([*CLI, "nightly", "--date", str(D1), "--input", str(world), "--report-dir", str(tmp_path),
                        "--json"], env={**os.environ, "GRAPHFRAUD_MODEL_DIR": str(s.model_dir),
                                        "GRAPHFRAUD_ENSEMBLE": "1"}, capture_output=True, text=True, timeout=600)
    assert p.returncode == 4, p.stderr[-1500:]
    night_ = json.loads(p.stdout)
    assert night_["status"] == "succeeded" and len(night_["load"]["rejected_files"]) == 1
    assert f"{D1}.extra.csv" in p.stderr and "Traceback" not in p.stderr
    assert "Rejected input files" in Path(night_["report_html"]).read_text()
    assert snapshot(graph) == reference


def test_a_model_of_an_older_format_is_set_aside_and_the_night_retrains(graph, night, reference, tmp_path):
    """After an upgrade that changes the model format, the night's current model (format 2 here) cannot be read: the
    night sets it aside (kept under superseded/), trains a model it can read and leaves the same graph."""
    s, _ = night
    old = tmp_path / "models" / f"nightly-{D1}"
    shutil.copytree(s.model_dir / f"nightly-{D1}", old)
    cfg = json.loads((old / "config.json").read_text())
    (old / "config.json").write_text(json.dumps({**cfg, "format_version": 2}))
    r = run_night(dataclasses.replace(s, model_dir=tmp_path / "models"), D1, night[1] / "world", tmp_path / "reports")
    assert r["status"] == "succeeded" and "set aside: nightly-" in r["retrain_reason"]
    assert json.loads((tmp_path / "models" / "superseded" / f"nightly-{D1}" / "config.json").read_text()
                      )["format_version"] == 2
    assert [p.name for p in list_models(tmp_path / "models")] == [f"nightly-{D1}"]
    assert snapshot(graph) == reference


@pytest.mark.parametrize("point", FIRST_RUN_POINTS)
def test_first_night_killed_while_training_then_rerun_equals_one_run(graph, night, reference, point, tmp_path):
    """Killed while training or saving the first model: no half-written model is left to be picked up, and the
    rerun trains the same model and leaves the same graph."""
    s, tmp = night
    s = dataclasses.replace(s, model_dir=tmp_path / "models")  # no model yet: the night must train one
    load_history(graph, s, tmp / "world")
    code = killed_night(s, tmp / "world", point, tmp_path / "reports")
    assert code == -signal.SIGKILL, f"not killed at {point}: exit code {code}"
    assert not (s.model_dir / f"nightly-{D1}").exists()
    run_night(s, D1, tmp / "world", tmp_path / "reports")
    assert snapshot(graph) == reference


def test_two_loads_at_once_load_every_row_once(graph, night, tmp_path):
    """build-graph x build-graph on the same files: both finish, each row is loaded by exactly one of them (the
    other finds it already present), and the graph equals a single load."""
    s, tmp = night
    files = [str(f) for f in history_files(tmp / "world", D1)]
    load_history(graph, s, tmp / "world")
    single = snapshot(graph)
    graph.wipe()
    procs = [subprocess.Popen([*CLI, "build-graph", *files, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-800:] for _, e in outs]
    a, b = (json.loads(o) for o, _ in outs)
    for run in (a, b):
        assert run["rows_read"] == run["rows_loaded"] + run["rows_quarantined"] + run["rows_already_present"]
    for kind in ("transactions", "chargebacks", "labels"):
        assert a[kind]["rows_loaded"] + b[kind]["rows_loaded"] == a[kind]["rows_read"] - a[kind]["rows_quarantined"], kind
    assert snapshot(graph) == single


def killed(point: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`graphfraud ARGS` in a subprocess that SIGKILLs itself at `point`."""
    return subprocess.run([*CLI, *args], env={**os.environ, ENV: point, **(env or {})}, capture_output=True,
                          text=True, timeout=600)


def test_build_graph_train_and_score_killed_then_rerun(graph, night, tmp_path):
    """The same recovery through the commands a person runs: build-graph killed after its first file, train killed
    while saving, score killed with everything staged; each rerun leaves what one
    uninterrupted run leaves."""
    s, tmp = night
    world = tmp / "world"
    load_history(graph, s, world)
    loaded = snapshot(graph)
    graph.wipe()
    p = killed("ingest.file", "build-graph", *map(str, history_files(world, D1)))
    assert p.returncode == -signal.SIGKILL, p.stderr[-500:]
    assert snapshot(graph) != loaded  # part of it is in
    p = subprocess.run([*CLI, "build-graph", *map(str, history_files(world, D1)), "--json"], capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0 and json.loads(p.stdout)["rows_already_present"] > 0, p.stderr[-500:]
    assert snapshot(graph) == loaded

    models = tmp_path / "models"
    train_env = {"GRAPHFRAUD_EPOCHS": "20", "GRAPHFRAUD_ENSEMBLE": "1"}
    p = killed("models.weights", "train", "--out", str(models), env=train_env)
    assert p.returncode == -signal.SIGKILL, p.stderr[-500:]
    assert [d for d in models.iterdir() if not d.name.startswith(".")] == []  # nothing half-written to pick up
    p = subprocess.run([*CLI, "train", "--out", str(models), "--json"], env={**os.environ, **train_env},
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-500:]
    model = json.loads(p.stdout)["path"]
    # the rerun's model is the one version; the killed run's hidden partial directory is ignored by the store
    assert [d.name for d in models.iterdir() if not d.name.startswith(".")] == [Path(model).name]
    assert [p.name for p in list_models(models)] == [Path(model).name]

    def rings() -> dict:
        return {r["ring_id"]: sorted((m["entity_type"], m["entity_id"]) for m in r["members"])
                for r in graph.read("writeback/ring_members", {"limit": 10_000})}

    assert subprocess.run([*CLI, "score", "--model", model], capture_output=True, timeout=600).returncode == 0
    once = rings()
    for point in ("writeback.staged",):  # (writeback.flipped and the others: through the nightly above)
        p = killed(point, "score", "--model", model)
        assert p.returncode == -signal.SIGKILL, p.stderr[-500:]
        p = subprocess.run([*CLI, "score", "--model", model, "--json"], capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr[-500:]
        assert rings() == once
        runs = {r["run_id"] for r in graph.read("writeback/ring_members", {"limit": 10_000})}
        assert runs == {json.loads(p.stdout)["run_id"]}  # one current ring set, from the run that completed
        c = graph.read("writeback/graph_counts")[0]
        assert c["staged_rings"] == 0 and c["staged_entities"] == 0 and c["current_rings"] == len(once)
