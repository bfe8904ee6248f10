"""The model store: one directory per trained model version, saved and loaded here and nowhere else.

<root>/<version>/ holds weights.safetensors (never a pickle), config.json (format, schema, hyper-parameters, training
cut-off and graph fingerprint), feature_stats.json (the training normalisation) and metrics.json. Versions sort by
training time, so the newest is the last. Nightly candidates live in <root>/candidates/ until `promote` moves one up.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from safetensors.torch import load_file, save_file

from .errors import GraphfraudError
from .features import FeatureStats
from .killpoints import kill_point
from .model import FraudGNN, ModelConfig

FORMAT_VERSION = 4  # 2: node and edge types follow the entity registry (graphfraud/registry.py); 3: seed ensemble;
# 4: cards of graphs with no device, IP or identity get first_visit_surprise


@dataclass
class ModelBundle:
    version: str
    path: Path
    model: FraudGNN  # in eval mode
    config: ModelConfig
    feature_names: dict[str, list[str]]  # node type -> feature columns, in input order
    stats: FeatureStats  # normalisation statistics of the training export
    cutoff: datetime  # the training cut-off
    fingerprint: str  # of the training graph
    hyper: dict  # the hyper-parameters it was trained with (config.HYPERPARAMETERS)


def new_version(root: Path) -> str:
    """A sortable, unique version name: UTC time of training (plus a counter if taken)."""
    base = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    version, n = base, 1
    while (root / version).exists():
        n += 1
        version = f"{base}-{n}"
    return version


def save_model(path: Path, model: FraudGNN, stats: FeatureStats, feature_names: dict[str, list[str]],
               cutoff: datetime, fingerprint: str, hyper: dict, metrics: dict) -> None:
    """Write weights (safetensors), config, feature statistics and metrics into a new model directory `path`. The
    files are written into a hidden sibling directory renamed to `path` at the end, so a training run killed while
    saving leaves no half-written model for `score` to pick up (list_models skips hidden directories)."""
    if path.exists():
        raise GraphfraudError(f"model directory {path} already exists: choose another version or --out")
    final, path = path, path.parent / f".{path.name}.partial"
    if path.exists():
        shutil.rmtree(path)  # left by a run killed while saving
    path.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path / "weights.safetensors"))
    kill_point("models.weights")
    config = {"format_version": FORMAT_VERSION, "version": final.name,
              "created_at": datetime.now(timezone.utc).isoformat(), "model": model.cfg.to_json(),
              "feature_names": feature_names, "cutoff": cutoff.isoformat(), "fingerprint": fingerprint,
              "hyper": hyper}
    (path / "config.json").write_text(json.dumps(config, indent=2))
    (path / "feature_stats.json").write_text(json.dumps(stats.to_json()))
    (path / "metrics.json").write_text(json.dumps(metrics, indent=2))
    path.rename(final)


def check_schema(bundle: ModelBundle, feature_names: dict[str, list[str]], edge_types: set) -> None:
    """Raise GraphfraudError unless node types, edge types and feature names are exactly the model's."""
    where = f"model {bundle.version} ({bundle.path})"
    if set(feature_names) != set(bundle.feature_names):
        raise GraphfraudError(f"{where} was trained on entity types {sorted(bundle.feature_names)}, "
                              f"the graph has {sorted(feature_names)}: retrain with `graphfraud train`")
    if edge_types != set(bundle.config.edge_types):
        raise GraphfraudError(f"{where} was trained on other edge types than the graph has: retrain with "
                              "`graphfraud train`")
    for t, names in bundle.feature_names.items():
        if feature_names[t] != names:
            differ = sorted(set(names) ^ set(feature_names[t]))
            raise GraphfraudError(f"{where} does not match the graph's {t} features (differ: "
                                  f"{', '.join(differ) or 'column order'}): retrain with `graphfraud train`")


def load_model(model_dir: Path) -> ModelBundle:
    """Load a model directory (weights through safetensors only); refuse another format or weights that do not fit."""
    path = Path(model_dir)
    if not (path / "config.json").exists() or not (path / "weights.safetensors").exists():
        raise GraphfraudError(f"{path} is not a graphfraud model directory (config.json, weights.safetensors)")
    config = json.loads((path / "config.json").read_text())
    if config.get("format_version") != FORMAT_VERSION:
        raise GraphfraudError(f"model {path} has format {config.get('format_version')}, this graphfraud reads "
                              f"{FORMAT_VERSION}: retrain with `graphfraud train`")
    cfg = ModelConfig.from_json(config["model"])
    bundle = ModelBundle(
        version=config["version"], path=path, model=FraudGNN(cfg), config=cfg, feature_names=config["feature_names"],
        stats=FeatureStats.from_json(json.loads((path / "feature_stats.json").read_text())),
        cutoff=datetime.fromisoformat(config["cutoff"]), fingerprint=config["fingerprint"], hyper=config["hyper"])
    try:
        bundle.model.load_state_dict(load_file(str(path / "weights.safetensors")))
    except (RuntimeError, OSError) as e:
        raise GraphfraudError(f"weights of model {path} do not fit its config: {str(e).splitlines()[0]}") from None
    bundle.model.eval()
    return bundle


def fit_warnings(bundle: ModelBundle, first: datetime, last: datetime) -> list[str]:
    """Why a model may not belong to a graph whose transactions span [first, last]: a training cut-off outside that
    span means it was trained on other data (say, the demo's sample); empty when it fits."""
    where = f"model {bundle.version} ({bundle.path})"
    if bundle.cutoff > last + timedelta(days=1):
        return [f"{where} was trained on data up to {bundle.cutoff.isoformat()}, after this graph's last "
                f"transaction ({last.isoformat()}): it was probably trained on another graph; pass --model"]
    if bundle.cutoff <= first:
        return [f"{where} was trained on data before {bundle.cutoff.isoformat()}, before this graph's first "
                f"transaction ({first.isoformat()}): it was probably trained on another graph; pass --model"]
    return []


def list_models(root: Path) -> list[Path]:
    """Model directories directly under `root`, oldest first (candidates/ is not one)."""
    return sorted(p for p in root.glob("*") if not p.name.startswith(".") and (p / "config.json").exists()
                  ) if root.exists() else []


def latest_model_dir(root: Path) -> Path:
    """The newest model version under `root`."""
    versions = list_models(root)
    if not versions:
        raise GraphfraudError(f"no trained model under {root}: run `graphfraud train` first")
    return versions[-1]


def set_aside_outdated(root: Path) -> list[str]:
    """Move every model version under `root` written in another format to <root>/superseded/ (kept, never read
    again), so that the newest readable model is the current one; returns the versions moved. A graphfraud upgrade
    that changes the format thus leads the nightly to train a model it can read instead of failing every night."""
    moved = []
    for path in list_models(root):
        if json.loads((path / "config.json").read_text()).get("format_version") != FORMAT_VERSION:
            target = root / "superseded" / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                shutil.rmtree(target)
            shutil.move(str(path), str(target))
            moved.append(path.name)
    return moved


def promote(candidate: Path, root: Path) -> Path:
    """Move a candidate model directory up to `root`, where it becomes the newest version; returns its new path."""
    target = root / candidate.name
    shutil.move(str(candidate), str(target))
    return target
