"""Database access for accounts. No HTTP, no policy."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.domain import UNCHANGED, ImportedAccount, Unchanged
from authsvc.emails import email_key, storable
from authsvc.errors import EmailTaken
from authsvc.models import User
from authsvc.security import scopes as scope_rules


def scope_columns(scopes: str) -> dict[str, Any]:
    """`scopes` and the `is_admin` flag that mirrors it: always written together."""
    return {"scopes": scopes, "is_admin": scope_rules.ADMIN in scopes.split()}


LEGACY_ID_ATTEMPTS = 100  # each failure means another assignment committed: progress


class UserRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self.db.get(User, user_id)

    async def get_by_email(self, email: str) -> User | None:
        if not storable(email):
            return None
        result = await self.db.execute(select(User).where(User.email_key == email_key(email)))
        return result.scalar_one_or_none()

    async def add(
        self, *, email: str, hashed_password: str, full_name: str | None, scopes: str
    ) -> User:
        user = User(
            email=email,
            email_key=email_key(email),
            hashed_password=hashed_password,
            full_name=full_name,
            **scope_columns(scopes),
        )
        self.db.add(user)
        try:
            await self.db.flush()
        except IntegrityError as exc:  # the unique index on email_key decided
            raise EmailTaken from exc
        return user

    async def legacy_ids_by_email_key(self, keys: Collection[str]) -> dict[str, int | None]:
        """Of these email keys, those that have an account, with its legacy UserId."""
        if not keys:
            return {}
        result = await self.db.execute(
            select(User.email_key, User.legacy_id).where(User.email_key.in_(list(keys)))
        )
        return dict(result.all())

    async def taken_legacy_ids(self, numbers: Collection[int]) -> set[int]:
        """Those of these legacy UserIds that an account has."""
        if not numbers:
            return set()
        result = await self.db.scalars(
            select(User.legacy_id).where(User.legacy_id.in_(list(numbers)))
        )
        return {number for number in result if number is not None}

    async def add_imported(
        self, accounts: Sequence[ImportedAccount], *, scopes: str, now: datetime
    ) -> None:
        """Insert imported accounts in one statement (IntegrityError: one was taken)."""
        rows = [
            {
                "id": uuid.uuid4(),
                "email": account.email,
                "email_key": email_key(account.email),
                "full_name": account.full_name,
                "hashed_password": account.hashed_password,
                "scopes": scopes,
                "is_active": True,
                "created_at": now,
                "legacy_id": account.legacy_id,
            }
            for account in accounts
        ]
        if rows:
            await self.db.execute(insert(User), rows)

    async def assign_legacy_id(self, user_id: uuid.UUID) -> int:
        """The account's integer UserId (old Flask routes); if it has none, the next free
        number: one above the highest there is, so never an imported user's.

        The unique index decides between concurrent assignments: the loser's statement
        fails inside a savepoint and it tries the next number. The highest number is read
        with FOR UPDATE (ignored on SQLite, which serialises writers anyway): a locking
        read sees the latest committed rows also where a plain read sees a snapshot
        (MySQL's repeatable read), and it queues concurrent assigners on that row.
        """
        for _ in range(LEGACY_ID_ATTEMPTS):
            current = await self.db.scalar(select(User.legacy_id).where(User.id == user_id))
            if current is not None:
                return current
            highest = await self.db.scalar(
                select(User.legacy_id)
                .where(User.legacy_id.is_not(None))
                .order_by(User.legacy_id.desc())
                .limit(1)
                .with_for_update()
            )
            number = (highest or 0) + 1
            try:
                async with self.db.begin_nested():
                    result = await self.db.execute(
                        update(User)
                        .where(User.id == user_id, User.legacy_id.is_(None))
                        .values(legacy_id=number)
                        .execution_options(synchronize_session=False)
                    )
            except IntegrityError:  # another account took this number meanwhile
                continue
            if getattr(result, "rowcount", 0):
                return number
            # None changed: a concurrent call numbered this account; the loop reads it.
        raise RuntimeError(f"no free legacy UserId after {LEGACY_ID_ATTEMPTS} attempts")

    async def confirm_login(
        self, user_id: uuid.UUID, *, verified_hash: str, new_hash: str | None, now: datetime
    ) -> bool:
        """Whether the account is active and `verified_hash` still its hash; if so, replace
        it with `new_hash` when given, and note the login time. One conditional UPDATE: it
        locks the user's row, so a concurrent password change (or disable) is ordered
        before or after this login, never beside."""
        result = await self.db.execute(
            update(User)
            .where(
                User.id == user_id,
                User.hashed_password == verified_hash,
                User.is_active.is_(True),
            )
            .values(
                hashed_password=new_hash if new_hash is not None else User.hashed_password,
                last_login_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def replace_password_hash(self, user_id: uuid.UUID, old: str, new: str) -> bool:
        """Set the hash only if it is still `old`; False if it changed meanwhile."""
        result = await self.db.execute(
            update(User)
            .where(User.id == user_id, User.hashed_password == old)
            .values(hashed_password=new)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def set_full_name(self, user_id: uuid.UUID, full_name: str | None) -> bool:
        """False when there is no such account (any more)."""
        result = await self.db.execute(
            update(User)
            .where(User.id == user_id)
            .values(full_name=full_name)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    # --- administration: see services/lifecycle.py for the locking order ---------------

    async def lock_active_admins(self) -> list[uuid.UUID]:
        """Lock the rows of every active admin (in id order, so that two transactions
        doing this never deadlock) and return their ids. Under PostgreSQL's READ
        COMMITTED a row a concurrent transaction demoted is re-checked once its lock is
        released, and then no longer returned; SQLite serialises writers anyway."""
        result = await self.db.execute(
            select(User.id)
            .where(User.is_admin.is_(True), User.is_active.is_(True))
            .order_by(User.id)
            .with_for_update()
        )
        return list(result.scalars())

    async def lock(self, user_id: uuid.UUID) -> User | None:
        """The user, its row locked until the transaction ends."""
        result = await self.db.execute(
            select(User)
            .where(User.id == user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def update_account(
        self,
        user_id: uuid.UUID,
        *,
        is_active: bool | Unchanged = UNCHANGED,
        scopes: str | Unchanged = UNCHANGED,
        full_name: str | Unchanged | None = UNCHANGED,
    ) -> None:
        """Set the fields given; one left UNCHANGED stays as it is."""
        values: dict[str, Any] = {}
        if not isinstance(is_active, Unchanged):
            values["is_active"] = is_active
        if not isinstance(scopes, Unchanged):
            values.update(scope_columns(scopes))
        if not isinstance(full_name, Unchanged):
            values["full_name"] = full_name
        if values:
            await self.db.execute(
                update(User)
                .where(User.id == user_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    async def delete(self, user_id: uuid.UUID, *, hashed_password: str | None = None) -> bool:
        """Erase the account; its sessions and their refresh tokens go with it (ON DELETE
        CASCADE). With `hashed_password`, only while that is still its hash."""
        condition = [User.id == user_id]
        if hashed_password is not None:
            condition.append(User.hashed_password == hashed_password)
        result = await self.db.execute(
            delete(User).where(*condition).execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))
