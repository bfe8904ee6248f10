"""Node features computed from the transactions of the graph, and their normalisation.

Input: one row per transaction (columns card, merchant, device, ip, ts [epoch ms], amount, declined, ecom, country),
as exported from Neo4j before the cut-off. Output: one polars DataFrame per node type, one row per entity, raw values.
Normalisation (log1p for heavy-tailed columns, then z-score) uses statistics of the TRAINING export, saved with the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

NODE_TYPES = ("card", "merchant", "device", "ip")
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
SMALL_AMOUNT = 10.0  # amounts below this count as "small" (card-testing authorisations)

# Features shared by every node type, in this order; then the type-specific ones below.
COMMON = [
    "n_tx", "amount_sum", "amount_mean", "amount_max", "amount_std", "decline_share", "ecom_share",
    "small_share", "whole_share", "round_share", "distinct_amount_share", "n_countries", "hour_std",
    "night_share", "age_days", "recency_days", "span_days", "active_days", "max_tx_hour", "max_tx_day",
]
# Distinct counterparties and the share of the entity's transactions that go to its top counterparty.
COUNTERPARTS = {
    "card": ["merchant", "device", "ip"],
    "merchant": ["card", "device", "ip"],
    "device": ["card", "merchant", "ip"],
    "ip": ["card", "merchant", "device"],
}
# Two-hop structure that analysts read directly: how crowded are the devices/IPs a card uses.
CARD_EXTRA = ["max_cards_per_device", "max_cards_per_ip", "mean_cards_per_device"]

# Columns that are counts, amounts or durations: heavy-tailed, so log1p before the z-score.
LOG_PREFIXES = ("n_", "amount_sum", "amount_mean", "amount_max", "amount_std", "age_days", "recency_days",
                "span_days", "active_days", "max_tx_", "max_cards_", "mean_cards_")


def feature_names(node_type: str) -> list[str]:
    """The feature columns of a node type, in model input order."""
    names = list(COMMON)
    for other in COUNTERPARTS[node_type]:
        names += [f"n_{other}s", f"top_{other}_share"]
    if node_type == "card":
        names += CARD_EXTRA
    return names


def node_features(tx: pl.DataFrame, node_type: str, ids: list[str], cutoff_ms: int) -> pl.DataFrame:
    """Raw features of every entity in `ids` (index order) of `node_type`, from the transactions `tx`."""
    key = node_type
    df = tx.filter(pl.col(key).is_not_null()).with_columns(
        hour=((pl.col("ts") // HOUR_MS) % 24).cast(pl.Float64),
        hour_bucket=pl.col("ts") // HOUR_MS,
        day_bucket=pl.col("ts") // DAY_MS,
        cents=(pl.col("amount") * 100).round(0).cast(pl.Int64),
    )
    agg = df.group_by(key).agg(
        n_tx=pl.len().cast(pl.Float64),
        amount_sum=pl.col("amount").sum(),
        amount_mean=pl.col("amount").mean(),
        amount_max=pl.col("amount").max(),
        amount_std=pl.col("amount").std().fill_null(0.0),
        decline_share=pl.col("declined").cast(pl.Float64).mean(),
        ecom_share=pl.col("ecom").cast(pl.Float64).mean(),
        small_share=(pl.col("amount") < SMALL_AMOUNT).cast(pl.Float64).mean(),
        whole_share=(pl.col("cents") % 100 == 0).cast(pl.Float64).mean(),
        round_share=(pl.col("cents") % 1000 == 0).cast(pl.Float64).mean(),
        distinct_amount_share=pl.col("cents").n_unique() / pl.len(),
        n_countries=pl.col("country").drop_nulls().n_unique().cast(pl.Float64),
        hour_std=pl.col("hour").std().fill_null(0.0),
        night_share=(pl.col("hour") < 6).cast(pl.Float64).mean(),
        age_days=(cutoff_ms - pl.col("ts").min()) / DAY_MS,
        recency_days=(cutoff_ms - pl.col("ts").max()) / DAY_MS,
        span_days=(pl.col("ts").max() - pl.col("ts").min()) / DAY_MS,
        active_days=pl.col("day_bucket").n_unique().cast(pl.Float64),
    )
    # Velocity: the most transactions in one clock hour / one day.
    for bucket, name in (("hour_bucket", "max_tx_hour"), ("day_bucket", "max_tx_day")):
        v = df.group_by(key, bucket).len().group_by(key).agg(pl.col("len").max().cast(pl.Float64).alias(name))
        agg = agg.join(v, on=key, how="left")
    for other in COUNTERPARTS[node_type]:
        pair = df.filter(pl.col(other).is_not_null()).group_by(key, other).len()
        c = pair.group_by(key).agg(pl.len().cast(pl.Float64).alias(f"n_{other}s"),
                                   pl.col("len").max().cast(pl.Float64).alias(f"_top_{other}"))
        agg = agg.join(c, on=key, how="left").with_columns(
            (pl.col(f"_top_{other}").fill_null(0.0) / pl.col("n_tx")).alias(f"top_{other}_share"),
        ).drop(f"_top_{other}")
    if node_type == "card":
        agg = agg.join(_card_crowding(tx), on="card", how="left")
    frame = pl.DataFrame({key: ids}).join(agg, on=key, how="left", maintain_order="left")
    names = feature_names(node_type)
    return frame.select([pl.col(n).cast(pl.Float64).fill_null(0.0).fill_nan(0.0) for n in names])


def _card_crowding(tx: pl.DataFrame) -> pl.DataFrame:
    """Per card: the most (and mean) cards seen on any of its devices, the most cards on any of its IPs."""
    out = pl.DataFrame({"card": tx["card"].unique()})
    for other, cols in (("device", ["max_cards_per_device", "mean_cards_per_device"]), ("ip", ["max_cards_per_ip"])):
        pairs = tx.filter(pl.col(other).is_not_null()).select("card", other).unique()
        crowd = pairs.group_by(other).agg(pl.len().cast(pl.Float64).alias("crowd"))
        per_card = pairs.join(crowd, on=other).group_by("card").agg(
            pl.col("crowd").max().alias(cols[0]), *([pl.col("crowd").mean().alias(cols[1])] if len(cols) > 1 else []))
        out = out.join(per_card, on="card", how="left")
    return out


@dataclass
class FeatureStats:
    """Per node type and column: whether log1p is applied, then mean and std (computed on the training export)."""

    stats: dict[str, dict[str, tuple[bool, float, float]]]

    @classmethod
    def fit(cls, features: dict[str, pl.DataFrame]) -> "FeatureStats":
        stats: dict[str, dict[str, tuple[bool, float, float]]] = {}
        for t, df in features.items():
            stats[t] = {}
            for col in df.columns:
                log = col.startswith(LOG_PREFIXES)
                v = _pre(df[col].to_numpy(), log)
                mean = float(v.mean()) if len(v) else 0.0
                std = float(v.std()) if len(v) else 1.0
                stats[t][col] = (log, mean, std if std > 1e-9 and math.isfinite(std) else 1.0)
        return cls(stats)

    def transform(self, node_type: str, df: pl.DataFrame) -> np.ndarray:
        """float32 matrix [n_nodes, n_features]: log1p where flagged, z-scored, clipped to [-8, 8]."""
        cols = list(self.stats[node_type])
        out = np.zeros((df.height, len(cols)), dtype=np.float32)
        for j, col in enumerate(cols):
            log, mean, std = self.stats[node_type][col]
            out[:, j] = np.clip((_pre(df[col].to_numpy(), log) - mean) / std, -8.0, 8.0)
        return out

    def to_json(self) -> dict:
        return {t: {c: list(v) for c, v in cols.items()} for t, cols in self.stats.items()}

    @classmethod
    def from_json(cls, d: dict) -> "FeatureStats":
        return cls({t: {c: (bool(v[0]), float(v[1]), float(v[2])) for c, v in cols.items()} for t, cols in d.items()})


def _pre(v: np.ndarray, log: bool) -> np.ndarray:
    v = np.nan_to_num(v.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    return np.log1p(np.maximum(v, 0.0)) if log else v
