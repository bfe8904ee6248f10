"""The nightly batch job: load a day, keep the model fresh, rescore, find rings, write back, report.

Every stage is idempotent, so a crashed or killed run is recovered by running the same date again,
and rerunning a finished date leaves the graph as it was. The results lock (locks.py) keeps it apart from another
night or a `graphfraud score`.
Models: promoted versions live in <models_dir>/<version>; candidates a night trains are kept in
<models_dir>/candidates/ and tried against the current model on the last 7 days; the winner's recipe is trained
again up to tonight in <models_dir>/candidates/refit/ and that model moved up (settings.refit; else the candidate).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score

from . import models
from .config import Settings
from .db import Graph, load_cypher
from .errors import GraphfraudError, UsageError
from .export import GraphExport, export_graph, later_labels, read_label_events
from .ingest import build_graph
from .killpoints import kill_point
from .validate import input_format, plausibility
from .locks import results_lock
from .predict import predict, predict_heads_and_scores
from .registry import CARD
from .report import write_report
from .scoring import score_export
from .train import train
from .writeback import previous_rings, risk_band

# Fixed score bins for the drift check and the report (fraud probabilities are mostly tiny: fine bins low).
SCORE_BINS = [0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.85, 1.0000001]
HOLDOUT_DAYS = 7  # a candidate model is trained up to D-7 and compared with the current one on D-7..D
BOOTSTRAP_DRAWS = 200  # stratified resamples of the hold-out cards that say how sure a comparison is
KEEP_LEVEL = 0.95  # the current model stays only when it beats the candidate in at least this share of resamples

log = logging.getLogger("graphfraud.nightly")


@dataclass
class Stages:
    """Seconds per stage, in order."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, progress: Callable[[str], None] | None = None) -> Iterator[None]:
        if progress:
            progress(name)
        log.info("stage %s: started", name)
        kill_point(f"nightly.{name}")
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - t0, 2)
            log.info("stage %s: %.1f s", name, self.seconds[name])


def psi(today: np.ndarray, previous: np.ndarray, eps: float = 1e-4) -> float:
    """Population stability index between two binned distributions (shares summing to 1)."""
    a = np.clip(np.asarray(today, float), eps, None)
    b = np.clip(np.asarray(previous, float), eps, None)
    return float(np.sum((a - b) * np.log(a / b)))


def score_hist(scores: np.ndarray) -> list[float]:
    """Share of entities per SCORE_BINS bin."""
    counts, _ = np.histogram(np.asarray(scores, float), bins=SCORE_BINS)
    return [round(float(c) / max(len(scores), 1), 6) for c in counts]


def day_files(input_dir: Path, day: date) -> list[Path]:
    """The files a night loads: that day's transactions and chargebacks reported that day, plus labels."""
    stem = day.isoformat()
    tx = [p for p in (input_dir / "transactions").glob(f"{stem}.*") if input_format(p)]
    if not tx:
        raise UsageError(f"no transactions file for {stem} in {input_dir / 'transactions'} "
                         "(expected YYYY-MM-DD.csv or .parquet)")
    cb = [p for p in (input_dir / "chargebacks").glob(f"{stem}.*") if input_format(p)]
    labels = sorted(p for p in (input_dir / "labels").glob("*") if input_format(p)) \
        if (input_dir / "labels").is_dir() else []
    return sorted(tx) + sorted(cb) + labels


def _model_day(model_dir: Path) -> date:
    """The day a model was made: the nightly date it was trained for, else its creation date."""
    meta = model_dir / "nightly.json"
    if meta.exists():
        return date.fromisoformat(json.loads(meta.read_text())["date"])
    config = json.loads((model_dir / "config.json").read_text())
    return datetime.fromisoformat(config["created_at"]).date()


def _current_model(settings: Settings) -> Path | None:
    try:
        return models.latest_model_dir(settings.models_dir)
    except GraphfraudError:
        return None


def _card_scores(bundle_dir: Path, export: Any) -> np.ndarray:
    return predict(models.load_model(bundle_dir), export)["card"]


def _auprc(y: np.ndarray, scores: np.ndarray) -> float | None:
    return round(float(average_precision_score(y, scores)), 4) if len(y) and y.sum() else None


def current_better_share(y: np.ndarray, candidate: np.ndarray, current: np.ndarray,
                         draws: int = BOOTSTRAP_DRAWS, seed: int = 0) -> float:
    """Share of stratified bootstrap resamples of the hold-out (fraud and other cards resampled apart, so each draw
    keeps the fraud count) in which the current model's AUPRC beats the candidate's. The hold-out leaves out judged
    cards, so with analysts at work it may hold ten fraud cards, and a gap of a few points on ten is noise."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y != 1)
    wins = 0
    for _ in range(draws):
        i = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        wins += average_precision_score(y[i], current[i]) > average_precision_score(y[i], candidate[i])
    return wins / draws


def holdout_set(known: np.ndarray, later: np.ndarray, judged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cards a candidate and the current model are compared on, and their labels (1/0), from the labels known
    at the later of the two models' training cut-offs (`known`, -1 unknown), those known by tonight (`later`) and
    which cards an analyst judged (directly or in a ring). Only cards unknown then, which neither model trained on;
    and not those judged: an analyst judges the rings the current model raised, so their labels favour it over any
    challenger (a candidate that scores them differently would lose on labels it was never shown, and a model
    trained on verdicts would never replace the first one)."""
    test = (known < 0) & ~judged
    return test, (later == 1).astype(int)


def compare(y: np.ndarray, candidate: np.ndarray, current: np.ndarray) -> dict[str, Any]:
    """The promotion decision on a hold-out (labels `y`, each model's card scores): its fraud count, both AUPRCs,
    how often the current model wins resamples when it scored higher, and `promoted`: the candidate, unless the
    current model beat it in at least KEEP_LEVEL of resamples."""
    out: dict[str, Any] = {"holdout_fraud": int(y.sum()), "candidate_auprc": _auprc(y, candidate),
                           "current_auprc": _auprc(y, current)}
    c, k = out["candidate_auprc"], out["current_auprc"]
    if c is not None and k is not None and k > c:
        out["current_better_share"] = current_better_share(y, candidate, current)
    out["promoted"] = out.get("current_better_share", 0.0) < KEEP_LEVEL
    return out


def challenge(graph: Graph, settings: Settings, day: date, end: datetime, current: Path | None,
              progress: Callable | None = None) -> dict[str, Any]:
    """Train (or reuse) tonight's candidate up to end-HOLDOUT_DAYS and compare it with the current model on the
    cards unknown to both models' training that no analyst judged (holdout_set): those whose fraud became known in
    the held-out days are the positives. Promote the candidate, or with settings.refit the same recipe trained again
    on everything known tonight (refit_and_promote), unless the hold-out shows it worse: the current model's AUPRC
    higher, and higher in at least KEEP_LEVEL of resamples (current_better_share). The candidate, the same recipe
    on a week more of labels and verdicts, is the default; a lead of a few points on ten fraud cards keeps nothing.
    """
    version = f"nightly-{day.isoformat()}"
    candidates = settings.models_dir / "candidates"
    promoted_path = settings.models_dir / version
    if promoted_path.exists():  # a rerun of a night that already promoted: nothing to decide again
        return {"version": version, "promoted": True, "reused": True,
                **json.loads((promoted_path / "nightly.json").read_text()).get("holdout", {})}
    if current is None:  # the first model: nothing to compare with, so train on everything known
        export = export_graph(graph, end, progress)
        result = train(export, settings, end, settings.models_dir, progress, version=version)
        (result.path / "nightly.json").write_text(json.dumps({"date": day.isoformat(), "holdout": {},
                                                             "promoted": True}, indent=2))
        return {"version": version, "promoted": True, "reused": False, "first_model": True}
    holdout_start = end - timedelta(days=HOLDOUT_DAYS)
    export = export_graph(graph, holdout_start, progress)
    cand_path = candidates / version
    if not cand_path.exists():
        result = train(export, settings, holdout_start, candidates, progress, version=version)
        cand_path = result.path
    later = later_labels(graph, export, end)[CARD]
    # A refitted current model was trained past the hold-out start when tonight comes sooner than HOLDOUT_DAYS after
    # it (a drift retrain): the labels it saw must not judge it either.
    current_cutoff = models.load_model(current).cutoff
    known = (later_labels(graph, export, current_cutoff)[CARD] if current_cutoff > holdout_start
             else export.labels[CARD])
    events = read_label_events(graph, end)
    judged = events.filter((pl.col("source") == "verdict") & (pl.col("entity_type") == CARD))["entity_id"]
    test, y = holdout_set(known, later, np.isin(export.ids[CARD], judged.to_numpy()))
    holdout = {"holdout_start": holdout_start.isoformat(), "holdout_cards": int(test.sum()),
               **compare(y[test], _card_scores(cand_path, export)[test], _card_scores(current, export)[test])}
    promote = holdout.pop("promoted")
    (cand_path / "nightly.json").write_text(json.dumps({"date": day.isoformat(), "holdout": holdout,
                                                        "promoted": promote}, indent=2))
    if promote and settings.refit:
        holdout["refit"] = True  # kept in the promoted model's nightly.json, so a rerun of the night reports it too
        refit_and_promote(graph, settings, day, end, holdout, progress)
    elif promote:
        models.promote(cand_path, settings.models_dir)
    return {"version": version, "promoted": promote, "reused": False, **holdout}


def refit_and_promote(graph: Graph, settings: Settings, day: date, end: datetime, holdout: dict[str, Any],
                      progress: Callable | None = None) -> Path:
    """Train tonight's winning recipe again on everything known by `end` (verdicts and chargebacks of the held-out
    days included) and promote that model as tonight's version; returns its path. The hold-out week chose the
    recipe; the refit only moves its training cut-off to tonight. A refit left by a killed run is reused."""
    version = f"nightly-{day.isoformat()}"
    refits = settings.models_dir / "candidates" / "refit"
    path = refits / version
    if not path.exists():
        path = train(export_graph(graph, end, progress), settings, end, refits, progress, version=version).path
    (path / "nightly.json").write_text(json.dumps({"date": day.isoformat(), "holdout": holdout, "promoted": True},
                                                  indent=2))
    return models.promote(path, settings.models_dir)


def ring_changes(before: dict[str, frozenset], after: dict[str, frozenset],
                 details: dict[str, dict[str, Any]], returned: set[str] = frozenset()) -> dict[str, list[dict[str, Any]]]:
    """New, returned, grown, merged and dissolved rings between two runs (ids are stable across runs by Jaccard
    >= 0.5).

    returned: a ring not current before that took back the id of a ring a recent run found, or of a ring analysts
    cleared that is raised again (`returned`: it went missing for a run or more);
    merged: a current ring holding most (>= half) of two or more previous rings;
    dissolved: a previous ring that is gone and was not merged into a current one.
    """
    merged_into: dict[str, list[str]] = {}
    for old_id, old in before.items():
        for new_id, new in after.items():
            if old and len(old & new) >= 0.5 * len(old):
                merged_into.setdefault(new_id, []).append(old_id)
    absorbed = {o for new_id, olds in merged_into.items() if len(olds) >= 2 for o in olds}
    out: dict[str, list[dict[str, Any]]] = {"new": [], "returned": [], "grown": [], "merged": [], "dissolved": []}
    for new_id, members in after.items():
        d = {**details.get(new_id, {}), "ring_id": new_id, "size": len(members)}
        if len(merged_into.get(new_id, [])) >= 2:
            out["merged"].append({**d, "merged_from": ", ".join(sorted(merged_into[new_id]))})
        elif new_id not in before:
            out["returned" if new_id in returned else "new"].append(d)
        elif len(members) > len(before[new_id]):
            out["grown"].append({**d, "previous_size": len(before[new_id])})
    for old_id, members in before.items():
        if old_id not in after and old_id not in absorbed:
            out["dissolved"].append({"ring_id": old_id, "size": len(members)})
    for k in out:
        out[k].sort(key=lambda r: (-(r.get("score") or 0), r["ring_id"]))
    return out


def _ring_links(export: Any, members: frozenset) -> list[tuple[str, str]]:
    """Edges of the export between a ring's members, as ('type:id', 'type:id') pairs, for the drawing."""
    index = {t: {i: n for n, i in enumerate(export.ids[t])} for t in export.ids}
    links = []
    for (s, _, d), frame in export.edges.items():
        src = {index[s][i]: i for (t, i) in members if t == s and i in index[s]}
        dst = {index[d][i]: i for (t, i) in members if t == d and i in index[d]}
        if not src or not dst:
            continue
        pairs = frame.select("src", "dst").to_numpy()
        keep = np.isin(pairs[:, 0], list(src)) & np.isin(pairs[:, 1], list(dst))
        links += [(f"{s}:{src[a]}", f"{d}:{dst[b]}") for a, b in pairs[keep]]
    return links


def scheduled_retrain(settings: Settings, day: date, current: Path | None) -> str | None:
    """Why tonight retrains before scoring (no model yet, or the schedule says so), or None."""
    if current is None:
        return "no model yet"
    if settings.retrain_every_days and (day - _model_day(current)).days >= settings.retrain_every_days:
        return f"schedule (every {settings.retrain_every_days} days)"
    return None


def drift_retrain(settings: Settings, drift: float | None, retrained: bool) -> str | None:
    """Why tonight retrains after scoring (card score drift above settings.drift_psi), or None."""
    if drift is not None and drift > settings.drift_psi and not retrained:
        return f"drift (PSI {drift:.3f} > {settings.drift_psi})"
    return None


@dataclass
class Scored:
    """Tonight's model and what it made of the graph."""

    model_dir: Path
    bundle: models.ModelBundle
    heads: dict[str, np.ndarray]  # per-type model outputs (rings are found from these)
    scores: dict[str, np.ndarray]  # risk scores after propagation (written back)
    hist: list[float]  # card score histogram (drift)


def score_with(model_dir: Path, export: GraphExport) -> Scored:
    bundle = models.load_model(model_dir)
    heads, scores = predict_heads_and_scores(bundle, export)
    return Scored(model_dir, bundle, heads, scores, score_hist(scores["card"]))


def browser_links(settings: Settings) -> dict[str, str | None]:
    """What the report needs to link each ring to Neo4j Browser: the local server's Browser URL (none for a remote
    NEO4J_URI, whose Browser graphfraud does not know) and the ring_members query it opens."""
    return {"url": f"http://127.0.0.1:{settings.http_port}/browser/" if settings.is_local else None,
            "ring_members": load_cypher("queries/ring_members")}


def night_summary(export: GraphExport, scored: Scored, ring_run: dict[str, Any], before: dict[str, frozenset],
                  after: dict[str, frozenset], details: dict[str, dict[str, Any]], retrain_reason: str | None,
                  challenge_result: dict[str, Any] | None, drift: float | None,
                  prev_hist: list[float] | None) -> dict[str, Any]:
    """The night's outcome for the report and the BatchRun: model, retraining, drift, rings and their changes, and
    the top entities."""
    changes = ring_changes(before, after, details, set(ring_run.get("rings_returned", [])))
    for ring in changes["new"]:
        keys = after[ring["ring_id"]]
        ring["members"] = [{"entity_type": t, "entity_id": i} for t, i in sorted(keys)]
        ring["links"] = _ring_links(export, keys)
    member_of = {k: rid for rid, keys in after.items() for k in keys}
    scores = scored.scores
    top = sorted(((float(s), t, export.ids[t][n]) for t in scores for n, s in enumerate(scores[t])), reverse=True)[:20]
    metrics = json.loads((scored.model_dir / "metrics.json").read_text())
    return {
        "status": "succeeded",
        "model_version": scored.bundle.version,
        "retrained": challenge_result is not None,
        "retrain_reason": retrain_reason,
        "challenge": challenge_result,
        "drift_psi": round(drift, 4) if drift is not None else None,
        "score_histogram": {"bins": SCORE_BINS[:-1] + [1.0], "today": scored.hist, "previous": prev_hist},
        "scoring": {k: ring_run[k] for k in ("run_id", "entities", "rings", "rings_by_type", "top_rings")},
        "rings_total": len(after),
        "ring_changes": changes,
        "top_entities": [{"entity_type": t, "entity_id": i, "risk_score": round(s, 4), "risk_band": risk_band(s),
                          "ring_id": member_of.get((t, i))} for s, t, i in top],
        "model_metrics": {k: v for k, v in metrics.items() if k in ("val_auprc", "best_epoch", "epochs_run")},
    }


def run_night(settings: Settings, day: date, input_dir: Path, report_root: Path | None = None,
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Process one day end to end under the results lock; returns the summary (also written as the report's JSON).

    Stages: load -> (retrain, on schedule) -> score -> (retrain and rescore, on drift) -> rings -> report."""
    input_dir = Path(input_dir)
    report_dir = (report_root or settings.state_dir / "reports") / day.isoformat()
    with results_lock(settings, f"nightly {day.isoformat()}"):
        files = day_files(input_dir, day)
        end = datetime.combine(day + timedelta(days=1), dtime(0), tzinfo=timezone.utc)  # scores as of midnight after
        stages = Stages()
        summary: dict[str, Any] = {"date": day.isoformat(), "status": "running", "input": str(input_dir)}
        log.info("nightly run for %s from %s: %d file(s)", day, input_dir, len(files))
        started_ms = int(time.time() * 1000)
        with Graph.connect(settings) as graph:
            graph.ensure_schema()
            graph.write("nightly/start_batch_run", {"date": day.isoformat(), "started_at": started_ms})
            try:
                with stages.stage("load", progress):
                    summary["load"] = build_graph(graph, files, settings.batch_size, settings.state_dir / "quarantine",
                                                  rules=plausibility(settings)).as_dict()
                previous = graph.read("nightly/previous_batch_run", {"date": day.isoformat()})
                prev_hist = previous[0]["score_hist"] if previous and previous[0]["score_hist"] else None

                outdated = models.set_aside_outdated(settings.models_dir)
                for reused in ("candidates", "candidates/refit"):  # a candidate or refit is reused on rerun
                    models.set_aside_outdated(settings.models_dir / reused)
                if outdated:
                    log.warning("models of an older format set aside in %s: %s", settings.models_dir / "superseded",
                                ", ".join(outdated))
                current = _current_model(settings)
                reason = scheduled_retrain(settings, day, current)
                if reason and outdated:
                    reason = f"{reason} this graphfraud can read (set aside: {', '.join(outdated)})"
                challenge_result = None
                if reason:
                    with stages.stage("retrain", progress):
                        challenge_result = challenge(graph, settings, day, end, current)
                        current = _current_model(settings)
                with stages.stage("score", progress):
                    export = export_graph(graph, end)
                    scored = score_with(current, export)
                drift = psi(np.asarray(scored.hist), np.asarray(prev_hist)) if prev_hist else None
                late = drift_retrain(settings, drift, challenge_result is not None)
                if late:
                    reason = late
                    with stages.stage("retrain", progress):
                        challenge_result = challenge(graph, settings, day, end, current)
                    if challenge_result["promoted"]:
                        scored = score_with(_current_model(settings), export)

                with stages.stage("rings", progress):
                    before = previous_rings(graph)
                    ring_run = score_export(graph, export, scored.scores, scored.bundle.version,
                                            run_id=f"nightly-{day.isoformat()}", started=end,
                                            batch_size=settings.batch_size, top=10, ring_scores=scored.heads,
                                            reraise_growth=settings.reraise_growth,
                                            ring_memory_runs=settings.ring_memory_runs,
                                            triage_min_each=settings.triage_min_each,
                                            triage_below=settings.triage_below)
                    after = previous_rings(graph)
                details = {r["ring_id"]: r for r in graph.read("nightly/ring_details")}
                summary.update(night_summary(export, scored, ring_run, before, after, details, reason,
                                             challenge_result, drift, prev_hist))
                summary["browser"] = browser_links(settings)
                summary["verdicts"] = {**graph.read("nightly/verdict_summary")[0],
                                       "held_back": ring_run.get("rings_held_back", []),
                                       "reraised": ring_run.get("rings_reraised", []),
                                       "triage": ring_run.get("triage")}
                with stages.stage("report", progress):
                    summary["stage_seconds"] = stages.seconds
                    html_path, json_path = write_report(summary, report_dir)
                summary["report_html"], summary["report_json"] = str(html_path), str(json_path)
                summary["stage_seconds"] = stages.seconds
                _finish(graph, summary, scored.hist, started_ms)
                return summary
            except BaseException as e:
                log.error("nightly run for %s failed: %s", day, getattr(e, "message", None) or repr(e))
                summary["status"] = "failed"
                summary["error"] = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
                summary["stage_seconds"] = stages.seconds
                try:
                    _finish(graph, summary, None, started_ms)
                except GraphfraudError:
                    pass  # the database is the problem: the original error says more
                raise


def _finish(graph: Graph, summary: dict[str, Any], hist: list[float] | None, started_ms: int) -> None:
    load = summary.get("load", {})
    scoring = summary.get("scoring", {})
    counts = {"rows_read": load.get("rows_read"), "rows_loaded": load.get("rows_loaded"),
              "rows_quarantined": load.get("rows_quarantined"),
              "rows_already_present": load.get("rows_already_present"),
              "entities_scored": sum(e["n"] for e in scoring.get("entities", {}).values()) if scoring else None,
              "rings": scoring.get("rings"), "new_rings": len(summary.get("ring_changes", {}).get("new", []))}
    graph.write("nightly/finish_batch_run", {
        "date": summary["date"], "status": summary["status"], "finished_at": int(time.time() * 1000),
        "counts": json.dumps(counts), "model_version": summary.get("model_version"),
        "stage_seconds": json.dumps(summary.get("stage_seconds", {})), "score_hist": hist,
        "report": summary.get("report_html"), "error": summary.get("error")})


def backfill(settings: Settings, first: date, last: date, input_dir: Path, report_root: Path | None = None,
             progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Run every day from first to last (inclusive) in order; stops at the first failure."""
    if last < first:
        raise UsageError(f"backfill range is empty: {first} is after {last}")
    results = []
    day = first
    while day <= last:
        results.append(run_night(settings, day, input_dir, report_root, progress))
        day += timedelta(days=1)
    return results
