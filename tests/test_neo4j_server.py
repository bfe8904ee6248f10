"""The local Neo4j launcher: start, status, stop, restart keeps data, auth. Uses its own server and port."""

from __future__ import annotations

import os
import socket
import stat

import pytest

from graphfraud import neo4j_server
from graphfraud.config import load_settings
from graphfraud.db import Graph
from graphfraud.errors import DatabaseUnavailable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_server(tmp_path, monkeypatch):
    """Settings for a second, throw-away server in tmp_path; always stopped afterwards."""
    for var in ("NEO4J_URI", "NEO4J_PASSWORD", "GRAPHFRAUD_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    s = load_settings(state_dir=tmp_path / "state", bolt_port=_free_port(), http_port=_free_port(),
                      neo4j_heap="512m", neo4j_pagecache="64m")
    yield s
    neo4j_server.stop(s)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped) counts as gone
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"


def test_start_status_stop_restart_keeps_data_and_refuses_a_wrong_password(private_server):
    s = private_server
    st = neo4j_server.start(s)
    assert st.running and st.version.startswith("5.26") and st.edition == "community"
    assert st.http_url == f"http://127.0.0.1:{s.http_port}/browser/"
    # generated password: kept in a file only the user can read
    mode = stat.S_IMODE(s.password_file.stat().st_mode)
    assert mode == 0o600
    assert (s.neo4j_home / "logs" / "console.log").exists()

    again = neo4j_server.start(s)  # idempotent: same process
    assert again.pid == st.pid

    with Graph(s) as g:
        g.run_text("CREATE (:Marker {v: $v})", {"v": "kept"}, write=True)
        _, usage = g.run_text("SHOW SETTINGS YIELD name, value WHERE name = 'dbms.usage_report.enabled' RETURN value")
    assert usage == [{"value": "false"}]  # the local server sends no usage data out of the machine

    pid = st.pid
    assert neo4j_server.stop(s) is True
    assert not _pid_alive(pid)
    assert not neo4j_server.status(s).running
    assert neo4j_server.stop(s) is False  # nothing left to stop

    neo4j_server.start(s)
    with Graph(s) as g:
        _, rows = g.run_text("MATCH (m:Marker) RETURN m.v AS v")
    assert rows == [{"v": "kept"}]

    # a wrong password is refused, with a one-line error (the same server: a start costs seconds)
    bad = load_settings(state_dir=s.state_dir, bolt_port=s.bolt_port, http_port=s.http_port,
                        neo4j_password="definitely-wrong")
    with pytest.raises(DatabaseUnavailable, match="rejected the credentials"):
        Graph(bad).verify()


def test_missing_java_is_explained(private_server, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(neo4j_server.ServerError, match="java not found: install"):
        neo4j_server.start(private_server)


def test_heap_and_page_cache_follow_the_machine_unless_set(monkeypatch):
    """auto: 1/8 of memory for the heap (1-31 GiB), 1/4 for the page cache (>= 512 MiB); set values win."""
    for var in ("GRAPHFRAUD_NEO4J_HEAP", "GRAPHFRAUD_NEO4J_PAGECACHE", "GRAPHFRAUD_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    gib = 2**30
    for total, heap, cache in ((24 * gib, "3072m", "6144m"), (4 * gib, "1024m", "1024m"),
                               (512 * gib, "31744m", "131072m"), (1 * gib, "1024m", "512m")):
        monkeypatch.setattr(neo4j_server, "machine_memory_bytes", lambda t=total: t)
        assert neo4j_server.memory_sizes(load_settings()) == (heap, cache), total
    assert neo4j_server.memory_sizes(load_settings(neo4j_heap="2g", neo4j_pagecache="1g")) == ("2g", "1g")
