"""a message's delivery status apart from our work on it

``messages.status`` held both the lease's states (received, answering,
answered, held; queued, sending) and what a channel reported of an outbound
message (Twilio's sent, delivered, undelivered..., "logged"). The channel's
word moves to ``delivery_status``; such a message's own status becomes
"sent". A "failed" stays failed (ours or the channel's, it cannot be told
apart afterwards). The downgrade puts the channel's word back.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Outbound statuses that are our own work, not a channel's report.
WORK = "('queued', 'sending', 'failed')"


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=20)))
    op.execute(
        "UPDATE messages SET delivery_status = status, status = 'sent'"
        f" WHERE direction = 'out' AND status NOT IN {WORK}"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE messages SET status = delivery_status"
        " WHERE direction = 'out' AND status = 'sent'"
        " AND delivery_status IS NOT NULL"
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("delivery_status")
