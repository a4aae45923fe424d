"""Token revocation (RFC 7009): a token this service issued ends its whole session."""

from __future__ import annotations

import uuid

from authsvc.audit import Audit, AuditEvent
from authsvc.clock import utcnow
from authsvc.db import Database
from authsvc.errors import UnauthorizedClient
from authsvc.oauth.clients import check_client_id
from authsvc.repositories.sessions import SessionRepository
from authsvc.security.tokens import (
    AccessTokenCodec,
    InvalidTokenError,
    hash_refresh_token,
    looks_like_access_token,
)


class Revocation:
    def __init__(self, db: Database, *, codec: AccessTokenCodec, audit: Audit) -> None:
        self._db = db
        self._codec = codec
        self._audit = audit

    async def revoke(self, token: str, *, client_id: str | None = None) -> None:
        """End the session of a refresh or access token. Anything else (unknown, expired,
        ended, garbage) is quietly ignored, as §2.2 asks.

        The two kinds cannot be confused (a JWT has dots, a refresh token none), so the
        client's `token_type_hint` is not needed to find the token.
        """
        check_client_id(client_id)
        found = await self._session_of(token)
        if found is None:
            return
        session_id, issued_to, token_type = found
        now = utcnow()
        async with self._db.transaction() as tx:
            sessions = SessionRepository(tx)
            if client_id is not None and client_id != issued_to:
                # §2.1: a client may not revoke another's token. An ended session has
                # nothing left to protect: that gets the same 200 as any dead token.
                if await sessions.get_live(session_id, now=now) is None:
                    return
                raise UnauthorizedClient("The token was issued to another client")
            ended = await sessions.revoke(session_id, now=now)
        if ended:
            self._audit(
                AuditEvent.REVOKE,
                "token revoked: session ended",
                session_id=session_id,
                token_type=token_type,
            )

    async def _session_of(self, token: str) -> tuple[uuid.UUID, str, str] | None:
        """(session id, client id, token type) of a token this service issued and that
        still proves possession: a valid access token, or any refresh token it knows."""
        if looks_like_access_token(token):
            try:
                claims = self._codec.decode(token)
            except InvalidTokenError:
                return None
            return claims.session_id, claims.client_id, "access_token"
        async with self._db.reading() as tx:
            login = await SessionRepository(tx).session_of_refresh_token(hash_refresh_token(token))
        return None if login is None else (login.id, login.client_id, "refresh_token")
