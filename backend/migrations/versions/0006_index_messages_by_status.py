"""messages by status (the sweeps of messages left in flight), phone codes by number

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 15:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_status_created", ["status", "created_at"], unique=False
        )
    with op.batch_alter_table("phone_verifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_phone_verifications_phone", ["phone", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("phone_verifications", schema=None) as batch_op:
        batch_op.drop_index("ix_phone_verifications_phone")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_status_created")
