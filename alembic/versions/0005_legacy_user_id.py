"""users.legacy_id: the integer UserId of the old Flask app's routes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

A unique index, not a constraint: on SQLite a constraint would mean rebuilding `users`,
and dropping the old table would cascade to every session.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("legacy_id", sa.BigInteger(), nullable=True))
    op.create_index("uq_users_legacy_id", "users", ["legacy_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_legacy_id", table_name="users")
    op.drop_column("users", "legacy_id")
