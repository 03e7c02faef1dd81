"""Initial application store: owners, owner scopes, cases, case history, re-surveys, outbox.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables of the closed loop."""
    op.create_table(
        "owners",
        sa.Column("owner_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200)),
        sa.Column("email", sa.String(320)),
        sa.Column("webhook", sa.String(2000)),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "owner_scopes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("owner_id", sa.String(64), sa.ForeignKey("owners.owner_id", ondelete="CASCADE"), nullable=False),
        sa.Column("store_id", sa.String(64)),
        sa.Column("product_id", sa.String(64)),
        sa.UniqueConstraint("store_id", "product_id", name="uq_owner_scopes_store_product"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("response_id", sa.String(128), nullable=False, unique=True),
        sa.Column("customer_id", sa.String(128)),
        sa.Column("store_id", sa.String(64)),
        sa.Column("product_id", sa.String(64)),
        sa.Column("metric", sa.String(32)),
        sa.Column("score", sa.Float()),
        sa.Column("comment", sa.Text()),
        sa.Column("reasons", sa.String(500), nullable=False),
        sa.Column("responded_at", sa.DateTime()),
        sa.Column("clv", sa.Float()),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("owner_id", sa.String(64), sa.ForeignKey("owners.owner_id", ondelete="SET NULL")),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("root_cause", sa.String(100)),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("first_contact_at", sa.DateTime()),
        sa.Column("resolved_at", sa.DateTime()),
        sa.Column("closed_at", sa.DateTime()),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_cases_customer_id", "cases", ["customer_id"])
    op.create_index("ix_cases_owner_state", "cases", ["owner_id", "state"])
    op.create_index("ix_cases_state_opened", "cases", ["state", "opened_at"])
    op.create_table(
        "case_history",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16)),
        sa.Column("note", sa.Text()),
    )
    op.create_index("ix_case_history_case_id", "case_history", ["case_id"])
    op.create_table(
        "resurveys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("link", sa.String(2000), nullable=False),
        sa.Column("metric", sa.String(32)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("response_id", sa.String(128)),
        sa.Column("score", sa.Float()),
        sa.Column("answered_at", sa.DateTime()),
    )
    op.create_index("ix_resurveys_case_id", "resurveys", ["case_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2000), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("sent_at", sa.DateTime()),
    )
    op.create_index("ix_outbox_pending", "outbox", ["sent_at", "next_attempt_at"])


def downgrade() -> None:
    """Drop everything this revision created."""
    for table in ("outbox", "resurveys", "case_history", "cases", "owner_scopes", "owners"):
        op.drop_table(table)
