"""Find, read and validate build-graph input files with polars, before anything is written.

Files are sorted into kinds (transactions, chargebacks, labels) by folder name or by columns; every file's
header is checked first; then each file is read (CSV as all-strings, so nothing is lost), and its rows are
split into good rows (canonical types) and bad rows (with a reason), which go to quarantine.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
from dataclasses import dataclass
from typing import Protocol
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import polars as pl

from .config import Settings
from .errors import GraphfraudError, UsageError
from .registry import OPTIONAL_ENTITIES
from .rules import BROKEN, LOSSY, NON_UTF8, ROW, TOO_LONG, Plausibility, polars_check  # noqa: F401 (re-exported)

# Columns each kind must have (extra columns are ignored).
REQUIRED: dict[str, list[str]] = {
    "transactions": ["transaction_id", "timestamp", "card_id", "merchant_id", "amount", "currency", "mcc", "country",
                     "channel", "status"],
    "chargebacks": ["transaction_id", "reported_at"],
    "labels": ["entity_type", "entity_id", "label", "labelled_at"],
}
# Optional entity columns of transactions (graphfraud/registry.py): device_id, ip, email, phone, shipping_address.
# Absent from a file, or empty in a row, they are null: the transaction simply has no such entity.
OPTIONAL: dict[str, list[str]] = {"transactions": [e.column for e in OPTIONAL_ENTITIES], "chargebacks": [],
                                  "labels": []}
# Columns hashed into content_hash even when empty (the contract before identity columns); other optional columns
# are hashed only when present, so rows written before them keep their hash.
HASHED_ALWAYS = ("device_id", "ip")
KIND_ORDER = ["transactions", "chargebacks", "labels"]  # transactions first: chargebacks refer to them
IGNORED_DIRS = {"truth"}  # the generator's answer key: never read
# Loadable files by their lower-cased ending (longest first): CSV, gzip-compressed CSV, Parquet.
FORMATS = {".csv.gz": "csv.gz", ".parquet": "parquet", ".csv": "csv"}
UNSUPPORTED = "not a .csv, .csv.gz or .parquet file (extensions in any case); compress CSV with gzip or convert it"


def plausibility(settings: Settings) -> Plausibility:
    """The plausibility rules a user configured (settings plausible_*)."""
    return Plausibility(settings.plausible_min_time, settings.plausible_max_future_days, settings.plausible_max_amount)


@dataclass(frozen=True)
class SourceFile:
    path: Path | str  # a local path, or a URI (hdfs://, s3a:// ... read by the Spark engine only)
    kind: str  # one of KIND_ORDER


def is_uri(path: Path | str) -> bool:
    """Whether an input path is a URI with a scheme (hdfs://nn/x, s3a://b/x, file:///x), not a local path."""
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:/", str(path)))


def posix(path: Path | str) -> PurePosixPath:
    """The path part of a local path or a URI, for its name and its folder's name."""
    return PurePosixPath(urlparse(str(path)).path) if is_uri(path) else PurePosixPath(Path(path))


def input_format(path: Path | str) -> str | None:
    """"csv", "csv.gz" or "parquet" by the file's ending in any case (2026-01-01.CSV, day.csv.GZ), else None."""
    name = posix(path).name.lower()
    return next((fmt for ending, fmt in FORMATS.items() if name.endswith(ending)), None)


def _open(path: Path):
    """The file's bytes as a binary stream, gzip-decompressed for .csv.gz."""
    return gzip.open(path, "rb") if input_format(path) == "csv.gz" else path.open("rb")


def header_columns(first_line: bytes) -> list[str] | None:
    """Column names from a CSV file's first line; None for an empty (0-byte or header-less) file."""
    if not first_line.strip():
        return None
    return pl.read_csv(io.BytesIO(first_line), infer_schema=False, encoding="utf8-lossy", n_rows=0).columns


def _columns(path: Path) -> list[str] | None:
    """Column names of a file; None for an empty (0-byte or header-less) CSV."""
    try:
        if input_format(path) == "parquet":
            return list(pl.read_parquet_schema(path).keys())
        with _open(path) as f:
            return header_columns(f.readline())
    except (OSError, EOFError, pl.exceptions.PolarsError) as e:
        raise GraphfraudError(f"cannot read {path}: {e}".splitlines()[0]) from None


def _kind_of(path: Path | str, columns: list[str] | None) -> str:
    """The kind of a file: its folder's name when that is a kind, else the kind whose columns it has."""
    if posix(path).parent.name in REQUIRED:
        return posix(path).parent.name
    for kind in KIND_ORDER:
        if columns is not None and set(REQUIRED[kind]) <= set(columns):
            return kind
    if columns is None:
        return "transactions"  # an empty file outside a kind folder: nothing to load either way
    missing = [c for c in REQUIRED["transactions"] if c not in columns]
    raise UsageError(f"{path}: not a transactions, chargebacks or labels file "
                     f"(as transactions it lacks {', '.join(missing)}); put it in a folder named after its kind")


class FileStore(Protocol):
    """Where input files live, as discover needs it: LocalFiles here, spark.HadoopFiles for Hadoop URIs."""

    def exists(self, p: Path | str) -> bool: ...

    def is_dir(self, p: Path | str) -> bool: ...

    def under(self, root: Path | str) -> list: ...

    def key(self, p: Path | str) -> Path | str: ...

    def columns(self, p: Path | str) -> list[str] | None: ...


class LocalFiles:
    """Input files on this machine's file system (spark.HadoopFiles: behind any Hadoop-compatible URI)."""

    def exists(self, p: Path | str) -> bool:
        return Path(p).exists()

    def is_dir(self, p: Path | str) -> bool:
        return Path(p).is_dir()

    def under(self, root: Path | str) -> list[Path]:
        """Every file under a folder, sorted, the generator's answer key left out."""
        root = Path(root)
        return sorted(p for p in root.rglob("*")
                      if p.is_file() and not IGNORED_DIRS & set(p.relative_to(root).parts[:-1]))

    def key(self, p: Path | str) -> Path:
        """One name per file, however it was given."""
        return Path(p).resolve()

    def columns(self, p: Path | str) -> list[str] | None:
        return _columns(Path(p))


@dataclass
class Inputs:
    """What discovery found: the files to load (in load order), the files that are not input files at all (skipped),
    and input files unusable as a whole (rejected: unreadable, or not of the contract's shape), each with why."""

    files: list[SourceFile]
    skipped: list[tuple[Path, str]]
    rejected: list[tuple[Path, str]]


def discover(paths: list[Path] | list[str], store: FileStore | None = None) -> Inputs:
    """Every input file under `paths` with its kind, headers checked, in load order (kind, then name). A file whose
    header cannot be read or lacks required columns is rejected as a whole, with the reason; the others load.

    Raises UsageError (nothing written) only for a path that does not exist or that is the generator's answer key.
    `store`: where the files live (local by default; spark.HadoopFiles for URIs), the rules being the same.
    """
    store = store or LocalFiles()
    found: dict[Path | str, None] = {}
    skipped: list[tuple[Path | str, str]] = []
    for p in paths:
        p = p if is_uri(p) else Path(p)
        if not store.exists(p):
            raise UsageError(f"{p} does not exist")
        if store.is_dir(p):
            if posix(p).name in IGNORED_DIRS:
                raise UsageError(f"{p} is the generator's answer key; build-graph never reads truth/")
            every = store.under(p)
            for f in every:
                if input_format(f):
                    found[store.key(f)] = None
            skipped += [(f, UNSUPPORTED) for f in every if not input_format(f)]
        elif not input_format(p):
            raise UsageError(f"{p}: {UNSUPPORTED}")
        elif posix(p).parent.name in IGNORED_DIRS:
            raise UsageError(f"{p} is in the generator's answer key; build-graph never reads truth/")
        else:
            found[store.key(p)] = None
    files, rejected = [], []
    for path in found:
        try:
            cols = store.columns(path)
            kind = _kind_of(path, cols)
        except GraphfraudError as e:  # UsageError included: not a file of any kind
            rejected.append((path, e.message))
            continue
        missing = [c for c in REQUIRED[kind] if cols is not None and c not in cols]
        if missing:
            rejected.append((path, f"{kind} file lacks column(s) {', '.join(missing)}"))
            continue
        files.append(SourceFile(path, kind))
    files.sort(key=lambda f: (KIND_ORDER.index(f.kind), posix(f.path).name, str(f.path)))
    return Inputs(files, skipped, rejected)


def estimate_rows(f: SourceFile) -> int:
    """Data rows in a file, cheaply (parquet metadata; CSV line count), for the progress bar."""
    if input_format(f.path) == "parquet":
        return pl.scan_parquet(f.path).select(pl.len()).collect().item()  # answered from the file's metadata
    with _open(f.path) as fh:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 22), b""))
    return max(lines - 1, 0)


def read(f: SourceFile) -> pl.DataFrame:
    """The file's required and optional columns as read (CSV: all strings; parquet: its types; an optional column the
    file lacks: null strings), plus _row and _lossy."""
    try:
        with _open(f.path) as fh:
            data = fh.read()
    except (OSError, EOFError) as e:
        raise GraphfraudError(f"{f.path} is not a readable {input_format(f.path)} file: "
                              f"{str(e).splitlines()[0]}") from None
    return parse(data, f.kind, "parquet" if input_format(f.path) == "parquet" else "csv", str(f.path))


def parse(data: bytes, kind: str, fmt: str, name: str) -> pl.DataFrame:
    """read() on a file's (decompressed) bytes, `fmt` "csv" or "parquet": so an engine that fetches files itself
    (spark.py, from any Hadoop file system) parses them exactly as build-graph does. `name` is for messages."""
    try:
        if fmt == "parquet":
            present = list(pl.read_parquet_schema(io.BytesIO(data)).keys())
        else:
            first = data.split(b"\n", 1)[0]
            present = pl.read_csv(io.BytesIO(first), infer_schema=False, encoding="utf8-lossy",
                                  n_rows=0).columns if first.strip() else []
        cols = REQUIRED[kind] + [c for c in OPTIONAL[kind] if c in present]
        missing = [c for c in OPTIONAL[kind] if c not in present]
        if fmt == "parquet":
            df = pl.read_parquet(io.BytesIO(data), columns=cols)
            lossy = pl.lit(False)
        else:
            raw = data
            if not raw.strip():  # an empty file: no header, no rows
                empty = pl.DataFrame(schema={**{c: pl.String for c in cols + missing}, BROKEN: pl.String,
                                             LOSSY: pl.Boolean})
                return empty.with_row_index(ROW, offset=1)
            try:
                raw.decode("utf-8")
                utf8 = True
            except UnicodeDecodeError:
                utf8 = False
            try:
                df = pl.read_csv(io.BytesIO(raw), infer_schema=False, encoding="utf8-lossy", columns=cols)
                # polars pads a row with too few fields with nulls: a null in the rightmost REQUIRED column may be
                # such a row, so the file is read line by line to tell a short row from an empty field (optional
                # columns, often empty everywhere, do not trigger the slow path)
                last = max((c for c in REQUIRED[kind] if c in present), key=present.index, default=None)
                if last in df.columns and df[last].null_count():
                    df = _csv_lines(raw, cols)
            except pl.exceptions.PolarsError:  # a broken row (extra fields, a stray quote): line by line instead
                df = _csv_lines(raw, cols)
            # Rows of a non-UTF-8 file that hold a replacement character had undecodable bytes.
            lossy = pl.any_horizontal(pl.col(c).str.contains("\ufffd", literal=True).fill_null(False)
                                      for c in cols) if not utf8 else pl.lit(False)
    except (pl.exceptions.PolarsError, OSError, EOFError) as e:
        raise GraphfraudError(f"{name} is not a readable {fmt} file: {str(e).splitlines()[0]}") from None
    # An all-empty parquet column may be typed Null: entity ids are strings whatever the file says.
    df = df.with_columns(*[pl.col(c).cast(pl.String) for c in OPTIONAL[kind] if c in cols],
                         *[pl.lit(None, pl.String).alias(c) for c in missing])
    if BROKEN not in df.columns:
        df = df.with_columns(pl.lit(None, pl.String).alias(BROKEN))
    return df.with_columns(lossy.alias(LOSSY)).with_row_index(ROW, offset=1)


def _csv_lines(raw: bytes, cols: list[str]) -> pl.DataFrame:
    """A CSV that polars refuses, parsed line by line: a line that does not split into the header's fields (extra or
    missing fields, an unterminated quote) becomes a row with only _broken set (why, line number, the raw line), so
    the rest of the file still loads. Quoted fields spanning lines are read as broken here."""
    lines = [line for line in raw.decode("utf-8", errors="replace").splitlines()]
    header = next(csv.reader([lines[0]]))
    where = {c: header.index(c) for c in cols}
    data: dict[str, list] = {c: [] for c in cols}
    broken: list[str | None] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        why = None
        try:
            fields = next(csv.reader([line], strict=True))
            if len(fields) != len(header):
                why = f"{len(fields)} fields where the header has {len(header)}"
        except csv.Error as e:
            why = f"unparseable ({e})"
        broken.append(f"structurally broken row (file line {number}: {why}): {line[:1000]}" if why else None)
        for c in cols:
            data[c].append(None if why else fields[where[c]])
    return pl.DataFrame({**data, BROKEN: broken}, schema={**{c: pl.String for c in cols}, BROKEN: pl.String})


def row_as_read(df: pl.DataFrame, kind: str) -> pl.Series:
    """Each row's required columns as read, as a JSON object (for the quarantine file)."""
    return df.select(pl.struct([pl.col(c).cast(pl.String) for c in REQUIRED[kind] + OPTIONAL[kind]])
                     .struct.json_encode()).to_series()


def content_hash(df: pl.DataFrame) -> list[int]:
    """A stable hash of each canonical transaction row: tells 'already present' from 'same id, other content'.

    Built from exact values (epoch ms, the float's bit pattern), so a row reads the same from CSV or parquet.
    """
    extra = [pl.when(pl.col(c).is_null()).then(pl.lit("")).otherwise(pl.lit(f"\x1f{c}=") + pl.col(c))
             for c in OPTIONAL["transactions"] if c not in HASHED_ALWAYS]
    keys = df.select(pl.concat_str([pl.concat_str(
        [pl.col("transaction_id"), pl.col("ts").cast(pl.String), pl.col("card_id"), pl.col("merchant_id"),
         *[pl.col(c).fill_null("") for c in HASHED_ALWAYS],
         pl.col("amount").reinterpret(signed=True).cast(pl.String), pl.col("currency").fill_null(""),
         pl.col("mcc").fill_null(""), pl.col("country").fill_null(""), pl.col("channel"), pl.col("status")],
        separator="\x1f"), *extra])).to_series()
    # 64 bits, as a signed int: stored inline in Neo4j, and only ever compared between rows of the same id.
    return [int.from_bytes(hashlib.blake2b(k.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big",
                           signed=True) for k in keys]


def check(df: pl.DataFrame, kind: str, rules: Plausibility = Plausibility()) -> pl.DataFrame:
    """The rows in canonical form with a `reason` column (null for good rows), in file order: the contract's rules
    (rules.py) run by polars.

    transactions: transaction_id, the entity columns (card_id, merchant_id, device_id, ip, ...: see registry.py),
    currency, mcc, country, channel, status, ts (epoch ms), amount (f64); chargebacks: transaction_id, ms;
    labels: entity_type, entity_id, label, ms.
    """
    return polars_check(df, kind, rules)
