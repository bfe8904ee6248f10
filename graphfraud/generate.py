"""A synthetic payments world with planted fraud rings, written as the input contract (data/README.md) plus the truth.

Real payment data is private, so detection is built and measured on a world whose answer key is known. The world
(cards, households, corporate programs, merchants, terminals, public IPs) and the rings are planned once from the
seed; transactions are then generated and written day by day with a generator seeded from (seed, day), so memory is
bounded by one day and the same arguments give byte-identical files. Everything under DIR/truth/ is the answer key.
Named scenarios (SCENARIOS) turn a few knobs of the world (WorldParams) so that benchmark suites (SUITES) can test
detection beyond the one tuned default world.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from .errors import UsageError

RING_TYPES = ("card_testing", "device_farm", "merchant_collusion", "bust_out")
FORMATS = ("parquet", "csv")
ISO = "%Y-%m-%dT%H:%M:%SZ"  # timestamps in CSV: UTC, whole seconds
DAY_S = 86_400

# Countries where cards live and merchants trade; amounts are in the local currency (FX: units per EUR).
COUNTRIES = ["DE", "FR", "ES", "IT", "NL", "GB", "US", "PL", "SE", "IE"]
COUNTRY_WEIGHT = np.array([0.20, 0.15, 0.10, 0.10, 0.07, 0.14, 0.12, 0.05, 0.04, 0.03])
CURRENCY = ["EUR", "EUR", "EUR", "EUR", "EUR", "GBP", "USD", "PLN", "SEK", "EUR"]
FX = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.85, 1.1, 4.3, 11.0, 1.0])

# MCC: share of merchants, median amount (EUR), log-sd of the log-normal amount, typical share of e-commerce.
MCCS: list[tuple[str, float, float, float, float]] = [
    ("5411", 0.14, 45.0, 0.7, 0.10),  # grocery
    ("5812", 0.12, 35.0, 0.6, 0.05),  # restaurants
    ("5814", 0.08, 12.0, 0.5, 0.10),  # fast food
    ("5541", 0.06, 55.0, 0.4, 0.00),  # fuel
    ("5311", 0.05, 70.0, 0.9, 0.30),  # department stores
    ("5651", 0.08, 65.0, 0.8, 0.50),  # clothing
    ("5732", 0.05, 180.0, 1.0, 0.60),  # electronics
    ("5944", 0.03, 250.0, 1.0, 0.30),  # jewellery
    ("5999", 0.08, 40.0, 1.0, 0.60),  # miscellaneous retail
    ("5815", 0.07, 10.0, 0.8, 1.00),  # digital goods
    ("4111", 0.05, 8.0, 0.6, 0.30),  # transport
    ("4511", 0.03, 300.0, 0.7, 0.90),  # airlines
    ("7011", 0.04, 180.0, 0.7, 0.50),  # hotels
    ("5912", 0.05, 25.0, 0.7, 0.10),  # pharmacy
    ("8398", 0.03, 30.0, 1.0, 0.90),  # charities
    ("7399", 0.04, 120.0, 1.1, 0.80),  # business services
]
MCC_CODE = [m[0] for m in MCCS]
MCC_MU = np.log([m[2] for m in MCCS])
MCC_SIGMA = np.array([m[3] for m in MCCS])
MCC_ECOM = np.array([m[4] for m in MCCS])
MCC_INDEX = {c: i for i, c in enumerate(MCC_CODE)}

HOUR_WEIGHT = np.array([0.6, 0.35, 0.25, 0.2, 0.2, 0.3, 0.8, 1.8, 3.0, 3.8, 4.2, 4.8,
                        5.6, 5.4, 4.8, 4.6, 4.9, 5.6, 6.2, 6.4, 5.8, 4.6, 3.0, 1.6])  # legit daily cycle
NIGHT_WEIGHT = np.array([3, 3, 3, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3], float)  # card tests
WEEKDAY_WEIGHT = np.array([0.94, 0.96, 0.98, 1.0, 1.1, 1.15, 0.87])  # Monday .. Sunday volume

TRAVEL_RATE, CORPORATE_TRAVEL_RATE = 0.03, 0.20  # share of a card's payments made in another country
HOME_IP_RATE, NO_IP_RATE, NO_DEVICE_RATE = 0.83, 0.02, 0.03  # e-commerce: home network / unknown IP / no device
ROUND_AMOUNT_RATE = 0.08  # legitimate payments of a whole amount
FRIENDLY_FRAUD_RATE = 0.0005  # approved legitimate payments that are charged back anyway (label noise)
CHARGEBACK_DELAY_DAYS = (5, 60)  # a chargeback arrives this many days after the payment (inclusive)
IDENTITY_RATE = {"email": 0.9, "phone": 0.6, "shipping_address": 0.7}  # e-commerce payments carrying each identity
IDENTITY_KINDS = tuple(IDENTITY_RATE)

# Named scenarios, for benchmark suites that test detection beyond one tuned world. `params` holds the defaults of
# generate()'s `camouflage` and `label_rate` (explicit arguments win) and the knobs of the world (WorldParams).
SCENARIOS: dict[str, dict] = {
    "default": {
        "description": "the tuned world: 20% camouflage, 30% of fraud charged back, every identifier present",
        "params": {},
    },
    "camouflage": {
        "description": "heavy camouflage: half of ring payments at popular merchants, half of their e-commerce "
                       "payments through the public IPs legitimate cards share",
        "params": {"camouflage": 0.5, "public_ip_share": 0.5},
    },
    "sparse_labels": {
        "description": "only 10% of fraud charged back, and analysts confirm a member of only 10% of the rings",
        "params": {"label_rate": 0.1, "confirmed_rate": 0.1},
    },
    "card_present": {
        "description": "no device_id and no ip anywhere: rings show only through cards, merchants, amounts and timing",
        "params": {"card_present": True},
    },
    "rich_identity": {
        "description": "extra email, phone and shipping_address columns, shared by households, companies and rings",
        "params": {"identity": True},
    },
    "crowded": {
        "description": "legitimate sharing at about 3x: bigger households, more corporate programs, busier public "
                       "IPs, more shared POS terminals",
        "params": {"sharing_scale": 3.0},
    },
    "ring_sizes": {
        "description": "rings of every type from 4 to 150 cards (capped by the cards a small world has)",
        "params": {"ring_size_range": (4, 150)},
    },
}
# Benchmark suites: every scenario once, with seeds disjoint between dev (tuning) and test (reporting).
# Written out so that adding a scenario never reseeds an existing world.
SUITES: dict[str, dict[str, tuple[str, int]]] = {
    "dev": {"dev_default": ("default", 101), "dev_camouflage": ("camouflage", 102),
            "dev_sparse_labels": ("sparse_labels", 103), "dev_card_present": ("card_present", 104),
            "dev_rich_identity": ("rich_identity", 105), "dev_crowded": ("crowded", 106),
            "dev_ring_sizes": ("ring_sizes", 107)},
    "test": {"test_default": ("default", 201), "test_camouflage": ("camouflage", 202),
             "test_sparse_labels": ("sparse_labels", 203), "test_card_present": ("card_present", 204),
             "test_rich_identity": ("rich_identity", 205), "test_crowded": ("crowded", 206),
             "test_ring_sizes": ("ring_sizes", 207)},
}


@dataclass(frozen=True)
class WorldParams:
    """The knobs scenarios turn; the defaults are the default world."""

    public_ip_share: float = 0.0  # share of ring e-commerce payments routed through public (legitimately shared) IPs
    sharing_scale: float = 1.0  # legitimate sharing: household size, corporate programs, public IPs, POS terminals
    ring_size_range: tuple[int, int] | None = None  # cards per ring, on a geometric ladder per type (None: per type)
    identity: bool = False  # write email, phone and shipping_address columns
    card_present: bool = False  # no device_id and no ip at all
    confirmed_rate: float = 0.35  # share of rings with one analyst-confirmed member in labels


def suite_worlds(suite: str) -> list[tuple[str, str, int]]:
    """(world name, scenario, seed) of every world of a benchmark suite."""
    if suite not in SUITES:
        raise UsageError(f"suite {suite!r} is not one of {', '.join(SUITES)}")
    return [(name, scenario, seed) for name, (scenario, seed) in SUITES[suite].items()]


@dataclass
class GenerateSummary:
    """What `generate` wrote."""

    out: Path
    days: int
    start: date
    transactions: int  # rows written under transactions/
    fraud_transactions: int  # of which planted by rings (truth/fraud_transactions)
    declined: int
    chargebacks: int
    labels: int
    rings: dict[str, int]  # ring type -> rings planted
    ring_members: dict[str, int]  # entity type -> rows in truth/rings.csv
    files: int  # files written in all
    seconds: float

    def to_dict(self) -> dict:
        d = asdict(self)
        d["out"], d["start"] = str(self.out), self.start.isoformat()
        return d


def _scramble(idx: np.ndarray, mult: int, add: int, bits: int) -> np.ndarray:
    """A bijection on [0, 2**bits): ids look random, so their order says nothing about how they were made."""
    mask = (1 << bits) - 1
    return (idx.astype(np.uint64) * np.uint64(mult) + np.uint64(add & mask)) & np.uint64(mask)


def _ids(prefix: str, n: int, mult: int, add: int) -> list[str]:
    return [f"{prefix}{x:08x}" for x in _scramble(np.arange(n), mult, add, 32).tolist()]


def _ips(n: int, add: int) -> list[str]:
    xs = (_scramble(np.arange(n), 0x9E3779B1, add, 29) + np.uint64(0x50000000)).tolist()  # 80.0.0.0 .. 111.255.255.255
    return [f"{x >> 24}.{(x >> 16) & 255}.{(x >> 8) & 255}.{x & 255}" for x in xs]


class _Rows:
    """Planned ring transactions, appended one at a time (rings are small). Identities are filled in afterwards."""

    FIELDS = ("day", "sec", "card", "merchant", "device", "ip", "amount", "country", "ecom", "declined", "ring",
              *IDENTITY_KINDS)

    def __init__(self) -> None:
        self.cols: dict[str, list] = {f: [] for f in self.FIELDS}

    def add(self, **kw) -> None:
        for f in self.FIELDS:
            self.cols[f].append(kw.get(f, -1) if f in IDENTITY_KINDS else kw[f])

    def __len__(self) -> int:
        return len(self.cols["day"])


class _World:
    """Every entity of the world and the planted rings, planned from the seed before any day is generated."""

    def __init__(self, transactions: int, days: int, seed: int, rings: int, camouflage: float,
                 params: WorldParams = WorldParams()):
        r = np.random.default_rng([seed, 0])
        self.days, self.seed, self.camouflage, self.params = days, seed, camouflage, params
        # entity types the data carries; ring members of other types would be invisible, so they are not listed
        self.observed = {"card", "merchant"} | (set() if params.card_present else {"device", "ip"}) \
            | (set(IDENTITY_KINDS) if params.identity else set())
        s = params.sharing_scale  # crowded worlds: bigger households, more programs and terminals, busier public IPs
        nc = len(COUNTRIES)
        self.fx = FX

        # --- merchants: heavy-tailed (Zipf) popularity, MCC, country, e-commerce share, POS terminals ---
        nm = max(120, transactions // 250)
        m_mcc = r.choice(len(MCCS), size=nm, p=np.array([m[1] for m in MCCS]) / sum(m[1] for m in MCCS))
        m_country = r.choice(nc, size=nm, p=COUNTRY_WEIGHT)
        m_country[:nc] = np.arange(nc)  # every country has merchants
        m_weight = 1.0 / (r.permutation(nm) + 1.0) ** 1.05
        base = MCC_ECOM[m_mcc]
        kind = r.random(nm)
        m_ecom = np.where(kind < base * 0.5, 1.0, np.where(kind > 1 - (1 - base) * 0.5, 0.0, base))
        self.m_mcc, self.m_country, self.m_weight, self.m_ecom = (list(a) for a in (m_mcc, m_country, m_weight, m_ecom))
        self.n_legit_merchants = nm

        # --- cards: heavy-tailed activity, households sharing devices and a home IP, corporate programs ---
        n_cards = max(500, transactions // 20)
        n_corp = round(s * max(2, n_cards // 1500))
        corp_sizes = r.integers(15, 51, size=n_corp)
        n_private = n_cards - int(corp_sizes.sum())
        sizes = r.choice([1, 2, 3, 4], size=n_private, p=[0.75, 0.17, 0.06, 0.02])
        sizes = np.where(sizes > 1, np.rint(sizes * s), 1).astype(np.int64)  # multi-card households scale up
        sizes = sizes[: np.searchsorted(np.cumsum(sizes), n_private) + 1]
        sizes[-1] -= int(sizes.sum()) - n_private  # households cover the private cards exactly
        sizes = sizes[sizes > 0]
        hh_sizes = np.concatenate([sizes, corp_sizes])
        n_hh = len(hh_sizes)
        self.hh_corporate = np.arange(n_hh) >= len(sizes)
        self.card_hh = np.repeat(np.arange(n_hh), hh_sizes)
        hh_ndev = np.where(self.hh_corporate, r.integers(1, 4, size=n_hh),
                           1 + (r.random(n_hh) < 0.5) + (r.random(n_hh) < 0.1))
        hh_nip = np.where(self.hh_corporate, r.integers(1, 3, size=n_hh), 1 + (r.random(n_hh) < 0.1))
        self.hh_dev = np.full((n_hh, 3), -1, np.int64)
        self.hh_ip = np.full((n_hh, 2), -1, np.int64)
        dev_start = np.concatenate([[0], np.cumsum(hh_ndev)])
        ip_start = np.concatenate([[0], np.cumsum(hh_nip)])
        for j in range(3):
            self.hh_dev[:, j] = np.where(j < hh_ndev, dev_start[:-1] + j, -1)
        for j in range(2):
            self.hh_ip[:, j] = np.where(j < hh_nip, ip_start[:-1] + j, -1)
        self.hh_ndev, self.hh_nip = hh_ndev, hh_nip
        n_dev, n_ip = int(dev_start[-1]), int(ip_start[-1])
        hh_country = r.choice(nc, size=n_hh, p=COUNTRY_WEIGHT)
        self.n_legit_cards = n_cards
        card_corp = self.hh_corporate[self.card_hh]
        self.card_country = list(hh_country[self.card_hh])
        self.card_weight = r.lognormal(0.0, 1.1, size=n_cards) * np.where(card_corp, 2.0, 1.0)
        self.card_travel = np.where(card_corp, CORPORATE_TRAVEL_RATE, TRAVEL_RATE)
        self.card_decline = np.minimum(0.2, 0.012 * r.lognormal(0.0, 0.8, size=n_cards))

        # shared POS terminals: some card-present merchants log a terminal id, shared by every card paying there
        has_term = (m_ecom < 1.0) & (r.random(nm) < min(0.9, 0.3 * s))
        n_term = np.where(has_term, np.ceil(r.integers(1, 5, size=nm) / s), 0).astype(np.int64)  # crowded: busier
        self.m_term0 = list(n_dev + np.concatenate([[0], np.cumsum(n_term)])[:-1])
        self.m_nterm = list(n_term)
        n_dev += int(n_term.sum())
        # public networks (cafes, hotels, mobile carriers): one IP shared by many unrelated cards, Zipf popularity
        n_pub = max(round(20 / s), n_cards // round(150 * s))
        self.pub_ip = n_ip + np.arange(n_pub)
        self.pub_cdf = np.cumsum(1.0 / (np.arange(n_pub) + 1.0))
        self.pub_cdf /= self.pub_cdf[-1]
        n_ip += n_pub
        self.n_dev, self.n_ip = n_dev, n_ip
        self.n_hard_devices = n_dev  # every device so far is legitimate
        self.n_email = self.n_phone = self.n_shipping_address = 0
        if params.identity:
            self._plan_identity(np.random.default_rng([seed, 5]), hh_sizes)

        # --- rings, planned in order; each draws from its own generator ---
        self.card_taken = card_corp.copy()  # corporate cards are never ring cards; ring cards never overlap
        self.card_active_until = [days + 10_000] * n_cards
        self.rows = _Rows()
        self.ring_type: list[str] = []
        self.ring_members: list[list[tuple[str, int]]] = []
        types = [RING_TYPES[i % 4] for i in range(rings)]
        types = [types[i] for i in r.permutation(rings)] if rings > 4 else types
        pop = np.argsort(-m_weight, kind="stable")
        self.popular = pop[m_ecom[pop] >= 0.2][: max(10, nm // 50)]  # camouflage targets
        self.victims = np.flatnonzero((m_ecom >= 0.6) & (m_weight <= np.median(m_weight)))  # card-testing targets
        hv = np.isin(m_mcc, [MCC_INDEX[c] for c in ("5732", "5944", "4511", "5999", "5651")]) & (m_ecom >= 0.5)
        self.high_value = np.flatnonzero(hv) if hv.sum() >= 2 else np.flatnonzero(m_ecom > 0)
        self.min_weight = float(m_weight.min())
        self.ring_size = self._ring_ladder(types, n_private)
        for i, t in enumerate(types):
            rr = np.random.default_rng([seed, 2, i])
            self.ring_type.append(t)
            self.ring_members.append([])
            start = len(self.rows)
            getattr(self, "_ring_" + t)(rr, i)
            self._camouflage(rr, i, start)
            self._disguise(i, start)

        # --- finalise arrays ---
        self.m_mcc, self.m_country = np.array(self.m_mcc), np.array(self.m_country)
        self.m_weight, self.m_ecom = np.array(self.m_weight), np.array(self.m_ecom)
        self.m_term0, self.m_nterm = np.array(self.m_term0, np.int64), np.array(self.m_nterm, np.int64)
        self.card_country = np.array(self.card_country)
        self.card_active_until = np.array(self.card_active_until)
        self.card_cdf = np.cumsum(self.card_weight)
        self.card_cdf /= self.card_cdf[-1]
        # merchants by country: segment k of `m_cdf` holds k + cumulative popularity of country k's merchants
        self.m_order = np.argsort(self.m_country, kind="stable")
        counts = np.bincount(self.m_country, minlength=nc)
        self.m_seg_end = np.cumsum(counts)
        cdf = np.empty(len(self.m_order))
        for k in range(nc):
            s, e = self.m_seg_end[k] - counts[k], self.m_seg_end[k]
            seg = np.cumsum(self.m_weight[self.m_order[s:e]])
            cdf[s:e] = k + seg / seg[-1]
            cdf[e - 1] = k + 1.0
        self.m_cdf = cdf
        rows = {f: np.array(v) for f, v in self.rows.cols.items()}
        order = np.lexsort((rows["sec"], rows["day"])) if len(self.rows) else np.array([], np.int64)
        self.ring_rows = {f: (v[order] if len(v) else np.array([], np.int64)) for f, v in rows.items()}
        self.ring_day_start = np.searchsorted(self.ring_rows["day"], np.arange(days + 1))

        # --- id strings (scrambled so that id order leaks nothing) ---
        import polars as pl

        a = seed * 2_654_435_761
        self.card_ids = pl.Series(_ids("c_", len(self.card_country), 0x2545F491, a) + [None], dtype=pl.String)
        self.merchant_ids = pl.Series(_ids("m_", len(self.m_mcc), 0x9E3779B9, a >> 3) + [None], dtype=pl.String)
        self.device_ids = pl.Series(_ids("d_", self.n_dev, 0x85EBCA6B, a >> 5) + [None], dtype=pl.String)
        self.ip_ids = pl.Series(_ips(self.n_ip, a >> 7) + [None], dtype=pl.String)
        # entity type -> id table (row -1, the last, is None)
        self.ids = {"card": self.card_ids, "merchant": self.merchant_ids, "device": self.device_ids, "ip": self.ip_ids,
                    "email": pl.Series(_ids("e_", self.n_email, 0xC2B2AE35, a >> 9) + [None], dtype=pl.String),
                    "phone": pl.Series(_ids("p_", self.n_phone, 0x27D4EB2F, a >> 11) + [None], dtype=pl.String),
                    "shipping_address": pl.Series(_ids("a_", self.n_shipping_address, 0x165667B1, a >> 13) + [None],
                                                  dtype=pl.String)}

    # --- scenario planning ----------------------------------------------------------------------------------

    def _plan_identity(self, r: np.random.Generator, hh_sizes: np.ndarray) -> None:
        """Legitimate identities: a family shares its shipping address, often a phone and sometimes an email; a
        company's cards share 1-2 company addresses but have their own emails and phones."""
        n_hh, n = len(hh_sizes), self.n_legit_cards
        hh, corp = self.card_hh, self.hh_corporate
        rank = np.arange(n) - np.concatenate([[0], np.cumsum(hh_sizes)])[hh]  # a card's place in its household

        def one_per(shared: np.ndarray) -> np.ndarray:  # one value per household where shared, else one per card
            return np.unique(np.where(shared[hh], hh, n_hh + np.arange(n)), return_inverse=True)[1].reshape(-1)

        n_addr = np.where(corp, r.integers(1, 3, size=n_hh), 1)
        addr0 = np.concatenate([[0], np.cumsum(n_addr)])
        self.card_identity = {"email": one_per((r.random(n_hh) < 0.2) & ~corp),
                              "phone": one_per((r.random(n_hh) < 0.6) & ~corp),
                              "shipping_address": addr0[hh] + rank % n_addr[hh]}
        self.n_email, self.n_phone = (int(self.card_identity[k].max()) + 1 for k in ("email", "phone"))
        self.n_shipping_address = int(addr0[-1])

    def _ring_ladder(self, types: list[str], n_private: int) -> list[int | None]:
        """Cards per ring when the scenario sets `ring_size_range`: per type a geometric ladder from the smallest to
        the largest size, so every type has tiny and huge rings (a type with one ring takes a rung by type). The top
        is capped so that a small world has cards for every ring."""
        if self.params.ring_size_range is None:
            return [None] * len(types)
        lo, hi = self.params.ring_size_range
        hi = max(lo, min(hi, n_private // max(4, len(types))))
        sizes: list[int | None] = [None] * len(types)
        for k_type, t in enumerate(RING_TYPES):
            of_type = [i for i, x in enumerate(types) if x == t]
            for k, i in enumerate(of_type):
                q = k / (len(of_type) - 1) if len(of_type) > 1 else k_type / (len(RING_TYPES) - 1)
                sizes[i] = int(round(lo * (hi / lo) ** q))
        return sizes

    # --- allocation helpers -------------------------------------------------------------------------------

    def _take_cards(self, r: np.random.Generator, n: int, prefer: np.ndarray | None = None) -> list[int]:
        """n existing legitimate cards for a ring, never one already used by another ring."""
        free = ~self.card_taken
        if prefer is not None and (free & prefer).sum() >= n:
            free &= prefer
        cand = np.flatnonzero(free)
        if len(cand) < n:
            raise UsageError("too many rings for so few transactions: lower --rings or raise --transactions")
        got = r.choice(cand, size=n, replace=False)
        self.card_taken[got] = True
        return sorted(got.tolist())

    def _new_cards(self, n: int, country: int) -> list[int]:
        """Cards that exist only for the ring (stolen numbers never seen before, mules, synthetic identities)."""
        first = len(self.card_country)
        self.card_country += [country] * n
        self.card_active_until += [self.days + 10_000] * n
        return list(range(first, first + n))

    def _new(self, what: str, n: int) -> list[int]:
        first = getattr(self, "n_" + what)
        setattr(self, "n_" + what, first + n)
        return list(range(first, first + n))

    def _new_merchants(self, r: np.random.Generator, n: int, country: int, mccs: tuple[str, ...]) -> list[int]:
        """Merchants a ring controls: a trickle of legitimate traffic, so they are not empty shells."""
        first = len(self.m_mcc)
        for _ in range(n):
            self.m_mcc.append(MCC_INDEX[mccs[r.integers(len(mccs))]])
            self.m_country.append(country)
            self.m_weight.append(self.min_weight * 0.5)
            self.m_ecom.append(1.0)
            self.m_term0.append(0)
            self.m_nterm.append(0)
        return list(range(first, first + n))

    def _members(self, i: int, kind: str, ids: list[int]) -> None:
        if kind in self.observed:  # the truth lists only entities that exist in the data
            self.ring_members[i] += [(kind, int(x)) for x in ids]

    def _size(self, r: np.random.Generator, i: int, lo: int, hi: int) -> int:
        """Cards of ring i: drawn from [lo, hi), or the scenario's planned size."""
        n = int(r.integers(lo, hi))
        return n if self.ring_size[i] is None else self.ring_size[i]

    @staticmethod
    def _grow(n: int) -> int:
        """Rings far bigger than usual (30 cards) get proportionally more devices, IPs and identities."""
        return max(1, round(n / 30))

    def _public_ip(self, r: np.random.Generator) -> int:
        return int(self.pub_ip[min(int(np.searchsorted(self.pub_cdf, r.random(), side="right")), len(self.pub_ip) - 1)])

    def _amount(self, r: np.random.Generator, merchant: int, country: int, boost: float = 0.0) -> float:
        m = self.m_mcc[merchant]
        return max(0.5, round(float(np.exp(MCC_MU[m] + boost + MCC_SIGMA[m] * r.standard_normal()) * FX[country]), 2))

    def _sec(self, r: np.random.Generator, weights: np.ndarray) -> int:
        return int(r.choice(24, p=weights / weights.sum())) * 3600 + int(r.integers(3600))

    # --- the four ring types (shapes documented in data/README.md) ---------------------------------------

    def _ring_card_testing(self, r: np.random.Generator, i: int) -> None:
        n = self._size(r, i, 15, 41)
        n_new = int(r.binomial(n, 0.5))
        country = int(r.choice(len(COUNTRIES), p=COUNTRY_WEIGHT))
        cards = self._take_cards(r, n - n_new) + self._new_cards(n_new, country)
        g = self._grow(n)
        devs, ips = self._new("dev", int(r.integers(1, 3)) * g), self._new("ip", int(r.integers(1, 4)) * g)
        targets = r.choice(self.victims, size=min(len(self.victims), int(r.integers(1, 4))), replace=False)
        n_b = int(r.integers(1, 4))
        b_day = r.integers(0, self.days, size=n_b)
        b_sec = [self._sec(r, NIGHT_WEIGHT) for _ in range(n_b)]
        b_len = r.integers(20, 121, size=n_b) * 60
        valid = r.random(n) < 0.4  # numbers that turn out to work; the rest are declined
        for j, c in enumerate(cards):
            for t in range(int(r.integers(1, 4))):
                b = int(r.integers(n_b))
                own = t == 0 or r.random() < 0.85  # the card's first test always from its own device and IP
                amt = float(r.choice([1.0, 0.5, 2.0, 1.0, 5.0])) if r.random() < 0.5 else round(float(r.uniform(0.5, 5)), 2)
                self.rows.add(day=int(b_day[b]), sec=min(DAY_S - 1, b_sec[b] + int(r.integers(b_len[b]))), card=c,
                              merchant=int(targets[j % len(targets)] if r.random() < 0.7 else r.choice(targets)),
                              device=devs[j % len(devs)] if own else int(r.choice(devs)),
                              ip=ips[j % len(ips)] if own else int(r.choice(ips)),
                              amount=round(amt * FX[country], 2), country=country, ecom=True,
                              declined=bool(not valid[j] or r.random() < 0.03), ring=i)
        self._members(i, "card", cards)
        self._members(i, "device", devs)
        self._members(i, "ip", ips)

    def _ring_device_farm(self, r: np.random.Generator, i: int) -> None:
        n = self._size(r, i, 8, 31)
        cards = self._take_cards(r, n)
        g = self._grow(n)
        devs = self._new("dev", min(int(r.integers(1, 5)) * g, max(1, n // 2)))  # every farm device serves 2+ cards
        ips = self._new("ip", int(r.integers(1, 4)) * g)
        targets = r.choice(self.high_value, size=min(len(self.high_value), int(r.integers(2, 7))), replace=False)
        country = int(r.integers(len(COUNTRIES)))
        start, length = int(r.integers(0, self.days)), int(r.integers(2, 9))
        for j, c in enumerate(cards):
            day = min(self.days - 1, start + int(r.integers(length)))
            sec0 = self._sec(r, np.ones(24))
            for t in range(int(r.integers(2, 6))):
                m = int(r.choice(targets))
                own = t == 0 or r.random() < 0.8  # each device serves at least two cards (8+ cards, 4- devices)
                self.rows.add(day=day, sec=min(DAY_S - 1, sec0 + int(r.integers(3 * 3600))), card=c, merchant=m,
                              device=devs[j % len(devs)] if own else int(r.choice(devs)),
                              ip=ips[j % len(ips)] if own else int(r.choice(ips)),
                              amount=self._amount(r, m, country, boost=0.7), country=country, ecom=True,
                              declined=bool(r.random() < 0.15), ring=i)
        self._members(i, "card", cards)
        self._members(i, "device", devs)
        self._members(i, "ip", ips)

    def _ring_merchant_collusion(self, r: np.random.Generator, i: int) -> None:
        country = int(r.choice(len(COUNTRIES), p=COUNTRY_WEIGHT))
        merchants = self._new_merchants(r, int(r.integers(2, 6)), country, ("5999", "7399", "5732", "5311"))
        n = self._size(r, i, 5, 21)
        n_old = int(round(0.3 * n))
        cards = self._take_cards(r, n_old) + self._new_cards(n - n_old, country)
        g = self._grow(n)
        devs, ips = self._new("dev", int(r.integers(1, 5)) * g), self._new("ip", int(r.integers(1, 4)) * g)
        a = int(r.integers(0, self.days // 3 + 1))
        b = max(a + 1, int(r.integers(2 * self.days // 3, self.days)))
        rounds = np.array([50, 100, 150, 200, 250, 300, 400, 500, 750, 1000], float)

        def pay(j: int, c: int, day: int, prefer: list[int]) -> None:
            amt = max(10.0, round(float(r.choice(rounds)) * FX[country] / 10.0) * 10.0)  # round in local money
            self.rows.add(day=day, sec=int(r.integers(9 * 3600, 18 * 3600)), card=c, merchant=int(r.choice(prefer)),
                          device=devs[j % len(devs)] if r.random() < 0.8 else int(r.choice(devs)),
                          ip=ips[j % len(ips)] if r.random() < 0.8 else int(r.choice(ips)),
                          amount=round(amt - (0.01 if r.random() < 0.2 else 0.0), 2), country=country,
                          ecom=True, declined=bool(r.random() < 0.04), ring=i)

        damp = min(1.0, 20 / n)  # a mule network of more than 20 cards uses each card less often, yet at least once
        for j, c in enumerate(cards):
            rate = float(r.uniform(0.3, 0.8)) * damp
            prefer = sorted({merchants[j % len(merchants)], *r.choice(merchants, size=min(2, len(merchants)))})
            before = len(self.rows)
            for day in range(a, min(b, self.days)):
                if r.random() < rate:
                    pay(j, c, day, prefer)
            if damp < 1.0 and len(self.rows) == before:
                pay(j, c, int(r.integers(a, min(b, self.days))), prefer)
        self._members(i, "card", cards)
        self._members(i, "device", devs)
        self._members(i, "ip", ips)
        self._members(i, "merchant", merchants)

    def _ring_bust_out(self, r: np.random.Generator, i: int) -> None:
        country = int(r.choice(len(COUNTRIES), p=COUNTRY_WEIGHT))
        merchants = self._new_merchants(r, int(r.integers(1, 4)), country, ("5944", "5732", "5999", "5311"))
        n = self._size(r, i, 5, 26)
        w = self.card_weight
        prefer = (w >= np.median(w)) & (np.array(self.card_country[: self.n_legit_cards]) == country)
        cards = self._take_cards(r, n, prefer=prefer)  # cards with a normal history, built since day 0
        g = self._grow(n)
        devs, ips = self._new("dev", int(r.integers(1, 4)) * g), self._new("ip", int(r.integers(1, 3)) * g)
        bust = int(r.integers(int(0.6 * self.days), self.days))
        for j, c in enumerate(cards):
            d0 = min(self.days - 1, bust + int(r.integers(3)))
            limit = float(r.uniform(1500, 8000)) * FX[country]
            k = int(r.integers(3, 9))
            amounts = np.maximum(10.0, np.round(r.dirichlet(np.ones(k)) * limit * r.uniform(1.1, 1.5), -1))
            spent = 0.0
            last = d0
            for amt in amounts:
                day = min(self.days - 1, d0 + int(r.random() < 0.4))
                last = max(last, day)
                ecom = bool(r.random() < 0.6)
                over = spent + amt > limit  # past the credit limit: declined
                spent += 0.0 if over else amt
                self.rows.add(day=day, sec=self._sec(r, HOUR_WEIGHT), card=c,
                              merchant=merchants[j % len(merchants)] if r.random() < 0.7 else int(r.choice(merchants)),
                              device=(devs[j % len(devs)] if r.random() < 0.8 else int(r.choice(devs))) if ecom else -1,
                              ip=(ips[j % len(ips)] if r.random() < 0.8 else int(r.choice(ips))) if ecom else -1,
                              amount=float(amt), country=country, ecom=ecom, declined=bool(over), ring=i)
            self.card_active_until[c] = last  # after the bust-out the card goes dark
        self._members(i, "card", cards)
        self._members(i, "device", devs)
        self._members(i, "ip", ips)
        self._members(i, "merchant", merchants)

    def _camouflage(self, r: np.random.Generator, i: int, start: int) -> None:
        """Add ring payments at popular legitimate merchants so that `camouflage` of the ring's payments look normal."""
        n_core = len(self.rows) - start
        if n_core == 0 or self.camouflage <= 0:
            return
        cols = self.rows.cols
        tmpl = [j for j in range(start, start + n_core) if not cols["declined"][j]] or list(range(start, start + n_core))
        n_camo = int(round(self.camouflage / (1.0 - self.camouflage) * n_core))
        for _ in range(n_camo):
            j = tmpl[int(r.integers(len(tmpl)))]
            m = int(r.choice(self.popular))
            ecom = bool(cols["ecom"][j])
            self.rows.add(day=cols["day"][j], sec=min(DAY_S - 1, cols["sec"][j] + int(r.integers(300, 3 * 3600))),
                          card=cols["card"][j], merchant=m, device=cols["device"][j], ip=cols["ip"][j],
                          amount=self._amount(r, m, cols["country"][j], boost=0.3), country=cols["country"][j],
                          ecom=ecom, declined=bool(r.random() < 0.05), ring=i)

    def _disguise(self, i: int, start: int) -> None:
        """Scenario knobs on ring i's planned payments, from the ring's own generator (the default world is untouched):
        e-commerce payments moved onto public IPs, and the few emails, phones and drop addresses the ring reuses."""
        p = self.params
        if p.public_ip_share <= 0 and not p.identity:
            return
        r = np.random.default_rng([self.seed, 4, i])
        cols, rows = self.rows.cols, range(start, len(self.rows))
        if p.public_ip_share > 0:
            for j in rows:
                if cols["ip"][j] >= 0 and r.random() < p.public_ip_share:
                    cols["ip"][j] = self._public_ip(r)
            used = {cols["ip"][j] for j in rows}
            self.ring_members[i] = [(k, x) for k, x in self.ring_members[i] if k != "ip" or x in used]
        if p.identity:
            cards = sorted({cols["card"][j] for j in rows})
            place = {c: k for k, c in enumerate(cards)}
            g = self._grow(len(cards))
            pools = {"email": self._new("email", int(r.integers(1, 4)) * g),
                     "phone": self._new("phone", int(r.integers(1, 3)) * g),
                     "shipping_address": self._new("shipping_address", int(r.integers(1, 4)) * g)}
            for j in rows:
                for kind, pool in pools.items():
                    if cols["ecom"][j] and r.random() < IDENTITY_RATE[kind]:
                        own = r.random() < 0.85
                        cols[kind][j] = pool[place[cols["card"][j]] % len(pool)] if own else int(r.choice(pool))
            for kind in pools:
                self._members(i, kind, sorted({cols[kind][j] for j in rows} - {-1}))


def _legit_day(w: _World, day: int, n: int, r: np.random.Generator) -> dict[str, np.ndarray]:
    """n legitimate payments of one day, vectorised."""
    card = np.minimum(np.searchsorted(w.card_cdf, r.random(n), side="right"), w.n_legit_cards - 1)
    for _ in range(10):  # cards gone dark after a bust-out are redrawn
        dark = np.flatnonzero(w.card_active_until[card] < day)
        if len(dark) == 0:
            break
        card[dark] = np.minimum(np.searchsorted(w.card_cdf, r.random(len(dark)), side="right"), w.n_legit_cards - 1)
    card = card[w.card_active_until[card] >= day]
    n = len(card)
    home = w.card_country[card]
    nc = len(COUNTRIES)
    travel = r.random(n) < w.card_travel[card]
    country = np.where(travel, (home + 1 + r.integers(0, nc - 1, size=n)) % nc, home)
    pos = np.searchsorted(w.m_cdf, country + r.random(n), side="right")
    merchant = w.m_order[np.minimum(pos, w.m_seg_end[country] - 1)]
    ecom = r.random(n) < w.m_ecom[merchant]
    hh = w.card_hh[card]
    dev = w.hh_dev[hh, (r.random(n) * w.hh_ndev[hh]).astype(np.int64)]
    dev = np.where(ecom & (r.random(n) >= NO_DEVICE_RATE), dev, -1)
    nterm = w.m_nterm[merchant]
    term = w.m_term0[merchant] + (r.random(n) * nterm).astype(np.int64)
    dev = np.where(~ecom & (nterm > 0), term, dev)
    u = r.random(n)
    home_ip = w.hh_ip[hh, (r.random(n) * w.hh_nip[hh]).astype(np.int64)]
    pub_ip = w.pub_ip[np.minimum(np.searchsorted(w.pub_cdf, r.random(n), side="right"), len(w.pub_ip) - 1)]
    ip = np.where((u < HOME_IP_RATE) & ~travel, home_ip, pub_ip)
    ip = np.where(ecom & (u < 1.0 - NO_IP_RATE), ip, -1)
    mcc = w.m_mcc[merchant]
    eur = np.exp(MCC_MU[mcc] + MCC_SIGMA[mcc] * r.standard_normal(n))
    amount = np.maximum(0.5, np.round(eur * FX[country], 2))
    whole = r.random(n) < ROUND_AMOUNT_RATE  # people also pay round sums (fuel, top-ups, tips included)
    amount = np.where(whole, np.maximum(1.0, np.round(amount, 0)), amount)
    p_decline = w.card_decline[card] + 0.03 * travel + 0.04 * (eur > 500)
    declined = r.random(n) < p_decline
    hour = np.minimum(np.searchsorted(_HOUR_CDF, r.random(n), side="right"), 23)
    sec = hour * 3600 + r.integers(0, 3600, size=n)
    return {"day": np.full(n, day), "sec": sec, "card": card, "merchant": merchant, "device": dev, "ip": ip,
            "amount": amount, "country": country, "ecom": ecom, "declined": declined, "ring": np.full(n, -1)}


_HOUR_CDF = np.cumsum(HOUR_WEIGHT) / HOUR_WEIGHT.sum()


def _legit_identity(w: _World, rows: dict[str, np.ndarray], r: np.random.Generator) -> None:
    """Identities on legitimate e-commerce payments: the card's own, shared within its household or company."""
    n = len(rows["card"])
    for kind, rate in IDENTITY_RATE.items():
        rows[kind] = np.where(rows["ecom"] & (r.random(n) < rate), w.card_identity[kind][rows["card"]], -1)


def _daily_quota(transactions: int, days: int, start: date) -> np.ndarray:
    """Payments per day with the weekly cycle, summing exactly to `transactions` (largest remainder)."""
    wd = WEEKDAY_WEIGHT[[(start + timedelta(days=d)).weekday() for d in range(days)]]
    raw = transactions * wd / wd.sum()
    q = np.floor(raw).astype(np.int64)
    q[np.argsort(-(raw - q), kind="stable")[: transactions - int(q.sum())]] += 1
    return q


def _write(df, path: Path, fmt: str, time_cols: tuple[str, ...]) -> None:
    """One file, written the same way every time (byte-identical for identical data)."""
    import polars as pl

    if fmt == "parquet":
        df.write_parquet(path, compression="zstd", compression_level=3, statistics=False)
    else:
        df.with_columns([pl.col(c).dt.strftime(ISO) for c in time_cols]).write_csv(path, float_precision=2)


def _clear(out: Path) -> None:
    """Remove files a previous run left in our folders, so no stale day survives."""
    for sub in ("transactions", "chargebacks", "labels", "truth"):
        d = out / sub
        if d.is_dir():
            for f in d.iterdir():
                if f.is_file() and f.suffix in (".parquet", ".csv", ".json", ".md"):
                    f.unlink()


def generate(out: Path, transactions: int = 200_000, days: int = 60, seed: int = 0, fmt: str = "parquet",
             rings: int | None = None, camouflage: float | None = None, label_rate: float | None = None,
             start: date = date(2026, 1, 1), progress: Callable[[int, int], None] | None = None,
             scenario: str = "default") -> GenerateSummary:
    """Write a synthetic payments world with planted rings under `out` (layout in data/README.md).

    `scenario` names an entry of SCENARIOS; `camouflage` and `label_rate` default to the scenario's (0.2 and 0.3
    unless it sets them). `progress(done, total)` is called after each step (one per day, plus the final files).
    """
    import polars as pl

    if scenario not in SCENARIOS:
        raise UsageError(f"scenario {scenario!r} is not one of {', '.join(SCENARIOS)}")
    knobs = dict(SCENARIOS[scenario]["params"])
    scenario_camouflage, scenario_label_rate = knobs.pop("camouflage", 0.2), knobs.pop("label_rate", 0.3)
    camouflage = scenario_camouflage if camouflage is None else camouflage  # explicit arguments win
    label_rate = scenario_label_rate if label_rate is None else label_rate
    params = WorldParams(**knobs)  # the rest shapes the world
    if fmt not in FORMATS:
        raise UsageError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if transactions < 1000:
        raise UsageError("--transactions must be at least 1000")
    if not 7 <= days <= 3660:
        raise UsageError("--days must be between 7 and 3660")
    if seed < 0:
        raise UsageError("--seed must be 0 or more")
    if not 0.0 <= camouflage <= 0.9:
        raise UsageError("--camouflage must be between 0 and 0.9")
    if not 0.0 <= label_rate <= 1.0:
        raise UsageError("--label-rate must be between 0 and 1")
    if rings is None:
        rings = max(8, round(transactions / 10_000))
    if rings < 0:
        raise UsageError("--rings must be 0 or more")
    if shutil.disk_usage(out.parent if out.parent.exists() else Path(".")).free < 1 << 26:
        raise UsageError(f"no room to write {out}")

    t0 = time.perf_counter()
    total_steps = days + 1
    w = _World(transactions, days, seed, rings, camouflage, params)
    for sub in ("transactions", "chargebacks", "labels", "truth"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    _clear(out)

    epoch0 = int(datetime(start.year, start.month, start.day, tzinfo=timezone.utc).timestamp())
    quota = _daily_quota(transactions, days, start)
    channel_s = pl.Series(["pos", "ecom"])
    status_s = pl.Series(["approved", "declined"])
    mcc_s = pl.Series(MCC_CODE)
    country_s, currency_s = pl.Series(COUNTRIES), pl.Series(CURRENCY)
    ring_id_s = pl.Series([f"ring_{i:04d}" for i in range(rings)], dtype=pl.String)
    ring_type_s = pl.Series(w.ring_type, dtype=pl.String)
    cb_id, cb_at, fraud_id, fraud_ring = [], [], [], []
    n_rows = n_declined = n_files = 0

    def ids(kind: str, a: np.ndarray) -> pl.Series:  # entity ids of one column; -1 -> the trailing None of the table
        if kind not in w.observed:
            return pl.Series([None] * len(a), dtype=pl.String)
        return w.ids[kind].gather(pl.Series(np.where(a < 0, len(w.ids[kind]) - 1, a)))

    for d in range(days):
        r = np.random.default_rng([seed, 1, d])
        s, e = w.ring_day_start[d], w.ring_day_start[d + 1]
        ring = {k: v[s:e] for k, v in w.ring_rows.items()}
        legit = _legit_day(w, d, max(0, int(quota[d]) - (e - s)), r)
        if params.identity:
            _legit_identity(w, legit, r)
        rows = {k: np.concatenate([legit[k], ring[k].astype(legit[k].dtype)]) for k in legit}
        order = np.argsort(rows["sec"], kind="stable")
        rows = {k: v[order] for k, v in rows.items()}
        n = len(order)
        ts = (epoch0 + d * DAY_S + rows["sec"]).astype(np.int64)
        day_s = (start + timedelta(days=d)).isoformat()
        tid = pl.Series([f"t_{day_s.replace('-', '')}_"] * n) + pl.Series(np.arange(n)).cast(pl.String).str.zfill(7)
        df = pl.DataFrame({
            "transaction_id": tid,
            "timestamp": pl.Series(ts * 1_000_000).cast(pl.Datetime("us", "UTC")),
            "card_id": ids("card", rows["card"]),
            "merchant_id": ids("merchant", rows["merchant"]),
            "device_id": ids("device", rows["device"]),
            "ip": ids("ip", rows["ip"]),
            "amount": pl.Series(rows["amount"].astype(np.float64)),
            "currency": currency_s.gather(rows["country"]),
            "mcc": mcc_s.gather(w.m_mcc[rows["merchant"]]),
            "country": country_s.gather(rows["country"]),
            "channel": channel_s.gather(rows["ecom"].astype(np.int64)),
            "status": status_s.gather(rows["declined"].astype(np.int64)),
            **{kind: ids(kind, rows[kind]) for kind in IDENTITY_KINDS if kind in w.observed},  # rich_identity only
        })
        _write(df, out / "transactions" / f"{day_s}.{fmt}", fmt, ("timestamp",))
        n_files += 1
        n_rows += n
        n_declined += int(rows["declined"].sum())

        # late, partial labels: a share of approved fraud (and a trickle of legit) is charged back 5-60 days later
        fraud = rows["ring"] >= 0
        p_cb = np.where(fraud, label_rate, FRIENDLY_FRAUD_RATE)
        cb = (~rows["declined"]) & (r.random(n) < p_cb)
        delay = r.integers(CHARGEBACK_DELAY_DAYS[0] * DAY_S, CHARGEBACK_DELAY_DAYS[1] * DAY_S + 1, size=n)
        cb_id.append(tid.filter(pl.Series(cb)))
        cb_at.append(ts[cb] + delay[cb])
        fraud_id.append(tid.filter(pl.Series(fraud)))
        fraud_ring.append(rows["ring"][fraud])
        if progress:
            progress(d + 1, total_steps)

    # chargebacks, one file per day they are reported (some after the last transaction day)
    cb = pl.DataFrame({"transaction_id": pl.concat(cb_id), "reported_at": pl.Series(np.concatenate(cb_at) * 1_000_000)
                       .cast(pl.Datetime("us", "UTC"))}).sort("reported_at", "transaction_id")
    cb = cb.with_columns(pl.col("reported_at").dt.date().alias("_day"))
    for (day,), part in cb.partition_by("_day", as_dict=True, maintain_order=True).items():
        _write(part.drop("_day"), out / "chargebacks" / f"{day.isoformat()}.{fmt}", fmt, ("reported_at",))
        n_files += 1

    # truth: ring members and fraud transactions (never read by training or scoring)
    ent_ids = w.ids
    member_rows = [(f"ring_{i:04d}", w.ring_type[i], kind, ent_ids[kind][x])
                   for i, mem in enumerate(w.ring_members) for kind, x in mem]
    truth = pl.DataFrame(member_rows, schema=["ring_id", "ring_type", "entity_type", "entity_id"], orient="row")
    truth.write_csv(out / "truth" / "rings.csv")
    fr = np.concatenate(fraud_ring).astype(np.int64)
    fraud_df = pl.DataFrame({"transaction_id": pl.concat(fraud_id), "ring_id": ring_id_s.gather(fr),
                             "ring_type": ring_type_s.gather(fr)})
    _write(fraud_df, out / "truth" / f"fraud_transactions.{fmt}", fmt, ())

    # a few analyst-confirmed labels, known only from `labelled_at` on
    labels = _labels(w, seed, days, epoch0, fraud_df, ent_ids)
    labels.write_csv(out / "labels" / "labels.csv")

    args = {"transactions": transactions, "days": days, "seed": seed, "format": fmt, "rings": rings,
            "camouflage": camouflage, "label_rate": label_rate, "start": start.isoformat(), "scenario": scenario}
    rings_by_type = {t: w.ring_type.count(t) for t in RING_TYPES}
    members = {k: int(v) for k, v in truth.group_by("entity_type").len().sort("entity_type").iter_rows()}
    (out / "truth" / "generator.json").write_text(json.dumps(
        {"generator": "graphfraud.generate", "arguments": args, "rings": rings_by_type, "ring_members": members,
         "transactions": n_rows, "fraud_transactions": fraud_df.height, "chargebacks": cb.height}, indent=2) + "\n")
    n_files += 4
    if progress:
        progress(total_steps, total_steps)
    return GenerateSummary(out=out, days=days, start=start, transactions=n_rows, fraud_transactions=fraud_df.height,
                           declined=n_declined, chargebacks=cb.height, labels=labels.height, rings=rings_by_type,
                           ring_members=members, files=n_files, seconds=round(time.perf_counter() - t0, 3))


def _labels(w: _World, seed: int, days: int, epoch0: int, fraud_df, ent_ids: dict):
    """Analyst-confirmed labels: one member of about a third of the rings (fraud), some corporate devices (legit)."""
    import polars as pl

    r = np.random.default_rng([seed, 3])
    first_day = {}
    rr, dd = w.ring_rows["ring"], w.ring_rows["day"]
    for i in range(len(w.ring_type)):
        sel = dd[rr == i]
        if len(sel):
            first_day[i] = int(sel.min())
    rows = []
    for i, mem in enumerate(w.ring_members):
        if i not in first_day or r.random() >= w.params.confirmed_rate:
            continue
        kinds = [m for m in mem if m[0] in ("card", "device")]
        kind, x = kinds[int(r.integers(len(kinds)))]
        at = epoch0 + (first_day[i] + int(r.integers(10, 46))) * DAY_S + int(r.integers(DAY_S))
        rows.append((kind, ent_ids[kind][x], "fraud", at))
    corp = np.flatnonzero(w.hh_corporate)
    for h in r.choice(corp, size=min(len(corp), max(2, len(corp) // 2)), replace=False):
        at = epoch0 + int(r.integers(0, days)) * DAY_S + int(r.integers(DAY_S))
        if "device" in w.observed:
            rows.append(("device", ent_ids["device"][int(w.hh_dev[h, 0])], "legit", at))
        else:  # no devices in the data: the program's first card instead
            rows.append(("card", ent_ids["card"][int(np.searchsorted(w.card_hh, h))], "legit", at))
    df = pl.DataFrame(rows, schema=["entity_type", "entity_id", "label", "labelled_at"], orient="row")
    df = df.with_columns(pl.from_epoch(pl.col("labelled_at"), time_unit="s").dt.replace_time_zone("UTC")
                         .dt.strftime(ISO)).sort("labelled_at", "entity_type", "entity_id")
    return df
