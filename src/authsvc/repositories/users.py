"""Database access for accounts. No HTTP, no policy."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.emails import email_key, storable
from authsvc.errors import EmailTaken
from authsvc.models import User


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
            scopes=scopes,
        )
        self.db.add(user)
        try:
            await self.db.flush()
        except IntegrityError as exc:  # the unique index on email_key decided
            raise EmailTaken from exc
        return user

    async def confirm_login(
        self, user_id: uuid.UUID, *, verified_hash: str, new_hash: str | None
    ) -> bool:
        """Whether the account is active and `verified_hash` still its hash; if so, replace
        it with `new_hash` when given. One conditional UPDATE: it locks the user's row, so
        a concurrent password change is ordered before or after this login, never beside."""
        result = await self.db.execute(
            update(User)
            .where(
                User.id == user_id,
                User.hashed_password == verified_hash,
                User.is_active.is_(True),
            )
            # Without a new hash, the no-op assignment still takes the row lock.
            .values(hashed_password=new_hash if new_hash is not None else User.hashed_password)
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
