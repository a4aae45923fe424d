"""Read-only queries of the admin API: users as an admin sees them, a keyset page at a
time. No HTTP, no policy."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.domain import PageKey, UserFilter, UserView
from authsvc.emails import email_key, storable
from authsvc.models import Session, User
from authsvc.repositories.sessions import live


def holds_scope(scope: str) -> ColumnElement[bool]:
    """Whether the space-separated `scopes` hold `scope`, matched as a whole word: the
    column padded with spaces contains it padded with spaces. `+` compiles to `||`, or to
    concat() where `||` means OR."""
    padded = literal(" ") + User.scopes + literal(" ")
    return padded.contains(f" {scope} ", autoescape=True)


class AdminQueries:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def _views(self, now: datetime) -> Select[User, int]:
        live_sessions = (
            select(func.count(Session.id))
            .where(Session.user_id == User.id, *live(now))
            .correlate(User)
            .scalar_subquery()
        )
        return select(User, live_sessions)

    async def view(self, user_id: uuid.UUID, *, now: datetime) -> UserView | None:
        result = await self.db.execute(self._views(now).where(User.id == user_id))
        row = result.one_or_none()
        return None if row is None else UserView(row[0], int(row[1]))

    async def page(
        self, filters: UserFilter, *, after: PageKey | None, limit: int, now: datetime
    ) -> tuple[list[UserView], bool]:
        """Up to `limit` users after `after` in (created_at, id) order, and whether more
        follow. The order is on a unique key, so a page boundary is exact: users added
        meanwhile (created later) come at the end, and no user is skipped or repeated."""
        conditions: list[ColumnElement[bool]] = []
        if filters.email_prefix is not None:
            if not storable(filters.email_prefix):
                return [], False
            prefix = email_key(filters.email_prefix)
            conditions.append(User.email_key.startswith(prefix, autoescape=True))
        if filters.is_active is not None:
            conditions.append(User.is_active.is_(filters.is_active))
        if filters.scope is not None:
            conditions.append(holds_scope(filters.scope))
        if after is not None:
            conditions.append(
                or_(
                    User.created_at > after.created_at,
                    and_(User.created_at == after.created_at, User.id > after.id),
                )
            )
        result = await self.db.execute(
            self._views(now)
            .where(*conditions)
            .order_by(User.created_at, User.id)
            .limit(limit + 1)  # one more: whether there is a next page
        )
        rows = result.all()
        views = [UserView(row[0], int(row[1])) for row in rows[:limit]]
        return views, len(rows) > limit
