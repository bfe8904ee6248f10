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
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from .codes import COUNTRIES, CURRENCIES
from .config import Settings
from .errors import GraphfraudError, UsageError
from .registry import ENTITIES, ENTITY_NAMES, OPTIONAL_ENTITIES

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
ENTITY_COLUMNS = [e.column for e in ENTITIES]
# Columns hashed into content_hash even when empty (the contract before identity columns); other optional columns
# are hashed only when present, so rows written before them keep their hash.
HASHED_ALWAYS = ("device_id", "ip")
KIND_ORDER = ["transactions", "chargebacks", "labels"]  # transactions first: chargebacks refer to them
IGNORED_DIRS = {"truth"}  # the generator's answer key: never read
# Loadable files by their lower-cased ending (longest first): CSV, gzip-compressed CSV, Parquet.
FORMATS = {".csv.gz": "csv.gz", ".parquet": "parquet", ".csv": "csv"}
UNSUPPORTED = "not a .csv, .csv.gz or .parquet file (extensions in any case); compress CSV with gzip or convert it"
CHANNELS = ["ecom", "pos"]
STATUSES = ["approved", "declined"]
ENTITY_TYPES = list(ENTITY_NAMES)
LABELS = ["fraud", "legit"]
NON_UTF8 = "non-UTF-8 bytes (read with U+FFFD replacement)"
MAX_ID_BYTES = 8000  # Neo4j's range index refuses keys of about 8 KiB and more
TOO_LONG = f"an id is longer than {MAX_ID_BYTES} bytes (Neo4j index limit)"
ROW = "_row"  # 1-based data row number within its file (header excluded)
LOSSY = "_lossy"  # the row held bytes that were not UTF-8
BROKEN = "_broken"  # a structurally broken CSV line: why, with the raw line (null for rows that parsed)


@dataclass(frozen=True)
class Plausibility:
    """Bounds a transaction must meet to load; a row outside them is quarantined with the reason, so nothing out of
    range can move the default cut-off or overflow a sum. Configurable (settings plausible_*)."""

    min_time: str = "2000-01-01"  # earliest timestamp (ISO date, UTC)
    max_future_days: float = 1.0  # latest timestamp: this many days after now
    max_amount: float = 1e9  # largest amount, in the payment's currency


def plausibility(settings: Settings) -> Plausibility:
    """The plausibility rules a user configured (settings plausible_*)."""
    return Plausibility(settings.plausible_min_time, settings.plausible_max_future_days, settings.plausible_max_amount)


IPV4 = r"^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$"
IPV6 = r"^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$"  # hex groups and colons (an embedded IPv4 tail allowed)
CONTROL = r"[\x00-\x1f\x7f]"  # ids are printable text


@dataclass(frozen=True)
class SourceFile:
    path: Path
    kind: str  # one of KIND_ORDER


def input_format(path: Path) -> str | None:
    """"csv", "csv.gz" or "parquet" by the file's ending in any case (2026-01-01.CSV, day.csv.GZ), else None."""
    name = Path(path).name.lower()
    return next((fmt for ending, fmt in FORMATS.items() if name.endswith(ending)), None)


def _open(path: Path):
    """The file's bytes as a binary stream, gzip-decompressed for .csv.gz."""
    return gzip.open(path, "rb") if input_format(path) == "csv.gz" else path.open("rb")


def _columns(path: Path) -> list[str] | None:
    """Column names of a file; None for an empty (0-byte or header-less) CSV."""
    try:
        if input_format(path) == "parquet":
            return list(pl.read_parquet_schema(path).keys())
        with _open(path) as f:
            first = f.readline()
        if not first.strip():
            return None
        return pl.read_csv(io.BytesIO(first), infer_schema=False, encoding="utf8-lossy", n_rows=0).columns
    except (OSError, EOFError, pl.exceptions.PolarsError) as e:
        raise GraphfraudError(f"cannot read {path}: {e}".splitlines()[0]) from None


def _kind_of(path: Path, columns: list[str] | None) -> str:
    """The kind of a file: its folder's name when that is a kind, else the kind whose columns it has."""
    if path.parent.name in REQUIRED:
        return path.parent.name
    for kind in KIND_ORDER:
        if columns is not None and set(REQUIRED[kind]) <= set(columns):
            return kind
    if columns is None:
        return "transactions"  # an empty file outside a kind folder: nothing to load either way
    missing = [c for c in REQUIRED["transactions"] if c not in columns]
    raise UsageError(f"{path}: not a transactions, chargebacks or labels file "
                     f"(as transactions it lacks {', '.join(missing)}); put it in a folder named after its kind")


def _files_under(root: Path) -> tuple[list[Path], list[Path]]:
    """(loadable files, other files) under a folder, the generator's answer key left out."""
    every = sorted(p for p in root.rglob("*") if p.is_file() and not IGNORED_DIRS & set(p.relative_to(root).parts[:-1]))
    return [p for p in every if input_format(p)], [p for p in every if not input_format(p)]


@dataclass
class Inputs:
    """What discovery found: the files to load (in load order), the files that are not input files at all (skipped),
    and input files unusable as a whole (rejected: unreadable, or not of the contract's shape), each with why."""

    files: list[SourceFile]
    skipped: list[tuple[Path, str]]
    rejected: list[tuple[Path, str]]


def discover(paths: list[Path]) -> Inputs:
    """Every input file under `paths` with its kind, headers checked, in load order (kind, then name). A file whose
    header cannot be read or lacks required columns is rejected as a whole, with the reason; the others load.

    Raises UsageError (nothing written) only for a path that does not exist or that is the generator's answer key.
    """
    found: dict[Path, None] = {}
    skipped: list[tuple[Path, str]] = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise UsageError(f"{p} does not exist")
        if p.is_dir():
            if p.name in IGNORED_DIRS:
                raise UsageError(f"{p} is the generator's answer key; build-graph never reads truth/")
            loadable, other = _files_under(p)
            for f in loadable:
                found[f.resolve()] = None
            skipped += [(f, UNSUPPORTED) for f in other]
        elif not input_format(p):
            raise UsageError(f"{p}: {UNSUPPORTED}")
        elif p.parent.name in IGNORED_DIRS:
            raise UsageError(f"{p} is in the generator's answer key; build-graph never reads truth/")
        else:
            found[p.resolve()] = None
    files, rejected = [], []
    for path in found:
        try:
            cols = _columns(path)
            kind = _kind_of(path, cols)
        except GraphfraudError as e:  # UsageError included: not a file of any kind
            rejected.append((path, e.message))
            continue
        missing = [c for c in REQUIRED[kind] if cols is not None and c not in cols]
        if missing:
            rejected.append((path, f"{kind} file lacks column(s) {', '.join(missing)}"))
            continue
        files.append(SourceFile(path, kind))
    files.sort(key=lambda f: (KIND_ORDER.index(f.kind), f.path.name, str(f.path)))
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
    present = _columns(f.path) or []
    cols = REQUIRED[f.kind] + [c for c in OPTIONAL[f.kind] if c in present]
    missing = [c for c in OPTIONAL[f.kind] if c not in present]
    try:
        if input_format(f.path) == "parquet":
            df = pl.read_parquet(f.path, columns=cols)
            lossy = pl.lit(False)
        else:
            with _open(f.path) as fh:
                raw = fh.read()
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
                last = max((c for c in REQUIRED[f.kind] if c in present), key=present.index, default=None)
                if last in df.columns and df[last].null_count():
                    df = _csv_lines(raw, cols)
            except pl.exceptions.PolarsError:  # a broken row (extra fields, a stray quote): line by line instead
                df = _csv_lines(raw, cols)
            # Rows of a non-UTF-8 file that hold a replacement character had undecodable bytes.
            lossy = pl.any_horizontal(pl.col(c).str.contains("\ufffd", literal=True).fill_null(False)
                                      for c in cols) if not utf8 else pl.lit(False)
    except (pl.exceptions.PolarsError, OSError, EOFError) as e:
        raise GraphfraudError(f"{f.path} is not a readable {input_format(f.path)} file: "
                              f"{str(e).splitlines()[0]}") from None
    # An all-empty parquet column may be typed Null: entity ids are strings whatever the file says.
    df = df.with_columns(*[pl.col(c).cast(pl.String) for c in OPTIONAL[f.kind] if c in cols],
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


def _text(name: str) -> pl.Expr:
    """A column as a string, empty meaning null."""
    c = pl.col(name).cast(pl.String)
    return pl.when(c == "").then(None).otherwise(c)


def _epoch_ms(df: pl.DataFrame, name: str) -> pl.Expr:
    """A timestamp column as UTC epoch milliseconds (Int64); null when it cannot be parsed.

    Strings: ISO-8601 with 'Z' or an offset, or without a zone (taken as UTC), 'T' or ' ' between date and time,
    or a date alone (midnight UTC).
    """
    dtype = df.schema[name]
    if isinstance(dtype, pl.Datetime):
        col = pl.col(name) if dtype.time_zone else pl.col(name).dt.replace_time_zone("UTC")
        return col.dt.epoch("ms")
    if dtype == pl.Date:
        return pl.col(name).cast(pl.Datetime("ms")).dt.epoch("ms")
    s = pl.col(name).cast(pl.String).str.strip_chars()
    parsed = [s.str.to_datetime(fmt, time_zone="UTC", time_unit="ms", strict=False)
              for fmt in ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f%#z",
                          "%Y-%m-%d %H:%M:%S%.f")]
    date_only = s.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("ms", "UTC"))
    return pl.coalesce([*parsed, date_only]).dt.epoch("ms")


def _too_long(*cols: str) -> pl.Expr:
    return pl.any_horizontal(pl.col(c).str.len_bytes().fill_null(0) > MAX_ID_BYTES for c in cols)


def _reasons(checks: list[tuple[pl.Expr, str]]) -> pl.Expr:
    """All failed checks of a row, joined by '; ' (null when the row is good)."""
    parts = [pl.when(cond).then(pl.lit(reason)) for cond, reason in checks]
    joined = pl.concat_list(parts).list.drop_nulls().list.join("; ")
    return pl.when(joined == "").then(None).otherwise(joined)


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


def _plausible(rules: Plausibility) -> list[tuple[pl.Expr, str]]:
    """The contract's plausibility rules (data/README.md) as (violated, reason) pairs over canonical columns."""
    earliest = int(datetime.fromisoformat(rules.min_time).replace(tzinfo=timezone.utc).timestamp() * 1000)
    latest = int((datetime.now(timezone.utc).timestamp() + rules.max_future_days * 86_400) * 1000)
    ids = ("transaction_id", *ENTITY_COLUMNS)
    return [
        (pl.col("ts") < earliest, f"timestamp before {rules.min_time}"),
        (pl.col("ts") > latest, f"timestamp more than {rules.max_future_days:g} day(s) in the future"),
        (pl.col("amount").is_finite() & (pl.col("amount") > rules.max_amount),
         f"amount above the ceiling {rules.max_amount:g}"),
        (pl.col("currency").is_not_null() & ~pl.col("currency").is_in(sorted(CURRENCIES)),
         "currency is not an ISO 4217 code"),
        (pl.col("country").is_not_null() & ~pl.col("country").is_in(sorted(COUNTRIES)),
         "country is not an ISO 3166-1 alpha-2 code"),
        (pl.col("mcc").is_not_null() & ~pl.col("mcc").str.contains(r"^\d{4}$"), "mcc is not 4 digits"),
        (pl.col("ip").is_not_null() & ~pl.col("ip").str.contains(IPV4) & ~pl.col("ip").str.contains(IPV6),
         "ip is not an IPv4 or IPv6 address"),
        (pl.any_horizontal(pl.col(c).str.contains(CONTROL).fill_null(False) for c in ids),
         "an id holds control characters"),
    ]


def check(df: pl.DataFrame, kind: str, rules: Plausibility = Plausibility()) -> pl.DataFrame:
    """The rows in canonical form with a `reason` column (null for good rows), in file order.

    transactions: transaction_id, ts (epoch ms), the entity columns (card_id, merchant_id, device_id, ip, ...: see
    registry.py), amount (f64), currency, mcc, country, channel, status; chargebacks: transaction_id, ms; labels: entity_type, entity_id, label, ms.
    """
    if kind == "transactions":
        canon = df.select(
            pl.col(ROW), pl.col(LOSSY), pl.col(BROKEN),
            *[_text(c).alias(c) for c in ("transaction_id", *ENTITY_COLUMNS, "currency", "mcc", "country", "channel",
                                          "status")],
            _epoch_ms(df, "timestamp").alias("ts"), pl.col("amount").cast(pl.Float64, strict=False),
            pl.col("amount").cast(pl.String).alias("_amount_text"))
        checks = [
            (pl.col(LOSSY), NON_UTF8),
            *[(pl.col(c).is_null(), f"empty {c}") for c in ("transaction_id", "card_id", "merchant_id")],
            (_too_long("transaction_id", *ENTITY_COLUMNS), TOO_LONG),
            (pl.col("ts").is_null(), "unparseable timestamp"),
            (pl.col("_amount_text").is_null() | (pl.col("_amount_text").str.strip_chars() == ""), "empty amount"),
            (pl.col("_amount_text").is_not_null() & (pl.col("_amount_text").str.strip_chars() != "")
             & pl.col("amount").is_null(), "amount is not a number"),
            (pl.col("amount").is_nan(), "amount is NaN"),
            (pl.col("amount").is_infinite(), "amount is infinite"),
            (pl.col("amount") <= 0, "amount <= 0"),
            (~pl.col("channel").is_in(CHANNELS).fill_null(False), "unknown channel (expected ecom|pos)"),
            (~pl.col("status").is_in(STATUSES).fill_null(False), "unknown status (expected approved|declined)"),
            *_plausible(rules),
        ]
        return _with_reason(canon, checks).drop("_amount_text")
    if kind == "chargebacks":
        canon = df.select(pl.col(ROW), pl.col(LOSSY), pl.col(BROKEN), _text("transaction_id").alias("transaction_id"),
                          _epoch_ms(df, "reported_at").alias("ms"))
        checks = [(pl.col(LOSSY), NON_UTF8), (pl.col("transaction_id").is_null(), "empty transaction_id"),
                  (_too_long("transaction_id"), TOO_LONG),
                  (pl.col("ms").is_null(), "unparseable reported_at")]
        return _with_reason(canon, checks)
    canon = df.select(pl.col(ROW), pl.col(LOSSY), pl.col(BROKEN), _text("entity_type").alias("entity_type"),
                      _text("entity_id").alias("entity_id"), _text("label").alias("label"),
                      _epoch_ms(df, "labelled_at").alias("ms"))
    checks = [(pl.col(LOSSY), NON_UTF8), (pl.col("entity_id").is_null(), "empty entity_id"),
              (_too_long("entity_id"), TOO_LONG),
              (~pl.col("entity_type").is_in(ENTITY_TYPES).fill_null(False),
               f"unknown entity_type (expected {'|'.join(ENTITY_TYPES)})"),
              (~pl.col("label").is_in(LABELS).fill_null(False), "unknown label (expected fraud|legit)"),
              (pl.col("ms").is_null(), "unparseable labelled_at")]
    return _with_reason(canon, checks)


def _with_reason(canon: pl.DataFrame, checks: list[tuple[pl.Expr, str]]) -> pl.DataFrame:
    """`canon` with its `reason` column: a broken line's own reason, else every failed check (null: a good row)."""
    return canon.with_columns(pl.coalesce(pl.col(BROKEN), _reasons(checks)).alias("reason")).drop(BROKEN)
