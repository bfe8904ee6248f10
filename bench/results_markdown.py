"""Print a benchmark results file (graphfraud benchmark --out DIR writes DIR/results.json) as the README's tables.

    .venv/bin/python bench/results_markdown.py bench/results/test-200000.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(path: str) -> None:
    d = json.loads(Path(path).read_text())
    p = d["provenance"]
    print(f"`{p['command']}` at commit `{(p['commit'] or '?')[:10]}`{' (dirty)' if p['dirty'] else ''}, "
          f"{p['machine']['cpus']} cores, {p['machine']['memory_gib']} GiB, {d['seconds'] / 60:.0f} min in all.\n")
    print("| world | scenario | seed | card AUPRC GNN | XGBGraph | MLP | rings recall / precision | ring F1 GNN "
          "| best baseline F1 | type accuracy |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for w in d["worlds"]:
        card, r = w["nodes"]["card"], w["rings"]
        best = max(r[m]["f1"] for m in ("wcc_rules", "fraudar", "labels_only"))
        print(f"| {w['name']} | {w['scenario']} | {w['seed']} | {card['gnn']['auprc']:.3f} | "
              f"{card['xgb_graph']['auprc']:.3f} | {card['mlp']['auprc']:.3f} | {r['gnn']['recall']:.2f} / "
              f"{r['gnn']['precision']:.2f} | {r['gnn']['f1']:.3f} | {best:.3f} | {r['gnn']['type_accuracy']:.2f} |")
    s = d["summary"]
    print("\n| method | card AUPRC mean / worst | ring recall | ring precision | ring F1 | type accuracy |")
    print("|---|---|---|---|---|---|")
    for m, v in s.items():
        cells = [f"{v[k]['mean']:.3f} / {v[k]['min']:.3f}" if v.get(k) and v[k]["mean"] is not None else "—"
                 for k in ("card_auprc", "ring_recall", "ring_precision", "ring_f1", "type_accuracy")]
        print(f"| {m} | " + " | ".join(cells) + " |")
    types = sorted({t for v in s.values() for t in v.get("node_auprc_mean", {})})
    print("\n| mean AUPRC | " + " | ".join(types) + " |")
    print("|---|" + "---|" * len(types))
    for m, v in s.items():
        if "node_auprc_mean" in v:
            print(f"| {m} | " + " | ".join(f"{v['node_auprc_mean'].get(t, float('nan')):.3f}" for t in types) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
