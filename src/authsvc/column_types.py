"""Column types that store and compare the same on SQLite, PostgreSQL, MySQL and MariaDB.

MySQL and MariaDB are where they would differ by default: DATETIME keeps whole seconds,
text takes the database's collation, usually case- and accent-insensitive (the unique
email key would make "josé" and "jose" one account) and PAD SPACE, even the *_bin ones
("a" = "a "; a login email with trailing spaces would find the account while the
per-account throttle counted it apart). Case-insensitive emails come from the
normalised `email_key`, never from a collation.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String, TypeDecorator, Uuid
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

# The dialect names of MySQL and MariaDB (`mysql+asyncmy://`, `mariadb+asyncmy://`).
MYSQL_FAMILY = frozenset({"mysql", "mariadb"})

# MySQL and MariaDB tables: InnoDB (row locks, transactions) and any Unicode (utf8mb4,
# not the 3-byte utf8mb3). The collation is each text column's (`ExactString`).
MYSQL_TABLE_OPTIONS: dict[str, Any] = {
    f"{dialect}_{option}": value
    for dialect in sorted(MYSQL_FAMILY)
    for option, value in (("engine", "InnoDB"), ("charset", "utf8mb4"))
}

# A UUID column: native on PostgreSQL, CHAR(32) of hex elsewhere, MariaDB included.
# SQLAlchemy would use MariaDB's own UUID type there, or not, depending on the URL form
# and its version; CHAR(32) is one schema whichever migrated it, and any can use it.
UUID_TYPE: TypeEngine[uuid.UUID] = Uuid().with_variant(Uuid(native_uuid=False), "mysql", "mariadb")


def exact_collation(dialect: Dialect) -> str:
    """The utf8mb4 collation that compares as PostgreSQL and SQLite do: code point by
    code point, trailing spaces included (NO PAD). MariaDB and MySQL 8 name it apart."""
    return "utf8mb4_nopad_bin" if getattr(dialect, "is_mariadb", False) else "utf8mb4_0900_bin"


class ExactString(TypeDecorator[str]):
    """VARCHAR(n) whose `=` and unique index are exact on every database."""

    impl = String
    cache_ok = True

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in MYSQL_FAMILY:
            collation = exact_collation(dialect)
            return dialect.type_descriptor(String(self.length, collation=collation))
        return dialect.type_descriptor(self.impl_instance)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend, to the microsecond (SQLite and
    MySQL/MariaDB store no offset; MySQL's plain DATETIME would keep whole seconds)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in MYSQL_FAMILY:
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(self.impl_instance)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use an aware UTC datetime")
        value = value.astimezone(UTC)
        # SQLite compares the stored text, so store one fixed format without an offset;
        # MySQL's DATETIME has no offset to store.
        naive = dialect.name == "sqlite" or dialect.name in MYSQL_FAMILY
        return value.replace(tzinfo=None) if naive else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
