"""graphfraud command line: each command parses its options and calls one library function."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from graphfraud.config import Settings, load_settings
from graphfraud.errors import EXIT_REJECTED, GraphfraudError, UsageError

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
    s = load_settings(config, **overrides)
    try:  # the state dir holds the store, logs and quarantined raw rows: the user's alone (older versions made it 0755)
        if s.state_dir.is_dir():
            s.state_dir.chmod(0o700)
    except OSError:
        pass  # not ours to change (a shared, admin-managed folder)
    return s


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
        if isinstance(params[key], int) and not -(2**63) <= params[key] < 2**63:
            raise UsageError(f"parameter {key} = {value} is out of range (Neo4j integers are 64-bit)")
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

    s = settings(config)
    st = neo4j_server.status(s)
    # where the login is (never the password itself): the local server's generated password file, or the env
    login = (f"user {s.neo4j_user}, password in {s.password_file} (readable only by you)"
             if s.is_local and not s.neo4j_password else f"user {s.neo4j_user}, password as configured (NEO4J_PASSWORD or the config file)")
    if json_:
        print_json({"running": st.running, "uri": st.uri, "pid": st.pid, "browser": st.http_url,
                    "version": st.version, "edition": st.edition, "home": str(st.home),
                    "user": s.neo4j_user, "password_file": str(s.password_file) if s.is_local else None})
    elif st.running:
        out.print(f"Neo4j {st.version} {st.edition} answers at {st.uri}"
                  + (f" (Browser: {st.http_url})" if st.http_url else "") + f"\nlogin: {login}")
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


# --- generate ------------------------------------------------------------------------------------

class DataFormat(str, Enum):
    parquet = "parquet"
    csv = "csv"


@app.command("generate")
def generate_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write transactions/, chargebacks/, labels/ and truth/ into.")],
    transactions: Annotated[int, typer.Option("--transactions", help="Payments in all (rings included).")] = 200_000,
    days: Annotated[int, typer.Option("--days", help="Days of payments, one file per day.")] = 60,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same arguments give byte-identical files.")] = 0,
    data_format: Annotated[DataFormat, typer.Option("--format", help="File format: parquet or csv.")] = DataFormat.parquet,
    rings: Annotated[Optional[int], typer.Option("--rings", help="Fraud rings to plant, spread over the four types (default: about one per 10k payments, at least 8).")] = None,
    camouflage: Annotated[Optional[float], typer.Option("--camouflage", help="Share of ring payments made at popular legitimate merchants (0-0.9; default 0.2, or the scenario's).")] = None,
    label_rate: Annotated[Optional[float], typer.Option("--label-rate", help="Share of approved fraud payments that are ever charged back (default 0.3, or the scenario's).")] = None,
    scenario: Annotated[str, typer.Option("--scenario", help="Named world: default, camouflage (heavy camouflage, rings on public IPs), sparse_labels (10% of fraud charged back), card_present (no device_id, no ip), rich_identity (email, phone, shipping_address columns), crowded (3x legitimate sharing), ring_sizes (rings of 4 to 150 cards). Explicit options apply on top.")] = "default",
    json_: JsonOpt = False,
) -> None:
    """Write a synthetic payments world with planted fraud rings (the answer key goes to truth/).

    --scenario picks a named world for benchmark suites (see data/README.md).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from graphfraud.generate import generate

    with Progress(TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TextColumn("days"),
                  TimeElapsedColumn(), console=err, transient=True, disable=json_) as bar:
        task = bar.add_task("generate", total=days + 1)
        s = generate(out_dir, transactions=transactions, days=days, seed=seed, fmt=data_format.value, rings=rings,
                     camouflage=camouflage, label_rate=label_rate, scenario=scenario,
                     progress=lambda done, total: bar.update(task, completed=done, total=total))
    if json_:
        print_json(s.to_dict())
        return
    table = Table(title=f"Generated {s.out} ({s.days} days from {s.start}, {s.seconds:.1f} s)")
    table.add_column("what")
    table.add_column("count", justify="right")
    for t, n in s.rings.items():
        table.add_row(f"rings: {t}", f"{n:,}")
    for t, n in s.ring_members.items():
        table.add_row(f"ring members: {t}", f"{n:,}")
    for what, n in (("transactions", s.transactions), ("  by rings", s.fraud_transactions),
                    ("  declined", s.declined), ("chargebacks", s.chargebacks), ("labels", s.labels),
                    ("files", s.files)):
        table.add_row(what, f"{n:,}")
    out.print(table)


# --- query ---------------------------------------------------------------------------------------

@app.command("query")
def query(
    name: Annotated[Optional[str], typer.Argument(help="Investigation query to run (see --list).")] = None,
    param: ParamOpt = None,
    fmt: FormatOpt = Format.table,
    list_: Annotated[bool, typer.Option("--list", help="List the queries with their parameters instead of running one.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Run a named investigation query from cypher/queries/ (READ access mode), or list them with --list (each with
    its parameters: ids and time windows must be given with -p, sizes and thresholds such as limit have defaults)."""
    from graphfraud import queries

    if list_:
        specs = queries.list_queries()
        if fmt is Format.table:
            print_rows(["name", "params", "description"],
                       [{"name": q.name, "params": "\n".join(f"{p.describe()}: {p.help}" for p in q.params),
                         "description": q.description} for q in specs], fmt, title="Investigation queries")
        else:
            print_rows(["name", "description", "params"], [q.as_dict() for q in specs], fmt)
        return
    if not name:
        raise UsageError("name a query to run (graphfraud query NAME -p key=value ...), or list them with "
                         "graphfraud query --list")
    from graphfraud.db import Graph

    with Graph.connect(settings(config)) as g:
        columns, rows = queries.run_query(g, name, parse_params(param))
    print_rows(columns, rows, fmt, title=name)


# --- score ---------------------------------------------------------------------------------------

@app.command("score")
def score_cmd(
    model: Annotated[Optional[Path], typer.Option("--model", help="Model directory to score with (default: the newest under the models folder).")] = None,
    cutoff: Annotated[Optional[str], typer.Option("--cutoff", help="Score the graph as of this UTC time (ISO-8601; default: every transaction).")] = None,
    top: Annotated[int, typer.Option("--top", help="How many of the highest-scored rings to show.")] = 10,
    json_: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Score every entity (card, merchant, device, IP ...), find fraud rings, and write both back to Neo4j as one run.

    Exit code 3 when another score or nightly run is writing results (they never flip at once)."""
    from datetime import datetime

    from graphfraud.locks import results_lock

    try:
        when = datetime.fromisoformat(cutoff) if cutoff else None
    except ValueError:
        raise UsageError(f"--cutoff {cutoff!r} is not an ISO-8601 time such as 2026-02-20T00:00:00Z") from None
    st = settings(config)
    with results_lock(st, "score"), (err.status("Scoring and finding rings ...", spinner="dots") if not json_
                                     else _nullcontext()):
        from graphfraud.scoring import score_graph

        s = score_graph(st, model_dir=model, cutoff=when, top=top)
    _warn(s["warnings"])
    if json_:
        print_json(s)
        return
    out.print(f"run [bold]{s['run_id']}[/bold], model {s['model_version']} ({s['model_path']}), graph as of "
              f"{s['cutoff']}")
    bands = Table(title="Entities by risk band")
    bands.add_column("type")
    for b in ("low", "medium", "high", "critical"):
        bands.add_column(b, justify="right")
    for t, e in s["entities"].items():
        bands.add_row(t, *[f"{e['bands'][b]:,}" for b in ("low", "medium", "high", "critical")])
    out.print(bands)
    out.print("rings by type: " + (", ".join(f"{t} {n}" for t, n in s["rings_by_type"].items()) or "none"))
    out.print(_held_back_line(s["rings_held_back"], s["rings_reraised"]), soft_wrap=True)
    out.print(_top_rings_table(s["top_rings"], f"Top {len(s['top_rings'])} of {s['rings']} rings"))


def _held_back_line(held: list[dict[str, Any]], reraised: list[dict[str, Any]]) -> str:
    """Rings found but not raised: cleared by an analyst and unchanged, or new and like the cleared (triage.py); and
    cleared rings raised again because they changed."""
    triaged = sum(h.get("reason") == "triage" for h in held)
    return (f"held back: {len(held) - triaged} cleared by an analyst and unchanged, {triaged} new and like rings "
            f"analysts cleared (triage); raised again: {len(reraised)} cleared but grown or with new known fraud "
            f"(listed with --json)")


def _warn(warnings_: list[str]) -> None:
    for w in warnings_:
        err.print(f"[bold yellow]warning:[/bold yellow] {w}", highlight=False, soft_wrap=True)


def _nullcontext():
    import contextlib

    return contextlib.nullcontext()


# --- build-graph ---------------------------------------------------------------------------------

@app.command("build-graph")
def build_graph_cmd(
    paths: Annotated[list[str], typer.Argument(help="Input folders or files (transactions/, chargebacks/, labels/; truth/ is never read). With --engine spark also URIs of any Hadoop-compatible file system (hdfs://, s3a://, file:// ...).")],
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Rows per write transaction (default: settings batch_size).")] = None,
    quarantine_dir: Annotated[Optional[Path], typer.Option("--quarantine-dir", help="Folder for the quarantine CSV of bad rows (default: <state_dir>/quarantine).")] = None,
    bulk: Annotated[bool, typer.Option("--bulk", help="Initial load of an EMPTY local database through Neo4j's offline importer (neo4j-admin database import): same validation, quarantine and resulting graph, many times faster on large histories. Stops and restarts the local server. Never automatic: without it, rows load in transactions.")] = False,
    engine: Annotated[str, typer.Option("--engine", help="polars: this process reads, checks and writes (default). spark: Apache Spark reads and checks the files with the same rules and writes through the Neo4j Connector for Apache Spark: the same graph, ledger and quarantine (needs pip install 'graphfraud[spark]', Java 17, Maven for the connector's jars).")] = "polars",
    spark_master: Annotated[str, typer.Option("--spark-master", help="With --engine spark: the Spark master, as spark-submit's --master (local[2], spark://host:7077 ...).")] = "local[2]",
    config: ConfigOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Load transactions, chargebacks and labels into Neo4j: validated, idempotent, resumable after a kill.

    With --bulk, the first load of a large history goes through Neo4j's offline importer instead (empty database
    only; later days load without --bulk). With --engine spark, Spark does the reading, checking and writing (any
    graph, like the default). Exit codes: 0 loaded; 4 loaded what it could but rejected some file as a
    whole (see stderr); 2 bad usage or Neo4j unreachable."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from graphfraud.db import Graph
    from graphfraud.ingest import build_graph
    from graphfraud.validate import is_uri, plausibility

    if engine not in ("polars", "spark"):
        raise UsageError(f"--engine is polars or spark, not {engine!r}")
    if bulk and engine == "spark":
        raise UsageError("--bulk and --engine spark are two ways of loading: choose one")
    uris = [p for p in paths if is_uri(p)]
    if uris and engine != "spark":
        raise UsageError(f"{uris[0]}: URIs are read by --engine spark only; give a local path")
    local = [Path(p) for p in paths]
    s = settings(config, batch_size=batch_size)
    qdir = quarantine_dir or s.state_dir / "quarantine"
    with Graph.connect(s) as g, Progress(TextColumn("loading"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"),
                                 TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), console=err,
                                 transient=True, disable=json_) as bar:
        task = bar.add_task("load", total=None, rate="")

        def progress(done: int, total: int) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            rate = f"{done / elapsed:,.0f} rows/s" if elapsed > 0 else ""
            bar.update(task, completed=done, total=total, rate=rate)

        if bulk:
            from graphfraud.bulk import bulk_build_graph

            summary = bulk_build_graph(g, local, qdir, progress=progress, rules=plausibility(s))
        elif engine == "spark":
            from graphfraud.spark_ingest import spark_build_graph

            summary = spark_build_graph(g, paths, qdir, spark_master, rules=plausibility(s), progress=progress)
        else:
            summary = build_graph(g, local, s.batch_size, qdir, progress=progress, rules=plausibility(s))
    d = summary.as_dict()
    for rejected in d["rejected_files"]:
        err.print(f"[bold red]rejected[/bold red] {rejected['file']}: {rejected['reason']}", highlight=False,
                  soft_wrap=True)
    if json_:
        print_json(d)
    else:
        _print_load(d)
    if d["rejected_files"]:
        raise typer.Exit(EXIT_REJECTED)


def _print_load(d: dict[str, Any]) -> None:
    table = Table(title=f"build-graph: {d['files']} file(s) in {d['seconds']:.1f} s ({d['rows_per_s']:,.0f} rows/s)")
    for c in ("kind", "files", "read", "loaded", "quarantined", "already present"):
        table.add_column(c, justify="left" if c == "kind" else "right")
    for kind in ("transactions", "chargebacks", "labels"):
        k = d[kind]
        table.add_row(kind, f"{k['files']:,}", f"{k['rows_read']:,}", f"{k['rows_loaded']:,}",
                      f"{k['rows_quarantined']:,}", f"{k['rows_already_present']:,}")
    table.add_row("[bold]total[/bold]", f"{d['files']:,}", f"{d['rows_read']:,}", f"{d['rows_loaded']:,}",
                  f"{d['rows_quarantined']:,}", f"{d['rows_already_present']:,}")
    out.print(table)
    if d["quarantine_file"]:
        out.print(f"[bold yellow]{d['rows_quarantined']:,} row(s) quarantined, with reasons, in:[/bold yellow] "
                  f"{d['quarantine_file']}", highlight=False, soft_wrap=True)
    for skipped in d["skipped_files"]:
        err.print(f"[yellow]skipped[/yellow] {skipped['file']}: {skipped['reason']}", highlight=False, soft_wrap=True)


# --- nightly and demo ----------------------------------------------------------------------------

def _setup_logging(settings_: Settings, name: str) -> Path:
    """Log to <state_dir>/logs/<name>.log and to stderr (the nightly job's logs)."""
    import logging

    log_dir = settings_.state_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / f"{name}.log"
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger("graphfraud")
    root.setLevel(logging.INFO)
    for h in (logging.FileHandler(path), logging.StreamHandler(sys.stderr)):
        h.setFormatter(fmt)
        root.addHandler(h)
    return path


def _print_night(s: dict[str, Any]) -> None:
    from graphfraud.report import challenge_line

    ch = s.get("ring_changes", {})
    out.print(f"[bold]{s['date']}[/bold]: {s['status']} · model {s.get('model_version')}"
              + (f" · retrained ({s.get('retrain_reason')})" if s.get("retrained") else "")
              + (f" · drift PSI {s['drift_psi']}" if s.get("drift_psi") is not None else ""))
    if line := challenge_line(s.get("challenge")):
        out.print(f"  {line}", soft_wrap=True)
    load = s.get("load", {})
    out.print(f"  loaded {load.get('rows_loaded', 0):,} of {load.get('rows_read', 0):,} rows "
              f"({load.get('rows_already_present', 0):,} already present, {load.get('rows_quarantined', 0):,} quarantined)")
    out.print(f"  rings: {s.get('rings_total', 0)} current · {len(ch.get('new', []))} new · {len(ch.get('grown', []))} grown"
              f" · {len(ch.get('merged', []))} merged · {len(ch.get('dissolved', []))} dissolved")
    v = s.get("verdicts") or {}
    out.print("  " + _held_back_line(v.get("held_back", []), v.get("reraised", [])), soft_wrap=True)


def _top_rings_table(rings: list[dict[str, Any]], title: str) -> Table:
    """Rings as a compact table: what binds each ring is shown as its strongest evidence."""
    table = Table(title=title)
    for c, kw in (("ring_id", {"min_width": 12}), ("type", {"min_width": 18}),
                  ("score", {"justify": "right", "min_width": 5}), ("cards", {"justify": "right", "min_width": 5}),
                  ("size", {"justify": "right", "min_width": 4}),
                  ("strongest link", {"overflow": "ellipsis", "no_wrap": True})):
        table.add_column(c, **kw)
    for r in rings:
        evidence = ", ".join(f"{e['entity_id']} ×{e['weight']:g}" for e in r.get("evidence", [])[:1])
        table.add_row(r["ring_id"], r["type"], f"{r['score']:.3f}", str(r.get("cards", "")), str(r["size"]),
                      evidence)
    return table


@app.command("nightly")
def nightly_cmd(
    input_dir: Annotated[Path, typer.Option("--input", help="Folder laid out as the input contract (transactions/, chargebacks/, labels/).")],
    day: Annotated[Optional[str], typer.Option("--date", help="The day to process, YYYY-MM-DD: its transactions and the chargebacks reported that day.")] = None,
    backfill: Annotated[Optional[tuple[str, str]], typer.Option("--backfill", help="Run every day from FROM to TO (inclusive, YYYY-MM-DD YYYY-MM-DD) in order, instead of --date.")] = None,
    report_dir: Annotated[Optional[Path], typer.Option("--report-dir", help="Where reports go (default <state_dir>/reports/<date>/).")] = None,
    json_: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """The nightly batch job: load the day, retrain on schedule or drift, rescore, find rings, write back, report.

    Exit codes: 0 done; 1 the run failed (see the log); 2 Neo4j unreachable, bad credentials or bad arguments;
    3 another nightly run is in progress; 4 done, but some input file was rejected as a whole (named on stderr and
    in the report). Safe to rerun: a rerun of a date leaves the graph as one run would.
    """
    from datetime import date as date_

    from graphfraud.locks import results_lock

    s = settings(config)
    log_path = _setup_logging(s, "nightly")
    try:
        if backfill:
            days = tuple(date_.fromisoformat(d) for d in backfill)
        elif day:
            days = (date_.fromisoformat(day),)
        else:
            raise UsageError("give --date YYYY-MM-DD or --backfill FROM TO")
    except ValueError as e:
        raise UsageError(f"bad date: {e}") from None
    with results_lock(s, f"nightly {' to '.join(d.isoformat() for d in days)}"):  # refuse at once, before slow imports
        from graphfraud.nightly import backfill as run_backfill, run_night

        if len(days) == 2:
            results = run_backfill(s, days[0], days[1], input_dir, report_dir)
        else:
            results = [run_night(s, days[0], input_dir, report_dir)]
    rejected = [f for r in results for f in (r.get("load") or {}).get("rejected_files", [])]
    if json_:
        print_json(results if backfill else results[0])
    else:
        for r in results:
            _print_night(r)
        last = results[-1]
        out.print(_top_rings_table(last["scoring"]["top_rings"], f"Top rings after {last['date']}"))
        out.print(f"log: {log_path}")
        out.print(f"report: [bold]{last['report_html']}[/bold]")
    for f in rejected:
        err.print(f"[bold red]rejected[/bold red] {f['file']}: {f['reason']}", highlight=False, soft_wrap=True)
    if rejected:
        raise typer.Exit(EXIT_REJECTED)


@app.command("demo")
def demo_cmd(
    data: Annotated[Optional[Path], typer.Option("--data", help="Input folder to run on (default: the bundled sample in data/sample).")] = None,
    report_dir: Annotated[Optional[Path], typer.Option("--report-dir", help="Where the report goes (default <state_dir>/reports/<date>/).")] = None,
    json_: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """The whole pipeline on the bundled sample: start Neo4j if needed, build the graph, train, score,
    find rings, write back, report; prints the top rings and the report's path."""
    from graphfraud.demo import SAMPLE_DIR, run_demo

    s = settings(config)
    _setup_logging(s, "demo")
    result = run_demo(s, data or SAMPLE_DIR, report_dir)
    if json_:
        print_json(result)
        return
    h = result["history"]
    out.print(f"history: {h['rows_loaded']:,} rows loaded, {h['rows_already_present']:,} already present, "
              f"{h['rows_quarantined']:,} quarantined")
    night = result["night"]
    _print_night(night)
    out.print(_top_rings_table(night["scoring"]["top_rings"], "Top fraud rings"))
    out.print(f"Explore them: graphfraud query top_rings · graphfraud query ring_members -p ring_id=<id> · "
              f"Neo4j Browser at http://127.0.0.1:{s.http_port}/browser/")
    out.print(f"report: [bold]{night['report_html']}[/bold]")


# --- train / evaluate (GNN) ----------------------------------------------------------------------

def _parse_cutoff(value: str | None):
    """An ISO date or date-time (UTC when no zone is given), or None."""
    from datetime import datetime, timezone

    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--cutoff {value!r} is not an ISO date or date-time (e.g. 2026-02-18 or 2026-02-18T00:00Z)") from None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt


CutoffHelp = ("Cut-off time (ISO, UTC): nothing at or after it is exported, and only labels known before it are used. "
              "Default for train: midnight at 80% of the graph's transaction time span, so the last 20% is a later "
              "period the model never sees; evaluate defaults to the model's own training cut-off.")


@app.command("train")
def train_cmd(
    cutoff: Annotated[Optional[str], typer.Option("--cutoff", help=CutoffHelp)] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Folder that receives the versioned model directory <version>/ (default: settings models dir).")] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", help="Maximum training epochs (early stopping on validation AUPRC may end sooner).")] = None,
    nproc: Annotated[Optional[int], typer.Option("--nproc", help="Train data-parallel in this many processes on this machine (DistributedDataParallel, gloo): each trains on its share of the entities. Under torchrun leave it at 1: each process torchrun starts runs this command and joins its group; rank 0 saves the model.")] = None,
    config: ConfigOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Export the graph as of the cut-off, train the heterogeneous GNN, save a versioned model directory."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from graphfraud.db import Graph
    from graphfraud.train import train

    s = settings(config, epochs=epochs, train_nproc=nproc)
    with Graph.connect(s) as g, Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}"),
                                 TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=err,
                                 disable=json_) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int | None, note: str) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total, note="")
            bar.update(tasks[stage], completed=done, total=total, note=note)

        result = train(g, s, _parse_cutoff(cutoff), out_dir, progress)
    if not result.primary:  # another torchrun process: rank 0 saved the model and reports it
        return
    summary = {"version": result.version, "path": str(result.path), **result.metrics}
    if json_:
        print_json(summary)
        return
    table = Table(title=f"model {result.version}")
    table.add_column("")
    table.add_column("value", overflow="fold")
    for k, v in summary.items():
        table.add_row(k, _cell(v))
    out.print(table)


@app.command("evaluate")
def evaluate_cmd(
    model: Annotated[Optional[Path], typer.Option("--model", help="Model directory (default: the newest under the models dir).")] = None,
    truth: Annotated[Optional[Path], typer.Option("--truth", help="Generator output folder (or its truth/): score against the planted rings. Without it, fraud that became known after the cut-off is the truth.")] = None,
    cutoff: Annotated[Optional[str], typer.Option("--cutoff", help=CutoffHelp)] = None,
    config: ConfigOpt = None,
    json_: JsonOpt = False,
) -> None:
    """AUROC, AUPRC and recall at 90% precision per node type for the GNN and the baselines, on unlabelled test entities."""
    from graphfraud.db import Graph
    from graphfraud.evaluate import evaluate

    s = settings(config)
    with Graph.connect(s) as g:
        if json_:
            result = evaluate(g, model, truth, _parse_cutoff(cutoff), s)
        else:
            with err.status("Exporting the graph, scoring and training the baselines ..."):
                result = evaluate(g, model, truth, _parse_cutoff(cutoff), s)
    _warn(result["warnings"])
    if json_:
        print_json(result)
        return
    out.print(f"model {result['model']['version']}: {result['model']['path']}")
    table = Table(title=f"model {result['model']['version']}  cut-off {result['model']['cutoff']}  "
                        f"truth: {result['model']['truth']}")
    for c in ("node type", "method", "AUPRC", "AUROC", "recall@P90", "test entities", "positives"):
        table.add_column(c)
    for t, methods in result["nodes"].items():
        te = result["test_entities"][t]
        for i, (method, m) in enumerate(methods.items()):
            cells = [_cell(m[k]) for k in ("auprc", "auroc", "recall_at_p90")] if m else ["n/a"] * 3
            table.add_row(t if i == 0 else "", method, *cells, str(te["n"]) if i == 0 else "",
                          str(te["positives"]) if i == 0 else "", end_section=i == len(methods) - 1)
    out.print(table)


@app.command("verdict")
def verdict_cmd(
    ring_id: Annotated[Optional[str], typer.Argument(help="The ring judged (FraudRing.ring_id, as `query top_rings` lists them); or use --entity.")] = None,
    entity: Annotated[Optional[str], typer.Option("--entity", help="Judge one entity instead of a ring: TYPE:ID, e.g. card:c_1c3e2575.")] = None,
    fraud: Annotated[bool, typer.Option("--fraud", help="The ring or entity is fraud: it becomes a positive label for the next training (a ring's members too).")] = False,
    legit: Annotated[bool, typer.Option("--legit", help="The ring or entity is legitimate (an entity becomes a confirmed negative).")] = False,
    note: Annotated[Optional[str], typer.Option("--note", help="Free text kept with the verdict.")] = None,
    analyst: Annotated[Optional[str], typer.Option("--analyst", help="Who gave the verdict (default: $USER).")] = None,
    from_file: Annotated[Optional[Path], typer.Option("--from-file", help="Record many verdicts from a CSV file (columns ring_id or entity, verdict, note, analyst, at: data/README.md); all or none are recorded.")] = None,
    config: ConfigOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Record an analyst's verdict on a current ring or an entity. Verdicts are kept as history (a later one
    supersedes an earlier one, both stay) and are labels for the next training. A bad target or file records
    nothing."""
    import os

    from graphfraud.db import Graph
    from graphfraud.verdicts import Verdict, parse_entity, read_file, record

    if from_file is not None:
        if ring_id or entity or fraud or legit:
            raise UsageError("--from-file takes the verdicts from the file: give no RING_ID, --entity, --fraud or --legit")
        verdicts = read_file(from_file)
    else:
        if fraud == legit:
            raise UsageError("give exactly one of --fraud and --legit")
        if bool(ring_id) == bool(entity):
            raise UsageError("give a RING_ID or --entity TYPE:ID (one of them)")
        etype, eid = parse_entity(entity) if entity else (None, None)
        verdicts = [Verdict("fraud" if fraud else "legit", ring_id=ring_id, entity_type=etype, entity_id=eid,
                            note=note, analyst=analyst or os.environ.get("USER"))]
    s = settings(config)
    with Graph.connect(s) as g:
        result = record(g, s, verdicts)
    if json_:
        print_json(result)
        return
    covered = f", covering {result['ring_members_covered']} ring members" if result["ring_members_covered"] else ""
    out.print(f"recorded {result['verdicts']} verdict(s){covered}: {', '.join(result['verdict_ids'][:5])}"
              + (" ..." if len(result["verdict_ids"]) > 5 else ""))


@app.command("reset")
def reset_cmd(
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: delete every node and relationship of the database.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Allow a database other than the local server (NEO4J_URI elsewhere).")] = False,
    config: ConfigOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Empty the graph (transactions, entities, rings, runs) in batches; constraints and indexes stay.
    Needs --yes; refuses a remote NEO4J_URI unless --force."""
    from graphfraud.db import reset

    if not yes:
        raise UsageError("reset deletes every node and relationship: rerun with --yes to confirm")
    s = settings(config)
    before = reset(s, force)
    if json_:
        print_json({"deleted": before, "uri": s.uri})
        return
    out.print(f"emptied {s.uri}: {before['nodes']:,} nodes and {before['relationships']:,} relationships deleted")


@app.command("benchmark")
def benchmark_cmd(
    suite: Annotated[str, typer.Option("--suite", help="Which worlds: dev (for choosing knobs) or test (for reporting); the same scenarios with disjoint seeds.")] = "dev",
    transactions: Annotated[int, typer.Option("--transactions", help="Payments per world.")] = 200_000,
    days: Annotated[int, typer.Option("--days", help="Days per world.")] = 60,
    world: Annotated[Optional[list[str]], typer.Option("--world", help="Run only this world of the suite (repeatable; default: all).")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Folder for worlds, models, the private Neo4j and results.json (default: <state_dir>/benchmark/<suite>-<transactions>).")] = None,
    config: ConfigOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Run the production pipeline (build-graph, train, score, evaluate) on every world of a suite and compare the
    GNN with every baseline. Runs on its own private local Neo4j (own state dir and port), never your graph.
    Writes <out>/results.json with the commit, machine and command behind the figures."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from graphfraud.benchmark import STEPS, run_benchmark
    from graphfraud.generate import suite_worlds

    s = settings(config)
    out_dir = out_dir or s.state_dir / "benchmark" / f"{suite}-{transactions}"
    n_worlds = len(world) if world else len(suite_worlds(suite))
    command = "graphfraud " + " ".join(sys.argv[1:])
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[note]}"),
                  TimeElapsedColumn(), console=err, disable=json_) as bar:
        task = bar.add_task(f"benchmark {suite}", total=n_worlds * len(STEPS), note="starting Neo4j")
        done_worlds: list[str] = []

        def progress(name: str, step: str, i: int, n: int) -> None:
            if i == 0 and name not in done_worlds:
                done_worlds.append(name)
            bar.update(task, completed=(len(done_worlds) - 1) * n + i, note=f"{name}: {step}")

        report = run_benchmark(s, suite, transactions, out_dir, days, world, command, progress)
    if json_:
        print_json({k: report[k] for k in ("suite", "transactions", "worlds", "summary")})
        return
    table = Table(title=f"{suite} suite, {transactions:,} payments per world")
    for c in ("world", "card AUPRC gnn / xgb", "rings R / P", "F1 gnn / best baseline", "type acc"):
        table.add_column(c, no_wrap=True)
    for w in report["worlds"]:
        card = w["nodes"].get("card") or {}
        g = w["rings"]["gnn"]
        best = max((w["rings"][m]["f1"] for m in ("wcc_rules", "fraudar", "labels_only")), default=0.0)
        table.add_row(w["name"], " / ".join(_cell((card.get(m) or {}).get("auprc")) for m in ("gnn", "xgb_graph")),
                      f"{g['recall']:.2f} / {g['precision']:.2f}", f"{g['f1']:.3f} / {best:.3f}",
                      _cell(g.get("type_accuracy")))
    out.print(table)
    summary = Table(title="Summary (mean / worst world)")
    for c in ("method", "card AUPRC", "ring recall", "ring precision", "ring F1", "type accuracy"):
        summary.add_column(c)
    for method, m in report["summary"].items():
        cells = []
        for k in ("card_auprc", "ring_recall", "ring_precision", "ring_f1", "type_accuracy"):
            v = m.get(k)
            cells.append(f"{v['mean']:.3f} / {v['min']:.3f}" if v and v["mean"] is not None else "")
        summary.add_row(method, *cells)
    out.print(summary)
    out.print(f"results: [bold]{out_dir / 'results.json'}[/bold]")


def main() -> None:
    """Console-script entry point: expected failures become one line on stderr and an exit code."""
    # torch warns about its own deprecated torch.jit.script, used inside torch_geometric: noise for our users
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)
    os.umask(0o077)  # what graphfraud writes (store, logs, quarantine with raw rows, models, reports): user-only
    try:
        app()
    except GraphfraudError as e:
        err.print(f"[bold red]error:[/bold red] {e.message}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as e:  # a defect or an input we did not foresee: one line here, the traceback in a log file
        log = _crash_log()
        err.print(f"[bold red]error:[/bold red] unexpected {type(e).__name__}: {(str(e).strip().splitlines() or [''])[0]}"
                  f" (command: graphfraud {' '.join(sys.argv[1:2])}; traceback in {log})", highlight=False,
                  soft_wrap=True)
        sys.exit(1)


def _crash_log() -> Path:
    """Append the current exception's traceback to <state_dir>/logs/errors.log (a temp file if that fails)."""
    import tempfile
    import traceback
    from datetime import datetime, timezone

    try:
        path = load_settings().state_dir / "logs" / "errors.log"
        path.parent.mkdir(parents=True, exist_ok=True)
    except Exception:  # noqa: BLE001 - settings themselves may be what is broken
        path = Path(tempfile.gettempdir()) / "graphfraud-errors.log"
    with path.open("a") as f:
        f.write(f"--- {datetime.now(timezone.utc).isoformat()} graphfraud {' '.join(sys.argv[1:])}\n")
        traceback.print_exc(file=f)
    return path


if __name__ == "__main__":
    main()
