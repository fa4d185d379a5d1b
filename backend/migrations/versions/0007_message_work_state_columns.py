"""a message's work state in columns: attempts, parts sent, why it is held

Until now these lived as keys of ``messages.payload`` (``attempts``,
``parts_sent``, ``held``); the upgrade moves each value into its column and
out of the payload, the downgrade puts them back.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("parts_sent", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("held_reason", sa.String(length=40)))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            UPDATE messages SET
                attempts = COALESCE((payload->>'attempts')::int, 0),
                parts_sent = COALESCE((payload->>'parts_sent')::int, 0),
                held_reason = LEFT(payload->>'held', 40),
                payload = (payload::jsonb - 'attempts' - 'parts_sent' - 'held')::json
            WHERE payload::jsonb ?| array['attempts', 'parts_sent', 'held']
            """
        )
    else:
        op.execute(
            """
            UPDATE messages SET
                attempts = COALESCE(json_extract(payload, '$.attempts'), 0),
                parts_sent = COALESCE(json_extract(payload, '$.parts_sent'), 0),
                held_reason = substr(json_extract(payload, '$.held'), 1, 40),
                payload = json_remove(payload, '$.attempts', '$.parts_sent', '$.held')
            WHERE json_type(payload, '$.attempts') IS NOT NULL
               OR json_type(payload, '$.parts_sent') IS NOT NULL
               OR json_type(payload, '$.held') IS NOT NULL
            """
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            UPDATE messages SET payload = (
                COALESCE(payload::jsonb, '{}'::jsonb)
                || jsonb_strip_nulls(jsonb_build_object(
                    'attempts', NULLIF(attempts, 0),
                    'parts_sent', NULLIF(parts_sent, 0),
                    'held', held_reason))
            )::json
            WHERE attempts > 0 OR parts_sent > 0 OR held_reason IS NOT NULL
            """
        )
    else:
        op.execute(
            """
            UPDATE messages SET payload = json_patch(
                COALESCE(payload, '{}'),
                json_object(
                    'attempts', NULLIF(attempts, 0),
                    'parts_sent', NULLIF(parts_sent, 0),
                    'held', held_reason))
            WHERE attempts > 0 OR parts_sent > 0 OR held_reason IS NOT NULL
            """
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("held_reason")
        batch_op.drop_column("parts_sent")
        batch_op.drop_column("attempts")
