"""Real data sets shipped with clvlab, each with its provenance.

All files live in ``clvlab/datasets/files``; :func:`path` gives their location for loaders and
the CLI (``clvlab load transactions $(python -c 'import clvlab.datasets as d; print(d.path("cdnow_master"))')``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import pandas as pd

_FILES = {
    "cdnow_master": "CDNOW_master.txt.gz",
    "cdnow_sample": "CDNOW_sample.txt.gz",
    "cdnow_summary": "cdnow_customers_summary_with_transactions.csv",
    "donations": "donations.csv",
    "sbg_cohorts": "sbg_cohorts.csv",
    "demo_feedback": "demo_feedback.csv.gz",
    "demo_owners": "demo_owners.csv",
    "demo_customers": "demo_customers.csv.gz",
    "demo_marketing_spend": "demo_marketing_spend.csv",
    "demo_events": "demo_events.csv.gz",
    "demo_prospects": "demo_prospects.csv.gz",
}

__all__ = [
    "load_cdnow",
    "load_cdnow_summary",
    "load_demo_feedback",
    "load_demo_owners",
    "load_donations",
    "load_sbg_cohorts",
    "path",
    "prepare_telco",
]


def path(name: str) -> Path:
    """Location of a bundled file: one of ``cdnow_master``, ``cdnow_sample``, ``cdnow_summary``,
    ``donations``, ``sbg_cohorts``, ``demo_feedback``, ``demo_owners``, ``demo_customers``,
    ``demo_marketing_spend``, ``demo_events``, ``demo_prospects``.

    ``demo_customers`` (CDNOW customer ids with an ``acquisition_channel`` and a home
    ``store_id``) and ``demo_marketing_spend`` (spend per channel and month, 1997-01..03) are
    demo assumptions, made up by ``scripts/make_demo_economics.py`` because CDNOW has no channels, spend
    or stores: the channel is a fixed function of the customer id, the store that of the customer's
    answers in ``demo_feedback`` (else a fixed function of the id), and the spend an assumed CAC
    per channel.

    ``demo_events`` (site visits, product views, cart adds, newsletter signups before each CDNOW
    customer's first purchase, and of 30,000 prospects ``P00001``.. who never buy) and
    ``demo_prospects`` (those prospects' acquisition channels, for ``customers``) are demo
    assumptions too, made up by ``scripts/make_demo_events.py`` (fixed seed) so that the lead
    score has prospects to rank: conversion depends on behaviour by rules made up there.
    """
    if name not in _FILES:
        msg = f"Unknown data set {name!r}; choose one of {sorted(_FILES)}"
        raise ValueError(msg)
    return Path(str(resources.files("clvlab.datasets") / "files" / _FILES[name]))


def load_cdnow(kind: Literal["master", "sample"] = "master") -> pd.DataFrame:
    """CDNOW transaction log: customers who first bought CDs at CDNOW in Q1 1997, to 1998-06-30.

    ``master``: the full cohort, 23,570 customers, 69,659 rows (one row per customer, day and
    order; several rows per customer and day occur, 255 are exact duplicates).
    ``sample``: the 1/10 sample of the BG/NBD and Pareto/NBD papers, 2,357 customers, 6,919 rows.

    Columns: ``customer_id`` (str), ``ordered_at`` (datetime64), ``quantity`` (CDs), ``amount``
    (US dollars).

    Source: Fader, Hardie and Lee (2005) via the `lifetimes` package (MIT); originally
    https://www.brucehardie.com/datasets/.
    """
    names = (
        ["customer_id", "date", "quantity", "amount"]
        if kind == "master"
        else ["customer_id", "customer_index", "date", "quantity", "amount"]
    )
    frame = pd.read_csv(
        path(f"cdnow_{kind}"), sep=r"\s+", header=0 if kind == "master" else None, names=names,
        dtype={"customer_id": str, "date": str},
    )
    frame["ordered_at"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame[["customer_id", "ordered_at", "quantity", "amount"]]


def load_cdnow_summary() -> pd.DataFrame:
    """The papers' own per-customer summary of the CDNOW sample, in weeks, 39-week calibration.

    Columns ``frequency`` (x, repeat purchases), ``recency`` (t_x), ``T`` and ``monetary_value``
    (mean repeat spend, zbar), indexed by ``customer_id``; 2,357 rows. Source: Bruce Hardie's
    BG/NBD spreadsheet data, via `lifetimes` (MIT).
    """
    raw = pd.read_csv(path("cdnow_summary"))
    frame = raw.rename(columns={"ID": "customer_id", "x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    frame["customer_id"] = frame["customer_id"].astype(str)
    return frame.set_index("customer_id")[["frequency", "recency", "T", "monetary_value"]]


def load_donations() -> pd.DataFrame:
    """Repeat donations to a non-profit over 6 yearly opportunities (1996-2001), 11,104 donors.

    Columns ``frequency``, ``recency``, ``n_periods``, ``weights`` (donors with that pattern).
    Source: Fader, Hardie and Shang (2010), "Customer-Base Analysis in a Discrete-Time
    Noncontractual Setting", Marketing Science 29(6).
    """
    return pd.read_csv(path("donations")).rename(columns={"periods": "n_periods"})


def load_sbg_cohorts() -> pd.DataFrame:
    """Two subscriber cohorts (``regular``, ``highend``), 1,000 customers each, 7 yearly periods.

    Each row is one customer: ``recency`` is the number of periods survived (a customer with
    ``recency < T`` cancelled after ``recency`` periods; ``recency == T`` is still active).
    Expanded from the retention curves published in Fader and Hardie (2007), "How to Project
    Customer Retention", Journal of Interactive Marketing 21(1).
    """
    frame = pd.read_csv(path("sbg_cohorts"), dtype={"customer_id": str})
    return frame


def load_demo_feedback() -> pd.DataFrame:
    """Demo survey responses: 6,000 NPS/CSAT/CES answers of CDNOW customers, 1997-01..1998-06.

    Synthetic responses around real comments, made by ``scripts/make_demo_feedback.py``
    (seeded): each follows a purchase of the customer in the CDNOW master log; customers with
    more purchases answer more positively; the score agrees with the comment's labelled
    sentiment.  Metrics: NPS 60 %, CSAT 25 %, CES 15 % (CES 7 = very easy); about 70 % have a
    comment, half Chinese and half English; 1 % are anonymous (empty ``customer_id``); a few
    comments carry fake phone numbers, e-mails and an ID number to show masking.  As shipped
    the file is raw input: load it with ``ws.load_feedback(clvlab.datasets.path("demo_feedback"))``
    to get it cleaned and masked.

    Columns: ``response_id``, ``responded_at`` (datetime64), ``metric``, ``score`` (int),
    ``customer_id`` (str, "" when anonymous), ``comment`` ("" when none), ``comment_source``,
    ``comment_label`` (the corpus's sentiment label), ``channel``, ``touchpoint``,
    ``store_id`` (S01..S12), ``product_id``, ``survey_id``.

    Sources of the comments (a small sample of each; personal data masked):

    * ``online_shopping_10_cats``: Chinese e-commerce reviews labelled positive/negative, from
      SophonPlus ChineseNlpCorpus (https://github.com/SophonPlus/ChineseNlpCorpus); no licence
      stated upstream, so only a sample of about 2,200 reviews ships, with its source named.
    * ``twitter_us_airline_sentiment``: English customer tweets to US airlines (February 2015)
      labelled positive/neutral/negative, "Twitter US Airline Sentiment" from Crowdflower's
      Data for Everyone library via Kaggle, CC BY-NC-SA 4.0 (about 2,000 tweets; @handles
      and links removed).
    """
    frame = pd.read_csv(path("demo_feedback"), dtype=str, keep_default_na=False)
    frame["responded_at"] = pd.to_datetime(frame["responded_at"])
    frame["score"] = frame["score"].astype(int)
    return frame


def load_demo_owners() -> pd.DataFrame:
    """Owners of the 12 demo stores: ``owner_id``, ``name``, ``email``, ``store_id``,
    ``webhook`` (empty: set one to receive alerts).  One row per store; owners O01 and O04 have
    two stores each.  Invented names, ``example.com`` addresses; made by
    ``scripts/make_demo_feedback.py``."""
    return pd.read_csv(path("demo_owners"), dtype=str, keep_default_na=False)


from clvlab.datasets.telco import prepare_telco  # noqa: E402  (the telco example's features and label)
