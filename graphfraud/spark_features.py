"""features.py's node features computed by Spark, for transaction tables that do not fit one process.

Same input contract as features.node_features (one row per transaction: a column per entity type of the registry,
ts [epoch ms], amount, declined, ecom, country), as a Spark DataFrame; same output: one row per entity, the columns
of features.feature_names in order, nulls and NaN as 0.0. The definitions follow features.py line for line (sample
standard deviations, half-to-even rounding of cents: polars' defaults); tests/test_spark.py checks that the two
engines agree to 1e-6 on a generated world. The Poisson surprise of first visits (card-present graphs only) works on
merchant-days, few enough to finish on the driver with features.first_visit_windows' formula.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .features import DAY_MS, HOUR_MS, SMALL_AMOUNT, _crowded, feature_names, poisson_surprise
from .registry import CARD, MERCHANT

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def node_features(tx: DataFrame, node_type: str, types: list[str], cutoff_ms: int) -> DataFrame:
    """Raw features of every `node_type` entity in `tx` (column `node_type`: its id, then feature_names' columns)."""
    from pyspark.sql import functions as F

    key = node_type
    share = lambda cond: F.avg(cond.cast("double"))  # noqa: E731 - the share of rows where cond holds
    df = tx.filter(F.col(key).isNotNull()).select(
        "*", (F.expr(f"ts div {HOUR_MS}") % 24).cast("double").alias("_hour"),
        F.expr(f"ts div {HOUR_MS}").alias("_hour_bucket"), F.expr(f"ts div {DAY_MS}").alias("_day_bucket"),
        F.bround(F.col("amount") * 100, 0).cast("long").alias("_cents"))
    agg = df.groupBy(key).agg(
        F.count(F.lit(1)).cast("double").alias("n_tx"),
        F.sum("amount").alias("amount_sum"),
        F.avg("amount").alias("amount_mean"),
        F.max("amount").alias("amount_max"),
        F.coalesce(F.stddev_samp("amount"), F.lit(0.0)).alias("amount_std"),
        share(F.col("declined")).alias("decline_share"),
        share(F.col("ecom")).alias("ecom_share"),
        share(F.col("amount") < SMALL_AMOUNT).alias("small_share"),
        share(F.col("_cents") % 100 == 0).alias("whole_share"),
        share(F.col("_cents") % 1000 == 0).alias("round_share"),
        (F.countDistinct("_cents") / F.count(F.lit(1))).alias("distinct_amount_share"),
        F.countDistinct("country").cast("double").alias("n_countries"),
        F.coalesce(F.stddev_samp("_hour"), F.lit(0.0)).alias("hour_std"),
        share(F.col("_hour") < 6).alias("night_share"),
        ((F.lit(cutoff_ms) - F.min("ts")) / DAY_MS).alias("age_days"),
        ((F.lit(cutoff_ms) - F.max("ts")) / DAY_MS).alias("recency_days"),
        ((F.max("ts") - F.min("ts")) / DAY_MS).alias("span_days"),
        F.countDistinct("_day_bucket").cast("double").alias("active_days"),
    )
    # Velocity: the most transactions in one clock hour / one day.
    for bucket, name in (("_hour_bucket", "max_tx_hour"), ("_day_bucket", "max_tx_day")):
        v = df.groupBy(key, bucket).count().groupBy(key).agg(F.max("count").cast("double").alias(name))
        agg = agg.join(v, key, "left")
    for other in (o for o in types if o != node_type):
        pair = df.filter(F.col(other).isNotNull()).groupBy(key, other).count()
        c = pair.groupBy(key).agg(F.count(F.lit(1)).cast("double").alias(f"n_{other}s"),
                                  F.max("count").cast("double").alias(f"_top_{other}"))
        agg = agg.join(c, key, "left").withColumn(
            f"top_{other}_share", F.coalesce(F.col(f"_top_{other}"), F.lit(0.0)) / F.col("n_tx")).drop(f"_top_{other}")
    names = feature_names(node_type, types)
    if node_type == CARD:
        for other in _crowded(types):
            pairs = tx.filter(F.col(other).isNotNull()).select(CARD, other).distinct()
            crowd = pairs.groupBy(other).agg(F.count(F.lit(1)).cast("double").alias("_crowd"))
            agg = agg.join(pairs.join(crowd, other).groupBy(CARD).agg(
                F.max("_crowd").alias(f"max_cards_per_{other}"), F.avg("_crowd").alias(f"mean_cards_per_{other}")),
                CARD, "left")
        if "first_visit_surprise" in names:
            agg = agg.join(_first_visit_surprise(tx), CARD, "left")
    return agg.select(key, *[F.nanvl(F.coalesce(F.col(n).cast("double"), F.lit(0.0)), F.lit(0.0)).alias(n)
                             for n in names])


def _first_visit_surprise(tx: DataFrame) -> DataFrame:
    """Per card: the most surprising merchant-day among its first visits (features.first_visit_windows: the same
    windows and expectation, the merchant-days brought to the driver for the Poisson tail)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    e = tx.filter(F.col(MERCHANT).isNotNull()).groupBy(CARD, MERCHANT).agg(F.min("ts").alias("first_ts")).select(
        F.col(CARD).alias("src"), F.col(MERCHANT).alias("dst"), F.expr(f"first_ts div {DAY_MS}").alias("day"))
    per_m = e.groupBy("dst").agg(F.count(F.lit(1)).alias("total"), F.min("day").alias("d0")).withColumn(
        "tier", F.floor(F.log2("total")).cast("int"))
    e = e.join(per_m.select("dst", "tier"), "dst")
    tier = Window.partitionBy("tier")
    days = e.groupBy("tier", "day").agg(F.count(F.lit(1)).alias("n")).withColumn(
        "share", F.col("n") / F.sum("n").over(tier))
    days = days.withColumn(  # share of the tier's first visits on day d and on days >= d
        "tail", F.sum("share").over(tier.orderBy(F.col("day").desc()).rowsBetween(Window.unboundedPreceding, 0)))
    win = e.groupBy("dst", "day").agg(F.count(F.lit(1)).alias("c")).join(per_m, "dst").join(
        days.select("tier", "day", "share"), ["tier", "day"]).join(
        days.select("tier", F.col("day").alias("d0"), "tail"), ["tier", "d0"])
    win = win.select("dst", "day", "c", F.greatest(
        (F.col("total") - F.col("c")) * F.col("share") / F.col("tail"), F.lit(0.02)).alias("lam"))
    rows = win.collect()  # one row per merchant-day with first visits: small next to the transactions
    c = np.array([r["c"] for r in rows], dtype=float)
    lam = np.array([r["lam"] for r in rows], dtype=float)
    surprise = poisson_surprise(c, lam) if rows else np.array([])
    spark = tx.sparkSession
    s = spark.createDataFrame([(r["dst"], int(r["day"]), float(x)) for r, x in zip(rows, surprise)],
                              "dst string, day long, s double")
    return e.join(s, ["dst", "day"]).groupBy("src").agg(F.max("s").alias("first_visit_surprise")).withColumnRenamed(
        "src", CARD)
