"""The Spark executor of the input contract: read and validate build-graph's input files on Apache Spark.

Files are fetched by Spark (its binaryFile source: local paths or any Hadoop file system) and parsed on the
executors by validate.parse, the same parser build-graph uses; the contract's canonical columns and row rules
(rules.py, data) are compiled to Spark columns here, as validate.py compiles them to polars expressions. So both
engines quarantine the same rows for the same reasons (tests/test_spark.py runs the fault corpus through both).

pyspark is an optional extra: pip install 'graphfraud[spark]'; Java 17 runs it.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from . import rules as r
from .errors import UsageError
from .validate import OPTIONAL, REQUIRED, SourceFile, input_format

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

FILE = "_file"  # the file a row came from, as the path Spark fetched it by
# Java patterns of the timestamp layouts TIMESTAMP admits (rules.TIMESTAMP_FORMATS in chrono, plus the three ways of
# writing a zone that chrono's %#z reads in one): tried in order, the first that parses wins.
SPARK_TIMESTAMP_FORMATS = tuple(f"yyyy-MM-dd{sep}HH:mm:ss[.SSSSSSSSS]{zone}"
                                for sep in ("'T'", " ") for zone in ("XXX", "XX", "X", "")) + ("yyyy-MM-dd",)


def session(master: str = "local[2]", app: str = "graphfraud", conf: dict[str, str] | None = None) -> SparkSession:
    """A Spark session for graphfraud: UTC, the strict datetime parser, no web UI; `master` as spark-submit's."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError("the Spark engine needs pyspark: pip install 'graphfraud[spark]'") from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors run this interpreter (graphfraud, polars)
    b = (SparkSession.builder.master(master).appName(app)
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.sql.legacy.timeParserPolicy", "CORRECTED")  # unparseable: null, never the legacy parser
         .config("spark.sql.ansi.enabled", "false")  # a failed cast is null (a rule then names it), not an error
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false"))
    for k, v in (conf or {}).items():
        b = b.config(k, v)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def raw_columns(kind: str) -> list[str]:
    """The columns of a file as read (validate.parse), in a fixed order, all strings but _row and _lossy."""
    return [*REQUIRED[kind], *OPTIONAL[kind], r.BROKEN, r.LOSSY, r.ROW]


def _as_text(df: pl.DataFrame, kind: str) -> pl.DataFrame:
    """A parsed file with every data column as a string that parses back to the same value: datetimes as UTC
    ISO-8601 with 'Z', dates as ISO dates, numbers in polars' shortest round-trip form."""
    out = []
    for c in [*REQUIRED[kind], *OPTIONAL[kind], r.BROKEN]:
        dt = df.schema[c]
        if isinstance(dt, pl.Datetime):
            col = pl.col(c).dt.convert_time_zone("UTC") if dt.time_zone else pl.col(c)
            out.append(col.dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ").alias(c))
        elif dt == pl.Date:
            out.append(pl.col(c).dt.strftime("%Y-%m-%d").alias(c))
        else:
            out.append(pl.col(c).cast(pl.String))
    return df.select(*out, pl.col(r.LOSSY).cast(pl.Boolean), pl.col(r.ROW).cast(pl.Int64))


def _parse_files(kind: str):
    """The executor side: (path, bytes) records of one kind's files -> their rows as read, with the file's path."""
    def run(records):
        import gzip

        from .validate import parse
        for rec in records:
            path, data = rec["path"], bytes(rec["content"])
            fmt = input_format(Path(path))
            if fmt == "csv.gz":
                data = gzip.decompress(data)
            df = _as_text(parse(data, kind, "parquet" if fmt == "parquet" else "csv", path), kind)
            for row in df.iter_rows():
                yield (*row, path)
    return run


def read(spark: SparkSession, files: list[SourceFile], kind: str) -> DataFrame:
    """The rows of `files` (all of `kind`) as read, one row per data row, with _file: Spark fetches the bytes,
    validate.parse reads them on the executors."""
    from pyspark.sql.types import BooleanType, LongType, StringType, StructField, StructType
    schema = StructType([StructField(c, BooleanType() if c == r.LOSSY else LongType() if c == r.ROW else StringType())
                         for c in raw_columns(kind)] + [StructField(FILE, StringType())])
    paths = [Path(f.path).resolve().as_uri() for f in files if f.kind == kind]
    if not paths:
        return spark.createDataFrame([], schema)
    blobs = spark.read.format("binaryFile").load(paths)
    return spark.createDataFrame(blobs.rdd.mapPartitions(_parse_files(kind)), schema)


def canon_column(c: r.Canon) -> Column:
    """One canonical column as a Spark column over the file as read (all strings)."""
    from pyspark.sql import functions as F
    if isinstance(c, r.Keep):
        return F.col(c.name)
    if isinstance(c, r.Text):
        return F.when(F.col(c.name) != "", F.col(c.name)).alias(c.out or c.name)  # "" and null: null
    if isinstance(c, r.AsText):
        return F.col(c.name).alias(c.out)
    if isinstance(c, r.Number):
        return F.when(F.col(c.name).rlike(r.NUMBER), F.col(c.name).cast("double")).alias(c.out)
    s = F.regexp_replace(F.col(c.name), r.STRIP, "")
    ts = F.coalesce(*[F.to_timestamp(s, f) for f in SPARK_TIMESTAMP_FORMATS])
    ms = F.floor(F.unix_micros(ts) / 1000).cast("long")
    return F.when(s.rlike(r.TIMESTAMP), ms).alias(c.out)


def cond_column(c: r.Cond) -> Column:
    """A rule's condition as a Spark boolean column (null counts as false where it is used: F.when)."""
    from pyspark.sql import functions as F
    if isinstance(c, r.IsNull):
        return F.col(c.col).isNull()
    if isinstance(c, r.IsTrue):
        return F.col(c.col)
    if isinstance(c, r.Blank):
        return F.col(c.col).isNull() | F.col(c.col).rlike(r.BLANK)
    if isinstance(c, r.NotIn):
        out = ~F.col(c.col).isin(list(c.values))
        return F.coalesce(out, F.lit(True)) if c.null_breaks else F.col(c.col).isNotNull() & out
    if isinstance(c, r.NoMatch):
        hit = F.lit(False)
        for p in c.patterns:
            hit = hit | F.col(c.col).rlike(p)
        return F.col(c.col).isNotNull() & ~hit
    if isinstance(c, r.AnyMatch):
        hit = F.lit(False)
        for x in c.cols:
            hit = hit | F.coalesce(F.col(x).rlike(c.pattern), F.lit(False))
        return hit
    if isinstance(c, r.Compare):
        x = F.col(c.col)  # Spark orders NaN above every number, as polars does
        return {"<": x < c.bound, ">": x > c.bound, "<=": x <= c.bound}[c.op]
    if isinstance(c, r.FiniteAbove):
        x = F.col(c.col)
        return ~F.isnan(x) & (F.abs(x) != float("inf")) & (x > c.bound)
    if isinstance(c, r.IsNaN):
        return F.isnan(F.col(c.col))
    if isinstance(c, r.IsInfinite):
        return F.abs(F.col(c.col)) == float("inf")
    if isinstance(c, r.LongerThan):
        return F.greatest(*[F.coalesce(F.octet_length(x), F.lit(0)) for x in c.cols], F.lit(0)) > c.max_bytes
    if isinstance(c, r.AllOf):
        out = F.lit(True)
        for x in c.conds:
            out = out & cond_column(x)
        return out
    if isinstance(c, r.Not):
        return ~cond_column(c.cond)
    raise TypeError(f"not a rule condition: {c!r}")


def check(df: DataFrame, kind: str, p: r.Plausibility = r.Plausibility(), now: datetime | None = None) -> DataFrame:
    """validate.check on Spark: the rows as read (read()) in canonical form with `reason` (null: a good row) and
    _file; the same columns, values and reasons as rules.polars_check, row for row."""
    from pyspark.sql import functions as F
    canon = df.select(*[canon_column(c) for c in r.canonical(kind)], F.col(FILE))
    joined = F.concat_ws("; ", *[F.when(cond_column(x.breaks), F.lit(x.reason)) for x in r.row_rules(kind, p, now)])
    reason = F.coalesce(F.col(r.BROKEN), F.when(joined != "", joined))
    return canon.withColumn("reason", reason).drop(r.BROKEN, r.AMOUNT_TEXT)


def to_polars(df: DataFrame) -> pl.DataFrame:
    """A (small) Spark DataFrame collected into polars, column types as Spark's."""
    from pyspark.sql.types import BooleanType, DoubleType, LongType
    types = {LongType: pl.Int64, DoubleType: pl.Float64, BooleanType: pl.Boolean}
    schema = {f.name: types.get(type(f.dataType), pl.String) for f in df.schema.fields}
    return pl.DataFrame([tuple(x) for x in df.collect()], schema=schema, orient="row")


def check_files(spark: SparkSession, files: list[SourceFile], p: r.Plausibility = r.Plausibility(),
                now: datetime | None = None) -> dict[str, Any]:
    """Every file read and checked on Spark, per kind (a lazy Spark DataFrame each)."""
    return {kind: check(read(spark, files, kind), kind, p, now) for kind in REQUIRED}
