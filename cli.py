"""graphfraud command line: each command parses its options and calls one library function."""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from graphfraud.config import Settings, load_settings
from graphfraud.errors import GraphfraudError, UsageError

app = typer.Typer(help="Find fraud rings in payments with a transaction graph in Neo4j and a heterogeneous GNN.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
neo4j_app = typer.Typer(help="Run the local Neo4j Community 5.26 server (built from Maven Central).",
                        no_args_is_help=True)
app.add_typer(neo4j_app, name="neo4j")

out = Console()
err = Console(stderr=True)

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="TOML settings file (default: $GRAPHFRAUD_CONFIG or ./graphfraud.toml).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables, for automation.")]


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format: table, json (a list of row objects) or csv.")]
ParamOpt = Annotated[Optional[list[str]], typer.Option("--param", "-p", help="Query parameter as key=value (repeatable); values are parsed as JSON when they can be, else taken as strings.")]


def settings(config: Path | None = None, **overrides: Any) -> Settings:
    return load_settings(config, **overrides)


def print_json(value: Any) -> None:
    """JSON on stdout, plain (no colour codes) so tools can parse it."""
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def print_rows(columns: list[str], rows: list[dict[str, Any]], fmt: Format, title: str | None = None) -> None:
    """Rows as a rich table, a JSON list of objects, or CSV."""
    from graphfraud.db import plain

    rows = [{c: plain(r.get(c)) for c in columns} for r in rows]
    if fmt is Format.json:
        print_json(rows)
    elif fmt is Format.csv:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(columns)
        for r in rows:
            w.writerow([json.dumps(v, default=str) if isinstance(v, (list, dict)) else v for v in r.values()])
        sys.stdout.write(buf.getvalue())
    else:
        table = Table(title=title, show_lines=False)
        for c in columns:
            table.add_column(c, overflow="fold")
        for r in rows:
            table.add_row(*[_cell(v) for v in r.values()])
        out.print(table)
        out.print(f"[dim]{len(rows)} row(s)[/dim]")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v, default=str, ensure_ascii=False)
    return str(v)


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """`key=value` pairs; values parsed as JSON when possible (numbers, booleans, lists), else strings."""
    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"parameter {item!r} is not of the form key=value")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


# --- neo4j ---------------------------------------------------------------------------------------

@neo4j_app.command("start")
def neo4j_start(config: ConfigOpt = None, json_: JsonOpt = False) -> None:
    """Start the local Neo4j (idempotent); returns once Bolt answers and prints the URI."""
    from graphfraud import neo4j_server

    s = settings(config)
    with err.status("Starting Neo4j (first start downloads it with Maven) ..."):
        st = neo4j_server.start(s)
    if json_:
        print_json({"uri": st.uri, "browser": st.http_url, "version": st.version, "edition": st.edition,
                    "pid": st.pid, "home": str(st.home)})
    else:
        out.print(f"Neo4j {st.version} {st.edition} is up at [bold]{st.uri}[/bold]"
                  + (f"  (Browser: {st.http_url})" if st.http_url else ""))
        out.print(st.uri, highlight=False, style="dim")


@neo4j_app.command("stop")
def neo4j_stop(config: ConfigOpt = None) -> None:
    """Stop the local Neo4j cleanly; the data stays for the next start."""
    from graphfraud import neo4j_server

    stopped = neo4j_server.stop(settings(config))
    out.print("Neo4j stopped." if stopped else "Neo4j was not running.")


@neo4j_app.command("status")
def neo4j_status(config: ConfigOpt = None, json_: JsonOpt = False) -> None:
    """Exit 0 when Bolt answers with the configured credentials, 1 otherwise."""
    from graphfraud import neo4j_server

    st = neo4j_server.status(settings(config))
    if json_:
        print_json({"running": st.running, "uri": st.uri, "pid": st.pid, "browser": st.http_url,
                    "version": st.version, "edition": st.edition, "home": str(st.home)})
    elif st.running:
        out.print(f"Neo4j {st.version} {st.edition} answers at {st.uri}"
                  + (f" (Browser: {st.http_url})" if st.http_url else ""))
    else:
        out.print(f"Neo4j does not answer at {st.uri}.")
    raise typer.Exit(0 if st.running else 1)


# --- cypher --------------------------------------------------------------------------------------

@app.command("cypher")
def cypher(
    query: Annotated[str, typer.Argument(help="Cypher text; use $name for parameters.")],
    param: ParamOpt = None,
    fmt: FormatOpt = Format.table,
    write: Annotated[bool, typer.Option("--write", help="Allow the query to change the graph (WRITE access mode).")] = False,
    config: ConfigOpt = None,
) -> None:
    """Run ad-hoc Cypher, like cypher-shell. READ access mode unless --write."""
    from graphfraud.db import Graph

    with Graph.connect(settings(config)) as g:
        columns, rows = g.run_text(query, parse_params(param), write=write)
    print_rows(columns, rows, fmt)


def main() -> None:
    """Console-script entry point: expected failures become one line on stderr and an exit code."""
    try:
        app()
    except GraphfraudError as e:
        err.print(f"[bold red]error:[/bold red] {e.message}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
