"""The synthetic world: contract schema, determinism, planted rings linked as documented, late labels, hard negatives.

No Neo4j here: the generator only writes files.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest
from typer.testing import CliRunner

from graphfraud.config import REPO_ROOT
from graphfraud.errors import UsageError
from graphfraud.generate import (COUNTRIES, CURRENCY, FX, IDENTITY_KINDS, MCC_CODE, RING_TYPES, SCENARIOS, SUITES,
                                 generate, suite_worlds)

TX_COLUMNS = ["transaction_id", "timestamp", "card_id", "merchant_id", "device_id", "ip", "amount", "currency",
              "mcc", "country", "channel", "status"]
DAYS = 20
FX_OF = {c: float(f) for c, f in zip(CURRENCY, FX) if c != "EUR"} | {"EUR": 1.0}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """One small parquet world (10k payments, 20 days, 8 rings) read back with the truth joined on."""
    out = tmp_path_factory.mktemp("world")
    summary = generate(out, transactions=10_000, days=DAYS, seed=11, rings=8)
    tx = pl.read_parquet(out / "transactions" / "*.parquet")
    fraud = pl.read_parquet(out / "truth" / "fraud_transactions.parquet")
    cb = pl.read_parquet(out / "chargebacks" / "*.parquet")
    return {"out": out, "summary": summary, "tx": tx.join(fraud, on="transaction_id", how="left"),
            "fraud": fraud, "rings": pl.read_csv(out / "truth" / "rings.csv"), "cb": cb,
            "labels": pl.read_csv(out / "labels" / "labels.csv")}


def test_transactions_have_the_contract_schema(world):
    tx = world["tx"].select(TX_COLUMNS)
    assert pl.read_parquet_schema(next((world["out"] / "transactions").glob("*.parquet"))) == {
        "transaction_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "card_id": pl.String,
        "merchant_id": pl.String, "device_id": pl.String, "ip": pl.String, "amount": pl.Float64,
        "currency": pl.String, "mcc": pl.String, "country": pl.String, "channel": pl.String, "status": pl.String}
    assert tx.height == world["summary"].transactions == 10_000
    assert tx["transaction_id"].n_unique() == tx.height
    assert tx["card_id"].str.starts_with("c_").all() and tx["merchant_id"].str.starts_with("m_").all()
    assert tx["device_id"].drop_nulls().str.starts_with("d_").all()
    assert tx["ip"].drop_nulls().str.contains(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$").all()
    assert (tx["amount"] > 0).all()
    assert set(tx["currency"]) <= set(CURRENCY) and set(tx["country"]) <= set(COUNTRIES)
    assert set(tx["mcc"]) <= set(MCC_CODE) and tx["mcc"].str.contains(r"^\d{4}$").all()
    assert set(tx["channel"]) == {"ecom", "pos"} and set(tx["status"]) == {"approved", "declined"}
    pos = tx.filter(pl.col("channel") == "pos")
    assert pos["ip"].null_count() == pos.height  # card-present: no IP
    assert 0.3 < pos["device_id"].null_count() / pos.height < 1.0  # mostly none; some shared terminals
    # each file holds exactly its own UTC day
    for f in sorted((world["out"] / "transactions").glob("*.parquet")):
        days = pl.read_parquet(f)["timestamp"].dt.date().unique().to_list()
        assert days == [date.fromisoformat(f.stem)]
    assert len(list((world["out"] / "transactions").glob("*.parquet"))) == DAYS


def test_csv_format_and_byte_identical_reruns(tmp_path):
    for fmt in ("parquet", "csv"):
        a = generate(tmp_path / f"a_{fmt}", transactions=3000, days=7, seed=4, fmt=fmt, rings=4)
        generate(tmp_path / f"b_{fmt}", transactions=3000, days=7, seed=4, fmt=fmt, rings=4)
        files = sorted(p.relative_to(a.out) for p in a.out.rglob("*") if p.is_file())
        assert len(files) == a.files
        assert files == sorted(p.relative_to(tmp_path / f"b_{fmt}") for p in (tmp_path / f"b_{fmt}").rglob("*")
                               if p.is_file())
        for rel in files:
            assert (a.out / rel).read_bytes() == (tmp_path / f"b_{fmt}" / rel).read_bytes(), rel
    other = generate(tmp_path / "c", transactions=3000, days=7, seed=5, fmt="csv", rings=4)
    assert (other.out / "transactions/2026-01-01.csv").read_bytes() != \
        (tmp_path / "a_csv/transactions/2026-01-01.csv").read_bytes()
    tx = pl.read_csv(tmp_path / "a_csv/transactions/2026-01-03.csv", infer_schema=False)
    assert tx.columns == TX_COLUMNS
    assert tx["timestamp"].str.contains(r"^2026-01-03T\d\d:\d\d:\d\dZ$").all()
    assert tx["amount"].str.contains(r"^\d+\.\d\d$").all()
    cb = pl.read_csv(next((tmp_path / "a_csv/chargebacks").glob("*.csv")), infer_schema=False)
    assert cb.columns == ["transaction_id", "reported_at"]
    assert cb["reported_at"].str.contains(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()


def test_every_ring_type_is_planted_and_truth_is_consistent(world):
    rings, fraud, tx = world["rings"], world["fraud"], world["tx"]
    assert rings.columns == ["ring_id", "ring_type", "entity_type", "entity_id"]
    per_type = rings.unique("ring_id").group_by("ring_type").len()
    assert dict(per_type.iter_rows()) == {t: 2 for t in RING_TYPES} == world["summary"].rings
    assert set(fraud["ring_id"]) == set(rings["ring_id"])
    assert fraud["transaction_id"].is_in(tx["transaction_id"].implode()).all()
    # a card belongs to at most one ring; only collusion and bust-out rings control merchants
    cards = rings.filter(pl.col("entity_type") == "card")
    assert cards["entity_id"].n_unique() == cards.height
    assert set(rings.filter(pl.col("entity_type") == "merchant")["ring_type"]) == {"merchant_collusion", "bust_out"}
    assert not rings["entity_id"].is_in(_busiest(tx).implode()).any()  # popular merchants are never members


def _busiest(tx: pl.DataFrame) -> pl.Series:
    """The busiest quarter of merchants by legitimate volume."""
    vol = tx.filter(pl.col("ring_id").is_null()).group_by("merchant_id").len().sort("len", "merchant_id", descending=True)
    return vol.head(vol.height // 4)["merchant_id"]


def test_camouflage_sends_ring_payments_to_popular_merchants(world, tmp_path):
    def share(tx: pl.DataFrame) -> float:
        return tx.filter(pl.col("ring_id").is_not_null())["merchant_id"].is_in(_busiest(tx).implode()).mean()

    out = generate(tmp_path, transactions=10_000, days=DAYS, seed=11, rings=8, camouflage=0.0).out
    plain = pl.read_parquet(out / "transactions").join(
        pl.read_parquet(out / "truth" / "fraud_transactions.parquet"), on="transaction_id", how="left")
    assert share(plain) < 0.15  # without camouflage rings keep to their own, small or high-value merchants
    assert share(world["tx"]) > share(plain) + 0.08  # camouflage 0.2: a fifth of ring payments blend in


def _ring(world, ring_id):
    mem = world["rings"].filter(pl.col("ring_id") == ring_id)
    ids = {k: set(mem.filter(pl.col("entity_type") == k)["entity_id"]) for k in ("card", "device", "ip", "merchant")}
    return ids, world["tx"].filter(pl.col("ring_id") == ring_id)


def test_ring_members_are_linked_in_the_transactions_as_documented(world):
    tx = world["tx"]
    for ring_id, ring_type in world["rings"].unique("ring_id").sort("ring_id").select("ring_id", "ring_type").iter_rows():
        ids, rt = _ring(world, ring_id)
        # every member really appears in the ring's payments
        assert ids["card"] == set(rt["card_id"]), ring_id
        assert ids["device"] and ids["device"] <= set(rt["device_id"].drop_nulls()), ring_id
        assert ids["ip"] and ids["ip"] <= set(rt["ip"].drop_nulls()), ring_id
        assert ids["merchant"] <= set(rt["merchant_id"]), ring_id
        assert 5 <= len(ids["card"]) <= 40 and 1 <= len(ids["device"]) <= 6 and len(ids["merchant"]) <= 5
        on_ring_dev = rt.filter(pl.col("device_id").is_in(list(ids["device"])))
        if ring_type == "card_testing":
            small = rt.filter(pl.col("amount") <= 5 * pl.col("currency").replace_strict(FX_OF))
            assert small.height >= 0.6 * rt.height and (small["channel"] == "ecom").all()
            assert (small["status"] == "declined").mean() > 0.3  # most stolen numbers do not work
            assert set(small["card_id"]) == ids["card"]  # every card tested with a small amount
            top3 = rt.group_by("merchant_id").len().sort("len", descending=True).head(3)["len"].sum()
            assert top3 >= 0.6 * rt.height  # at a few merchants
        elif ring_type == "device_farm":
            assert set(on_ring_dev["card_id"]) == ids["card"]  # every taken-over card on the farm's devices
            per_dev = on_ring_dev.group_by("device_id").agg(pl.col("card_id").n_unique())
            assert (per_dev["card_id"] >= 2).all()
            history = tx.filter(pl.col("card_id").is_in(list(ids["card"])) & pl.col("ring_id").is_null())
            assert history["card_id"].n_unique() >= 0.8 * len(ids["card"])  # ATO: real cards with a normal past
        elif ring_type == "merchant_collusion":
            core = rt.filter(pl.col("merchant_id").is_in(list(ids["merchant"])))
            assert set(core["card_id"]) == ids["card"]  # a closed set of cards cycles through the merchants
            per_m = core.group_by("merchant_id").agg(pl.col("card_id").n_unique())
            assert per_m.height == len(ids["merchant"]) and (per_m["card_id"] >= 2).all()
            cents = (core["amount"] * 100).round(0).cast(pl.Int64) % 100
            assert cents.is_in([0, 99]).all()  # round amounts (or just under)
            assert set(on_ring_dev["card_id"]) == ids["card"]
        else:  # bust_out
            core = rt.filter(pl.col("merchant_id").is_in(list(ids["merchant"])))
            assert set(core["card_id"]) == ids["card"]
            first = rt["timestamp"].min()
            assert first >= datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(days=int(0.6 * DAYS))
            history = tx.filter(pl.col("card_id").is_in(list(ids["card"])) & pl.col("ring_id").is_null()
                                & (pl.col("timestamp") < first))
            assert history["card_id"].n_unique() >= 0.8 * len(ids["card"])  # a normal history, then the bust
            eur = pl.col("amount") / pl.col("currency").replace_strict(FX_OF)
            legit_median = tx.filter(pl.col("ring_id").is_null()).select(eur.median()).item()
            assert rt.select(eur.median()).item() > 3 * legit_median  # maxing out: large payments
            assert (rt["status"] == "declined").any()  # maxed out: past the limit payments are declined


def test_chargebacks_are_partial_late_and_never_for_declines(world):
    tx, cb = world["tx"], world["cb"]
    j = cb.join(tx, on="transaction_id", how="left")
    assert j["status"].null_count() == 0 and (j["status"] == "approved").all()
    delay = (j["reported_at"] - j["timestamp"]).dt.total_seconds()
    assert (delay >= 5 * 86_400).all() and (delay <= 60 * 86_400).all()
    approved_fraud = tx.filter(pl.col("ring_id").is_not_null() & (pl.col("status") == "approved"))
    share = approved_fraud["transaction_id"].is_in(cb["transaction_id"].implode()).mean()
    assert 0.2 < share < 0.4  # label_rate 0.3
    legit_cb = j.filter(pl.col("ring_id").is_null()).height
    assert legit_cb < 0.005 * tx.filter(pl.col("ring_id").is_null()).height  # only a trickle of friendly fraud
    files = sorted((world["out"] / "chargebacks").glob("*.parquet"))
    for f in files:
        assert pl.read_parquet(f)["reported_at"].dt.date().unique().to_list() == [date.fromisoformat(f.stem)]
    assert date.fromisoformat(files[-1].stem) > date(2026, 1, 1) + timedelta(days=DAYS - 1)  # known after the period
    assert world["summary"].chargebacks == cb.height


def test_labels_are_few_and_right(world):
    labels, rings = world["labels"], world["rings"]
    assert labels.columns == ["entity_type", "entity_id", "label", "labelled_at"]
    assert 0 < labels.height < 30
    assert set(labels["entity_type"]) <= {"card", "merchant", "device", "ip"}
    assert labels["labelled_at"].str.contains(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()
    members = rings["entity_id"].implode()
    assert labels.filter(pl.col("label") == "fraud")["entity_id"].is_in(members).all()
    legit = labels.filter(pl.col("label") == "legit")
    assert legit.height >= 2 and not legit["entity_id"].is_in(members).any()


def test_legitimate_sharing_is_there_as_hard_negatives(world):
    tx, rings = world["tx"], world["rings"]
    legit = tx.filter(pl.col("ring_id").is_null() & ~pl.col("card_id").is_in(rings["entity_id"].implode()))
    dev = legit.filter(pl.col("device_id").is_not_null()).group_by("device_id", "channel").agg(
        pl.col("card_id").n_unique().alias("cards"), pl.col("merchant_id").n_unique().alias("merchants"))
    # shared POS terminals: one device, one merchant, many unrelated cards
    assert dev.filter((pl.col("channel") == "pos") & (pl.col("merchants") == 1) & (pl.col("cards") >= 10)).height >= 3
    # households: a few cards on one device, shopping online at many merchants
    assert dev.filter((pl.col("channel") == "ecom") & pl.col("cards").is_between(2, 4)).height >= 20
    # corporate programs: many cards on one device across many merchants
    assert dev.filter((pl.col("channel") == "ecom") & (pl.col("cards") >= 12) & (pl.col("merchants") >= 5)).height >= 1
    # public networks: one IP, many unrelated cards
    ips = legit.filter(pl.col("ip").is_not_null()).group_by("ip").agg(pl.col("card_id").n_unique().alias("cards"))
    assert ips.filter(pl.col("cards") >= 20).height >= 3
    assert (world["labels"].filter(pl.col("label") == "legit")["entity_id"].is_in(dev["device_id"].implode())).all()
    # travel, declines, heavy tails, daily cycle
    countries = legit.group_by("card_id").agg(pl.col("country").n_unique())
    assert (countries["country"] >= 2).mean() > 0.05
    assert 0.005 < (legit["status"] == "declined").mean() < 0.06
    per_merchant = legit.group_by("merchant_id").len()["len"]
    assert per_merchant.max() > 20 * per_merchant.median()
    hours = legit["timestamp"].dt.hour()
    assert (hours == 19).sum() > 4 * (hours == 3).sum()


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(UsageError, match="format"):
        generate(tmp_path, transactions=2000, days=7, fmt="xlsx")
    with pytest.raises(UsageError, match="days"):
        generate(tmp_path, transactions=2000, days=2)
    with pytest.raises(UsageError, match="camouflage"):
        generate(tmp_path, transactions=2000, days=7, camouflage=1.5)
    with pytest.raises(UsageError, match="too many rings"):
        generate(tmp_path, transactions=2000, days=7, rings=400)


def test_cli_generate_json(tmp_path):
    from cli import app

    res = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "w"), "--transactions", "2000", "--days", "7",
                                   "--seed", "2", "--format", "csv", "--rings", "4", "--camouflage", "0.1",
                                   "--label-rate", "0.5", "--json"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.stdout)
    assert s["transactions"] == 2000 and s["rings"] == {t: 1 for t in RING_TYPES}
    assert len(list((tmp_path / "w/transactions").glob("*.csv"))) == 7
    args = json.loads((tmp_path / "w/truth/generator.json").read_text())["arguments"]
    assert args["camouflage"] == 0.1 and args["label_rate"] == 0.5 and args["format"] == "csv"


def test_committed_sample_has_every_ring_type():
    sample = REPO_ROOT / "data" / "sample"
    meta = json.loads((sample / "truth" / "generator.json").read_text())
    args = {k: v for k, v in meta["arguments"].items() if k != "scenario"}
    assert meta["arguments"].get("scenario", "default") == "default"
    assert args == {"transactions": 20_000, "days": 30, "seed": 1, "format": "parquet", "rings": 8,
                    "camouflage": 0.2, "label_rate": 0.3, "start": "2026-01-01"}
    assert len(list((sample / "transactions").glob("*.parquet"))) == 30
    rings = pl.read_csv(sample / "truth" / "rings.csv").unique("ring_id")
    assert all(n >= 2 for n in dict(rings.group_by("ring_type").len().iter_rows()).values())
    assert set(rings["ring_type"]) == set(RING_TYPES)
    assert sum(f.stat().st_size for f in sample.rglob("*") if f.is_file()) < 5 * 2**20


# --- scenarios --------------------------------------------------------------------------------------------------


def _read(out) -> dict:
    tx = pl.read_parquet(out / "transactions" / "*.parquet")
    fraud = pl.read_parquet(out / "truth" / "fraud_transactions.parquet")
    rings = pl.read_csv(out / "truth" / "rings.csv")
    return {"out": out, "tx": tx.join(fraud, on="transaction_id", how="left"), "fraud": fraud, "rings": rings,
            "cb": pl.read_parquet(out / "chargebacks" / "*.parquet"),
            "labels": pl.read_csv(out / "labels" / "labels.csv"),
            "meta": json.loads((out / "truth" / "generator.json").read_text())}


@pytest.fixture(scope="module")
def scenario_world(tmp_path_factory):
    """scenario_world(name, transactions=10_000): a 20-day world of that scenario (seed 11, like `world`), read back."""
    cache: dict = {}

    def make(scenario: str, transactions: int = 10_000) -> dict:
        if (scenario, transactions) not in cache:
            out = tmp_path_factory.mktemp(f"{scenario}_{transactions}")
            generate(out, transactions=transactions, days=DAYS, seed=11, scenario=scenario)
            cache[scenario, transactions] = _read(out)
        return cache[scenario, transactions]
    return make


def _legit(w: dict) -> pl.DataFrame:
    """Payments of cards that belong to no ring."""
    ring_cards = w["rings"].filter(pl.col("entity_type") == "card")["entity_id"]
    return w["tx"].filter(pl.col("ring_id").is_null() & ~pl.col("card_id").is_in(ring_cards.implode()))


def _members_appear(w: dict, column_of: dict[str, str]) -> None:
    """Every truth member is in its ring's own payments, in the column of its entity type."""
    for (ring_id, kind), mem in w["rings"].group_by("ring_id", "entity_type"):
        rt = w["tx"].filter(pl.col("ring_id") == ring_id)
        assert set(mem["entity_id"]) <= set(rt[column_of[kind]].drop_nulls()), (ring_id, kind)


def test_scenario_registry_and_unknown_names(tmp_path):
    assert len(SCENARIOS) >= 7 and {"default", "camouflage", "sparse_labels", "card_present", "rich_identity",
                                    "crowded", "ring_sizes"} <= set(SCENARIOS)
    assert all(s["description"] and isinstance(s["params"], dict) for s in SCENARIOS.values())
    assert SCENARIOS["default"]["params"] == {}
    with pytest.raises(UsageError, match="not one of default, camouflage.*ring_sizes"):
        generate(tmp_path / "w", transactions=2000, days=7, scenario="nope")
    assert not (tmp_path / "w").exists()  # refused before anything is written


def test_suites_cover_every_scenario_with_disjoint_seeds():
    dev, test = suite_worlds("dev"), suite_worlds("test")
    for worlds in (dev, test):
        assert sorted(sc for _, sc, _ in worlds) == sorted(SCENARIOS)  # every scenario exactly once
        assert len({name for name, _, _ in worlds}) == len(worlds)
    assert not {seed for *_, seed in dev} & {seed for *_, seed in test}
    assert not {name for name, *_ in dev} & {name for name, *_ in test}
    assert set(SUITES) == {"dev", "test"} and ("dev_default", "default", 101) in dev
    with pytest.raises(UsageError, match="dev, test"):
        suite_worlds("train")


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "default"])
def test_every_scenario_is_deterministic(tmp_path, scenario):
    a = generate(tmp_path / "a", transactions=3000, days=7, seed=4, rings=4, scenario=scenario)
    generate(tmp_path / "b", transactions=3000, days=7, seed=4, rings=4, scenario=scenario)
    files = sorted(p.relative_to(a.out) for p in a.out.rglob("*") if p.is_file())
    assert len(files) == a.files
    for rel in files:
        assert (a.out / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert json.loads((a.out / "truth/generator.json").read_text())["arguments"]["scenario"] == scenario
    other = generate(tmp_path / "c", transactions=3000, days=7, seed=4, rings=4)  # the default world differs
    assert any((a.out / rel).read_bytes() != (other.out / rel).read_bytes() for rel in files
               if (other.out / rel).exists() and rel.parts[0] in ("transactions", "truth"))


def test_only_rich_identity_adds_columns(scenario_world):
    for scenario in SCENARIOS:
        if scenario not in ("default", "rich_identity"):
            assert scenario_world(scenario)["tx"].columns[:len(TX_COLUMNS) + 1] == TX_COLUMNS + ["ring_id"], scenario
    assert scenario_world("rich_identity")["tx"].columns[:len(TX_COLUMNS) + 3] == TX_COLUMNS + list(IDENTITY_KINDS)


def test_camouflage_scenario_blends_rings_into_popular_merchants_and_public_ips(world, scenario_world):
    camo = scenario_world("camouflage")
    assert camo["meta"]["arguments"]["camouflage"] == 0.5

    def on_public_ips(w: dict) -> float:  # ring payments from an IP that cards outside every ring also use
        ring = w["tx"].filter(pl.col("ring_id").is_not_null() & pl.col("ip").is_not_null())
        return ring["ip"].is_in(_legit(w)["ip"].drop_nulls().implode()).mean()

    def at_busiest(w: dict) -> float:
        return w["tx"].filter(pl.col("ring_id").is_not_null())["merchant_id"].is_in(_busiest(w["tx"]).implode()).mean()

    assert on_public_ips(world) == 0.0  # default: rings keep to their own IPs
    assert 0.35 < on_public_ips(camo) < 0.65  # half of their e-commerce payments
    assert at_busiest(camo) > at_busiest(world) + 0.15
    _members_appear(camo, {"card": "card_id", "device": "device_id", "ip": "ip", "merchant": "merchant_id"})
    public = set(_legit(camo)["ip"].drop_nulls())
    assert not set(camo["rings"].filter(pl.col("entity_type") == "ip")["entity_id"]) & public  # never members


def test_sparse_labels_scenario_charges_back_a_tenth(world, scenario_world):
    w = scenario_world("sparse_labels")
    approved = w["tx"].filter(pl.col("ring_id").is_not_null() & (pl.col("status") == "approved"))
    share = approved["transaction_id"].is_in(w["cb"]["transaction_id"].implode()).mean()
    assert 0.05 < share < 0.15 and w["meta"]["arguments"]["label_rate"] == 0.1
    fraud_labels = w["labels"].filter(pl.col("label") == "fraud").height
    assert fraud_labels < world["labels"].filter(pl.col("label") == "fraud").height
    assert w["tx"].equals(world["tx"])  # only the labels change


def test_card_present_scenario_has_no_device_or_ip(scenario_world):
    w = scenario_world("card_present")
    tx, rings = w["tx"], w["rings"]
    assert tx["device_id"].null_count() == tx.height and tx["ip"].null_count() == tx.height
    assert pl.read_parquet_schema(next((w["out"] / "transactions").glob("*.parquet")))["device_id"] == pl.String
    assert set(rings["entity_type"]) == {"card", "merchant"}
    assert dict(rings.unique("ring_id").group_by("ring_type").len().iter_rows()) == {t: 2 for t in RING_TYPES}
    _members_appear(w, {"card": "card_id", "merchant": "merchant_id"})
    in_data = set(tx["card_id"]) | set(tx["merchant_id"])
    assert set(w["labels"]["entity_id"]) <= in_data and set(w["labels"]["entity_type"]) == {"card"}
    # rings still show through merchants, amounts and timing: card tests are tiny night-time bursts
    tests = tx.filter(pl.col("ring_type") == "card_testing")
    small = tests.filter(pl.col("amount") <= 5 * pl.col("currency").replace_strict(FX_OF))
    assert small.height >= 0.6 * tests.height
    assert small["timestamp"].dt.hour().is_in([21, 22, 23, 0, 1, 2, 3, 4, 5]).mean() > 0.3


def test_rich_identity_scenario_links_shared_identities(scenario_world):
    w = scenario_world("rich_identity")
    tx, rings = w["tx"], w["rings"]
    schema = pl.read_parquet_schema(next((w["out"] / "transactions").glob("*.parquet")))
    assert all(schema[k] == pl.String for k in IDENTITY_KINDS)
    prefix = {"email": "e_", "phone": "p_", "shipping_address": "a_"}
    legit = _legit(w)
    for kind in IDENTITY_KINDS:
        assert tx[kind].drop_nulls().str.starts_with(prefix[kind]).all()
        assert tx.filter(pl.col("channel") == "pos")[kind].null_count() == (tx["channel"] == "pos").sum()
        members = rings.filter(pl.col("entity_type") == kind)
        assert members["ring_id"].n_unique() == rings["ring_id"].n_unique(), kind  # every ring reuses some
        per_value = legit.filter(pl.col(kind).is_not_null()).group_by(kind).agg(pl.col("card_id").n_unique())
        assert (per_value["card_id"] >= 2).sum() >= 5, kind  # households and companies share them too
        assert not members["entity_id"].is_in(legit[kind].drop_nulls().implode()).any()  # ring values are the ring's
    _members_appear(w, {"card": "card_id", "device": "device_id", "ip": "ip", "merchant": "merchant_id",
                        **{k: k for k in IDENTITY_KINDS}})
    # a ring's cards share its identities: more cards per value than in any household
    ring_share = tx.filter(pl.col("ring_id").is_not_null() & pl.col("shipping_address").is_not_null()).group_by(
        "shipping_address").agg(pl.col("card_id").n_unique())
    assert ring_share["card_id"].max() >= 5


def test_crowded_scenario_shares_more(world, scenario_world):
    def cards_per_shared(w: dict, col: str) -> float:  # mean cards on a device/IP that at least two legit cards use
        per = _legit(w).filter(pl.col(col).is_not_null()).group_by(col).agg(pl.col("card_id").n_unique().alias("n"))
        return per.filter(pl.col("n") >= 2)["n"].mean()

    crowded = scenario_world("crowded")
    for col in ("device_id", "ip"):
        assert cards_per_shared(crowded, col) > 1.4 * cards_per_shared(world, col), col
    assert crowded["tx"].height == world["tx"].height


def test_ring_sizes_scenario_spans_tiny_to_huge_rings(scenario_world):
    w = scenario_world("ring_sizes", transactions=30_000)
    cards = w["rings"].filter(pl.col("entity_type") == "card").group_by("ring_id", "ring_type").len()
    assert cards["len"].min() <= 6 and cards["len"].max() >= 100
    for t in RING_TYPES:  # tiny and huge rings of every type
        sizes = cards.filter(pl.col("ring_type") == t)["len"]
        assert sizes.min() <= 6 and sizes.max() >= 100, t
    assert w["fraud"].height < 0.12 * w["tx"].height  # fraud stays a modest share of payments
    _members_appear(w, {"card": "card_id", "device": "device_id", "ip": "ip", "merchant": "merchant_id"})
    farm = w["tx"].filter(pl.col("ring_type") == "device_farm")
    devs = set(w["rings"].filter((pl.col("ring_type") == "device_farm")
                                 & (pl.col("entity_type") == "device"))["entity_id"])
    per_dev = farm.filter(pl.col("device_id").is_in(list(devs))).group_by("device_id").agg(pl.col("card_id").n_unique())
    assert per_dev.height == len(devs) and (per_dev["card_id"] >= 2).all()  # tiny farms too


def test_cli_generate_scenario(tmp_path):
    from cli import app

    help_text = CliRunner().invoke(app, ["generate", "--help"], terminal_width=200).output
    assert all(name in help_text for name in SCENARIOS)
    res = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "w"), "--transactions", "2000", "--days", "7",
                                   "--rings", "4", "--scenario", "sparse_labels", "--label-rate", "0.5", "--json"])
    assert res.exit_code == 0, res.output
    args = json.loads((tmp_path / "w/truth/generator.json").read_text())["arguments"]
    assert args["scenario"] == "sparse_labels" and args["label_rate"] == 0.5 and args["camouflage"] == 0.2
    bad = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "x"), "--scenario", "nope"])
    assert isinstance(bad.exception, UsageError) and "ring_sizes" in str(bad.exception)  # main() prints it
