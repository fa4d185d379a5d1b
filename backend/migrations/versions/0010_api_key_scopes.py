"""API keys get scopes: read, book, admin, assistant

A key could do everything; now each has the scopes it was given. Existing
keys keep working: the assistant's key (named "assistant", as ``beckon run``
and the compose file's instructions make it) gets ``assistant``, every other
key ``read``, ``book`` and ``admin``. The downgrade drops the column (every
key can do everything again).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The name the assistant's key has always been made with, and its scopes.
ASSISTANT = ("assistant", '["assistant"]')
#: What every other key gets: all it could do before, but the assistant's.
EVERY_OTHER = '["read", "book", "admin"]'


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scopes", sa.JSON(), nullable=True))
    name, scopes = ASSISTANT
    op.execute(f"UPDATE api_keys SET scopes = '{scopes}' WHERE name = '{name}'")
    op.execute(f"UPDATE api_keys SET scopes = '{EVERY_OTHER}' WHERE scopes IS NULL")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("scopes", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("scopes")
