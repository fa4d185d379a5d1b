"""text budgets and phone guards

Issue 18, items 1 and 4: ``text_budgets`` counts the phone-code texts of
each clock hour (all countries, and each country), so the hourly budgets are
counted atomically before any send; ``phone_guards`` counts the wrong codes
said in a row for each number, so linking it locks at the lifetime cap until
an operator lifts it. Both start empty: no data moves.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "text_budgets",
        sa.Column("scope", sa.String(length=3), nullable=False),
        sa.Column("hour", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "hour", name=op.f("pk_text_budgets")),
    )
    op.create_table(
        "phone_guards",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lifted_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=254), nullable=True),
        sa.Column("updated_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_phone_guards")),
    )
    with op.batch_alter_table("phone_guards", schema=None) as batch_op:
        batch_op.create_index("ix_phone_guards_locked_at", ["locked_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("phone_guards", schema=None) as batch_op:
        batch_op.drop_index("ix_phone_guards_locked_at")
    op.drop_table("phone_guards")
    op.drop_table("text_budgets")
