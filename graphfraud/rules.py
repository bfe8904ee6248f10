"""The input contract's row rules as data, and their polars executor.

Each kind of input file (transactions, chargebacks, labels) has canonical columns (how each raw string becomes a
typed value) and row rules (a condition over the canonical columns that, when true, quarantines the row with its
reason). Both are plain dataclasses here, not code: validate.py compiles them to polars expressions, spark.py to
Spark columns, so the two engines apply one rule set and quarantine the same rows for the same reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import polars as pl

from .codes import COUNTRIES, CURRENCIES
from .registry import ENTITIES, ENTITY_NAMES

ROW = "_row"  # 1-based data row number within its file (header excluded)
LOSSY = "_lossy"  # the row held bytes that were not UTF-8
BROKEN = "_broken"  # a structurally broken CSV line: why, with the raw line (null for rows that parsed)
AMOUNT_TEXT = "_amount_text"  # the amount as read, to tell an empty amount from one that is not a number

CHANNELS = ["ecom", "pos"]
STATUSES = ["approved", "declined"]
LABELS = ["fraud", "legit"]
ENTITY_COLUMNS = [e.column for e in ENTITIES]
NON_UTF8 = "non-UTF-8 bytes (read with U+FFFD replacement)"
MAX_ID_BYTES = 8000  # Neo4j's range index refuses keys of about 8 KiB and more
TOO_LONG = f"an id is longer than {MAX_ID_BYTES} bytes (Neo4j index limit)"
# Patterns are written in the regex syntax polars (Rust) and Spark (Java) read alike: [0-9], not \d (Unicode in Rust);
# \z, not $ (Java's $ also matches before a final line break).
IPV4 = r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\z"
IPV6 = r"^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\z"  # hex groups and colons (an embedded IPv4 tail allowed)
CONTROL = r"[\x00-\x1f\x7f]"  # ids are printable text
MCC = r"^[0-9]{4}\z"
WHITE = r"[ \t\n\r\f\x0B]"  # ASCII blanks: what both engines strip
STRIP = rf"^{WHITE}+|{WHITE}+\z"
BLANK = rf"^{WHITE}*\z"
# A number as the contract accepts it: decimal, optional exponent, or inf/infinity/nan in any case; no blanks.
NUMBER = r"^[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[iI][nN][fF]([iI][nN][iI][tT][yY])?|[nN][aA][nN])\z"
# A timestamp as the contract accepts it (surrounding blanks stripped first): an ISO-8601 date, optionally with a
# time ('T' or ' '), a fraction of up to 9 digits and a zone (Z, +hh, +hhmm or +hh:mm; none: UTC).
TIMESTAMP = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
             r"([T ][0-9]{2}:[0-9]{2}:[0-5][0-9](\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?)?\z")


# --- canonical columns: how a raw column becomes a typed one ---------------------------------------------------------

@dataclass(frozen=True)
class Keep:
    """A bookkeeping column as it is (_row, _lossy, _broken)."""
    name: str


@dataclass(frozen=True)
class Text:
    """A string column, empty meaning null."""
    name: str
    out: str = ""


@dataclass(frozen=True)
class Millis:
    """A timestamp as UTC epoch milliseconds (Int64), null unless it is a real instant of TIMESTAMP's form (a date
    alone: midnight UTC; no zone: UTC). Typed datetimes and dates (parquet) convert directly."""
    name: str
    out: str


@dataclass(frozen=True)
class Number:
    """A float64 column, null unless it is of NUMBER's form ('inf' and 'NaN' are numbers: rules refuse them)."""
    name: str
    out: str


@dataclass(frozen=True)
class AsText:
    """The column as read, as a string (no empty-to-null)."""
    name: str
    out: str


Canon = Keep | Text | Millis | Number | AsText


# --- conditions: when true, the row breaks the rule -------------------------------------------------------------------

@dataclass(frozen=True)
class IsNull:
    col: str


@dataclass(frozen=True)
class IsTrue:
    col: str  # a boolean column


@dataclass(frozen=True)
class Blank:
    col: str  # null, or only whitespace


@dataclass(frozen=True)
class NotIn:
    col: str
    values: tuple[str, ...]
    null_breaks: bool  # True: a null value breaks the rule too; False: null passes


@dataclass(frozen=True)
class NoMatch:
    col: str
    patterns: tuple[str, ...]  # a present value matching none of these (regex search) breaks the rule


@dataclass(frozen=True)
class AnyMatch:
    cols: tuple[str, ...]
    pattern: str  # any of the columns containing this (regex search) breaks the rule


@dataclass(frozen=True)
class Compare:
    col: str
    op: str  # "<", ">" or "<=": value <op> bound breaks the rule (null and NaN never do)
    bound: float


@dataclass(frozen=True)
class FiniteAbove:
    col: str
    bound: float  # a finite value above this breaks the rule


@dataclass(frozen=True)
class IsNaN:
    col: str


@dataclass(frozen=True)
class IsInfinite:
    col: str


@dataclass(frozen=True)
class LongerThan:
    cols: tuple[str, ...]
    max_bytes: int  # any column's UTF-8 length above this breaks the rule


@dataclass(frozen=True)
class AllOf:
    conds: tuple["Cond", ...]


@dataclass(frozen=True)
class Not:
    cond: "Cond"


Cond = (IsNull | IsTrue | Blank | NotIn | NoMatch | AnyMatch | Compare | FiniteAbove | IsNaN | IsInfinite | LongerThan
        | AllOf | Not)


@dataclass(frozen=True)
class Rule:
    breaks: Cond
    reason: str


@dataclass(frozen=True)
class Plausibility:
    """Bounds a transaction must meet to load; a row outside them is quarantined with the reason, so nothing out of
    range can move the default cut-off or overflow a sum. Configurable (settings plausible_*)."""

    min_time: str = "2000-01-01"  # earliest timestamp (ISO date, UTC)
    max_future_days: float = 1.0  # latest timestamp: this many days after now
    max_amount: float = 1e9  # largest amount, in the payment's currency


BOOKKEEPING = [Keep(ROW), Keep(LOSSY), Keep(BROKEN)]


def canonical(kind: str) -> list[Canon]:
    """The canonical columns of a kind of file, in output order (validate.check documents them)."""
    if kind == "transactions":
        return [*BOOKKEEPING,
                *[Text(c) for c in ("transaction_id", *ENTITY_COLUMNS, "currency", "mcc", "country", "channel",
                                    "status")],
                Millis("timestamp", "ts"), Number("amount", "amount"), AsText("amount", AMOUNT_TEXT)]
    if kind == "chargebacks":
        return [*BOOKKEEPING, Text("transaction_id"), Millis("reported_at", "ms")]
    return [*BOOKKEEPING, Text("entity_type"), Text("entity_id"), Text("label"), Millis("labelled_at", "ms")]


def plausible(p: Plausibility, now: datetime | None = None) -> list[Rule]:
    """The contract's plausibility rules (data/README.md) for transactions; `now` fixes the future bound."""
    now = now or datetime.now(timezone.utc)
    earliest = int(datetime.fromisoformat(p.min_time).replace(tzinfo=timezone.utc).timestamp() * 1000)
    latest = int((now.timestamp() + p.max_future_days * 86_400) * 1000)
    return [
        Rule(Compare("ts", "<", earliest), f"timestamp before {p.min_time}"),
        Rule(Compare("ts", ">", latest), f"timestamp more than {p.max_future_days:g} day(s) in the future"),
        Rule(FiniteAbove("amount", p.max_amount), f"amount above the ceiling {p.max_amount:g}"),
        Rule(NotIn("currency", tuple(sorted(CURRENCIES)), False), "currency is not an ISO 4217 code"),
        Rule(NotIn("country", tuple(sorted(COUNTRIES)), False), "country is not an ISO 3166-1 alpha-2 code"),
        Rule(NoMatch("mcc", (MCC,)), "mcc is not 4 digits"),
        Rule(NoMatch("ip", (IPV4, IPV6)), "ip is not an IPv4 or IPv6 address"),
        Rule(AnyMatch(("transaction_id", *ENTITY_COLUMNS), CONTROL), "an id holds control characters"),
    ]


def row_rules(kind: str, p: Plausibility = Plausibility(), now: datetime | None = None) -> list[Rule]:
    """Every row rule of a kind of file, in the order their reasons are listed."""
    if kind == "transactions":
        return [
            Rule(IsTrue(LOSSY), NON_UTF8),
            *[Rule(IsNull(c), f"empty {c}") for c in ("transaction_id", "card_id", "merchant_id")],
            Rule(LongerThan(("transaction_id", *ENTITY_COLUMNS), MAX_ID_BYTES), TOO_LONG),
            Rule(IsNull("ts"), "unparseable timestamp"),
            Rule(Blank(AMOUNT_TEXT), "empty amount"),
            Rule(AllOf((Not(Blank(AMOUNT_TEXT)), IsNull("amount"))), "amount is not a number"),
            Rule(IsNaN("amount"), "amount is NaN"),
            Rule(IsInfinite("amount"), "amount is infinite"),
            Rule(Compare("amount", "<=", 0), "amount <= 0"),
            Rule(NotIn("channel", tuple(CHANNELS), True), "unknown channel (expected ecom|pos)"),
            Rule(NotIn("status", tuple(STATUSES), True), "unknown status (expected approved|declined)"),
            *plausible(p, now),
        ]
    if kind == "chargebacks":
        return [Rule(IsTrue(LOSSY), NON_UTF8), Rule(IsNull("transaction_id"), "empty transaction_id"),
                Rule(LongerThan(("transaction_id",), MAX_ID_BYTES), TOO_LONG),
                Rule(IsNull("ms"), "unparseable reported_at")]
    return [Rule(IsTrue(LOSSY), NON_UTF8), Rule(IsNull("entity_id"), "empty entity_id"),
            Rule(LongerThan(("entity_id",), MAX_ID_BYTES), TOO_LONG),
            Rule(NotIn("entity_type", tuple(ENTITY_NAMES), True),
                 f"unknown entity_type (expected {'|'.join(ENTITY_NAMES)})"),
            Rule(NotIn("label", tuple(LABELS), True), "unknown label (expected fraud|legit)"),
            Rule(IsNull("ms"), "unparseable labelled_at")]


# --- the polars executor -----------------------------------------------------------------------------------------------

# Timestamp string layouts, tried in order (chrono formats; spark.py has the same list in Java patterns).
TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f%#z",
                     "%Y-%m-%d %H:%M:%S%.f")


def polars_canon(c: Canon, schema: pl.Schema) -> pl.Expr:
    """One canonical column as a polars expression over the file as read (its schema: parquet keeps its types)."""
    if isinstance(c, Keep):
        return pl.col(c.name)
    if isinstance(c, Text):
        s = pl.col(c.name).cast(pl.String)
        return pl.when(s == "").then(None).otherwise(s).alias(c.out or c.name)
    if isinstance(c, AsText):
        return pl.col(c.name).cast(pl.String).alias(c.out)
    if isinstance(c, Number):
        if schema[c.name].is_numeric():
            return pl.col(c.name).cast(pl.Float64).alias(c.out)
        s = pl.col(c.name).cast(pl.String)
        return pl.when(s.str.contains(NUMBER)).then(s.cast(pl.Float64, strict=False)).alias(c.out)
    dtype = schema[c.name]
    if isinstance(dtype, pl.Datetime):
        col = pl.col(c.name) if dtype.time_zone else pl.col(c.name).dt.replace_time_zone("UTC")
        return col.dt.epoch("ms").alias(c.out)
    if dtype == pl.Date:
        return pl.col(c.name).cast(pl.Datetime("ms")).dt.epoch("ms").alias(c.out)
    s = pl.col(c.name).cast(pl.String).str.replace_all(STRIP, "")
    parsed = [s.str.to_datetime(fmt, time_zone="UTC", time_unit="ms", strict=False) for fmt in TIMESTAMP_FORMATS]
    date_only = s.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("ms", "UTC"))
    ms = pl.coalesce([*parsed, date_only]).dt.epoch("ms")
    return pl.when(s.str.contains(TIMESTAMP)).then(ms).alias(c.out)


def polars_cond(c: Cond) -> pl.Expr:
    """A condition as a polars boolean expression (null counts as false where it is used: pl.when)."""
    if isinstance(c, IsNull):
        return pl.col(c.col).is_null()
    if isinstance(c, IsTrue):
        return pl.col(c.col)
    if isinstance(c, Blank):
        return pl.col(c.col).is_null() | pl.col(c.col).str.contains(BLANK)
    if isinstance(c, NotIn):
        out = ~pl.col(c.col).is_in(list(c.values))
        return out.fill_null(True) if c.null_breaks else pl.col(c.col).is_not_null() & out
    if isinstance(c, NoMatch):
        return pl.col(c.col).is_not_null() & ~pl.any_horizontal(pl.col(c.col).str.contains(p) for p in c.patterns)
    if isinstance(c, AnyMatch):
        return pl.any_horizontal(pl.col(x).str.contains(c.pattern).fill_null(False) for x in c.cols)
    if isinstance(c, Compare):
        x = pl.col(c.col)  # polars orders NaN above every number, as Spark does
        return {"<": x < c.bound, ">": x > c.bound, "<=": x <= c.bound}[c.op]
    if isinstance(c, FiniteAbove):
        return pl.col(c.col).is_finite() & (pl.col(c.col) > c.bound)
    if isinstance(c, IsNaN):
        return pl.col(c.col).is_nan()
    if isinstance(c, IsInfinite):
        return pl.col(c.col).is_infinite()
    if isinstance(c, LongerThan):
        return pl.any_horizontal(pl.col(x).str.len_bytes().fill_null(0) > c.max_bytes for x in c.cols)
    if isinstance(c, AllOf):
        return pl.all_horizontal(polars_cond(x) for x in c.conds)
    if isinstance(c, Not):
        return ~polars_cond(c.cond)
    raise TypeError(f"not a rule condition: {c!r}")


def polars_check(df: pl.DataFrame, kind: str, p: Plausibility = Plausibility(), now: datetime | None = None
                 ) -> pl.DataFrame:
    """The rows of a file as read in canonical form, with `reason`: a broken line's own reason, else every broken
    rule's reason joined by '; ' (null: a good row), in file order."""
    canon = df.select(*[polars_canon(c, df.schema) for c in canonical(kind)])
    parts = [pl.when(polars_cond(r.breaks)).then(pl.lit(r.reason)) for r in row_rules(kind, p, now)]
    joined = pl.concat_list(parts).list.drop_nulls().list.join("; ")
    reason = pl.coalesce(pl.col(BROKEN), pl.when(joined == "").then(None).otherwise(joined))
    return canon.with_columns(reason.alias("reason")).drop(BROKEN, AMOUNT_TEXT, strict=False)
