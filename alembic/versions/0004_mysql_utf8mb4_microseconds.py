"""MySQL and MariaDB: utf8mb4 with a binary collation, and microsecond timestamps

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

A no-op on PostgreSQL and SQLite: their strings already compare exactly and their
timestamps keep microseconds. On MySQL and MariaDB the tables 0001 and 0003 made took the
database's defaults: a case- and accent-insensitive collation (or latin1), and DATETIME
columns of whole seconds, while the refresh grace interval compares microseconds.

Each table is rebuilt once: InnoDB, utf8mb4 with a binary NO PAD collation as its
default and on every text column, so that `=`, the unique email key and the token hash
are exact, trailing spaces included (utf8mb4_nopad_bin on MariaDB, utf8mb4_0900_bin on
MySQL 8; see authsvc.column_types), and DATETIME(6). The CHAR(32) hex keys keep their
charset: MariaDB refuses to change it on a column a foreign key uses, and hex compares
the same in any.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL_FAMILY = ("mysql", "mariadb")
# Each table's text columns (length, nullable) and timestamp columns (nullable), as 0001
# and 0003 made them.
STRINGS = {
    "users": {
        "email": (320, False),
        "email_key": (320, False),
        "full_name": (200, True),
        "hashed_password": (255, False),
        "scopes": (500, False),
    },
    "sessions": {
        "scope": (500, False),
        "client_id": (200, False),
        "user_agent": (500, True),
        "client_ip": (64, True),
    },
    "refresh_tokens": {"token_hash": (64, False)},
}
TIMESTAMPS = {
    "users": {"created_at": False, "last_login_at": True},
    "sessions": {
        "created_at": False,
        "last_used_at": False,
        "expires_at": False,
        "revoked_at": True,
    },
    "refresh_tokens": {"created_at": False, "expires_at": False, "spent_at": True},
}


def _null(nullable: bool) -> str:
    return "NULL" if nullable else "NOT NULL"


def _rebuild(datetime_type: str) -> None:
    dialect = op.get_context().dialect
    if dialect.name not in MYSQL_FAMILY:
        return
    mariadb = getattr(dialect, "is_mariadb", False)
    collation = "utf8mb4_nopad_bin" if mariadb else "utf8mb4_0900_bin"
    text = f"CHARACTER SET utf8mb4 COLLATE {collation}"
    for table, strings in STRINGS.items():
        changes = [
            f"ENGINE=InnoDB, DEFAULT {text}",
            *(
                f"MODIFY {name} VARCHAR({n}) {text} {_null(null)}"
                for name, (n, null) in strings.items()
            ),
            *(
                f"MODIFY {name} {datetime_type} {_null(null)}"
                for name, null in TIMESTAMPS[table].items()
            ),
        ]
        op.execute(f"ALTER TABLE {table} {', '.join(changes)}")


def upgrade() -> None:
    _rebuild("DATETIME(6)")


def downgrade() -> None:
    _rebuild("DATETIME")  # back to whole seconds; the text stays utf8mb4, a superset
