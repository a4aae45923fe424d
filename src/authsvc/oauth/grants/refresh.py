"""The refresh token grant (RFC 6749 §6) with rotation and reuse detection.

Every refresh spends the presented token and issues a new one in the same session. A
spent token presented again after the grace interval means it was copied: the whole
session is revoked, taking its newer refresh tokens and its access tokens with it.
Inside the grace interval (two tabs, a retried request) the second caller gets a fresh
pair and nothing is revoked. With no grace interval, exactly one of two concurrent uses
wins and the other is reuse.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.audit import Audit, AuditEvent
from authsvc.clock import utcnow
from authsvc.db import Database
from authsvc.domain import Origin, TokenPair
from authsvc.errors import InvalidGrant
from authsvc.oauth.grants import GrantRequest, Parameter
from authsvc.oauth.minter import TokenMinter
from authsvc.repositories.sessions import SessionRepository
from authsvc.repositories.users import UserRepository
from authsvc.security import scopes as scope_rules
from authsvc.security.tokens import hash_refresh_token

BAD_REFRESH_TOKEN = "The refresh token is invalid, expired or revoked; log in again"


class RefreshTokenGrant:
    grant_type = "refresh_token"
    parameters = (Parameter("refresh_token", "refresh_token grant"),)

    def __init__(
        self, db: Database, *, minter: TokenMinter, reuse_grace: timedelta, audit: Audit
    ) -> None:
        self._db = db
        self._minter = minter
        self._grace = reuse_grace
        self._audit = audit

    async def exchange(self, request: GrantRequest) -> TokenPair:
        requested = scope_rules.parse_scope(request.scope)
        token_hash = hash_refresh_token(request.parameters["refresh_token"])
        now = utcnow()
        cutoff = now - self._grace if self._grace else None
        async with self._db.transaction() as tx:
            spent = await SessionRepository(tx).spend_refresh_token(
                token_hash, now=now, grace_cutoff=cutoff
            )
            if spent is not None:
                # Raising in here rolls back, so the presented token stays unspent.
                pair = await self._rotate(tx, spent.session_id, requested, request, now)
        if spent is None:
            await self._revoke_if_reused(token_hash, now, request.origin)
            raise InvalidGrant(BAD_REFRESH_TOKEN)
        self._audit(
            AuditEvent.REFRESH,
            "token refreshed",
            session_id=spent.session_id,
            origin=request.origin,
            grace_retry=not spent.first_use,
        )
        return pair

    async def _rotate(
        self,
        tx: AsyncSession,
        session_id: uuid.UUID,
        requested: frozenset[str] | None,
        request: GrantRequest,
        now: datetime,
    ) -> TokenPair:
        login = await SessionRepository(tx).get_live(session_id, now=now)
        user = await UserRepository(tx).get(login.user_id) if login else None
        if login is None or user is None or not user.is_active:
            raise InvalidGrant(BAD_REFRESH_TOKEN)
        client_id = request.origin.client_id
        if client_id and client_id != login.client_id:
            raise InvalidGrant("The refresh token was issued to another client")
        # Never wider than the login granted, nor than the user holds today.
        granted = scope_rules.grant(requested, frozenset(login.scope.split()) & user.scope_set)
        return await self._minter.rotate(tx, login=login, scopes=granted, now=now)

    async def _revoke_if_reused(self, token_hash: str, now: datetime, origin: Origin) -> None:
        """A spent token presented after the grace interval was copied: end its session."""
        async with self._db.transaction() as tx:
            sessions = SessionRepository(tx)
            known = await sessions.find_refresh_token(token_hash)
            if known is None or known.spent_at is None:
                return  # unknown (or purged), or unspent: no reuse
            if not await sessions.revoke(known.session_id, now=now):
                return  # ended already (by an earlier reuse, say): one event per session
        self._audit(
            AuditEvent.REFRESH_REUSE,
            "refresh token reused after the grace interval: session revoked",
            level=logging.WARNING,
            session_id=known.session_id,
            origin=origin,
        )
