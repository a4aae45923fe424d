"""Bearer tokens (RFC 6750): who a live access token speaks for, and with which scopes.

Every protected route goes through `BearerAuth.authenticate`: a valid signature is not
enough, the token's session must be live and its user active, checked on each request
so that a logout, revocation, password change or disable takes effect at once.
"""

from __future__ import annotations

from authsvc.clock import utcnow
from authsvc.domain import Principal
from authsvc.errors import InsufficientScope, InvalidToken, NotAuthenticated
from authsvc.repositories.live_sessions import LiveSessions
from authsvc.security.tokens import AccessClaims, AccessTokenCodec, InvalidTokenError


class BearerAuth:
    def __init__(self, live: LiveSessions, *, codec: AccessTokenCodec) -> None:
        self._live = live
        self.codec = codec

    async def authenticate(self, token: str | None, *, required: frozenset[str]) -> Principal:
        """The principal of a live token that holds every `required` scope.

        Raises NotAuthenticated (no token), InvalidToken (saying why) or
        InsufficientScope. The scopes are the token's, less any the user has lost since
        it was issued: a demoted admin's tokens stop carrying `admin` at once.
        """
        if not token:
            raise NotAuthenticated
        try:
            principal, _claims = await self.resolve(token)
        except InvalidTokenError as exc:
            raise InvalidToken(str(exc)) from exc
        missing = required - principal.scopes
        if missing:
            raise InsufficientScope(missing, required)
        return principal

    async def resolve(self, token: str) -> tuple[Principal, AccessClaims]:
        """The principal and claims of a live access token, or InvalidTokenError."""
        claims = self.codec.decode(token)
        user = await self._live.account(claims.user_id, claims.session_id, now=utcnow())
        if user is None:
            raise InvalidTokenError("The session of this access token has ended")
        if not user.is_active:
            raise InvalidTokenError("This account is disabled")
        return Principal(user, claims.session_id, claims.scopes & user.scope_set), claims

    async def aclose(self) -> None:
        await self._live.aclose()
