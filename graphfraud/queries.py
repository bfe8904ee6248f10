"""Investigation queries: the named, parameterised Cypher files in cypher/queries/ that analysts run.

Each file opens with a machine-readable header, one `// key: value` line each, then the Cypher:

    // name: top_rings                                   (must equal the file name)
    // description: Current fraud rings ranked by score.  (one line)
    // param: limit int example=10 default=10 | how many  (zero or more; types: int float string datetime;
                                                          default= optional: the CLI fills it in when not given)
    // returns: ring_id, type, score ...                   (optional, one line)
    // note: free text                                     (optional, any number)

A `datetime` parameter travels as an ISO 8601 string and the Cypher converts it with `datetime($p)`, so the same
file runs verbatim in Neo4j Browser after `:param limit => 10` / `:param from => '2024-03-01T00:00:00Z'`.
Queries run in READ access mode through `Graph.read("queries/<name>", ...)`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from .db import CYPHER_DIR, Graph, load_cypher
from .errors import UsageError

QUERY_DIR = CYPHER_DIR / "queries"
PARAM_TYPES = ("int", "float", "string", "datetime")
INT64 = (-(2**63), 2**63 - 1)  # Neo4j integers
_HEADER_LINE = re.compile(r"^//\s*(name|description|param|returns|note):\s*(.*?)\s*$")
_PARAM = re.compile(r"^([a-z_][a-z0-9_]*)\s+(int|float|string|datetime)\s+example=(\S+)(?:\s+default=(\S+))?"
                    r"\s+\|\s+(\S.*)$")


@dataclass(frozen=True)
class QueryParam:
    name: str
    type: str  # one of PARAM_TYPES
    example: str  # as written in the header; valid for `type`
    default: str | None  # as written in the header, valid for `type`; None: the parameter must be given
    help: str

    def describe(self) -> str:
        """`limit (int, default 10)` or `ring_id (string, e.g. R-farm)`: what error messages and listings show."""
        return f"{self.name} ({self.type}, " + (f"default {self.default})" if self.default is not None
                                                  else f"e.g. {self.example})")


@dataclass(frozen=True)
class QuerySpec:
    name: str
    description: str
    params: tuple[QueryParam, ...]
    returns: str = ""

    def columns(self) -> list[str]:
        """The column names the `returns` header line declares (explanations in parentheses dropped)."""
        text = self.returns
        while re.search(r"\([^()]*\)", text):
            text = re.sub(r"\([^()]*\)", "", text)
        return [c.strip() for c in text.split(",") if c.strip()]

    def as_dict(self) -> dict[str, Any]:
        """The `query --list --format json` shape."""
        return {"name": self.name, "description": self.description,
                "params": [{"name": p.name, "type": p.type, "example": p.example, "default": p.default}
                           for p in self.params]}


def parse_header(name: str, text: str) -> QuerySpec:
    """Read the header of a query file; raise UsageError saying which line is malformed."""
    where = f"cypher/queries/{name}.cypher"
    fields: dict[str, str] = {}
    params: list[QueryParam] = []
    for line in text.splitlines():
        if not line.lstrip().startswith("//"):
            break
        m = _HEADER_LINE.match(line.strip())
        if not m:
            raise UsageError(f"{where}: header line {line.strip()!r} is not `// name|description|param|returns|note: ...`")
        key, value = m.groups()
        if key == "param":
            pm = _PARAM.match(value)
            if not pm:
                raise UsageError(f"{where}: parameter line {value!r} is not `NAME TYPE example=VALUE [default=VALUE] | help` "
                                 f"(TYPE one of {', '.join(PARAM_TYPES)})")
            p = QueryParam(*pm.groups())
            if any(q.name == p.name for q in params):
                raise UsageError(f"{where}: parameter {p.name!r} declared twice")
            coerce(p, p.example)  # the example (and the default) must itself be valid
            if p.default is not None:
                coerce(p, p.default)
            params.append(p)
        elif key != "note":
            if key in fields:
                raise UsageError(f"{where}: `{key}:` appears twice in the header")
            fields[key] = value
    if fields.get("name") != name:
        raise UsageError(f"{where}: header must start with `// name: {name}`")
    if not fields.get("description"):
        raise UsageError(f"{where}: header has no `// description:` line")
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    used = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", body))
    declared = {p.name for p in params}
    if used != declared:
        raise UsageError(f"{where}: the Cypher uses parameters {sorted(used)} but the header declares {sorted(declared)}")
    return QuerySpec(name, fields["description"], tuple(params), fields.get("returns", ""))


def list_queries() -> list[QuerySpec]:
    """Every investigation query, sorted by name."""
    return [get_query(p.stem) for p in sorted(QUERY_DIR.glob("*.cypher"))]


def get_query(name: str) -> QuerySpec:
    """The spec of one query; UsageError listing the available names when there is no such query."""
    if not re.fullmatch(r"[a-z0-9_]+", name) or not (QUERY_DIR / f"{name}.cypher").exists():
        names = ", ".join(p.stem for p in sorted(QUERY_DIR.glob("*.cypher")))
        raise UsageError(f"no query named {name!r}; available: {names}")
    return parse_header(name, load_cypher(f"queries/{name}"))


def coerce(param: QueryParam, raw: Any) -> Any:
    """A raw value (a string from the command line, or an already-parsed JSON value) as the parameter's type.

    datetime values become ISO 8601 strings in UTC (naive ones are taken as UTC); the Cypher applies datetime().
    """
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, str):
        value = raw.strip()
    elif isinstance(raw, bool) or raw is None or isinstance(raw, (list, dict)):
        value = json.dumps(raw)
    else:
        value = raw
    try:
        if param.type == "int":
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            elif isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool):
                if not INT64[0] <= value <= INT64[1]:
                    raise UsageError(f"{param.name} = {value} is out of range (a 64-bit integer)")
                return value
            raise ValueError
        if param.type == "float":
            if isinstance(value, (int, float)):
                return float(value)
            return float(value)
        if param.type == "datetime":
            t = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
            if t.tzinfo is None:
                t = t.replace(tzinfo=dt.timezone.utc)
            return t.astimezone(dt.timezone.utc).isoformat()
        return value if isinstance(value, str) else json.dumps(value)
    except (TypeError, ValueError):
        raise UsageError(f"parameter {param.name}={raw!r} is not a valid {param.type} "
                         f"(e.g. {param.example})") from None


def bind_params(spec: QuerySpec, raw_params: dict[str, Any]) -> dict[str, Any]:
    """Typed parameters for `spec`, defaults filled in; UsageError naming what the query takes when one is missing,
    unknown or mistyped."""
    takes = "; it takes: " + (", ".join(p.describe() for p in spec.params) or "nothing")
    unknown = sorted(set(raw_params) - {p.name for p in spec.params})
    if unknown:
        raise UsageError(f"query {spec.name} has no parameter {', '.join(unknown)}{takes}")
    missing = [p.name for p in spec.params if p.name not in raw_params and p.default is None]
    if missing:
        raise UsageError(f"query {spec.name} needs parameter {', '.join(missing)}{takes}")
    out: dict[str, Any] = {}
    for p in spec.params:
        try:
            out[p.name] = coerce(p, raw_params.get(p.name, p.default))
        except UsageError as e:
            raise UsageError(f"query {spec.name}: {e.message}{takes}") from None
    return out


def example_params(spec: QuerySpec) -> dict[str, str]:
    """The header's example value of every parameter, as raw strings (what `-p name=value` would pass)."""
    return {p.name: p.example for p in spec.params}


def run_query(graph: Graph, name: str, raw_params: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """Run investigation query `name` in READ access mode with validated, typed parameters; (columns, rows)."""
    spec = get_query(name)
    return graph.read_columns(f"queries/{name}", bind_params(spec, raw_params))
