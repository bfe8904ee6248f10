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
from graphfraud.generate import COUNTRIES, CURRENCY, FX, MCC_CODE, RING_TYPES, generate

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
    assert meta["arguments"] == {"transactions": 20_000, "days": 30, "seed": 1, "format": "parquet", "rings": 8,
                                      "camouflage": 0.2, "label_rate": 0.3, "start": "2026-01-01"}
    assert len(list((sample / "transactions").glob("*.parquet"))) == 30
    rings = pl.read_csv(sample / "truth" / "rings.csv").unique("ring_id")
    assert all(n >= 2 for n in dict(rings.group_by("ring_type").len().iter_rows()).values())
    assert set(rings["ring_type"]) == set(RING_TYPES)
    assert sum(f.stat().st_size for f in sample.rglob("*") if f.is_file()) < 5 * 2**20
