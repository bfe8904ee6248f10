"""The one door to Neo4j: driver, sessions, access modes, retries, and named Cypher files.

Every other module asks `Graph` to run a Cypher file from `cypher/` by name with parameters.
Values only ever travel as parameters; no value is formatted into a query string.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import neo4j
from neo4j import GraphDatabase, RoutingControl
from neo4j import exceptions as nx

from .config import REPO_ROOT, Settings
from .registry import ENTITIES
from .errors import AccessModeError, DatabaseUnavailable, GraphfraudError, UsageError

CYPHER_DIR = REPO_ROOT / "cypher"
_NAME = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)*$")


@functools.cache
def load_cypher(name: str) -> str:
    """Text of `cypher/<name>.cypher` (header comments included: Cypher ignores them)."""
    if not _NAME.match(name):
        raise UsageError(f"bad Cypher file name {name!r}")
    path = CYPHER_DIR / f"{name}.cypher"
    if not path.exists():
        raise UsageError(f"no Cypher file {path.relative_to(REPO_ROOT)}")
    return path.read_text(encoding="utf-8")


def split_statements(text: str) -> list[str]:
    """Split a Cypher file holding several `;`-terminated statements (schema files), dropping comments."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    return [s.strip() for s in body.split(";") if s.strip()]


def plain(value: Any) -> Any:
    """A Neo4j value as plain JSON-able Python: nodes and relationships become dicts, temporals ISO strings."""
    if isinstance(value, neo4j.graph.Node):
        return {"_labels": sorted(value.labels), **{k: plain(v) for k, v in value.items()}}
    if isinstance(value, neo4j.graph.Relationship):
        return {"_type": value.type, **{k: plain(v) for k, v in value.items()}}
    if isinstance(value, neo4j.graph.Path):
        return [plain(n) for n in value.nodes]
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "iso_format"):
        return value.iso_format()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@contextlib.contextmanager
def _translated(settings: Settings) -> Iterator[None]:
    """Turn driver exceptions into one-line errors that say what to do."""
    try:
        yield
    except nx.AuthError:
        raise DatabaseUnavailable(
            f"Neo4j at {settings.uri} rejected the credentials of user {settings.neo4j_user!r}: "
            "check NEO4J_USER / NEO4J_PASSWORD (the local server's password is in "
            f"{settings.password_file})"
        ) from None
    except (nx.ServiceUnavailable, nx.SessionExpired, OSError) as e:
        hint = "start the local server with: graphfraud neo4j start" if settings.is_local else (
            "check NEO4J_URI and that the server is running")
        raise DatabaseUnavailable(f"cannot reach Neo4j at {settings.uri} ({type(e).__name__}); {hint}") from None
    except nx.ClientError as e:
        if e.code and "AccessMode" in e.code or "read access mode" in (e.message or "").lower():
            raise AccessModeError(
                "the query writes to the graph, but runs in READ access mode; rerun with --write "
                f"if you mean to change the graph ({e.message})"
            ) from None
        raise GraphfraudError(f"Neo4j refused the query: {e.code}: {e.message}") from None
    except nx.Neo4jError as e:
        raise GraphfraudError(f"Neo4j failed the query: {e.code}: {e.message}") from None
    except nx.ConfigurationError as e:
        raise UsageError(f"bad Neo4j connection settings for {settings.uri}: {e}") from None


def _transient(e: BaseException) -> bool:
    """Whether a translated error came from a transient Neo4j failure (a deadlock, a lock timeout): worth running the
    statement again. An unreachable server is not: that fails at once."""
    cause = e.__context__
    return isinstance(cause, nx.TransientError) or (
        isinstance(cause, nx.Neo4jError) and bool(cause.code) and ".TransientError." in cause.code)


class Graph:
    """A connection to the configured Neo4j database. Use as a context manager."""

    def __init__(self, settings: Settings):
        self.settings = settings
        # The driver logs retries as warnings; our errors say what matters, once.
        logging.getLogger("neo4j").addHandler(logging.NullHandler())
        logging.getLogger("neo4j").propagate = False
        password = settings.password()
        auth = (settings.neo4j_user, password) if password is not None else None
        with _translated(settings):
            self.driver = GraphDatabase.driver(
                settings.uri, auth=auth, connection_timeout=10, max_transaction_retry_time=30,
                notifications_min_severity="OFF")
        self.database = settings.neo4j_database

    def reopen(self) -> None:
        """A fresh driver on the same settings: after the store was replaced underneath (the offline importer),
        the old one's connections and bookmarks belong to a database that no longer exists."""
        self.driver.close()
        self.__init__(self.settings)

    @classmethod
    def connect(cls, settings: Settings) -> "Graph":
        """Open and verify a connection: fails at once (no retries) when Neo4j is unreachable."""
        g = cls(settings)
        try:
            g.verify()
        except BaseException:
            g.close()
            raise
        return g

    def __enter__(self) -> "Graph":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.driver.close()

    def verify(self) -> None:
        """Raise DatabaseUnavailable unless Bolt answers and accepts our credentials."""
        with _translated(self.settings):
            self.driver.verify_connectivity()
            self.driver.execute_query("RETURN 1", database_=self.database, routing_=RoutingControl.READ)

    # --- named queries -------------------------------------------------------------------------

    def read(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run `cypher/<name>.cypher` in a READ transaction (retried on transient errors); rows as dicts."""
        return self._execute(load_cypher(name), params, write=False)[1]

    def read_columns(self, name: str, params: dict[str, Any] | None = None) -> tuple[list[str], list[dict[str, Any]]]:
        """Like `read`, but also returns the column names (known even when no row comes back)."""
        return self._execute(load_cypher(name), params, write=False)

    def read_row(self, name: str, params: dict[str, Any] | None = None) -> tuple[list[str], dict[str, Any] | None]:
        """Run a READ query that returns at most one row, often of long lists (the column-wise export); returns
        (columns, the row or None). The values are the driver's own, not passed through Record.data(), which walks
        every element of every list (on a 1M-row export that doubled its time)."""
        with _translated(self.settings):
            records, _summary, keys = self.driver.execute_query(
                load_cypher(name), params or {}, database_=self.database, routing_=RoutingControl.READ)
        if len(records) > 1:
            raise GraphfraudError(f"cypher/{name}.cypher returned {len(records)} rows, not one")
        return list(keys), (dict(zip(keys, records[0])) if records else None)

    def write(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run `cypher/<name>.cypher` in a WRITE transaction (retried on transient errors); rows as dicts."""
        return self._execute(load_cypher(name), params, write=True)[1]

    def write_script(self, name: str) -> None:
        """Run every `;`-separated statement of a schema file, each in its own transaction."""
        for stmt in split_statements(load_cypher(name)):
            self._execute(stmt, None, write=True)

    def ensure_schema(self) -> None:
        """Constraints and indexes (cypher/schema), then the migration of entity nodes written before the entity
        registry (admin/migrate_entities: a no-op on a current graph). Run before any write."""
        self.write_script("schema")
        for e in ENTITIES:
            self.write_autocommit("admin/migrate_entities", {"label": e.label, "type": e.name, "key": e.key})

    def write_batch(self, name: str, params: dict[str, Any]) -> dict[str, int]:
        """One managed write transaction of a batched UNWIND query; returns the update counters."""
        query = load_cypher(name)

        def work(tx: neo4j.ManagedTransaction) -> dict[str, int]:
            summary = tx.run(query, params).consume()
            c = summary.counters
            return {"nodes_created": c.nodes_created, "relationships_created": c.relationships_created,
                    "properties_set": c.properties_set, "nodes_deleted": c.nodes_deleted,
                    "relationships_deleted": c.relationships_deleted}

        with _translated(self.settings), self.driver.session(database=self.database) as s:
            return s.execute_write(work)

    def write_two_steps(self, first: str, then: str, params: dict[str, Any],
                        carry: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Two named queries in ONE managed write transaction (retried as a whole): `first` returns one row;
        `then` runs with `params` plus `carry(row)`. Returns first's row."""
        q1, q2 = load_cypher(first), load_cypher(then)

        def work(tx: neo4j.ManagedTransaction) -> dict[str, Any]:
            row = tx.run(q1, params).single(strict=True).data()
            tx.run(q2, {**params, **carry(row)}).consume()
            return row

        with _translated(self.settings), self.driver.session(database=self.database) as s:
            return s.execute_write(work)

    def write_autocommit(self, name: str, params: dict[str, Any] | None = None, attempts: int = 5) -> dict[str, int]:
        """Run a query that must own its transactions (`CALL { ... } IN TRANSACTIONS`, `LOAD CSV`).

        Implicit (auto-commit) transactions are not retried by the driver, so transient failures (a deadlock, a
        leader switch) are retried here, with backoff: use only for idempotent statements (every caller's are).
        """
        query = load_cypher(name)
        for attempt in range(1, attempts + 1):
            try:
                with _translated(self.settings), self.driver.session(database=self.database) as s:
                    c = s.run(query, params or {}).consume().counters
                    return {"nodes_created": c.nodes_created, "relationships_created": c.relationships_created,
                            "properties_set": c.properties_set, "nodes_deleted": c.nodes_deleted}
            except GraphfraudError as e:
                if attempt == attempts or not _transient(e):
                    raise
                time.sleep(0.5 * 2 ** attempt)
        raise AssertionError("unreachable")

    def wipe(self) -> None:
        """Delete every node and relationship (constraints and indexes stay). For tests and benchmarks."""
        self.write_autocommit("admin/wipe_relationships")
        self.write_autocommit("admin/wipe")

    def stream(self, name: str, params: dict[str, Any] | None = None,
               fetch_size: int = 10_000) -> Iterator[neo4j.Record]:
        """Stream the rows of a READ query without holding them all: for exports of large graphs. A record is a tuple
        of the values in the query's column order (`record.keys()` names them); no per-row dict is built."""
        query = load_cypher(name)
        with _translated(self.settings), self.driver.session(
                database=self.database, default_access_mode=neo4j.READ_ACCESS, fetch_size=fetch_size) as s:
            for record in s.run(query, params or {}):
                yield record

    # --- ad-hoc text (only `graphfraud cypher`) ------------------------------------------------

    def run_text(self, query: str, params: dict[str, Any] | None = None,
                 write: bool = False) -> tuple[list[str], list[dict[str, Any]]]:
        """Run a user's own Cypher text; READ access mode unless `write`. Returns (columns, rows)."""
        return self._execute(query, params, write=write)

    def _execute(self, query: str, params: dict[str, Any] | None,
                 write: bool) -> tuple[list[str], list[dict[str, Any]]]:
        with _translated(self.settings):
            records, _summary, keys = self.driver.execute_query(
                query, params or {}, database_=self.database,
                routing_=RoutingControl.WRITE if write else RoutingControl.READ)
        return list(keys), [r.data() for r in records]


def rows_in_batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Group an iterable of rows into lists of at most `size`."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def reset(settings: Settings, force: bool = False) -> dict[str, int]:
    """Empty the configured database in batches (constraints and indexes stay); returns how many nodes and
    relationships it held. A database that is not the local server is refused unless `force`."""
    if not settings.is_local and not force:
        raise UsageError(f"{settings.uri} is not the local server: refusing to empty it without --force")
    with Graph.connect(settings) as graph:
        before = graph.read("admin/size")[0]
        graph.wipe()
    return before
