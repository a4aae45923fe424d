"""The rules of accounts and tokens: register, log in, rotate refresh tokens, detect reuse.

Routes call these; nothing about tokens or sessions is decided anywhere else.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.config import Settings
from authsvc.errors import InvalidGrant, InvalidRequest, UnsupportedGrantType
from authsvc.models import User, utcnow
from authsvc.repository import SessionRepository, UserRepository
from authsvc.schemas import TokenRequest
from authsvc.security import scopes as scope_rules
from authsvc.security.passwords import PasswordHasher
from authsvc.security.tokens import (
    AccessClaims,
    AccessTokenCodec,
    InvalidTokenError,
    hash_refresh_token,
    new_refresh_token,
)

logger = logging.getLogger("authsvc.audit")

BAD_CREDENTIALS = "Incorrect email or password"
BAD_REFRESH_TOKEN = "The refresh token is invalid, expired or revoked; log in again"


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    scope: str


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Who asked, as recorded on the session for the user to recognise later."""

    client_id: str | None = None
    user_agent: str | None = None
    ip: str | None = None


class AuthService:
    def __init__(
        self,
        db: AsyncSession,
        *,
        settings: Settings,
        hasher: PasswordHasher,
        codec: AccessTokenCodec,
    ) -> None:
        self.db = db
        self.settings = settings
        self.hasher = hasher
        self.codec = codec
        self.users = UserRepository(db)
        self.sessions = SessionRepository(db)

    # --- accounts -------------------------------------------------------------

    async def register(
        self,
        *,
        email: str,
        password: str,
        full_name: str | None,
        scopes: frozenset[str] = frozenset({scope_rules.USER}),
    ) -> User:
        """Create an account; raises EmailTaken when the database already has that email."""
        hashed = await self.hasher.hash(password)  # before the transaction: never hold a lock
        async with self.db.begin():
            user = await self.users.add(
                email=email,
                hashed_password=hashed,
                full_name=full_name,
                scopes=scope_rules.format_scope(scopes | {scope_rules.USER}),
            )
        logger.info("user registered", extra={"event": "register", "user_id": str(user.id)})
        return user

    # --- grants ---------------------------------------------------------------

    async def exchange(self, request: TokenRequest, client: ClientInfo) -> TokenPair:
        """The token endpoint (RFC 6749 §4.3, §6): dispatch on grant_type, check its parameters."""
        grant_type = request.grant_type or "password"  # Swagger UI and old clients omit it
        if grant_type == "password":
            if not request.username:
                raise InvalidRequest("Missing parameter: username (the account's email)")
            if not request.password:
                raise InvalidRequest("Missing parameter: password")
            return await self.password_grant(
                email=request.username,
                password=request.password,
                scope=request.scope,
                client=client,
            )
        if grant_type == "refresh_token":
            if not request.refresh_token:
                raise InvalidRequest("Missing parameter: refresh_token")
            return await self.refresh_grant(
                refresh_token=request.refresh_token, scope=request.scope, client=client
            )
        raise UnsupportedGrantType(
            f"Unsupported grant_type {grant_type!r}; use 'password' or 'refresh_token'"
        )

    async def password_grant(
        self, *, email: str, password: str, scope: str | None, client: ClientInfo
    ) -> TokenPair:
        requested = scope_rules.parse_scope(scope)
        async with self.db.begin():
            user = await self.users.get_by_email(email)
        if user is None:
            await self.hasher.dummy_verify()  # same time as a wrong password
            logger.info("login failed", extra={"event": "login_failed", "reason": "unknown"})
            raise InvalidGrant(BAD_CREDENTIALS)
        ok, new_hash = await self.hasher.verify(password, user.hashed_password)
        if not ok:
            logger.info(
                "login failed",
                extra={"event": "login_failed", "user_id": str(user.id), "reason": "password"},
            )
            raise InvalidGrant(BAD_CREDENTIALS)
        if not user.is_active:
            raise InvalidGrant("This account is disabled")
        granted = scope_rules.grant(requested, user.scope_set)

        now = utcnow()
        refresh_token = new_refresh_token()
        refresh_expires = now + self._refresh_lifetime
        async with self.db.begin():
            if (
                new_hash is not None
            ):  # an old plain-bcrypt hash: upgrade it now we know the password
                await self.users.set_password_hash(user.id, new_hash)
            session = await self.sessions.create(
                user_id=user.id,
                scope=scope_rules.format_scope(granted),
                client_id=client.client_id or self.settings.default_client_id,
                user_agent=(client.user_agent or None) and client.user_agent[:500],
                client_ip=client.ip,
                now=now,
                expires_at=refresh_expires,
            )
            await self.sessions.add_refresh_token(
                session_id=session.id,
                token_hash=hash_refresh_token(refresh_token),
                now=now,
                expires_at=refresh_expires,
            )
        logger.info(
            "login succeeded",
            extra={"event": "login", "user_id": str(user.id), "session_id": str(session.id)},
        )
        return self._pair(user.id, session.id, granted, session.client_id, refresh_token)

    async def refresh_grant(
        self, *, refresh_token: str, scope: str | None, client: ClientInfo
    ) -> TokenPair:
        """Rotate: spend the presented token and issue a new one in the same session.

        A spent token presented again after the grace interval means it was copied:
        the whole session is revoked, taking its newer refresh tokens and its access
        tokens with it. Inside the grace interval (two tabs, a retried request) the
        second caller gets a fresh pair and nothing is revoked.
        """
        requested = scope_rules.parse_scope(scope)
        token_hash = hash_refresh_token(refresh_token)
        now = utcnow()
        grace_cutoff = now - timedelta(seconds=self.settings.refresh_reuse_grace_seconds)
        async with self.db.begin():
            spent = await self.sessions.spend_refresh_token(
                token_hash, now=now, grace_cutoff=grace_cutoff
            )
            if spent is not None:
                # Raising in here rolls back, so the presented token stays unspent.
                pair = await self._rotate(spent.session_id, requested, client, now)
        if spent is None:
            await self._revoke_if_reused(token_hash, now)
            raise InvalidGrant(BAD_REFRESH_TOKEN)
        logger.info(
            "token refreshed",
            extra={"event": "refresh", "grace_retry": not spent.first_use},
        )
        return pair

    async def _rotate(
        self,
        session_id: uuid.UUID,
        requested: frozenset[str] | None,
        client: ClientInfo,
        now: datetime,
    ) -> TokenPair:
        session = await self.sessions.get_live(session_id)
        user = await self.users.get(session.user_id) if session else None
        if session is None or user is None or not user.is_active:
            raise InvalidGrant(BAD_REFRESH_TOKEN)
        if client.client_id and client.client_id != session.client_id:
            raise InvalidGrant("The refresh token was issued to another client")
        # Never wider than the login granted, nor than the user holds today.
        granted = scope_rules.grant(requested, frozenset(session.scope.split()) & user.scope_set)
        new_token = new_refresh_token()
        expires_at = now + self._refresh_lifetime
        await self.sessions.add_refresh_token(
            session_id=session.id,
            token_hash=hash_refresh_token(new_token),
            now=now,
            expires_at=expires_at,
        )
        await self.sessions.extend(session.id, now=now, expires_at=expires_at)
        return self._pair(user.id, session.id, granted, session.client_id, new_token)

    async def _revoke_if_reused(self, token_hash: str, now: datetime) -> None:
        """A spent token presented after the grace interval was copied: end its session."""
        async with self.db.begin():
            known = await self.sessions.find_refresh_token(token_hash)
            if known is None or known.spent_at is None:
                return  # unknown, expired or of an ended session: nothing to revoke
            await self.sessions.revoke(known.session_id, now=now)
        logger.warning(
            "refresh token reuse: session revoked",
            extra={"event": "refresh_reuse", "session_id": str(known.session_id)},
        )

    # --- bearer tokens --------------------------------------------------------

    async def authenticate(self, access_token: str) -> tuple[User, AccessClaims]:
        """The user behind a live access token, or InvalidTokenError saying why not."""
        claims = self.codec.decode(access_token)
        async with self.db.begin():
            user = await self.users.get_with_live_session(claims.user_id, claims.session_id)
        if user is None:
            raise InvalidTokenError("The session of this access token has ended")
        if not user.is_active:
            raise InvalidTokenError("This account is disabled")
        return user, claims

    # --- helpers --------------------------------------------------------------

    @property
    def _refresh_lifetime(self) -> timedelta:
        return timedelta(minutes=self.settings.refresh_token_expire_minutes)

    def _pair(
        self,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        granted: frozenset[str],
        client_id: str,
        refresh_token: str,
    ) -> TokenPair:
        access = self.codec.encode(
            user_id=user_id, session_id=session_id, scopes=granted, client_id=client_id
        )
        return TokenPair(
            access_token=access,
            refresh_token=refresh_token,
            expires_in=int(self.codec.lifetime.total_seconds()),
            scope=scope_rules.format_scope(granted),
        )
