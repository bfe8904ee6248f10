"""The Spark executor of the input contract: read and validate build-graph's input files on Apache Spark.

Files are fetched by Spark (its binaryFile source: local paths or any Hadoop file system) and parsed on the
executors by validate.parse, the same parser build-graph uses; the contract's canonical columns and row rules
(rules.py, data) are compiled to Spark columns here, as validate.py compiles them to polars expressions. So both
engines quarantine the same rows for the same reasons (tests/test_spark.py runs the fault corpus through both).

write() and read_query() are the Spark engine's door to Neo4j: the Neo4j Connector for Apache Spark running a named
Cypher file (cypher/spark/*), as db.py runs them for everything else.

pyspark is an optional extra: pip install 'graphfraud[spark]'; Java 17 runs it; Maven fetches the connector.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from . import rules as r
from .db import load_cypher
from .errors import GraphfraudError, UsageError
from .locks import build_lock
from .neo4j_server import machine_memory_bytes
from .validate import (IGNORED_DIRS, OPTIONAL, REQUIRED, SourceFile, header_columns, input_format, is_uri,
                       row_as_read)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

FILE = "_file"  # the file a row came from (a local path, or the URI Spark fetched it by)
FILE_INDEX = "_f"  # that file's place in the list given to read(): build-graph's load order
AS_READ = "_as_read"  # the row's columns as read, as JSON (validate.row_as_read: for the quarantine file)
REJECTED_ROW = 0  # _row of the one row standing for a file that could not be parsed (_broken: why)
JARS_DIR = Path(__file__).resolve().parent.parent / "spark"  # pom.xml naming the connector; jars in target/lib
# Java patterns of the timestamp layouts TIMESTAMP admits (rules.TIMESTAMP_FORMATS in chrono, plus the three ways of
# writing a zone that chrono's %#z reads in one): tried in order, the first that parses wins.
SPARK_TIMESTAMP_FORMATS = tuple(f"yyyy-MM-dd{sep}HH:mm:ss[.SSSSSSSSS]{zone}"
                                for sep in ("'T'", " ") for zone in ("XXX", "XX", "X", "")) + ("yyyy-MM-dd",)


def connector_jars() -> list[Path]:
    """The Neo4j Connector for Apache Spark and its dependencies (spark/pom.xml), fetched by Maven the first time."""
    lib = JARS_DIR / "target" / "lib"
    built = JARS_DIR / "target" / ".built"  # written after a whole fetch: a fetch killed half-way is done again
    if not built.exists():
        mvn = shutil.which("mvn")
        if mvn is None:
            raise UsageError("the Spark engine fetches the Neo4j connector with Maven: install maven")
        with build_lock(built.parent):  # two jobs starting at once fetch once; the second waits for the first
            if not built.exists():
                proc = subprocess.run([mvn, "-q", "-B", "-f", str(JARS_DIR / "pom.xml"),
                                       "dependency:copy-dependencies", f"-DoutputDirectory={lib}",
                                       "-DincludeScope=runtime"], capture_output=True, text=True)
                if proc.returncode != 0:
                    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-10:])
                    raise GraphfraudError(f"fetching the Neo4j Spark connector with Maven failed:\n{tail}")
                built.touch()
    return sorted(lib.glob("*.jar"))


def session(master: str | None = "local[2]", app: str = "graphfraud", conf: dict[str, str] | None = None
            ) -> SparkSession:
    """A Spark session for graphfraud: UTC, the strict datetime parser, no web UI, the Neo4j connector's jars on its
    class path; `master` as spark-submit's. None: the session spark-submit launched, whose --jars bring the
    connector. (Jars count only when the JVM starts: a later session in the same process keeps the first's.)"""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError("the Spark engine needs pyspark: pip install 'graphfraud[spark]'") from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors run this interpreter (graphfraud, polars)
    b = SparkSession.builder.appName(app)
    if master is not None:
        b = b.master(master)
    b = (b
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.sql.legacy.timeParserPolicy", "CORRECTED")  # unparseable: null, never the legacy parser
         .config("spark.sql.ansi.enabled", "false")  # a failed cast is null (a rule then names it), not an error
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false"))
    if master is not None and master.startswith("local"):
        b = b.config("spark.sql.shuffle.partitions", "8")  # one machine: not the cluster default of 200
    if master is not None:
        b = b.config("spark.jars", ",".join(str(j) for j in connector_jars()))
    for k, v in (conf or {}).items():
        b = b.config(k, v)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def local_conf(settings: Any, master: str | None) -> dict[str, str]:
    """Session settings for a local master: the driver's heap (in local mode that JVM runs every task too; Spark's
    default of 1g ran out of memory on 1M rows), from the settings or a quarter of the machine's memory within
    1-16g. On a cluster spark-submit sizes the JVMs."""
    if master is None or not master.startswith("local"):
        return {}
    mib = machine_memory_bytes() // 2**20
    auto = f"{min(max(mib // 4, 1024), 16 * 1024)}m"
    return {"spark.driver.memory": auto if settings.spark_driver_memory == "auto" else settings.spark_driver_memory}


def raw_columns(kind: str) -> list[str]:
    """The columns of a file as read (validate.parse), in a fixed order, all strings but _row and _lossy."""
    return [*REQUIRED[kind], *OPTIONAL[kind], r.BROKEN, r.LOSSY, r.ROW, AS_READ]


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
    return df.select(*out, pl.col(r.LOSSY).cast(pl.Boolean), pl.col(r.ROW).cast(pl.Int64),
                     pl.Series(AS_READ, row_as_read(df, kind), dtype=pl.String))


def _parse_files(kind: str, index: dict[str, int]):
    """The executor side: (path, bytes) records of one kind's files -> their rows as read, with the file's path and
    index. A file that cannot be parsed yields one row, _row REJECTED_ROW and _broken the reason, as validate.read
    would raise."""
    def run(records):
        import gzip

        from .validate import parse
        names = raw_columns(kind)
        for rec in records:
            path = local_path(rec["path"])
            fmt = input_format(path)
            try:
                data = bytes(rec["content"])
                if fmt == "csv.gz":
                    data = gzip.decompress(data)
                df = _as_text(parse(data, kind, "parquet" if fmt == "parquet" else "csv", path), kind)
            except (GraphfraudError, OSError, EOFError) as e:
                row = dict.fromkeys(names)
                row.update({r.BROKEN: e.message if isinstance(e, GraphfraudError) else f"{path}: {e}",
                            r.ROW: REJECTED_ROW})
                yield (*row.values(), path, index[file_key(path)])
                continue
            for row in df.iter_rows():
                yield (*row, path, index[file_key(path)])
    return run


def local_path(uri: str) -> str:
    """A path as Spark names it (file:/tmp/x.csv) as a local path (/tmp/x.csv); other URIs unchanged."""
    from urllib.parse import unquote, urlparse
    u = urlparse(uri)
    return unquote(u.path) if u.scheme == "file" else uri


def file_key(path: Path | str) -> str:
    """One name per input file on both sides of Spark (as discovered, as Spark reports it): the resolved local path
    for a local file (given as a path or a file: URI), the URI itself for any other."""
    s = str(path)
    return str(Path(local_path(s)).resolve()) if not is_uri(s) or s.startswith("file:") else s


def file_uri(path: Path | str) -> str:
    """An input file as a URI Spark can read."""
    return str(path) if is_uri(path) else Path(path).resolve().as_uri()


class HadoopFiles:
    """Input files behind any Hadoop-compatible URI (hdfs://, s3a://, abfs://, file:// ...) or local path, listed
    through the session's Hadoop FileSystem, headers read by Spark: validate.discover's file store for the Spark
    engine, so a data lake's folders are discovered, checked and sorted by the same rules as local ones."""

    def __init__(self, spark: SparkSession):
        self.spark = spark
        self.conf = spark._jsc.hadoopConfiguration()

    def _fs(self, uri: Path | str) -> tuple[Any, Any]:
        p = self.spark._jvm.org.apache.hadoop.fs.Path(str(uri))
        return p, p.getFileSystem(self.conf)

    def exists(self, uri: Path | str) -> bool:
        p, fs = self._fs(uri)
        return bool(fs.exists(p))

    def is_dir(self, uri: Path | str) -> bool:
        p, fs = self._fs(uri)
        return bool(fs.getFileStatus(p).isDirectory())

    def under(self, root: Path | str) -> list[str]:
        """Every file under a folder (qualified URIs), sorted, the generator's answer key left out."""
        p, fs = self._fs(root)
        top = fs.makeQualified(p).toString().rstrip("/")
        found, it = [], fs.listFiles(p, True)
        while it.hasNext():
            uri = it.next().getPath().toString()
            if not IGNORED_DIRS & set(uri[len(top) + 1:].split("/")[:-1]):
                found.append(uri)
        return sorted(found)

    def key(self, uri: Path | str) -> str:
        p, fs = self._fs(uri)
        return fs.makeQualified(p).toString()

    def columns(self, uri: Path | str) -> list[str] | None:
        """Column names of a file; None for an empty CSV (as validate's local reader)."""
        try:
            if input_format(uri) == "parquet":
                return list(self.spark.read.parquet(str(uri)).columns)
            first = self.spark.read.text(str(uri)).first()  # Hadoop's codecs undo .gz
            return header_columns(first[0].encode() if first is not None else b"")
        except Exception as e:  # py4j and Spark analysis errors: the file cannot be read
            cause = getattr(e, "java_exception", None)
            while cause is not None and cause.getCause() is not None:  # the JVM's root cause, not Spark's wrappers
                cause = cause.getCause()
            why = cause.toString() if cause is not None else str(e)
            raise GraphfraudError(f"cannot read {uri}: {why}".splitlines()[0]) from None


def read(spark: SparkSession, files: list[SourceFile], kind: str) -> DataFrame:
    """The rows of the files of `kind` among `files` as read, one row per data row, with _file, _f (the file's place
    in `files`) and _as_read: Spark fetches the bytes, validate.parse reads them on the executors. A file it cannot
    parse is one row with _row REJECTED_ROW."""
    from pyspark.sql.types import BooleanType, IntegerType, LongType, StringType, StructField, StructType
    schema = StructType([StructField(c, BooleanType() if c == r.LOSSY else LongType() if c == r.ROW else StringType())
                         for c in raw_columns(kind)] + [StructField(FILE, StringType()),
                                                        StructField(FILE_INDEX, IntegerType())])
    index = {file_key(f.path): i for i, f in enumerate(files)}
    paths = [file_uri(f.path) for f in files if f.kind == kind]
    if not paths:
        return spark.createDataFrame([], schema)
    blobs = spark.read.format("binaryFile").load(paths)
    return spark.createDataFrame(blobs.rdd.mapPartitions(_parse_files(kind, index)), schema)


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


def check(df: DataFrame, kind: str, p: r.Plausibility = r.Plausibility(), now: datetime | None = None,
          keep: tuple[str, ...] = ()) -> DataFrame:
    """validate.check on Spark: the rows as read (read()) in canonical form with `reason` (null: a good row), _file
    _f and _as_read (and the columns in `keep`); the same columns, values and reasons as rules.polars_check, row for
    row."""
    from pyspark.sql import functions as F
    canon = df.select(*[canon_column(c) for c in r.canonical(kind)], F.col(FILE), F.col(FILE_INDEX), F.col(AS_READ), *keep)
    joined = F.concat_ws("; ", *[F.when(cond_column(x.breaks), F.lit(x.reason)) for x in r.row_rules(kind, p, now)])
    reason = F.coalesce(F.col(r.BROKEN), F.when(joined != "", joined))
    return canon.withColumn("reason", reason).drop(r.BROKEN, r.AMOUNT_TEXT)


def to_polars(df: DataFrame) -> pl.DataFrame:
    """A (small) Spark DataFrame collected into polars, column types as Spark's."""
    from pyspark.sql.types import BooleanType, DoubleType, LongType
    types = {LongType: pl.Int64, DoubleType: pl.Float64, BooleanType: pl.Boolean}
    schema = {f.name: types.get(type(f.dataType), pl.String) for f in df.schema.fields}
    return pl.DataFrame([tuple(x) for x in df.collect()], schema=schema, orient="row")


def connector_options(settings: Any) -> dict[str, str]:
    """The Neo4j Connector's options for the configured database (credentials from the settings, never logged)."""
    opts = {"url": settings.uri, "database": settings.neo4j_database,
            "authentication.type": "basic", "authentication.basic.username": settings.neo4j_user,
            "authentication.basic.password": settings.password() or ""}
    return opts


def write(df: DataFrame, settings: Any, cypher: str, batch_size: int = 5000, retries: int = 20) -> None:
    """Write the rows of `df` with the named Cypher file (cypher/<name>.cypher) through the Neo4j Connector's query
    mode: every row is `event`, a batch per transaction; deadlocks between executors are retried."""
    opts = {**connector_options(settings), "query": load_cypher(cypher), "batch.size": str(batch_size),
            "transaction.retries": str(retries), "transaction.retry.timeout": "100"}
    df.write.format("org.neo4j.spark.DataSource").mode("Append").options(**opts).save()


def read_query(spark: SparkSession, settings: Any, cypher: str, schema: str) -> DataFrame:
    """The rows of a named read query (no parameters) through the Neo4j Connector, with the given Spark schema
    (a DDL string), so an empty answer still has its columns."""
    df = (spark.read.format("org.neo4j.spark.DataSource").options(**connector_options(settings))
          .option("query", load_cypher(cypher)).option("schema.strategy", "string").load())
    if df.rdd.isEmpty():
        return spark.createDataFrame([], schema)
    from pyspark.sql import functions as F
    cols = [x.strip().split() for x in schema.split(",")]
    return df.select(*[F.col(n).cast(t) for n, t in cols])
