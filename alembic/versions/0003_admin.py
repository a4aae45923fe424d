"""admin: users.is_admin (the last-admin lock), users.last_login_at, keyset index

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("is_admin", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("last_login_at", UTC_DATETIME, nullable=True))
    op.create_index("ix_users_is_admin", "users", ["is_admin"])
    op.create_index("ix_users_created_at_id", "users", ["created_at", "id"])

    # Backfill, with expressions SQLAlchemy compiles for each database (`||` or concat()).
    users = sa.table(
        "users",
        sa.column("id", sa.Uuid()),
        sa.column("scopes", sa.String()),
        sa.column("is_admin", sa.Boolean()),
        sa.column("last_login_at", UTC_DATETIME),
    )
    sessions = sa.table(
        "sessions", sa.column("user_id", sa.Uuid()), sa.column("created_at", UTC_DATETIME)
    )
    padded = sa.literal(" ") + users.c.scopes + sa.literal(" ")
    op.execute(users.update().where(padded.like("% admin %")).values(is_admin=True))
    last_login = (
        sa.select(sa.func.max(sessions.c.created_at))
        .where(sessions.c.user_id == users.c.id)
        .scalar_subquery()
    )
    op.execute(users.update().values(last_login_at=last_login))


def downgrade() -> None:
    op.drop_index("ix_users_created_at_id", table_name="users")
    op.drop_index("ix_users_is_admin", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_login_at")
        batch.drop_column("is_admin")
