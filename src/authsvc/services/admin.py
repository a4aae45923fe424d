"""Administration: what an admin (the API, scope `admin`) or an operator (the CLI) may do
to any account. The rules that can remove an admin live in `lifecycle.Lifecycle`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from authsvc.audit import Audit, AuditEvent
from authsvc.clock import utcnow
from authsvc.db import Database
from authsvc.domain import Actor, PageKey, UserChanges, UserFilter, UserPage, UserView
from authsvc.errors import SessionNotFound, UserNotFound
from authsvc.models import Session
from authsvc.repositories.admin_queries import AdminQueries
from authsvc.repositories.sessions import SessionRepository
from authsvc.repositories.users import UserRepository
from authsvc.services.accounts import AccountService
from authsvc.services.lifecycle import Lifecycle

MAX_PAGE_SIZE = 200
NO_SUCH_SESSION = "This user has no live session with this id"


class AdminService:
    def __init__(
        self, db: Database, *, accounts: AccountService, lifecycle: Lifecycle, audit: Audit
    ) -> None:
        self._db = db
        self._accounts = accounts
        self._lifecycle = lifecycle
        self._audit = audit

    async def list_users(
        self, filters: UserFilter, *, after: PageKey | None = None, limit: int = 50
    ) -> UserPage:
        """A page of users, oldest first; `next` is where the following page starts."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be 1 to {MAX_PAGE_SIZE}")
        async with self._db.reading() as tx:
            views, more = await AdminQueries(tx).page(
                filters, after=after, limit=limit, now=utcnow()
            )
        last = views[-1].user if views and more else None
        return UserPage(views, PageKey(last.created_at, last.id) if last else None)

    async def all_users(self, filters: UserFilter) -> AsyncIterator[UserView]:
        """Every user that matches, walking the pages (for the CLI)."""
        after = None
        while True:
            page = await self.list_users(filters, after=after, limit=MAX_PAGE_SIZE)
            for view in page.items:
                yield view
            if page.next is None:
                return
            after = page.next

    async def get_user(self, user_id: uuid.UUID) -> UserView:
        async with self._db.reading() as tx:
            view = await AdminQueries(tx).view(user_id, now=utcnow())
        if view is None:
            raise UserNotFound
        return view

    async def find_by_email(self, email: str) -> UserView:
        """For the CLI, which names accounts by email. UserNotFound if there is none."""
        async with self._db.reading() as tx:
            user = await UserRepository(tx).get_by_email(email)
        if user is None:
            raise UserNotFound(f"No account has the email {email}")
        return await self.get_user(user.id)

    async def create_user(
        self,
        *,
        email: str,
        password: str,
        full_name: str | None,
        scopes: frozenset[str],
        actor: Actor,
    ) -> UserView:
        """An account with the scopes given (and `user`). The password must have passed
        the policy. Raises EmailTaken, UnknownScope, Overloaded."""
        user = await self._accounts.provision(
            email=email, password=password, full_name=full_name, scopes=scopes, actor=actor
        )
        return UserView(user, live_sessions=0)

    async def update_user(
        self, user_id: uuid.UUID, changes: UserChanges, *, actor: Actor
    ) -> UserView:
        """Raises UserNotFound, UnknownScope, LastAdmin (see `Lifecycle.update`)."""
        await self._lifecycle.update(user_id, changes, actor=actor)
        return await self.get_user(user_id)

    async def delete_user(self, user_id: uuid.UUID, *, actor: Actor) -> None:
        """Raises UserNotFound, LastAdmin."""
        await self._lifecycle.delete(user_id, actor=actor)

    async def list_sessions(self, user_id: uuid.UUID) -> list[Session]:
        """The user's live sessions, most recently used first; UserNotFound if no user."""
        async with self._db.reading() as tx:
            if await UserRepository(tx).get(user_id) is None:
                raise UserNotFound
            return await SessionRepository(tx).list_live(user_id, now=utcnow())

    async def end_sessions(self, user_id: uuid.UUID, *, actor: Actor) -> int:
        """End every live session of the user (ASVS 7.4.5); how many were ended."""
        async with self._db.transaction() as tx:
            if await UserRepository(tx).get(user_id) is None:
                raise UserNotFound
            ended = await SessionRepository(tx).revoke_all(user_id, now=utcnow())
        self._audit(
            AuditEvent.USER_SESSIONS_ENDED,
            "sessions ended by an admin",
            actor_id=actor.user_id,
            via=actor.via,
            user_id=user_id,
            sessions_ended=ended,
        )
        return ended

    async def end_session(self, user_id: uuid.UUID, session_id: uuid.UUID, *, actor: Actor) -> None:
        """End one live session of the user; SessionNotFound for any other id."""
        async with self._db.transaction() as tx:
            if await UserRepository(tx).get(user_id) is None:
                raise UserNotFound
            ended = await SessionRepository(tx).revoke(session_id, now=utcnow(), user_id=user_id)
        if not ended:
            raise SessionNotFound(NO_SUCH_SESSION)
        self._audit(
            AuditEvent.USER_SESSIONS_ENDED,
            "session ended by an admin",
            actor_id=actor.user_id,
            via=actor.via,
            user_id=user_id,
            session_id=session_id,
            sessions_ended=1,
        )
