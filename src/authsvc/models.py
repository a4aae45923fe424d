"""Database tables: users, their login sessions, and the refresh tokens of each session."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, ForeignKey, Index, MetaData, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from authsvc.clock import utcnow
from authsvc.column_types import (
    MYSQL_TABLE_OPTIONS,
    UUID_TYPE,
    ExactString,
    UTCDateTime,
)

__all__ = ["Base", "RefreshToken", "Session", "UTCDateTime", "User"]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {uuid.UUID: UUID_TYPE}


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(ExactString(320))
    # Case-folded email; its unique constraint is what makes A@x.com and a@x.com one account.
    email_key: Mapped[str] = mapped_column(ExactString(320), unique=True)
    full_name: Mapped[str | None] = mapped_column(ExactString(200))
    hashed_password: Mapped[str] = mapped_column(ExactString(255))
    scopes: Mapped[str] = mapped_column(ExactString(500), default="user")  # space-separated
    is_active: Mapped[bool] = mapped_column(default=True)
    # Whether `scopes` holds `admin`: written with it, in the same statement, by
    # UserRepository. Indexed, so the last-admin rule can lock exactly the active admins.
    is_admin: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # password grant
    # The integer `UserId` of the old Flask app's routes: an imported user's old one, or for
    # any other account the next free number, given when an old route first needs it.
    legacy_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_users_is_admin", "is_admin"),
        Index("ix_users_created_at_id", "created_at", "id"),  # the admin list's keyset order
        Index("uq_users_legacy_id", "legacy_id", unique=True),
        MYSQL_TABLE_OPTIONS,
    )

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


class Session(Base):
    """One login: what a refresh-token family and its access tokens (`sid`) belong to."""

    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(ExactString(500))  # granted at login; refresh narrows
    client_id: Mapped[str] = mapped_column(ExactString(200))
    user_agent: Mapped[str | None] = mapped_column(ExactString(500))
    client_ip: Mapped[str | None] = mapped_column(ExactString(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="raise")

    __table_args__ = (
        Index("ix_sessions_user_id", "user_id"),
        Index("ix_sessions_expires_at", "expires_at"),  # the periodic purge
        Index("ix_sessions_revoked_at", "revoked_at"),  # the periodic purge
        MYSQL_TABLE_OPTIONS,
    )


class RefreshToken(Base):
    """A refresh token, stored only as its SHA-256; `spent_at` marks it used (rotated)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(ExactString(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_refresh_tokens_session_id", "session_id"),
        Index("ix_refresh_tokens_expires_at", "expires_at"),  # the periodic purge
        MYSQL_TABLE_OPTIONS,
    )
