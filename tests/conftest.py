"""Shared fixtures: the real Neo4j (started locally when nothing answers), emptied between tests.

A test that needs Neo4j fails when it cannot be reached; nothing here skips or mocks the database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from datetime import datetime, timedelta

import pytest

from graphfraud import neo4j_server
from graphfraud.config import Settings, load_settings
from graphfraud.db import Graph


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def graph(settings: Settings) -> Iterator[Graph]:
    """A connection to the configured Neo4j with the schema applied. Starts the local server if needed."""
    if not settings.is_local and os.environ.get("GRAPHFRAUD_TESTS_MAY_WIPE") != "1":
        pytest.fail(f"the tests empty the database they use, and NEO4J_URI points at {settings.uri}: "
                    "set GRAPHFRAUD_TESTS_MAY_WIPE=1 if that database is a scratch one", pytrace=False)
    if settings.is_local and not neo4j_server.status(settings).running:
        neo4j_server.start(settings)
    g = Graph(settings)
    g.verify()  # raises (the test fails) when Neo4j cannot be reached
    g.ensure_schema()
    yield g
    g.close()


CLI = [sys.executable, str(Path(__file__).resolve().parent.parent / "cli.py")]


def cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`graphfraud ARGS` as a person runs it: a subprocess with this environment (plus `env`), output captured."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env={**os.environ, **(env or {})},
                          timeout=timeout)


def end_of(g: Graph) -> datetime:
    """Just after the graph's last transaction: an export as of it holds every transaction."""
    from graphfraud.export import time_range

    return time_range(g)[1] + timedelta(milliseconds=1)


def wipe(g: Graph) -> None:
    """Delete every node and relationship (constraints stay)."""
    g.wipe()


@pytest.fixture
def clean_graph(graph: Graph) -> Iterator[Graph]:
    """The graph, empty at the start of the test."""
    wipe(graph)
    yield graph
