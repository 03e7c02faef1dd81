"""Invitations: one personal, signed, expiring link per customer and channel, in bulk.

Customers come from the workspace's derived tables (a segment of ``scores``, a stage of
``stages``, or first-time buyers of the last N days, the micro-survey trigger), or from any frame
with a ``customer_id`` column.  Columns ``store_id``, ``touchpoint`` and ``order_id`` (and any
other given in ``hidden``) are carried in the invitation and land in the response.  Contact
frequency: a customer who got an invitation (any survey, any channel) in the last ``min_days``
days is skipped; batches run one at a time (:func:`clvlab.store.serialise`), so concurrent
batches never both invite one customer.  The result is a frame ready to be written as the CSV an SMS or WeChat gateway
reads: ``customer_id, channel, link, expires_at, survey_id`` and the hidden fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select

from clvlab.errors import ClvlabError, DataValidationError, ParameterError
from clvlab.store import AppStore, SurveyInvite, serialise, utcnow
from clvlab.surveys.registry import get_survey
from clvlab.surveys.tokens import sign_token

CHANNELS = ("web", "app", "wechat", "sms", "email")
#: hidden fields read from the customers' frame when present
HIDDEN = ("store_id", "touchpoint", "order_id", "product_id")
_CHUNK = 500


@dataclass(frozen=True)
class InviteBatch:
    """The links made and who was left out (already asked within ``min_days``, or listed twice)."""

    links: pd.DataFrame
    skipped_recent: int
    skipped_duplicate: int

    def __str__(self) -> str:
        return (f"{len(self.links)} invitations created; {self.skipped_recent} customers skipped (asked in the "
                f"contact window), {self.skipped_duplicate} duplicates dropped")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the links are in the CSV)."""
        return {"created": len(self.links), "skipped_recent": self.skipped_recent,
                "skipped_duplicate": self.skipped_duplicate}


def link_base(base_url: str | None) -> str:
    """``base_url`` or ``CLVLAB_PUBLIC_URL`` + ``/s/``; a :class:`ClvlabError` with the fix when neither."""
    from clvlab.settings import get_settings

    base = base_url.rstrip("/") + "/s/" if base_url else get_settings().survey_link_base()
    if not base:
        msg = "survey links need the address customers reach"
        raise ClvlabError(msg, hint="set CLVLAB_PUBLIC_URL (e.g. https://survey.example.com) or pass --base-url")
    return base


def create_invites(
    store: AppStore, survey_id: str, customers: pd.DataFrame, *, channel: str, key: bytes, base_url: str,
    valid_days: float = 14.0, min_days: float = 30.0, hidden: dict[str, str] | None = None,
    now: datetime | None = None,
) -> InviteBatch:
    """Create one invitation per customer of ``customers`` not asked in the last ``min_days`` days.

    Parameters
    ----------
    customers
        A frame with ``customer_id`` and optionally the :data:`HIDDEN` columns.
    channel
        One of :data:`CHANNELS`.
    key
        The link key (:func:`clvlab.surveys.tokens.link_key`).
    base_url
        Prefix of the links (``https://survey.example.com/s/``, see :func:`link_base`).
    hidden
        Fields carried by every invitation of the batch (e.g. ``{"touchpoint": "checkout"}``).
    """
    if channel not in CHANNELS:
        msg = f"The channel must be one of {list(CHANNELS)}. Got {channel!r} instead."
        raise ParameterError(msg)
    if "customer_id" not in customers.columns:
        msg = "the customers to invite need a 'customer_id' column"
        raise ParameterError(msg)
    if valid_days <= 0 or min_days < 0:
        msg = f"valid_days must be > 0 and min_days >= 0. Got {valid_days!r} and {min_days!r} instead."
        raise ParameterError(msg)
    now = now or utcnow()
    frame = customers.dropna(subset=["customer_id"]).copy()
    frame["customer_id"] = frame["customer_id"].astype(str)
    before = len(frame)
    frame = frame.drop_duplicates("customer_id")
    duplicates = before - len(frame)
    expires = now + timedelta(days=valid_days)
    cutoff = now - timedelta(days=min_days)
    rows: list[dict[str, Any]] = []
    with store.session() as session:
        serialise(session, "survey_invites")  # the window is read, then written: one batch at a time
        get_survey(session, survey_id)
        ids = frame["customer_id"].tolist()
        recent: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            recent |= set(session.scalars(select(SurveyInvite.customer_id).where(
                SurveyInvite.customer_id.in_(ids[start:start + _CHUNK]), SurveyInvite.created_at >= cutoff)))
        fresh = frame[~frame["customer_id"].isin(recent)]
        invites = []
        for rec in fresh.to_dict("records"):
            fields = {k: str(rec[k]) for k in HIDDEN if k in rec and pd.notna(rec[k])} | dict(hidden or {})
            invite = SurveyInvite(survey_id=survey_id, customer_id=rec["customer_id"], channel=channel,
                                  hidden=json.dumps(fields, ensure_ascii=False), created_at=now, expires_at=expires)
            invites.append((invite, fields))
        session.add_all([i for i, _ in invites])
        session.flush()
        for invite, fields in invites:
            token = sign_token(key, invite.id, expires=expires)
            rows.append({"customer_id": invite.customer_id, "channel": channel, "link": f"{base_url}{token}",
                         "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "survey_id": survey_id, **fields})
    columns = ["customer_id", "channel", "link", "expires_at", "survey_id"]
    links = pd.DataFrame(rows, columns=columns + sorted({k for r in rows for k in r} - set(columns)))
    return InviteBatch(links=links, skipped_recent=len(frame) - len(fresh), skipped_duplicate=duplicates)


def select_customers(workspace: Any, *, segment: str | None = None, stage: str | None = None,
                     first_purchase_days: float | None = None) -> pd.DataFrame:
    """Customers of the workspace to invite: ``customer_id`` (and ``store_id`` from ``customers``).

    ``segment`` filters the RFM segment of ``scores``, ``stage`` the lifecycle stage of ``stages``,
    ``first_purchase_days`` keeps customers with one purchase whose first purchase lies within
    that many days of the stages' ``as_of`` (the trigger after a first purchase).  Filters combine.
    """
    from clvlab.derived import read_derived

    if segment is None and stage is None and first_purchase_days is None:
        msg = "say whom to invite: --segment, --stage or --first-purchase-days"
        raise ParameterError(msg)
    keep: set[str] | None = None

    def narrow(ids: pd.Series) -> None:
        nonlocal keep
        found = set(ids.astype(str))
        keep = found if keep is None else keep & found

    if segment is not None:
        scores = read_derived(workspace, "scores", columns=("segment",), where="surveys invite --segment")
        frame = scores.select("customer_id", "segment").execute()
        _check_value(frame["segment"], segment, "segment", "scores")
        narrow(frame.loc[frame["segment"].astype(str).str.lower() == segment.lower(), "customer_id"])
    if stage is not None or first_purchase_days is not None:
        stages = read_derived(workspace, "stages", columns=("stage", "n_purchases"), where="surveys invite")
        frame = stages.execute()
        if stage is not None:
            _check_value(frame["stage"], stage, "stage", "stages")
            narrow(frame.loc[frame["stage"].astype(str).str.lower() == stage.lower(), "customer_id"])
        if first_purchase_days is not None:
            first = pd.to_datetime(frame.get("first_purchase"))
            as_of = pd.to_datetime(frame.get("as_of"))
            if first is None or as_of is None:
                msg = "the stages table has no first_purchase/as_of columns"
                raise DataValidationError(msg, hint="re-run clvlab run to rewrite the stages table")
            recent = (frame["n_purchases"] == 1) & ((as_of - first).dt.days <= first_purchase_days)
            narrow(frame.loc[recent, "customer_id"])
    out = pd.DataFrame({"customer_id": sorted(keep or ())})
    if "customers" in workspace.tables() and "store_id" in workspace.table("customers").columns:
        stores = workspace.table("customers").select("customer_id", "store_id").execute()
        stores["customer_id"] = stores["customer_id"].astype(str)
        out = out.merge(stores.drop_duplicates("customer_id"), on="customer_id", how="left")
    return out


def _check_value(values: pd.Series, wanted: str, what: str, table: str) -> None:
    have = sorted({str(v) for v in values.dropna()})
    if wanted.lower() not in {h.lower() for h in have}:
        msg = f"no customer has {what} '{wanted}' in the workspace's {table} table"
        raise DataValidationError(msg, hint=f"{what}s there: {', '.join(have[:20]) or 'none'}")
