"""Accounts: self-service registration, operator provisioning, profile, password change,
and deletion by their owner."""

from __future__ import annotations

from dataclasses import replace

from authsvc.audit import Audit, AuditEvent
from authsvc.clock import utcnow
from authsvc.db import Database
from authsvc.domain import UNCHANGED, Account, Actor, Origin, Principal, Unchanged
from authsvc.errors import InvalidToken, PasswordChangedMeanwhile, Throttled
from authsvc.models import User
from authsvc.repositories.sessions import SessionRepository
from authsvc.repositories.users import UserRepository
from authsvc.security import scopes as scope_rules
from authsvc.services.credentials import Credentials
from authsvc.services.lifecycle import Lifecycle
from authsvc.throttle import Throttle


class AccountService:
    def __init__(
        self,
        db: Database,
        *,
        credentials: Credentials,
        lifecycle: Lifecycle,
        throttle: Throttle,
        audit: Audit,
    ) -> None:
        self._db = db
        self._credentials = credentials
        self._lifecycle = lifecycle
        self._throttle = throttle
        self._audit = audit

    async def _replace_hash(self, principal: Principal, verified: str, new_hash: str) -> int | None:
        """Set the new hash if `verified` is still the account's, and end every other
        session, in one transaction; how many ended, or None if the hash had changed."""
        async with self._db.transaction() as tx:
            # Conditional on the hash checked: of two concurrent changes, one wins.
            changed = await UserRepository(tx).replace_password_hash(
                principal.user.id, verified, new_hash
            )
            if not changed:
                return None
            return await SessionRepository(tx).revoke_all(
                principal.user.id, now=utcnow(), keep=principal.session_id
            )

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
            self._audit.throttled(
                AuditEvent.REGISTER_THROTTLED, "registration throttled", exc, origin
            )
            raise
        user = await self._create(
            email=email,
            password=password,
            full_name=full_name,
            scopes=frozenset({scope_rules.USER}),
            origin=origin,
            legacy_id=legacy_id,
        )
        self._audit(AuditEvent.REGISTER, "user registered", user_id=user.id)
        return user

    async def provision(
        self,
        *,
        email: str,
        password: str,
        full_name: str | None,
        scopes: frozenset[str],
        actor: Actor,
    ) -> User:
        """An operator or an admin creates an account, possibly with more than `user` (the
        CLI's `create-user --admin`, `POST /admin/users`): the one path that can grant
        more. Not throttled: only those who hold the keys, or `admin`, call it. Raises
        UnknownScope, EmailTaken, Overloaded."""
        held = scope_rules.account_scopes(scopes)
        user = await self._create(
            email=email, password=password, full_name=full_name, scopes=held, origin=None
        )
        self._audit(
            AuditEvent.USER_CREATED,
            "account provisioned",
            actor_id=actor.user_id,
            via=actor.via,
            user_id=user.id,
            scopes=user.scopes,
        )
        return user

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
        async with self._db.transaction() as tx:  # after hashing: hold no lock meanwhile
            users = UserRepository(tx)
            user = await users.add(
                email=email,
                hashed_password=hashed,
                full_name=full_name,
                scopes=scope_rules.format_scope(scopes),
            )
            if legacy_id:
                number = await users.assign_legacy_id(user.id)
        user.legacy_id = number  # detached now: not written again
        return user

    async def legacy_id(self, user: Account) -> int:
        """The account's integer UserId, for the old Flask routes: an imported user's old
        one; any other account gets the next free number the first time it is asked for."""
        if user.legacy_id is not None:
            return user.legacy_id
        return await self._db.retrying(lambda tx: UserRepository(tx).assign_legacy_id(user.id))

    async def update_profile(self, user: Account, *, full_name: str | Unchanged | None) -> Account:
        """Change what is given; a field left UNCHANGED stays as it is, None clears it."""
        if full_name is UNCHANGED:
            return user
        async with self._db.transaction() as tx:
            if not await UserRepository(tx).set_full_name(user.id, full_name):
                raise InvalidToken("The account of this access token no longer exists")
        return replace(user, full_name=full_name)

    async def change_password(
        self, principal: Principal, *, current_password: str, new_password: str, origin: Origin
    ) -> None:
        """Replace the password after checking the current one, and end every other session
        (a thief's among them); the caller's own session stays.

        The current password is guessed at the same cost, and under the same rate limits,
        as at login. The new password must already have passed the policy.
        """
        user = principal.user
        await self._credentials.confirm_current(
            user,
            current_password,
            origin,
            refused=AuditEvent.PASSWORD_CHANGE_FAILED,
            what="password change",
        )
        new_hash = await self._credentials.hash(new_password, origin, purpose="password change")
        verified = user.hashed_password
        for _attempt in range(3):
            ended = await self._replace_hash(principal, verified, new_hash)
            if ended is not None:
                break
            # The hash changed since it was checked. A login may have re-hashed the same
            # password (a raised cost): then the change still stands. Anything else was
            # another change, which wins.
            async with self._db.reading() as tx:
                current = await UserRepository(tx).get(user.id)
            if current is None or current.hashed_password == verified:
                raise PasswordChangedMeanwhile
            still, _ = await self._credentials.verify(
                current.hashed_password, current_password, origin
            )
            if not still:
                raise PasswordChangedMeanwhile
            verified = current.hashed_password
        else:
            raise PasswordChangedMeanwhile
        await self._credentials.succeeded(user.email, origin)
        self._audit(
            AuditEvent.PASSWORD_CHANGED,
            "password changed",
            user_id=user.id,
            session_id=principal.session_id,
            origin=origin,
            sessions_ended=ended,
        )

    async def delete_account(
        self, principal: Principal, *, current_password: str, origin: Origin
    ) -> None:
        """Erase the caller's account, its sessions and refresh tokens, after checking the
        current password the way `change_password` does (throttled, and a wrong one counts
        as a failed login). LastAdmin for the last active admin."""
        user = principal.user
        await self._credentials.confirm_current(
            user,
            current_password,
            origin,
            refused=AuditEvent.ACCOUNT_DELETE_FAILED,
            what="account deletion",
        )
        await self._lifecycle.delete_own(user.id, verified_hash=user.hashed_password)
        await self._credentials.succeeded(user.email, origin)
