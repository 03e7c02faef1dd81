"""Prospects from events and customers, the lead score on a time split, its evaluation by hand,
the `leads` command and the located errors that say what to load."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cli.app import app
from clvlab.errors import DataValidationError

AS_OF = dt.date(2024, 3, 31)
W = 10
T0, T1 = AS_OF - dt.timedelta(days=2 * W), AS_OF - dt.timedelta(days=W)


def _day(d: dt.date, k: int) -> str:
    return (d + dt.timedelta(days=k)).isoformat()


def _shop(tmp_path: Path) -> Path:
    """Converters put something in the cart the day before the window and buy 5 days into it;
    the others only visit, on the same day. Groups (10 each unless said):

    - ``a*`` (20): visit on T0-1, never buy (still prospects at T1, their visit 11 days old);
    - ``b*``: cart add on T0-1, buy on T0+5 (the training converters of the evaluation);
    - ``c*``: cart add on T1-1, buy on T1+5 (the test converters, and the final training's);
    - ``d*`` (20): visit on T1-1, never buy;
    - ``hot``: cart add on AS_OF-1 and ``cold``: visit on AS_OF-1 (scored at AS_OF);
    - ``x1``: a customer row only (no event, no first_seen_at), and one old buyer ``z1``.
    """
    events = ["customer_id,occurred_at,event,value"]
    tx = ["customer_id,ordered_at,amount", f"z1,{_day(T0, -30)},20"]
    for i in range(20):
        events.append(f"a{i},{_day(T0, -1)} 10:00,site_visit,")
        events.append(f"d{i},{_day(T1, -1)} 10:00,site_visit,")
    for i in range(10):
        for g, t in (("b", T0), ("c", T1)):
            events.append(f"{g}{i},{_day(t, -1)} 10:00,site_visit,")
            events.append(f"{g}{i},{_day(t, -1)} 10:05,cart_add,25")
            tx.append(f"{g}{i},{_day(t, 5)},30")
    events += [f"hot,{_day(AS_OF, -1)} 10:00,site_visit,", f"hot,{_day(AS_OF, -1)} 10:05,cart_add,25",
               f"cold,{_day(AS_OF, -1)} 10:00,site_visit,"]
    (tmp_path / "events.csv").write_text("\n".join(events) + "\n")
    (tmp_path / "tx.csv").write_text("\n".join(tx) + "\n")
    (tmp_path / "customers.csv").write_text("customer_id,region\nx1,north\nhot,south\ncold,north\n")
    path = tmp_path / "shop.duckdb"
    with clvlab.connect(path) as ws:
        ws.load_transactions(tmp_path / "tx.csv")
        ws.load_events(tmp_path / "events.csv")
        ws.load_customers(tmp_path / "customers.csv")
    return path


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[clvlab.Workspace]:
    with clvlab.connect(_shop(tmp_path)) as ws:
        yield ws


def test_prospects_come_from_events_and_customers(shop: clvlab.Workspace) -> None:
    stages = clvlab.lifecycle_stages(shop, as_of=AS_OF, model=None)
    prospects = set(stages.index[stages["stage"] == "prospect"])
    assert prospects == {*(f"a{i}" for i in range(20)), *(f"d{i}" for i in range(20)), "hot", "cold", "x1"}
    early = clvlab.lifecycle_stages(shop, as_of=T0, model=None)
    assert "d0" not in early.index  # first seen after T0: not a prospect yet
    assert early.loc["b0", "stage"] == "prospect"


def test_out_of_time_evaluation_by_hand(shop: clvlab.Workspace) -> None:
    leads = clvlab.lead_scores(shop, as_of=AS_OF, window=W)
    ev = leads.attrs["evaluation"]
    # trained as of T0 on a (20, no), b (10, yes); judged as of T1 on a (20), c (10, yes), d (20)
    assert (ev["trained_on"], ev["evaluated_on"], ev["label_end"]) == (str(T0), str(T1), str(AS_OF))
    assert (ev["n_train"], ev["n_test"], ev["converted_test"]) == (30, 50, 10)
    assert ev["base_rate"] == pytest.approx(10 / 50)
    assert ev["auc"] == 1.0  # the cart add tells converters apart
    assert ev["top_decile_rate"] == 1.0  # the top 5 of 50 are all c
    assert ev["lift"] == pytest.approx(5.0)
    # days since the last event: c and d 1 day, a 11 days; a ranks below every c, d ties with c
    assert ev["baseline_auc"] == pytest.approx((20 + 0.5 * 20) / 40)


def test_scores_rank_the_cart_first_with_drivers(shop: clvlab.Workspace) -> None:
    leads = clvlab.lead_scores(shop, as_of=AS_OF, window=W)
    assert leads.attrs["trained_on"] == str(T1)
    assert leads.attrs["n_train"] == 50
    assert leads.attrs["base_rate"] == pytest.approx(0.2)
    assert leads.index[0] == "hot"
    assert leads.loc["hot", "rank"] == 1
    assert leads.loc["hot", "lead_score"] > leads.loc["cold", "lead_score"] > leads.loc["a0", "lead_score"]
    assert "cart_add" in leads.loc["hot", "drivers"].split(";")[0]
    assert leads["lead_score"].between(0, 1).all()
    assert "x1" in leads.index  # scored on fit alone (no event), never learnt from
    assert leads.loc["x1", "events_30d"] == 0
    assert leads.attrs["coefficients"]["cart_add, ever"] > 0


def test_no_conversion_to_learn_from_says_which_date_has_some(shop: clvlab.Workspace) -> None:
    with pytest.raises(DataValidationError, match=r"none of the .* prospects as of 2024-04-20 converted by "
                       r"2024-04-30") as info:
        clvlab.lead_scores(shop, as_of="2024-04-30", window=W)
    assert "as_of='2024-03-26'" in str(info.value)  # the last first purchase, c's, on T1 + 5
    with pytest.raises(clvlab.ParameterError, match="'window'"):
        clvlab.lead_scores(shop, window=0)


def test_without_events_or_customers_it_says_what_to_load(tmp_path: Path) -> None:
    (tmp_path / "tx.csv").write_text("customer_id,ordered_at,amount\nA,2024-01-01,10\n")
    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(tmp_path / "tx.csv")
        with pytest.raises(DataValidationError, match=r"no events and no customers table") as info:
            clvlab.lead_scores(ws)
    assert "clvlab load events FILE" in str(info.value)


@pytest.mark.slow
def test_cli_leads(tmp_path: Path) -> None:
    path = str(_shop(tmp_path))
    runner = CliRunner()
    res = runner.invoke(app, ["leads", "-w", path, "--as-of", str(AS_OF), "--window", str(W), "--top", "3",
                              "--evaluate"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "Top 3 of 43 prospects as of 2024-03-31" in text
    assert "AUC 1.000 vs 0.750 for days since the last event" in text
    res = runner.invoke(app, ["--json", "leads", "-w", path, "--as-of", str(AS_OF), "--window", str(W)])
    doc = json.loads(res.stdout)
    assert doc["n_prospects"] == 43
    assert doc["prospects"][0]["customer_id"] == "hot"
    res = runner.invoke(app, ["leads", "-w", path, "--as-of", "2024-04-30", "--window", str(W)])
    assert res.exit_code == 1
    assert "--as-of 2024-03-26" in " ".join(res.output.split())


def test_fit_alone_from_dated_customers(tmp_path: Path) -> None:
    """No events: prospects are dated customers rows, scored on their attributes and signup age."""
    rows, tx = ["customer_id,first_seen_at,acquisition_channel"], ["customer_id,ordered_at,amount"]
    for i in range(40):
        channel = "referral" if i % 2 else "social"
        for t in (T0, T1):  # half of each date's newcomers, the referrals, buy 3 days later
            cid = f"{t.day}-{i}"
            rows.append(f"{cid},{_day(t, -2)},{channel}")
            if channel == "referral":
                tx.append(f"{cid},{_day(t, 3)},10")
    rows.append(f"new,{_day(AS_OF, -1)},referral")
    (tmp_path / "c.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "t.csv").write_text("\n".join(tx) + "\n")
    with clvlab.connect(":memory:") as ws:
        ws.load_customers(tmp_path / "c.csv")
        ws.load_transactions(tmp_path / "t.csv")
        leads = clvlab.lead_scores(ws, as_of=AS_OF, window=W)
    assert leads.attrs["evaluation"]["auc"] == 1.0
    assert leads.index[0] == "new"
    assert leads.loc["new", "drivers"].startswith("acquisition_channel = referral: 1")
    assert "days since signup" in leads.attrs["coefficients"]
    assert leads["days_since_last_event"].isna().all()


def test_undated_customers_alone_say_what_to_load(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("customer_id,ordered_at,amount\nA,2024-01-01,10\nB,2024-02-01,10\n")
    (tmp_path / "c.csv").write_text("customer_id\nA\nB\nC\n")
    with clvlab.connect(":memory:") as ws:
        ws.load_transactions(tmp_path / "t.csv")
        ws.load_customers(tmp_path / "c.csv")
        with pytest.raises(DataValidationError, match="no dated prospect") as info:
            clvlab.lead_scores(ws, window=W)
    assert "first_seen_at" in str(info.value)
