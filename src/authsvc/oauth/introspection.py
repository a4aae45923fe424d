"""Token introspection (RFC 7662): what a live token is, for resource servers."""

from __future__ import annotations

from authsvc.clock import utcnow
from authsvc.db import Database
from authsvc.domain import INACTIVE, TokenDescription
from authsvc.oauth.bearer import BearerAuth
from authsvc.oauth.clients import check_client_id
from authsvc.repositories.sessions import SessionRepository
from authsvc.security import scopes as scope_rules
from authsvc.security.tokens import InvalidTokenError, hash_refresh_token, looks_like_access_token


class Introspection:
    def __init__(self, db: Database, *, bearer: BearerAuth) -> None:
        self._db = db
        self._bearer = bearer

    async def describe(self, token: str, *, client_id: str | None = None) -> TokenDescription:
        """A live token's description; `INACTIVE` for anything else (expired, revoked,
        unknown, garbage, or a disabled account's)."""
        check_client_id(client_id)
        codec = self._bearer.codec
        if looks_like_access_token(token):
            try:
                principal, claims = await self._bearer.resolve(token)
            except InvalidTokenError:
                return INACTIVE
            return TokenDescription(
                active=True,
                token_type="bearer",
                sub=str(principal.user.id),
                username=principal.user.email,
                scope=scope_rules.format_scope(principal.scopes),
                client_id=claims.client_id,
                exp=int(claims.expires_at.timestamp()),
                iat=int(claims.issued_at.timestamp()),
                iss=codec.issuer,
                aud=codec.audience,
                sid=str(principal.session_id),
                jti=claims.token_id,
            )
        async with self._db.reading() as tx:
            found = await SessionRepository(tx).find_live_refresh_token(
                hash_refresh_token(token), now=utcnow()
            )
        if found is None:
            return INACTIVE
        refresh, login, user = found
        if not user.is_active:
            return INACTIVE
        return TokenDescription(
            active=True,
            token_type="refresh_token",
            sub=str(user.id),
            username=user.email,
            scope=scope_rules.format_scope(frozenset(login.scope.split()) & user.scope_set),
            client_id=login.client_id,
            exp=int(refresh.expires_at.timestamp()),
            iat=int(refresh.created_at.timestamp()),
            iss=codec.issuer,
            # A refresh token is for this server alone: an audience no resource server
            # accepts, so one that checks `aud` cannot take it for an access token.
            aud=codec.issuer,
            sid=str(login.id),
        )
