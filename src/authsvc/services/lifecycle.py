"""Changes to an account that can remove an active admin: disable, demote, delete.

**There is always an admin**, and the database decides it. Each change runs in one
transaction that first locks the rows of every active admin (ordered by id, so two such
transactions never deadlock), then the target's row, and only then decides: when the
target is the one active admin left and would stop being one, the change is refused
(`LastAdmin`). A count read beforehand would not do: under READ COMMITTED two admins
demoting each other would each see the other still an admin, and both succeed. With
the locks, the second transaction waits for the first, and its locking read then sees
the first's outcome (PostgreSQL re-checks a locked row once it is released; SQLite runs
one writer at a time).

Disabling ends every session of the user in the same transaction, and deleting takes
the sessions and their refresh tokens with it (ON DELETE CASCADE): the bearer check and
the refresh grant both need a live session, so the user's tokens are dead on the next
request, on every process.
"""

from __future__ import annotations

import logging
import uuid

from authsvc.audit import Audit, AuditEvent
from authsvc.clock import utcnow
from authsvc.db import Database
from authsvc.domain import UNCHANGED, Actor, Unchanged, UserChanges
from authsvc.errors import LastAdmin, PasswordChangedMeanwhile, UserNotFound
from authsvc.models import User
from authsvc.repositories.sessions import SessionRepository
from authsvc.repositories.users import UserRepository
from authsvc.security import scopes as scope_rules


class Lifecycle:
    def __init__(self, db: Database, *, audit: Audit) -> None:
        self._db = db
        self._audit = audit

    async def update(self, user_id: uuid.UUID, changes: UserChanges, *, actor: Actor) -> None:
        """Apply `changes`: disabling ends every session; a scope removed is gone from
        the user's tokens at once (the bearer check intersects with the user's scopes)."""
        scopes = None
        if not isinstance(changes.scopes, Unchanged):
            scopes = scope_rules.account_scopes(changes.scopes)
        async with self._db.transaction() as tx:
            users = UserRepository(tx)
            user, admins = await self._locked(users, user_id)
            is_active = changes.is_active
            if isinstance(is_active, Unchanged):
                is_active = user.is_active
            new_scopes = user.scope_set if scopes is None else scopes
            self._refuse_last_admin(
                user, admins, stays_admin=is_active and scope_rules.ADMIN in new_scopes, actor=actor
            )
            diff = _diff(user, is_active=is_active, scopes=new_scopes, changes=changes)
            await users.update_account(
                user_id,
                is_active=changes.is_active,
                scopes=UNCHANGED if scopes is None else scope_rules.format_scope(scopes),
                full_name=changes.full_name,
            )
            ended = 0
            if not is_active:  # also when disabled already: nothing may outlive a disable
                ended = await SessionRepository(tx).revoke_all(user_id, now=utcnow())
        self._audit(
            AuditEvent.USER_UPDATED,
            "account changed by an admin",
            actor_id=actor.user_id,
            via=actor.via,
            user_id=user_id,
            changes=_format(diff),
            sessions_ended=ended,
        )

    async def delete(self, user_id: uuid.UUID, *, actor: Actor) -> None:
        """Erase the account, its sessions and refresh tokens (an erasure request). The
        audit event keeps only the id."""
        await self._delete(user_id, actor=actor, hashed_password=None)
        self._audit(
            AuditEvent.USER_DELETED,
            "account deleted by an admin",
            actor_id=actor.user_id,
            via=actor.via,
            user_id=user_id,
        )

    async def delete_own(self, user_id: uuid.UUID, *, verified_hash: str) -> None:
        """The user erases their own account, having given the password whose hash is
        `verified_hash`: PasswordChangedMeanwhile if it is no longer the account's."""
        await self._delete(
            user_id, actor=Actor(user_id=user_id, via="api"), hashed_password=verified_hash
        )
        self._audit(AuditEvent.ACCOUNT_DELETED, "account deleted by its user", user_id=user_id)

    async def _delete(
        self, user_id: uuid.UUID, *, actor: Actor, hashed_password: str | None
    ) -> None:
        async with self._db.transaction() as tx:
            users = UserRepository(tx)
            user, admins = await self._locked(users, user_id)
            self._refuse_last_admin(user, admins, stays_admin=False, actor=actor)
            if not await users.delete(user_id, hashed_password=hashed_password):
                raise PasswordChangedMeanwhile  # the row is locked: only the hash can differ

    @staticmethod
    async def _locked(users: UserRepository, user_id: uuid.UUID) -> tuple[User, list[uuid.UUID]]:
        admins = await users.lock_active_admins()  # first: the one order every change locks in
        user = await users.lock(user_id)
        if user is None:
            raise UserNotFound
        return user, admins

    def _refuse_last_admin(
        self, user: User, admins: list[uuid.UUID], *, stays_admin: bool, actor: Actor
    ) -> None:
        if stays_admin or admins != [user.id]:
            return
        self._audit(
            AuditEvent.LAST_ADMIN_REFUSED,
            "refused: the last active admin",
            level=logging.WARNING,
            actor_id=actor.user_id,
            via=actor.via,
            user_id=user.id,
        )
        raise LastAdmin


def _diff(
    user: User, *, is_active: bool, scopes: frozenset[str], changes: UserChanges
) -> dict[str, str]:
    diff: dict[str, str] = {}
    if is_active != user.is_active:
        diff["is_active"] = str(is_active).lower()
    added, removed = scopes - user.scope_set, user.scope_set - scopes
    if added or removed:
        diff["scopes"] = " ".join(
            [*(f"+{s}" for s in sorted(added)), *(f"-{s}" for s in sorted(removed))]
        )
    if not isinstance(changes.full_name, Unchanged) and changes.full_name != user.full_name:
        diff["full_name"] = "changed"  # personal data: that it changed, not to what
    return diff


def _format(diff: dict[str, str]) -> str | None:
    return " ".join(f"{key}={value}" for key, value in diff.items()) or None
