"""Database access for accounts. No HTTP, no policy."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.domain import UNCHANGED, Unchanged
from authsvc.emails import email_key, storable
from authsvc.errors import EmailTaken
from authsvc.models import User
from authsvc.security import scopes as scope_rules


def scope_columns(scopes: str) -> dict[str, Any]:
    """`scopes` and the `is_admin` flag that mirrors it: always written together."""
    return {"scopes": scopes, "is_admin": scope_rules.ADMIN in scopes.split()}


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
