"""Checking a password the way a login does: throttled first, at a constant cost, counted.

The password grant, the password change and every later flow that asks for the current
password (account deletion, MFA changes) go through `Credentials`, so a stolen access
token is never a cheaper password oracle than the login form.
"""

from __future__ import annotations

from authsvc.audit import Audit, AuditEvent
from authsvc.db import Database
from authsvc.domain import Account, Origin
from authsvc.errors import Overloaded, Throttled, WrongPassword
from authsvc.repositories.sessions import SessionRepository
from authsvc.security.passwords import PasswordHasher
from authsvc.throttle import Throttle


class Credentials:
    def __init__(
        self, db: Database, *, hasher: PasswordHasher, throttle: Throttle, audit: Audit
    ) -> None:
        self._db = db
        self._hasher = hasher
        self._throttle = throttle
        self._audit = audit

    async def check_throttle(self, email: str, origin: Origin) -> None:
        """Raise Throttled if a password for this account may not even be tried now."""

        async def known_address() -> bool:
            if not origin.ip:
                return False
            async with self._db.reading() as tx:
                return await SessionRepository(tx).has_logged_in_from(email, origin.ip)

        try:
            await self._throttle.check_login(email, origin.ip, known_address=known_address)
        except Throttled as exc:
            self._audit.throttled(AuditEvent.LOGIN_THROTTLED, "login throttled", exc, origin)
            raise

    async def verify(
        self, hashed: str | None, password: str, origin: Origin
    ) -> tuple[bool, str | None]:
        """(matches, a new hash if the stored one is outdated); with no hash (no such
        account), the time a wrong password takes. Overloaded when too many are queued."""
        try:
            if hashed is None:
                await self._hasher.dummy_verify()
                return False, None
            return await self._hasher.verify(password, hashed)
        except Overloaded:
            self._audit(
                AuditEvent.OVERLOADED,
                "password check shed",
                origin=origin,
                reason="hash queue full",
            )
            raise

    async def confirm_current(
        self, user: Account, password: str, origin: Origin, *, refused: AuditEvent, what: str
    ) -> None:
        """The current password, asked for before a sensitive change: checked as a login
        checks it (counted by the throttle before it is checked); WrongPassword, audited as
        `refused`, when it is not the account's."""
        await self.check_throttle(user.email, origin)
        ok, _ = await self.verify(user.hashed_password, password, origin)
        if not ok:
            self._audit(refused, f"{what} refused", user_id=user.id, origin=origin)
            raise WrongPassword

    async def succeeded(self, email: str, origin: Origin) -> None:
        await self._throttle.login_succeeded(email, origin.ip)

    async def hash(self, password: str, origin: Origin | None, *, purpose: str) -> str:
        """A hash of a new password; Overloaded (audited) when too many are queued."""
        try:
            return await self._hasher.hash(password)
        except Overloaded:
            self._audit(
                AuditEvent.OVERLOADED, f"{purpose} shed", origin=origin, reason="hash queue full"
            )
            raise
