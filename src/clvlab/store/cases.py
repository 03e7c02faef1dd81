"""Tables of the cases domain: owners and their scopes, cases, their history, re-surveys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clvlab.store.base import Base, UTCDateTime, utcnow


class Owner(Base):
    """Someone who answers for a store or a product (a store manager, a product owner)."""

    __tablename__ = "owners"

    owner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    webhook: Mapped[str | None] = mapped_column(String(2000))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class OwnerScope(Base):
    """Which store or product an owner answers for (one row per store/product)."""

    __tablename__ = "owner_scopes"
    __table_args__ = (UniqueConstraint("store_id", "product_id", name="uq_owner_scopes_store_product"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.owner_id", ondelete="CASCADE"), nullable=False)
    store_id: Mapped[str | None] = mapped_column(String(64))
    product_id: Mapped[str | None] = mapped_column(String(64))


class Case(Base):
    """One alert turned into work: who, why, how urgent, and where it stands."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_owner_state", "owner_id", "state"),
        Index("ix_cases_state_opened", "state", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    response_id: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    customer_id: Mapped[str | None] = mapped_column(String(128), index=True)
    store_id: Mapped[str | None] = mapped_column(String(64))
    product_id: Mapped[str | None] = mapped_column(String(64))
    metric: Mapped[str | None] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    reasons: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clv: Mapped[float | None] = mapped_column(Float)
    priority: Mapped[str] = mapped_column(String(8), nullable=False)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("owners.owner_id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    root_cause: Mapped[str | None] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class CaseEvent(Base):
    """One entry of a case's history: who did what, when, from which state to which."""

    __tablename__ = "case_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)


class Resurvey(Base):
    """A follow-up survey sent after a case: the token the survey page will accept, and its answer."""

    __tablename__ = "resurveys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    link: Mapped[str] = mapped_column(String(2000), nullable=False)
    metric: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    response_id: Mapped[str | None] = mapped_column(String(128))
    score: Mapped[float | None] = mapped_column(Float)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
