"""Login sessions: where you are signed in, logging out, ending one, purging the ended."""

from __future__ import annotations

import uuid
from datetime import timedelta

from authsvc.audit import Audit, AuditEvent
from authsvc.clock import utcnow
from authsvc.db import Database
from authsvc.domain import Principal
from authsvc.errors import SessionNotFound
from authsvc.models import Session
from authsvc.repositories.sessions import SessionRepository

PURGE_BATCH_SIZE = 1000


class SessionService:
    def __init__(self, db: Database, *, audit: Audit) -> None:
        self._db = db
        self._audit = audit

    async def logout(self, principal: Principal, *, everywhere: bool = False) -> None:
        """End the caller's session, or with `everywhere` every session of the user."""
        now = utcnow()
        async with self._db.transaction() as tx:
            sessions = SessionRepository(tx)
            if everywhere:
                ended = await sessions.revoke_all(principal.user.id, now=now)
            else:
                ended = int(await sessions.revoke(principal.session_id, now=now))
        self._audit(
            AuditEvent.LOGOUT,
            "logged out everywhere" if everywhere else "logged out",
            user_id=principal.user.id,
            session_id=principal.session_id,
            sessions_ended=ended,
        )

    async def list_live(self, user_id: uuid.UUID) -> list[Session]:
        async with self._db.reading() as tx:
            return await SessionRepository(tx).list_live(user_id, now=utcnow())

    async def end(self, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        """End one of the user's own sessions; SessionNotFound for any other id, so that
        another user's session is neither ended nor confirmed to exist."""
        async with self._db.transaction() as tx:
            ended = await SessionRepository(tx).revoke(session_id, now=utcnow(), user_id=user_id)
        if not ended:
            raise SessionNotFound
        self._audit(
            AuditEvent.SESSION_ENDED,
            "session ended by its user",
            user_id=user_id,
            session_id=session_id,
        )

    async def purge(self, *, retention: timedelta = timedelta(0)) -> tuple[int, int]:
        """Delete sessions that ended (logged out, revoked or expired) more than `retention`
        ago, and expired refresh tokens, in batches; (sessions, refresh tokens) deleted.
        Safe to run on every replica at once."""
        sessions = tokens = 0
        while True:
            now = utcnow()
            async with self._db.transaction() as tx:
                batch = await SessionRepository(tx).purge(
                    now=now, ended_before=now - retention, batch_size=PURGE_BATCH_SIZE
                )
            sessions, tokens = sessions + batch[0], tokens + batch[1]
            if max(batch) < PURGE_BATCH_SIZE:
                break
        if sessions or tokens:
            self._audit(
                AuditEvent.PURGE, "purged ended sessions", sessions=sessions, refresh_tokens=tokens
            )
        return sessions, tokens
