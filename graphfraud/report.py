"""The morning report of a nightly run: one self-contained HTML file (plots inline) and a JSON summary.

`write_report(summary, out_dir)` takes the plain dict the nightly job returns and renders it; it reads
nothing else, so it can be tested without a database.
"""

from __future__ import annotations

import base64
import html
import io
import json
import urllib.parse
from pathlib import Path
from typing import Any

import numpy as np

BAND_COLOURS = {"low": "#4c9a2a", "medium": "#e0a800", "high": "#e8590c", "critical": "#c92a2a"}
TYPE_COLOURS = {"card": "#1c7ed6", "merchant": "#7048e8", "device": "#e8590c", "ip": "#2b8a3e"}


def _png(fig) -> str:
    """A matplotlib figure as an <img> with the PNG inline (the report is one file)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def score_histogram(today: list[float], previous: list[float] | None, bins: list[float]) -> str:
    """Tonight's score distribution over last night's (bin counts as shares, log scale: fraud is rare)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    # Bins are uneven (fine near 0 where most entities are), so bars sit at bin positions labelled by range.
    pos = np.arange(len(today))
    ax.bar(pos - 0.2, np.maximum(today, 1e-6), width=0.4, label="tonight", color="#1c7ed6")
    if previous is not None:
        ax.bar(pos + 0.2, np.maximum(previous, 1e-6), width=0.4, label="previous night", color="#adb5bd")
    ax.set_xticks(pos, [f"{lo:g}–{hi:g}" for lo, hi in zip(bins[:-1], bins[1:])], rotation=45, fontsize=7)
    ax.set_yscale("log")
    ax.set_xlabel("risk score")
    ax.set_ylabel("share of entities")
    ax.legend()
    return _png(fig)


def ring_drawing(ring: dict[str, Any]) -> str:
    """A small drawing of a ring's subgraph: members coloured by type, links between them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    g = nx.Graph()
    for m in ring.get("members", []):
        g.add_node(f"{m['entity_type']}:{m['entity_id']}", kind=m["entity_type"])
    for a, b in ring.get("links", []):
        if a in g and b in g:
            g.add_edge(a, b)
    fig, ax = plt.subplots(figsize=(3.2, 3.2))
    pos = nx.spring_layout(g, seed=1)
    colours = [TYPE_COLOURS.get(g.nodes[n]["kind"], "#868e96") for n in g]
    sizes = [120 if g.nodes[n]["kind"] == "card" else 260 for n in g]
    nx.draw_networkx(g, pos, ax=ax, node_color=colours, node_size=sizes, with_labels=False,
                     edge_color="#ced4da", width=0.8)
    ax.set_title(f"{ring['ring_id']} ({ring.get('type', '?')})", fontsize=9)
    from matplotlib.lines import Line2D

    kinds = sorted({g.nodes[n]["kind"] for n in g})
    ax.legend(handles=[Line2D([], [], marker="o", ls="", color=TYPE_COLOURS.get(k, "#868e96"), label=k) for k in kinds],
              fontsize=7, loc="lower right", frameon=False)
    ax.axis("off")
    return _png(fig)


def browser_link(browser_url: str, ring_id: str, query: str) -> str:
    """A Neo4j Browser URL that opens the editor with `query` (ring_members) and its ring_id parameter filled in:
    one click from the report to the ring in the graph. The id travels as a :param value (a JSON string is a valid
    Cypher string literal), never inside the query text."""
    text = f":param ring_id => {json.dumps(ring_id)};\n{query}"
    return f"{browser_url}?cmd=edit&arg={urllib.parse.quote(text, safe='')}"


def _table(rows: list[dict[str, Any]], columns: list[str], link: Any = None) -> str:
    """An HTML table of `columns`; with `link` (row -> URL or None), the ring_id cells link there."""
    if not rows:
        return "<p class=muted>none</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c)
            v = f"{v:.3f}" if isinstance(v, float) else ("" if v is None else str(v))
            url = link(r) if link and c == "ring_id" and r.get(c) else None
            cells.append(f'<td><a href="{html.escape(url)}" title="open in Neo4j Browser">{html.escape(v)}</a></td>'
                         if url else f"<td>{html.escape(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_html(summary: dict[str, Any]) -> str:
    """The report page for one nightly summary."""
    e = html.escape
    s = summary
    changes = s.get("ring_changes", {})
    hist = s.get("score_histogram") or {}
    parts = [f"""<!doctype html><html><head><meta charset="utf-8"><title>graphfraud nightly {e(s['date'])}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#212529}}
table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #dee2e6;padding:.25em .6em;font-size:.9em}}
th{{background:#f1f3f5}}.muted{{color:#868e96}}.rings{{display:flex;flex-wrap:wrap;gap:1em}}
.kpi{{display:inline-block;margin-right:2em}}.kpi b{{font-size:1.4em;display:block}}</style></head><body>
<h1>graphfraud nightly run: {e(s['date'])}</h1>
<p>Status <b>{e(s.get('status', '?'))}</b> · model <code>{e(str(s.get('model_version')))}</code>
{'· <b>retrained</b> (' + e(str(s.get('retrain_reason'))) + ')' if s.get('retrained') else ''}
· drift PSI {s.get('drift_psi') if s.get('drift_psi') is not None else 'n/a'}</p>
{f'<p>Retraining: {e(line)}</p>' if (line := challenge_line(s.get('challenge'))) else ''}
<div>"""]
    for label, key in (("new rings", "new"), ("returned", "returned"), ("grown", "grown"), ("merged", "merged"),
                       ("dissolved", "dissolved")):
        parts.append(f'<span class=kpi><b>{len(changes.get(key, []))}</b>{label}</span>')
    parts.append(f'<span class=kpi><b>{s.get("rings_total", 0)}</b>current rings</span></div>')

    parts.append("<h2>Score distribution, tonight against the previous night</h2>")
    if hist.get("today"):
        parts.append(score_histogram(hist["today"], hist.get("previous"), hist["bins"]))
    else:
        parts.append("<p class=muted>no scores</p>")

    parts.append("<h2>New rings</h2><div class=rings>")
    for ring in changes.get("new", [])[:12]:
        parts.append(f"<div>{ring_drawing(ring)}<br><small>{e(ring.get('explanation', ''))}</small></div>")
    parts.append("</div>")
    browser = s.get("browser") or {}
    link = (lambda r: browser_link(browser["url"], r["ring_id"], browser["ring_members"])) \
        if browser.get("url") and browser.get("ring_members") else None
    parts.append(_table(changes.get("new", []), ["ring_id", "type", "score", "size", "explanation"], link))
    parts.append("<h2>Returned rings</h2><p class=muted>missing from the previous run, found again (or cleared by an "
                 "analyst and raised again: listed below with why): same id, same verdicts</p>"
                 + _table(changes.get("returned", []), ["ring_id", "type", "score", "size"], link))
    parts.append("<h2>Grown rings</h2>" + _table(changes.get("grown", []),
                                                 ["ring_id", "type", "score", "size", "previous_size"], link))
    parts.append("<h2>Merged rings</h2>" + _table(changes.get("merged", []), ["ring_id", "type", "merged_from"], link))
    parts.append("<h2>Dissolved rings</h2>" + _table(changes.get("dissolved", []), ["ring_id", "type", "size"], link))
    v = s.get("verdicts")
    if v is not None:  # the analysts' side: what was reviewed, how much of it was fraud, what stayed down
        hours = v.get("median_hours_to_verdict")
        held = v.get("held_back", [])
        triaged = [h for h in held if h.get("reason") == "triage"]
        parts.append("<h2>Analysts' verdicts</h2>" + _table([{
            "current rings": v.get("current"), "reviewed": v.get("reviewed"), "unreviewed": v.get("unreviewed"),
            "judged fraud / judged": f"{v.get('judged_fraud', 0)} / {v.get('judged', 0)}",
            "precision of flagged rings": v.get("precision"),
            "cleared, not raised again tonight": len(held) - len(triaged),
            "cleared, raised again (changed)": len(v.get("reraised", [])),
            "new, held back by triage": len(triaged),
            "triage learned from": _triage_examples(v.get("triage")),
            "median time to verdict": "n/a" if hours is None else f"{hours:.1f} h"}],
            ["current rings", "reviewed", "unreviewed", "judged fraud / judged", "precision of flagged rings",
             "cleared, not raised again tonight", "cleared, raised again (changed)", "new, held back by triage",
             "triage learned from", "median time to verdict"]))
        if v.get("reraised"):  # an analyst cleared these: say what changed since, so the verdict can be revisited
            parts.append("<h2>Cleared rings raised again</h2><p class=muted>judged legit, then grew or gained a "
                         "member known as fraud</p>" + _table(
                             [{**r, "new_known_fraud": ", ".join(r["new_known_fraud"])} for r in v["reraised"]],
                             ["ring_id", "because", "cleared_members", "new_members", "new_known_fraud"], link))
        if triaged:  # new rings like those analysts cleared (triage.py): not raised, listed so they can be looked at
            parts.append("<h2>New rings held back by triage</h2><p class=muted>a model of the analysts' ring "
                         "verdicts gives each a low chance of being judged fraud</p>" + _table(
                             [{**h, "members": _members(h.get("members", []))} for h in triaged],
                             ["ring_id", "fraud_probability", "size", "explanation", "members"]))
    parts.append("<h2>Top risky entities</h2>" + _table(
        s.get("top_entities", []), ["entity_type", "entity_id", "risk_score", "risk_band", "ring_id"], link))
    parts.append("<h2>Model</h2>" + _table(
        [{"node_type": t, **m} for t, m in (s.get("model_metrics") or {}).items() if isinstance(m, dict)],
        ["node_type", "auprc", "auroc", "recall_at_p90"]))
    parts.append("<h2>Load</h2>" + _table([s.get("load", {})], ["rows_read", "rows_loaded", "rows_quarantined",
                                                                 "rows_already_present", "quarantine_file"]))
    rejected = (s.get("load") or {}).get("rejected_files") or []
    if rejected:  # files unusable as a whole: nothing of them loaded
        parts.append("<h2>Rejected input files</h2>" + _table(rejected, ["file", "reason"]))
    parts.append("<h2>Stages (seconds)</h2>" + _table([s.get("stage_seconds", {})], list(s.get("stage_seconds", {}))))
    parts.append("</body></html>")
    return "\n".join(parts)


def _members(members: list[list[str]], n: int = 12) -> str:
    """Ring members as 'type:id, ...' (the first n, then how many more): what to judge with --entity."""
    shown = ", ".join(f"{t}:{i}" for t, i in members[:n])
    return shown + (f" (and {len(members) - n} more)" if len(members) > n else "")


def _triage_examples(t: dict[str, int] | None) -> str:
    """The ring verdicts triage learned from tonight, e.g. '12 fraud / 2 legit (1 left out: known fraud inside)'."""
    if not t:
        return "n/a"
    out = f"{t['fraud_verdicts']} fraud / {t['legit_verdicts']} legit"
    return out + (f" ({t['legit_verdicts_left_out']} left out: known fraud inside)" if t["legit_verdicts_left_out"] else "")


def challenge_line(c: dict[str, Any] | None) -> str | None:
    """What tonight's retraining decided, in one sentence with the figures it decided on (None: no retraining).
    A "retrained" flag alone hides whether the new model went live, and on how few fraud cards that was decided."""
    if not c:
        return None
    if c.get("first_model"):
        return f"first model {c['version']} trained on everything known tonight and promoted"
    if c.get("reused"):
        return f"{c['version']} was promoted by an earlier run of this night"
    cand, cur = c.get("candidate_auprc"), c.get("current_auprc")
    cards = (f"{c.get('holdout_cards', 0):,} cards neither model knew and no analyst judged (hold-out from "
             f"{str(c.get('holdout_start', '?'))[:10]})")
    if cur is None:
        figures = f"no fraud by tonight among the {cards}, so nothing to compare"
    else:
        figures = (f"hold-out AUPRC {cand if cand is not None else 'n/a'} against the current model's {cur}, on "
                   f"{cards}, {c.get('holdout_fraud', 0)} of them fraud by tonight")
        if c.get("current_better_share") is not None:  # the current model scored higher: how sure is that?
            figures += (f"; the current model ahead in {c['current_better_share']:.0%} of resamples of the hold-out"
                        f" (it stays from 95%)")
    if c.get("promoted"):
        how = " (refitted on everything known tonight)" if c.get("refit") else ""
        return f"candidate {c['version']} promoted{how}: {figures}"
    return f"candidate {c['version']} not promoted, the current model stays: {figures}"


def write_report(summary: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write report.html and report.json into out_dir; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, json_path = out_dir / "report.html", out_dir / "report.json"
    html_path.write_text(render_html(summary), encoding="utf-8")
    json_path.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return html_path, json_path
