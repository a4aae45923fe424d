"""Minting tokens: a new login session with its first refresh token, or a rotation.

Grants decide whether tokens may be issued; this decides what is issued, so every grant
(password, refresh, and those to come) mints the same access tokens and sessions.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.domain import Origin, TokenPair
from authsvc.models import Session
from authsvc.repositories.sessions import SessionRepository
from authsvc.security import scopes as scope_rules
from authsvc.security.tokens import AccessTokenCodec, hash_refresh_token, new_refresh_token

MAX_USER_AGENT_LENGTH = 500  # the sessions.user_agent column


class TokenMinter:
    def __init__(
        self, codec: AccessTokenCodec, *, refresh_lifetime: timedelta, default_client_id: str
    ) -> None:
        self.codec = codec
        self.refresh_lifetime = refresh_lifetime
        self.default_client_id = default_client_id

    async def start_session(
        self,
        tx: AsyncSession,
        *,
        user_id: uuid.UUID,
        scopes: frozenset[str],
        origin: Origin,
        now: datetime,
    ) -> tuple[Session, TokenPair]:
        """A new login session (in the caller's transaction) and its first tokens."""
        sessions = SessionRepository(tx)
        expires_at = now + self.refresh_lifetime
        user_agent = origin.user_agent[:MAX_USER_AGENT_LENGTH] if origin.user_agent else None
        login = await sessions.create(
            user_id=user_id,
            scope=scope_rules.format_scope(scopes),
            client_id=origin.client_id or self.default_client_id,
            user_agent=user_agent,
            client_ip=origin.ip,
            now=now,
            expires_at=expires_at,
        )
        refresh_token = new_refresh_token()
        await sessions.add_refresh_token(
            session_id=login.id,
            token_hash=hash_refresh_token(refresh_token),
            now=now,
            expires_at=expires_at,
        )
        return login, self._pair(user_id, login, scopes, refresh_token)

    async def rotate(
        self, tx: AsyncSession, *, login: Session, scopes: frozenset[str], now: datetime
    ) -> TokenPair:
        """A new refresh token for the session (extending it), and an access token."""
        sessions = SessionRepository(tx)
        expires_at = now + self.refresh_lifetime
        # The session's row lock first: the new token's foreign key check would otherwise
        # take a shared lock on it that `extend` then upgrades, which InnoDB answers with
        # a deadlock when a logout of the session waits in between.
        await sessions.extend(login.id, now=now, expires_at=expires_at)
        # One live refresh token per session: a retry inside the grace interval retires the
        # token the first refresh issued, so two copies of a session cannot rotate on side
        # by side: whichever branch is used after the grace interval trips reuse detection.
        await sessions.retire_refresh_tokens(login.id, now=now)
        refresh_token = new_refresh_token()
        await sessions.add_refresh_token(
            session_id=login.id,
            token_hash=hash_refresh_token(refresh_token),
            now=now,
            expires_at=expires_at,
        )
        return self._pair(login.user_id, login, scopes, refresh_token)

    def _pair(
        self, user_id: uuid.UUID, login: Session, scopes: frozenset[str], refresh_token: str
    ) -> TokenPair:
        access = self.codec.encode(
            user_id=user_id, session_id=login.id, scopes=scopes, client_id=login.client_id
        )
        return TokenPair(
            access_token=access,
            refresh_token=refresh_token,
            expires_in=int(self.codec.lifetime.total_seconds()),
            scope=scope_rules.format_scope(scopes),
        )
