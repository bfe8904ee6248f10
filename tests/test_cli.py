"""The CLI as a person uses it: `graphfraud cypher` formats, read-only default, one-line errors and exit codes."""

from __future__ import annotations

import csv
import http.server
import io
import json
import threading
from pathlib import Path

from conftest import cli as run


def test_cypher_json_and_components(clean_graph):
    p = run("cypher", "RETURN 1 AS one, 'x' AS s", "--format", "json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == [{"one": 1, "s": "x"}]
    p = run("cypher", "CALL dbms.components() YIELD versions, edition RETURN versions[0] AS v, edition",
            "--format", "json")
    row = json.loads(p.stdout)[0]
    assert row["v"].startswith("5.26") and row["edition"] == "community"


def test_cypher_params_and_csv(clean_graph):
    p = run("cypher", "RETURN $n + 1 AS n, $name AS name, $xs AS xs", "-p", "n=41", "-p", "name=o'brien",
            "-p", "xs=[1,2]", "--format", "csv")
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert rows == [{"n": "42", "name": "o'brien", "xs": "[1, 2]"}]


def test_cypher_is_read_only_unless_write(clean_graph):
    p = run("cypher", "CREATE (:Probe)")
    assert p.returncode == 2
    assert "--write" in p.stderr and "Traceback" not in p.stderr
    assert clean_graph.run_text("MATCH (p:Probe) RETURN count(p) AS c")[1] == [{"c": 0}]
    p = run("cypher", "CREATE (:Probe) RETURN 1 AS done", "--write", "--format", "json")
    assert p.returncode == 0, p.stderr
    assert clean_graph.run_text("MATCH (p:Probe) RETURN count(p) AS c")[1] == [{"c": 1}]


def test_load_csv_cannot_reach_internal_addresses(clean_graph):
    """LOAD CSV through `cypher` must not make the server fetch loopback/private URLs (SSRF): a live HTTP server on
    127.0.0.1 serving a CSV is never asked; file URLs stay inside the import directory."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"a,b\n1,2\n")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/secret.csv"
        for target in (url, "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/x.csv"):
            p = run("cypher", "LOAD CSV FROM $u AS row RETURN row", "-p", f"u={target}")
            assert p.returncode != 0 and "blocked" in p.stderr, (target, p.stderr)
        assert hits == []
    finally:
        server.shutdown()
    p = run("cypher", "LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row LIMIT 1")
    assert p.returncode != 0 and "root:" not in p.stdout


def test_table_output(clean_graph):
    p = run("cypher", "UNWIND [1,2] AS x RETURN x")
    assert p.returncode == 0 and "2 row(s)" in p.stdout


def test_unreachable_neo4j_is_one_line_exit_2():
    p = run("cypher", "RETURN 1", env={"NEO4J_URI": "bolt://127.0.0.1:9", "NEO4J_PASSWORD": "x"})
    assert p.returncode == 2
    assert "cannot reach Neo4j at bolt://127.0.0.1:9" in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) <= 2


def test_local_unreachable_names_start_command(tmp_path):
    p = run("cypher", "RETURN 1", env={"GRAPHFRAUD_BOLT_PORT": "9", "GRAPHFRAUD_STATE_DIR": str(tmp_path)})
    assert p.returncode == 2
    assert "graphfraud neo4j start" in p.stderr


def test_wrong_password_exit_2(graph):
    p = run("cypher", "RETURN 1", env={"NEO4J_PASSWORD": "not-the-password"})
    assert p.returncode == 2
    assert "rejected the credentials" in p.stderr and "not-the-password" not in p.stderr


def test_bad_param_is_usage_error():
    p = run("cypher", "RETURN 1", "-p", "novalue")
    assert p.returncode == 2 and "key=value" in p.stderr


def test_status_exit_codes(graph, settings, tmp_path):
    p = run("neo4j", "status")
    assert p.returncode == 0
    # the Browser login is findable: where the password is, never the password itself
    assert f"login: user neo4j, password in {settings.password_file}" in " ".join(p.stdout.split())
    assert settings.password() not in p.stdout + p.stderr
    p = run("neo4j", "status", "--json", env={"GRAPHFRAUD_BOLT_PORT": "9", "GRAPHFRAUD_STATE_DIR": str(tmp_path)})
    assert p.returncode == 1 and json.loads(p.stdout)["running"] is False


def test_a_uri_without_the_spark_engine_is_a_usage_error():
    """Only Spark reads URIs; the default engine says so before it connects to anything (a mangled path would read
    as 'does not exist')."""
    p = run("build-graph", "hdfs://namenode:8020/payments")
    assert p.returncode == 2 and "hdfs://namenode:8020/payments: URIs are read by --engine spark only" in p.stderr


def test_help_lists_commands():
    p = run("--help")
    assert p.returncode == 0
    for command in ("neo4j", "cypher"):
        assert command in p.stdout


def test_out_of_range_integers_are_one_line_errors(graph):
    """-p limit=99999999999999999999 on query and cypher: a usage error naming the parameter, no traceback."""
    for args in (("query", "top_rings", "-p", "limit=99999999999999999999"),
                 ("cypher", "RETURN $n AS n", "-p", "n=99999999999999999999")):
        p = run(*args)
        assert p.returncode == 2, p.stderr
        assert "out of range" in p.stderr and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = run("cypher", "RETURN $n AS n", "-p", "n=9223372036854775807", "--format", "json")  # the largest fits
    assert p.returncode == 0 and json.loads(p.stdout) == [{"n": 9223372036854775807}]


def test_state_dir_and_quarantine_are_user_only(graph, settings, tmp_path):
    """The state dir becomes 0700 and what build-graph writes there (the quarantine holds raw rows) 0600."""
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    bad = tmp_path / "in" / "transactions" / "1.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("transaction_id,timestamp,card_id,merchant_id,amount,currency,mcc,country,channel,status\n"
                   "q1,not-a-time,c,m,1.0,EUR,5411,FR,ecom,approved\n")
    p = run("build-graph", str(tmp_path / "in"), "--json",
            env={"GRAPHFRAUD_STATE_DIR": str(state), "NEO4J_URI": settings.uri, "NEO4J_PASSWORD": settings.password()})
    assert p.returncode == 0, p.stderr
    quarantine = Path(json.loads(p.stdout)["quarantine_file"])
    assert quarantine.is_relative_to(state)
    assert state.stat().st_mode & 0o777 == 0o700 and quarantine.stat().st_mode & 0o777 == 0o600
    assert quarantine.parent.stat().st_mode & 0o777 == 0o700


def test_reset_needs_yes_refuses_remote_and_empties_in_batches(clean_graph):
    clean_graph.run_text("UNWIND range(1, 25) AS i CREATE (:Probe {i: i})-[:NEXT]->(:Probe)", write=True)
    p = run("reset")
    assert p.returncode == 2 and "--yes" in p.stderr
    p = run("reset", "--yes", env={"NEO4J_URI": "bolt://127.0.0.2:7688"})  # not the local server
    assert p.returncode == 2 and "--force" in p.stderr
    assert clean_graph.run_text("MATCH (n) RETURN count(n) AS n")[1] == [{"n": 50}]
    p = run("reset", "--yes", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["deleted"] == {"nodes": 50, "relationships": 25}
    assert clean_graph.run_text("MATCH (n) RETURN count(n) AS n")[1] == [{"n": 0}]


def test_an_unexpected_failure_is_one_line_and_the_traceback_goes_to_a_log(graph, settings, tmp_path):
    """A parquet file with a list-typed id column (nothing the validation foresees): exit 1, one line naming the
    error and the log file, which holds the traceback."""
    import polars as pl

    d = tmp_path / "in" / "transactions"
    d.mkdir(parents=True)
    pl.DataFrame({"transaction_id": ["x1"], "timestamp": ["2026-01-01T00:00:00Z"], "card_id": [[1, 2]],
                  "merchant_id": ["m"], "amount": [1.0], "currency": ["EUR"], "mcc": ["5411"], "country": ["FR"],
                  "channel": ["ecom"], "status": ["approved"]}).write_parquet(d / "1.parquet")
    state = tmp_path / "state"
    p = run("build-graph", str(tmp_path / "in"),
            env={"GRAPHFRAUD_STATE_DIR": str(state), "NEO4J_URI": settings.uri, "NEO4J_PASSWORD": settings.password()})
    assert p.returncode == 1
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "unexpected" in p.stderr and str(state / "logs" / "errors.log") in p.stderr.replace("\n", "")
    assert "Traceback (most recent call last)" in (state / "logs" / "errors.log").read_text()
