"""The rules of accounts and tokens: register, log in, rotate refresh tokens, detect reuse.

Routes call these; nothing about tokens or sessions is decided anywhere else.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.config import Settings
from authsvc.db import read_only
from authsvc.errors import (
    InvalidGrant,
    InvalidRequest,
    Overloaded,
    PasswordChangedMeanwhile,
    SessionNotFound,
    SlowDown,
    TemporarilyUnavailable,
    Throttled,
    UnauthorizedClient,
    UnsupportedGrantType,
    WrongPassword,
)
from authsvc.metrics import Metrics
from authsvc.models import Session, User, utcnow
from authsvc.repository import SessionRepository, UserRepository
from authsvc.schemas import IntrospectionResponse, TokenRequest, UserUpdate
from authsvc.security import scopes as scope_rules
from authsvc.security.passwords import PasswordHasher
from authsvc.security.tokens import (
    AccessClaims,
    AccessTokenCodec,
    InvalidTokenError,
    hash_refresh_token,
    looks_like_access_token,
    new_refresh_token,
)
from authsvc.throttle import Throttle

logger = logging.getLogger("authsvc.audit")

MAX_CLIENT_ID_LENGTH = 200  # the sessions.client_id column
_CLIENT_ID = re.compile(rf"[\x20-\x7e]{{1,{MAX_CLIENT_ID_LENGTH}}}")  # RFC 6749 A.1: VSCHAR
CLIENT_ID_RULE = f"client_id must be 1 to {MAX_CLIENT_ID_LENGTH} printable ASCII characters"

BAD_CREDENTIALS = "Incorrect email or password"
BAD_REFRESH_TOKEN = "The refresh token is invalid, expired or revoked; log in again"
PURGE_BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    scope: str


def valid_client_id(client_id: str) -> bool:
    return _CLIENT_ID.fullmatch(client_id) is not None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a live access token speaks for: the user, its session, the scopes it carries."""

    user: User
    session_id: uuid.UUID
    scopes: frozenset[str]


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
        metrics: Metrics | None = None,
        throttle: Throttle | None = None,  # None: no rate limits (the local CLI)
    ) -> None:
        self.db = db
        self.throttle = throttle
        self.settings = settings
        self.hasher = hasher
        self.codec = codec
        self.metrics = metrics
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
        client: ClientInfo | None = None,
    ) -> User:
        """Create an account; raises EmailTaken when the database already has that email.

        Raises Throttled when the client's address has used up its registrations, and
        Overloaded when too many hashes are queued; neither costs a hash.
        """
        if self.throttle is not None:
            try:
                await self.throttle.check_registration(client.ip if client else None)
            except Throttled as exc:
                self._throttled("registration throttled", "register_throttled", exc, client)
                raise
        try:
            hashed = await self.hasher.hash(password)  # before the transaction: hold no lock
        except Overloaded:
            self._audit("registration shed", "overloaded", client=client, reason="hash queue full")
            raise
        async with self.db.begin():
            user = await self.users.add(
                email=email,
                hashed_password=hashed,
                full_name=full_name,
                scopes=scope_rules.format_scope(scopes | {scope_rules.USER}),
            )
        self._audit("user registered", "register", user_id=user.id)
        return user

    # --- grants ---------------------------------------------------------------

    async def exchange(self, request: TokenRequest, client: ClientInfo) -> TokenPair:
        """The token endpoint (RFC 6749 §4.3, §6): dispatch on grant_type, check its parameters."""
        # RFC 6749 requires grant_type; the contract lets older clients omit it for password.
        grant_type = request.grant_type or "password"
        if request.client_id is not None and not valid_client_id(request.client_id):
            raise InvalidRequest(CLIENT_ID_RULE)
        if grant_type == "password":
            if not request.username:
                raise InvalidRequest("Missing parameter: username (the account's email)")
            if not request.password:
                raise InvalidRequest("Missing parameter: password")
            try:
                return await self.password_grant(
                    email=request.username,
                    password=request.password,
                    scope=request.scope,
                    client=client,
                )
            except Throttled as exc:
                raise SlowDown(str(exc), retry_after=exc.retry_after) from exc
            except Overloaded as exc:
                raise TemporarilyUnavailable(str(exc), retry_after=exc.retry_after) from exc
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
        """Log in with email and password.

        Raises Throttled (too many failures, checked before any hashing), Overloaded (hash
        queue full) or InvalidGrant. Wrong passwords and unknown emails count as failures.
        """
        requested = scope_rules.parse_scope(scope)
        await self._check_login_throttle(email, client)
        async with read_only(self.db):
            user = await self.users.get_by_email(email)
        ok, new_hash = await self._check_password(user, password, client)
        if not ok:
            if self.throttle is not None:
                await self.throttle.login_failed(email, client.ip)
            self._audit(
                "login failed",
                "login_failed",
                user_id=user.id if user else None,
                client=client,
                reason="password" if user else "unknown account",
            )
            raise InvalidGrant(BAD_CREDENTIALS)
        assert user is not None  # only a known account's password can match
        if not user.is_active:
            self._audit(
                "login failed", "login_failed", user_id=user.id, client=client, reason="disabled"
            )
            # The same answer as a wrong password: it must not confirm a guessed one.
            raise InvalidGrant(BAD_CREDENTIALS)
        granted = scope_rules.grant(requested, user.scope_set)

        now = utcnow()
        refresh_token = new_refresh_token()
        refresh_expires = now + self._refresh_lifetime
        async with self.db.begin():
            # The password was checked against a hash read before hashing (which takes a
            # while): the login only counts if that is still the password of an active
            # account. A password change committed meanwhile must win, and a login that
            # commits first is ordered before it (row lock), so the change ends its session.
            # An outdated hash is replaced in the same statement, while we know the password.
            if not await self.users.confirm_login(
                user.id, verified_hash=user.hashed_password, new_hash=new_hash
            ):
                self._audit(
                    "login failed",
                    "login_failed",
                    user_id=user.id,
                    client=client,
                    reason="password changed or account disabled meanwhile",
                )
                raise InvalidGrant(BAD_CREDENTIALS)
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
        if self.throttle is not None:
            await self.throttle.login_succeeded(email, client.ip)
        self._audit(
            "login succeeded", "login", user_id=user.id, session_id=session.id, client=client
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
            await self._revoke_if_reused(token_hash, now, client)
            raise InvalidGrant(BAD_REFRESH_TOKEN)
        self._audit(
            "token refreshed",
            "refresh",
            session_id=spent.session_id,
            client=client,
            grace_retry=not spent.first_use,
        )
        return pair

    async def _rotate(
        self,
        session_id: uuid.UUID,
        requested: frozenset[str] | None,
        client: ClientInfo,
        now: datetime,
    ) -> TokenPair:
        session = await self.sessions.get_live(session_id, now=now)
        user = await self.users.get(session.user_id) if session else None
        if session is None or user is None or not user.is_active:
            raise InvalidGrant(BAD_REFRESH_TOKEN)
        if client.client_id and client.client_id != session.client_id:
            raise InvalidGrant("The refresh token was issued to another client")
        # Never wider than the login granted, nor than the user holds today.
        granted = scope_rules.grant(requested, frozenset(session.scope.split()) & user.scope_set)
        new_token = new_refresh_token()
        expires_at = now + self._refresh_lifetime
        # One live refresh token per session: a retry inside the grace interval retires the
        # token the first refresh issued, so two copies of a session cannot rotate on side
        # by side: whichever branch is used after the grace interval trips reuse detection.
        await self.sessions.retire_refresh_tokens(session.id, now=now)
        await self.sessions.add_refresh_token(
            session_id=session.id,
            token_hash=hash_refresh_token(new_token),
            now=now,
            expires_at=expires_at,
        )
        await self.sessions.extend(session.id, now=now, expires_at=expires_at)
        return self._pair(user.id, session.id, granted, session.client_id, new_token)

    async def _revoke_if_reused(self, token_hash: str, now: datetime, client: ClientInfo) -> None:
        """A spent token presented after the grace interval was copied: end its session."""
        async with self.db.begin():
            known = await self.sessions.find_refresh_token(token_hash)
            if known is None or known.spent_at is None:
                return  # unknown (or purged), or unspent: no reuse
            if not await self.sessions.revoke(known.session_id, now=now):
                return  # ended already (by an earlier reuse, say): one event per session
        self._audit(
            "refresh token reused after the grace interval: session revoked",
            "refresh_reuse",
            level=logging.WARNING,
            session_id=known.session_id,
            client=client,
        )

    # --- bearer tokens --------------------------------------------------------

    async def authenticate(self, access_token: str) -> Principal:
        """Who a live access token speaks for, or InvalidTokenError saying why not.

        The scopes are the token's, less any the user has lost since it was issued: a
        demoted admin's tokens stop carrying `admin` at once (the user is loaded anyway).
        """
        principal, _claims = await self._resolve(access_token)
        return principal

    async def _resolve(self, access_token: str) -> tuple[Principal, AccessClaims]:
        claims = self.codec.decode(access_token)
        async with read_only(self.db):
            user = await self.users.get_with_live_session(
                claims.user_id, claims.session_id, now=utcnow()
            )
        if user is None:
            raise InvalidTokenError("The session of this access token has ended")
        if not user.is_active:
            raise InvalidTokenError("This account is disabled")
        principal = Principal(user, claims.session_id, claims.scopes & user.scope_set)
        return principal, claims

    # --- sessions -------------------------------------------------------------

    async def logout(self, principal: Principal, *, everywhere: bool = False) -> None:
        """End the caller's session, or with `everywhere` every session of the user."""
        now = utcnow()
        async with self.db.begin():
            if everywhere:
                ended = await self.sessions.revoke_all(principal.user.id, now=now)
            else:
                ended = int(await self.sessions.revoke(principal.session_id, now=now))
        self._audit(
            "logged out everywhere" if everywhere else "logged out",
            "logout",
            user_id=principal.user.id,
            session_id=principal.session_id,
            sessions_ended=ended,
        )

    async def list_sessions(self, user_id: uuid.UUID) -> list[Session]:
        async with read_only(self.db):
            return await self.sessions.list_live(user_id, now=utcnow())

    async def end_session(self, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        """End one of the user's own sessions; SessionNotFound for any other id, so that
        another user's session is neither ended nor confirmed to exist."""
        async with self.db.begin():
            ended = await self.sessions.revoke(session_id, now=utcnow(), user_id=user_id)
        if not ended:
            raise SessionNotFound(str(session_id))
        self._audit(
            "session ended by its user", "session_ended", user_id=user_id, session_id=session_id
        )

    # --- account --------------------------------------------------------------

    async def update_profile(self, user: User, changes: UserUpdate) -> User:
        """Apply the fields the client sent (a field left out stays as it is)."""
        if "full_name" in changes.model_fields_set:
            async with self.db.begin():
                await self.users.set_full_name(user, changes.full_name)
        return user

    async def change_password(
        self,
        principal: Principal,
        *,
        current_password: str,
        new_password: str,
        client: ClientInfo,
    ) -> None:
        """Replace the password after checking the current one, and end every other session
        (a thief's among them); the caller's own session stays.

        The current password is guessed at the same cost, and under the same rate limits,
        as at login: a stolen access token must not become a cheap password oracle.
        The new password must already have passed the policy (a schema-level check).
        """
        user = principal.user
        await self._check_login_throttle(user.email, client)
        ok, _ = await self._check_password(user, current_password, client)
        if not ok:
            if self.throttle is not None:
                await self.throttle.login_failed(user.email, client.ip)
            self._audit(
                "password change refused", "password_change_failed", user_id=user.id, client=client
            )
            raise WrongPassword
        try:
            new_hash = await self.hasher.hash(new_password)
        except Overloaded:
            self._audit("password change shed", "overloaded", client=client)
            raise
        async with self.db.begin():
            # Conditional on the hash just checked: of two concurrent changes, one wins.
            if not await self.users.replace_password_hash(user.id, user.hashed_password, new_hash):
                raise PasswordChangedMeanwhile
            ended = await self.sessions.revoke_all(user.id, now=utcnow(), keep=principal.session_id)
        if self.throttle is not None:
            await self.throttle.login_succeeded(user.email, client.ip)
        self._audit(
            "password changed",
            "password_changed",
            user_id=user.id,
            session_id=principal.session_id,
            client=client,
            sessions_ended=ended,
        )

    # --- revocation and introspection ----------------------------------------

    async def revoke_token(self, token: str, *, client_id: str | None = None) -> None:
        """RFC 7009: a token this service issued ends its session, refresh and access tokens
        alike. Anything else (unknown, expired, ended, garbage) is quietly ignored.

        The two kinds cannot be confused (a JWT has dots, a refresh token none), so the
        client's `token_type_hint` is not needed to find the token.
        """
        found = await self._session_of(token)
        if found is None:
            return
        session_id, issued_to, token_type = found
        now = utcnow()
        async with self.db.begin():
            if client_id is not None and client_id != issued_to:
                # RFC 7009 §2.1: a client may not revoke another's token. An ended session
                # has nothing left to protect: that gets the same 200 as any dead token.
                if await self.sessions.get_live(session_id, now=now) is None:
                    return
                raise UnauthorizedClient("The token was issued to another client")
            ended = await self.sessions.revoke(session_id, now=now)
        if ended:
            self._audit(
                "token revoked: session ended",
                "revoke",
                session_id=session_id,
                token_type=token_type,
            )

    async def _session_of(self, token: str) -> tuple[uuid.UUID, str, str] | None:
        """(session id, client id, token type) of a token this service issued and that
        still proves possession: a valid access token, or any refresh token it knows."""
        if looks_like_access_token(token):
            try:
                claims = self.codec.decode(token)
            except InvalidTokenError:
                return None
            return claims.session_id, claims.client_id, "access_token"
        async with read_only(self.db):
            session = await self.sessions.session_of_refresh_token(hash_refresh_token(token))
        return None if session is None else (session.id, session.client_id, "refresh_token")

    async def introspect(self, token: str) -> IntrospectionResponse:
        """RFC 7662: what a live token is; `{"active": false}` for anything else (expired,
        revoked, unknown, garbage, or a disabled account's)."""
        if looks_like_access_token(token):
            try:
                principal, claims = await self._resolve(token)
            except InvalidTokenError:
                return IntrospectionResponse(active=False)
            return IntrospectionResponse(
                token_type="bearer",
                sub=str(principal.user.id),
                username=principal.user.email,
                scope=scope_rules.format_scope(principal.scopes),
                client_id=claims.client_id,
                exp=int(claims.expires_at.timestamp()),
                iat=int(claims.issued_at.timestamp()),
                iss=self.codec.issuer,
                aud=self.codec.audience,
                sid=str(principal.session_id),
                jti=claims.token_id,
            )
        async with read_only(self.db):
            found = await self.sessions.find_live_refresh_token(
                hash_refresh_token(token), now=utcnow()
            )
        if found is None:
            return IntrospectionResponse(active=False)
        refresh, session, user = found
        if not user.is_active:
            return IntrospectionResponse(active=False)
        return IntrospectionResponse(
            token_type="refresh_token",
            sub=str(user.id),
            username=user.email,
            scope=scope_rules.format_scope(frozenset(session.scope.split()) & user.scope_set),
            client_id=session.client_id,
            exp=int(refresh.expires_at.timestamp()),
            iat=int(refresh.created_at.timestamp()),
            iss=self.codec.issuer,
            # A refresh token is for this server alone: an audience no resource server
            # accepts, so one that checks `aud` cannot take it for an access token.
            aud=self.codec.issuer,
            sid=str(session.id),
        )

    # --- throttling -----------------------------------------------------------

    async def _check_login_throttle(self, email: str, client: ClientInfo) -> None:
        if self.throttle is None:
            return

        async def known_address() -> bool:
            if not client.ip:
                return False
            async with read_only(self.db):
                return await self.sessions.has_logged_in_from(email, client.ip)

        try:
            await self.throttle.check_login(email, client.ip, known_address=known_address)
        except Throttled as exc:
            self._throttled("login throttled", "login_throttled", exc, client)
            raise

    def _throttled(
        self, message: str, event: str, exc: Throttled, client: ClientInfo | None
    ) -> None:
        self._audit(
            message,
            event,
            level=logging.WARNING,
            client=client,
            reason=exc.limit,
            retry_after=exc.retry_after,
        )

    # --- helpers --------------------------------------------------------------

    async def _check_password(
        self, user: User | None, password: str, client: ClientInfo
    ) -> tuple[bool, str | None]:
        """(matches, a new hash if the stored one is outdated); with no user, the time a
        wrong password takes. Raises Overloaded when too many hashes are queued."""
        try:
            if user is None:
                await self.hasher.dummy_verify()
                return False, None
            return await self.hasher.verify(password, user.hashed_password)
        except Overloaded:
            self._audit(
                "password check shed", "overloaded", client=client, reason="hash queue full"
            )
            raise

    def _audit(
        self,
        message: str,
        event: str,
        *,
        level: int = logging.INFO,
        client: ClientInfo | None = None,
        **fields: object,
    ) -> None:
        """One structured audit event: logged, and counted in the metrics.

        Only ids and reasons go in; never a password, a token or a hash.
        """
        extra = {key: str(value) for key, value in fields.items() if value is not None}
        if client is not None and client.ip:
            extra["client_ip"] = client.ip
        logger.log(level, message, extra={"event": event, **extra})
        if self.metrics is not None:
            self.metrics.record(event)

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


async def purge_ended_sessions(
    db: AsyncSession, *, retention: timedelta = timedelta(0)
) -> tuple[int, int]:
    """Delete sessions that ended (logged out, revoked or expired) more than `retention`
    ago, and expired refresh tokens, in batches; (sessions, refresh tokens) deleted. Safe
    to run on every replica at once."""
    repository = SessionRepository(db)
    sessions = tokens = 0
    while True:
        now = utcnow()
        async with db.begin():
            batch = await repository.purge(
                now=now, ended_before=now - retention, batch_size=PURGE_BATCH_SIZE
            )
        sessions, tokens = sessions + batch[0], tokens + batch[1]
        if max(batch) < PURGE_BATCH_SIZE:
            break
    if sessions or tokens:
        logger.info(
            "purged ended sessions",
            extra={"event": "purge", "sessions": sessions, "refresh_tokens": tokens},
        )
    return sessions, tokens
