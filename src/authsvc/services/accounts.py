"""Accounts: self-service registration, operator provisioning, profile, password change."""

from __future__ import annotations

import logging

from authsvc.audit import Audit, AuditEvent
from authsvc.clock import utcnow
from authsvc.db import Database
from authsvc.domain import UNCHANGED, Origin, Principal, Unchanged
from authsvc.errors import PasswordChangedMeanwhile, Throttled, WrongPassword
from authsvc.models import User
from authsvc.repositories.sessions import SessionRepository
from authsvc.repositories.users import UserRepository
from authsvc.security import scopes as scope_rules
from authsvc.services.credentials import Credentials
from authsvc.throttle import Throttle


class AccountService:
    def __init__(
        self, db: Database, *, credentials: Credentials, throttle: Throttle, audit: Audit
    ) -> None:
        self._db = db
        self._credentials = credentials
        self._throttle = throttle
        self._audit = audit

    async def register(
        self,
        *,
        email: str,
        password: str,
        full_name: str | None,
        origin: Origin,
        legacy_id: bool = False,
    ) -> User:
        """Self-service sign-up: an account with the `user` scope and nothing more.

        Raises Throttled when the address has used up its registrations and Overloaded
        when too many hashes are queued (neither costs a hash), EmailTaken when the
        database already has the email. The password must have passed the policy.
        `legacy_id`: number the account at once (registered on an old Flask route).
        """
        try:
            await self._throttle.check_registration(origin.ip)
        except Throttled as exc:
            self._audit(
                AuditEvent.REGISTER_THROTTLED,
                "registration throttled",
                level=logging.WARNING,
                origin=origin,
                reason=exc.limit,
                retry_after=exc.retry_after,
            )
            raise
        return await self._create(
            email=email,
            password=password,
            full_name=full_name,
            scopes=frozenset(),
            origin=origin,
            legacy_id=legacy_id,
        )

    async def provision(
        self, *, email: str, password: str, full_name: str | None, scopes: frozenset[str]
    ) -> User:
        """An operator creates an account, possibly with more than `user` (the CLI's
        `create-user --admin`). Not throttled: only those who hold the keys call it."""
        unknown = scopes - set(scope_rules.SCOPES)
        if unknown:
            raise ValueError(f"unknown scopes: {' '.join(sorted(unknown))}")
        return await self._create(
            email=email, password=password, full_name=full_name, scopes=scopes, origin=None
        )

    async def _create(
        self,
        *,
        email: str,
        password: str,
        full_name: str | None,
        scopes: frozenset[str],
        origin: Origin | None,
        legacy_id: bool = False,
    ) -> User:
        hashed = await self._credentials.hash(password, origin, purpose="registration")
        number = None
        async with self._db.transaction() as session:  # after hashing: hold no lock meanwhile
            users = UserRepository(session)
            user = await users.add(
                email=email,
                hashed_password=hashed,
                full_name=full_name,
                scopes=scope_rules.format_scope(scopes | {scope_rules.USER}),
            )
            if legacy_id:
                number = await users.assign_legacy_id(user.id)
        user.legacy_id = number  # detached now: not written again
        self._audit(AuditEvent.REGISTER, "user registered", user_id=user.id)
        return user

    async def legacy_id(self, user: User) -> int:
        """The account's integer UserId, for the old Flask routes: an imported user's old
        one; any other account gets the next free number the first time it is asked for."""
        if user.legacy_id is None:
            async with self._db.transaction() as session:
                number = await UserRepository(session).assign_legacy_id(user.id)
            user.legacy_id = number
            return number
        return user.legacy_id

    async def update_profile(self, user: User, *, full_name: str | Unchanged | None) -> User:
        """Change what is given; a field left UNCHANGED stays as it is, None clears it."""
        if full_name is not UNCHANGED:
            async with self._db.transaction() as session:
                await UserRepository(session).set_full_name(user.id, full_name)
            user.full_name = full_name
        return user

    async def change_password(
        self, principal: Principal, *, current_password: str, new_password: str, origin: Origin
    ) -> None:
        """Replace the password after checking the current one, and end every other session
        (a thief's among them); the caller's own session stays.

        The current password is guessed at the same cost, and under the same rate limits,
        as at login. The new password must already have passed the policy.
        """
        user = principal.user
        await self._credentials.check_throttle(user.email, origin)
        ok, _ = await self._credentials.verify(user, current_password, origin)
        if not ok:
            await self._credentials.failed(user.email, origin)
            self._audit(
                AuditEvent.PASSWORD_CHANGE_FAILED,
                "password change refused",
                user_id=user.id,
                origin=origin,
            )
            raise WrongPassword
        new_hash = await self._credentials.hash(new_password, origin, purpose="password change")
        async with self._db.transaction() as session:
            # Conditional on the hash just checked: of two concurrent changes, one wins.
            changed = await UserRepository(session).replace_password_hash(
                user.id, user.hashed_password, new_hash
            )
            if not changed:
                raise PasswordChangedMeanwhile
            ended = await SessionRepository(session).revoke_all(
                user.id, now=utcnow(), keep=principal.session_id
            )
        await self._credentials.succeeded(user.email, origin)
        self._audit(
            AuditEvent.PASSWORD_CHANGED,
            "password changed",
            user_id=user.id,
            session_id=principal.session_id,
            origin=origin,
            sessions_ended=ended,
        )
