"""Database access for login sessions and their refresh tokens. No HTTP, no policy."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from authsvc.client_ip import subscriber
from authsvc.emails import email_key, storable
from authsvc.models import RefreshToken, Session, User, UTCDateTime
from authsvc.repositories import dialects


def live(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """A session is live until it is revoked or expires."""
    return (Session.revoked_at.is_(None), Session.expires_at > now)


@dataclass(frozen=True, slots=True)
class SpentToken:
    session_id: uuid.UUID
    first_use: bool  # False: a retry inside the grace interval


class SessionRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def create(
        self,
        *,
        user_id: uuid.UUID,
        scope: str,
        client_id: str,
        user_agent: str | None,
        client_ip: str | None,
        now: datetime,
        expires_at: datetime,
    ) -> Session:
        session = Session(
            user_id=user_id,
            scope=scope,
            client_id=client_id,
            user_agent=user_agent,
            client_ip=client_ip,
            created_at=now,
            last_used_at=now,
            expires_at=expires_at,
        )
        self.db.add(session)
        await self.db.flush()
        return session

    async def add_refresh_token(
        self, *, session_id: uuid.UUID, token_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        self.db.add(
            RefreshToken(
                session_id=session_id, token_hash=token_hash, created_at=now, expires_at=expires_at
            )
        )
        await self.db.flush()

    async def spend_refresh_token(
        self, token_hash: str, *, now: datetime, grace_cutoff: datetime | None
    ) -> SpentToken | None:
        """Mark the token spent, in one conditional UPDATE, if it may be used now.

        It may be used when unexpired, its session is live, and it is unspent or (with a
        `grace_cutoff`) was spent after it. The database decides, so concurrent requests
        (on any process) cannot both pass a check that only one should pass. Without a
        grace interval only an unspent token passes: a cutoff computed before the UPDATE
        waited for the row would let a concurrent spend slip through as a "retry".
        Where the UPDATE cannot return the row (MariaDB, MySQL), it is read right after,
        under the lock the UPDATE took (`dialects.update_one_returning`).
        """
        live_sessions = select(Session.id).where(Session.revoked_at.is_(None))
        usable: ColumnElement[bool] = RefreshToken.spent_at.is_(None)
        if grace_cutoff is not None:
            usable = or_(usable, RefreshToken.spent_at > grace_cutoff)
        this_token = RefreshToken.token_hash == token_hash
        row = await dialects.update_one_returning(
            self.db,
            update(RefreshToken)
            .where(
                this_token,
                RefreshToken.expires_at > now,
                usable,
                RefreshToken.session_id.in_(live_sessions),
            )
            .values(spent_at=func.coalesce(RefreshToken.spent_at, literal(now, UTCDateTime)))
            .execution_options(synchronize_session=False),
            RefreshToken.session_id,
            RefreshToken.spent_at,
            key=this_token,
        )
        if row is None:
            return None
        return SpentToken(session_id=row.session_id, first_use=row.spent_at == now)

    async def retire_refresh_tokens(self, session_id: uuid.UUID, *, now: datetime) -> None:
        """Mark every unspent refresh token of the session spent: one live token at a time."""
        await self.db.execute(
            update(RefreshToken)
            .where(RefreshToken.session_id == session_id, RefreshToken.spent_at.is_(None))
            .values(spent_at=now)
            .execution_options(synchronize_session=False)
        )

    async def find_refresh_token(self, token_hash: str) -> RefreshToken | None:
        result = await self.db.execute(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        )
        return result.scalar_one_or_none()

    async def session_of_refresh_token(self, token_hash: str) -> Session | None:
        """The session a refresh token (spent, expired or not) was issued in."""
        result = await self.db.execute(
            select(Session)
            .join(RefreshToken, RefreshToken.session_id == Session.id)
            .where(RefreshToken.token_hash == token_hash)
        )
        return result.scalar_one_or_none()

    async def has_logged_in_from(self, email: str, client_ip: str) -> bool:
        """Whether the account with this email ever had a session from this address, or
        for IPv6 from its /64 network: the unit the login counters use (client_ip.py)."""
        if not (storable(email) and storable(client_ip)):
            return False
        addresses = (
            select(Session.client_ip)
            .join(User, User.id == Session.user_id)
            .where(User.email_key == email_key(email))
        )
        if ":" not in client_ip:  # IPv4 (or no address at all): counted as it is
            result = await self.db.execute(addresses.where(Session.client_ip == client_ip).limit(1))
            return result.first() is not None
        # The text of two addresses in one /64 has no common prefix to match in SQL
        # (`2001:db8::1`, `2001:db8:0:0:1::1`), so compare the account's IPv6 addresses
        # here: there are few, as a session needs the password.
        network = subscriber(client_ip)
        result = await self.db.execute(addresses.where(Session.client_ip.contains(":")).distinct())
        return any(subscriber(known) == network for known in result.scalars() if known)

    async def get_live(self, session_id: uuid.UUID, *, now: datetime) -> Session | None:
        result = await self.db.execute(select(Session).where(Session.id == session_id, *live(now)))
        return result.scalar_one_or_none()

    async def list_live(self, user_id: uuid.UUID, *, now: datetime) -> list[Session]:
        """The user's live sessions, most recently used first."""
        result = await self.db.execute(
            select(Session)
            .where(Session.user_id == user_id, *live(now))
            .order_by(Session.last_used_at.desc(), Session.id)
        )
        return list(result.scalars())

    async def find_live_refresh_token(
        self, token_hash: str, *, now: datetime
    ) -> tuple[RefreshToken, Session, User] | None:
        """An unspent, unexpired refresh token of a live session, with its session and user."""
        result = await self.db.execute(
            select(RefreshToken, Session, User)
            .join(Session, Session.id == RefreshToken.session_id)
            .join(User, User.id == Session.user_id)
            .where(
                RefreshToken.token_hash == token_hash,
                RefreshToken.spent_at.is_(None),
                RefreshToken.expires_at > now,
                *live(now),
            )
        )
        row = result.one_or_none()
        return None if row is None else (row[0], row[1], row[2])

    async def revoke(
        self, session_id: uuid.UUID, *, now: datetime, user_id: uuid.UUID | None = None
    ) -> bool:
        """End the session (only if it is `user_id`'s, when given); False when it was
        not live, or not theirs."""
        conditions = [Session.id == session_id, *live(now)]
        if user_id is not None:
            conditions.append(Session.user_id == user_id)
        result = await self.db.execute(update(Session).where(*conditions).values(revoked_at=now))
        return bool(getattr(result, "rowcount", 0))

    async def revoke_all(
        self, user_id: uuid.UUID, *, now: datetime, keep: uuid.UUID | None = None
    ) -> int:
        """End every live session of the user, but `keep`; how many were ended."""
        conditions = [Session.user_id == user_id, *live(now)]
        if keep is not None:
            conditions.append(Session.id != keep)
        result = await self.db.execute(update(Session).where(*conditions).values(revoked_at=now))
        return int(getattr(result, "rowcount", 0))

    async def purge(
        self, *, now: datetime, ended_before: datetime, batch_size: int = 1000
    ) -> tuple[int, int]:
        """Delete one batch of sessions that ended (revoked or expired) before
        `ended_before`, their refresh tokens going with them, and of expired refresh
        tokens; (sessions, refresh tokens) deleted. Batches keep each transaction, and the
        locks it holds, short; each condition has its own index.

        An expired refresh token can no longer be used, so forgetting it loses nothing;
        a spent but unexpired one is kept, since its reuse is what reveals a theft.
        """
        sessions = 0
        for ended in (Session.revoked_at < ended_before, Session.expires_at < ended_before):
            left = batch_size - sessions
            sessions += await dialects.delete_batch(self.db, Session.id, ended, left)
            if sessions >= batch_size:
                break
        expired = RefreshToken.expires_at <= now
        tokens = await dialects.delete_batch(self.db, RefreshToken.id, expired, batch_size)
        return sessions, tokens

    async def extend(self, session_id: uuid.UUID, *, now: datetime, expires_at: datetime) -> None:
        await self.db.execute(
            update(Session)
            .where(Session.id == session_id)
            .values(last_used_at=now, expires_at=expires_at)
        )
