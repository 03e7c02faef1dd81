"""Tables of the surveys domain: definitions, invitations, responses, webhook subscribers, rate hits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clvlab.store.base import Base, UTCDateTime


class SurveyDef(Base):
    """A survey: its id (used in links and commands) and its definition as JSON (questions, texts)."""

    __tablename__ = "surveys"

    survey_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    definition: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class SurveyInvite(Base):
    """One personal link: a customer asked one survey on one channel, until ``expires_at``."""

    __tablename__ = "survey_invites"
    __table_args__ = (Index("ix_survey_invites_customer_created", "customer_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    survey_id: Mapped[str] = mapped_column(ForeignKey("surveys.survey_id", ondelete="CASCADE"), nullable=False)
    customer_id: Mapped[str] = mapped_column(String(128), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    hidden: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class SurveyResponse(Base):
    """The answer to one invitation (one row per link: a resubmit updates it)."""

    __tablename__ = "survey_responses"
    __table_args__ = (Index("ix_survey_responses_updated", "updated_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invite_id: Mapped[int] = mapped_column(ForeignKey("survey_invites.id", ondelete="CASCADE"), unique=True,
                                           nullable=False)
    survey_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    customer_id: Mapped[str] = mapped_column(String(128), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    answers: Mapped[str] = mapped_column(Text, nullable=False)
    hidden: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    metric: Mapped[str | None] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    store_id: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revisions: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


class WebhookSubscriber(Base):
    """Where survey events are POSTed, signed with the subscriber's own secret (HMAC-SHA256)."""

    __tablename__ = "webhook_subscribers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True, nullable=False)
    secret: Mapped[str] = mapped_column(String(128), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class RateHit(Base):
    """One counted request of a rate limit (``bucket`` e.g. ``survey.token``, ``key`` the token or address)."""

    __tablename__ = "rate_hits"
    __table_args__ = (Index("ix_rate_hits_bucket_key_at", "bucket", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bucket: Mapped[str] = mapped_column(String(32), nullable=False)
    key: Mapped[str] = mapped_column(String(128), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
