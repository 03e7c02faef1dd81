"""What `clvlab demo` prints names its unit, horizon and date: the CLV tables said neither the
currency nor the horizon nor the as-of day, and counts of thousands had no separators."""

from __future__ import annotations

import pandas as pd

from clvlab.cases.alerts import AlertsReport
from clvlab.cases.model import OpenReport
from clvlab.cli._common import console
from clvlab.cli.demo import _print_lifecycle, _print_segments, _print_top


def test_clv_tables_and_stages_say_unit_horizon_and_date() -> None:
    scores = pd.DataFrame({
        "segment": ["Champions", "Lost"], "p_alive": [0.9, 0.2], "clv": [120.0, 3.0], "frequency": [5, 0],
        "expected_purchases": [2.0, 0.1], "expected_spend": [60.0, 30.0], "clv_lower": [100.0, 1.0],
        "clv_upper": [140.0, 5.0]}, index=pd.Index(["00001", "00002"], name="customer_id"))
    unit = "USD, next 365 days from 1998-06-30"
    with console.capture() as out:
        _print_segments(scores, unit)
        _print_top(scores, unit)
        _print_lifecycle({"stages": {"growth": 1, "churned": 1}, "p_alive_model": "ParetoNBD"}, "1998-06-30")
    text = " ".join(out.get().split())
    assert "CLV by RFM segment (USD, next 365 days from 1998-06-30)" in text
    assert "Top 10 customers by CLV (USD, next 365 days from 1998-06-30)" in text
    assert "Lifecycle stages as of 1998-06-30" in text


def test_alert_counts_have_thousands_separators() -> None:
    report = AlertsReport(6000, 1769, {"nps_detractor": 1056}, OpenReport(opened=[], already_open=1769, unassigned=0))
    assert str(report) == ("6,000 responses read, 1,769 matched a rule (nps_detractor: 1,056); "
                           "0 cases opened, 1,769 responses already had a case")


def test_prospects_say_why_their_date_differs_from_the_run() -> None:
    """The demo scored everything as of 1998-06-30 but printed "Prospects: scored as of 1997-03-25"
    without saying why (CDNOW won no customer after March 1997)."""
    from clvlab.cli.leads_cmds import print_leads_record

    with console.capture() as out:
        print_leads_record({"n_prospects": 30000, "as_of": "1997-03-25", "window_days": 30})
    assert " ".join(out.get().split()).startswith(
        "Prospects: 30,000 scored as of 1997-03-25, the last first purchase (the latest day with conversions to "
        "learn from)")
