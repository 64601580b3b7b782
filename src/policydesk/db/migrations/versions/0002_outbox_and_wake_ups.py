"""outbox and wake-ups: the worker's tables and columns

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 18:19:17.703318
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import policydesk.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Instant = policydesk.db.types.UTCDateTime


def upgrade() -> None:
    _account_contact_keys()
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=300), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", Instant(timezone=True), nullable=False),
        sa.Column("next_attempt_at", Instant(timezone=True), nullable=False),
        sa.Column("delivered_at", Instant(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_outbox_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=50), nullable=True))
        batch_op.add_column(
            sa.Column("on_call", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wake_at", Instant(timezone=True), nullable=True))
        batch_op.create_index("ix_tickets_wake", ["wake_at", "id"], unique=False)
    # Tickets opened before the worker existed: it looks at each open one once and works out
    # what it owes (an overdue clock was never reported, so its breach goes out then).
    op.execute(sa.text("UPDATE tickets SET wake_at = received_at WHERE open_work"))


def _account_contact_keys() -> None:
    """0001 declared the accounts' contact keys `use_alter` (accounts and contacts point at each
    other), and CREATE TABLE leaves such keys out: PostgreSQL never got them. Add them."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    have = {fk["name"] for fk in sa.inspect(bind).get_foreign_keys("accounts")}
    for column in ("primary_contact_id", "backup_contact_id"):
        name = op.f(f"fk_accounts_{column}_contacts")
        if name not in have:
            op.create_foreign_key(
                name, "accounts", "contacts", [column], ["id"], ondelete="SET NULL"
            )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_wake")
        batch_op.drop_column("wake_at")

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("time_zone")

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("on_call")
        batch_op.drop_column("phone")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_ticket_id"))
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
