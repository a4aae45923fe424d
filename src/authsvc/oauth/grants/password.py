"""The resource owner password credentials grant (RFC 6749 §4.3): email and password."""

from __future__ import annotations

from typing import NoReturn

from authsvc.audit import Audit, AuditEvent
from authsvc.clock import utcnow
from authsvc.db import Database
from authsvc.domain import TokenPair
from authsvc.errors import InvalidGrant
from authsvc.oauth.grants import GrantRequest, Parameter
from authsvc.oauth.minter import TokenMinter
from authsvc.repositories.users import UserRepository
from authsvc.security import scopes as scope_rules
from authsvc.services.credentials import Credentials

BAD_CREDENTIALS = "Incorrect email or password"


class PasswordGrant:
    grant_type = "password"
    parameters = (
        Parameter(
            "username",
            "The account's email (password grant).",
            meaning="username (the account's email)",
        ),
        Parameter("password", "password grant"),
    )

    def __init__(
        self, db: Database, *, credentials: Credentials, minter: TokenMinter, audit: Audit
    ) -> None:
        self._db = db
        self._credentials = credentials
        self._minter = minter
        self._audit = audit

    async def exchange(self, request: GrantRequest) -> TokenPair:
        """Log in. Raises Throttled (too many failures, checked before any hashing),
        Overloaded (hash queue full) or InvalidGrant; wrong passwords and unknown emails
        count as failures, and get the same answer in the same time."""
        email, password = request.parameters["username"], request.parameters["password"]
        origin = request.origin
        requested = scope_rules.parse_scope(request.scope)
        scope_rules.check_known(requested)
        await self._credentials.check_throttle(email, origin)
        async with self._db.reading() as tx:
            user = await UserRepository(tx).get_by_email(email)
        hashed = user.hashed_password if user else None
        ok, new_hash = await self._credentials.verify(hashed, password, origin)
        if not ok or user is None:
            self._failed(
                user.id if user else None, request, "password" if user else "unknown account"
            )
        if not user.is_active:
            # The same answer as a wrong password: it must not confirm a guessed one.
            self._failed(user.id, request, "disabled")
        granted = scope_rules.narrow(requested, user.scope_set)

        now = utcnow()
        async with self._db.transaction() as tx:
            # The password was checked against a hash read before hashing (which takes a
            # while): the login only counts if that is still the password of an active
            # account. A password change committed meanwhile must win, and a login that
            # commits first is ordered before it (row lock), so the change ends its session.
            # An outdated hash is replaced in the same statement, while we know the password.
            confirmed = await UserRepository(tx).confirm_login(
                user.id, verified_hash=user.hashed_password, new_hash=new_hash, now=now
            )
            if not confirmed:
                self._failed(user.id, request, "password changed or account disabled meanwhile")
            login, pair = await self._minter.start_session(
                tx, user_id=user.id, scopes=granted, origin=origin, now=now
            )
        await self._credentials.succeeded(email, origin)
        self._audit(
            AuditEvent.LOGIN, "login succeeded", user_id=user.id, session_id=login.id, origin=origin
        )
        return pair

    def _failed(self, user_id: object, request: GrantRequest, reason: str) -> NoReturn:
        self._audit(
            AuditEvent.LOGIN_FAILED,
            "login failed",
            user_id=user_id,
            origin=request.origin,
            reason=reason,
        )
        raise InvalidGrant(BAD_CREDENTIALS)
