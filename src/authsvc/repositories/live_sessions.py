"""The per-request check, `(user, session) -> account if the session is live`, read the
cheapest way each driver allows. Every authenticated request makes it, so it skips the
ORM and the session machinery; the statement is the same on every database:

    SELECT <account columns> FROM users JOIN sessions ON sessions.user_id = users.id
    WHERE users.id = :user AND sessions.id = :session
      AND sessions.revoked_at IS NULL AND sessions.expires_at > :now

- SQLite: a read-only `sqlite3` connection of this process, queried on the event loop.
  The lookup is two primary-key probes (microseconds) and, in WAL mode, a reader never
  waits for a writer; a hop to aiosqlite's thread would cost more than the query. If the
  file is locked for longer than `SQLITE_BUSY_SECONDS` (a checkpoint), the engine's path
  answers instead.
- PostgreSQL: asyncpg's own pool with a prepared statement, without SQLAlchemy's session,
  transaction and result layers around it.
- Anything else: one Core statement on the engine.

Values are encoded and decoded by the column types' own processors, so the encoding is
exactly what SQLAlchemy stores.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from authsvc.db import is_outage
from authsvc.domain import Account
from authsvc.errors import DatabaseUnavailable
from authsvc.models import Session, User
from authsvc.repositories.sessions import live

SQLITE_BUSY_SECONDS = 0.05  # the longest the event loop may wait for a locked file
POSTGRES_POOL_SIZE = 4
_COLUMNS = (
    User.id,
    User.email,
    User.full_name,
    User.scopes,
    User.is_active,
    User.created_at,
    User.hashed_password,
    User.legacy_id,
)
_STATEMENT = """
SELECT u.id, u.email, u.full_name, u.scopes, u.is_active, u.created_at, u.hashed_password,
       u.legacy_id
FROM users AS u JOIN sessions AS s ON s.user_id = u.id
WHERE u.id = {p1} AND s.id = {p2} AND s.revoked_at IS NULL AND s.expires_at > {p3}
"""


class LiveSessions(Protocol):
    async def account(
        self, user_id: uuid.UUID, session_id: uuid.UUID, *, now: datetime
    ) -> Account | None:
        """The account, if `session_id` is its session and live; DatabaseUnavailable."""
        ...

    async def aclose(self) -> None: ...


def live_sessions(engine: AsyncEngine) -> LiveSessions:
    url = engine.url
    generic = EngineLiveSessions(engine)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return SqliteLiveSessions(url.database, engine.dialect, fallback=generic)
    if url.get_backend_name() == "postgresql" and url.get_driver_name() == "asyncpg":
        return AsyncpgLiveSessions(engine)
    return generic


class _Codec:
    """Parameters in, an Account out, through the column types' processors."""

    def __init__(self, dialect: Dialect) -> None:
        self._uuid_in = User.id.type.dialect_impl(dialect).bind_processor(dialect)
        self._time_in = Session.expires_at.type.dialect_impl(dialect).bind_processor(dialect)
        self._out: list[Callable[[Any], Any] | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in _COLUMNS
        ]

    def params(self, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime) -> list[Any]:
        to_uuid, to_time = self._uuid_in, self._time_in
        return [
            to_uuid(user_id) if to_uuid else user_id,
            to_uuid(session_id) if to_uuid else session_id,
            to_time(now) if to_time else now,
        ]

    def account(self, row: Sequence[Any] | None) -> Account | None:
        if row is None:
            return None
        values = [process(v) if process else v for process, v in zip(self._out, row, strict=True)]
        return Account(*values)


class EngineLiveSessions:
    """Any database: one Core statement, no ORM, no session."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def account(
        self, user_id: uuid.UUID, session_id: uuid.UUID, *, now: datetime
    ) -> Account | None:
        statement = (
            select(*_COLUMNS)
            .join(Session, Session.user_id == User.id)
            .where(User.id == user_id, Session.id == session_id, *live(now))
        )
        try:
            async with self._engine.connect() as connection:
                await connection.execution_options(authsvc_read_only=True)
                row = (await connection.execute(statement)).first()
        except Exception as exc:
            if is_outage(exc):
                raise DatabaseUnavailable from exc
            raise
        return None if row is None else Account(*row)

    async def aclose(self) -> None:
        pass


class SqliteLiveSessions:
    def __init__(self, path: str, dialect: Dialect, *, fallback: LiveSessions) -> None:
        self._path = path
        self._codec = _Codec(dialect)
        self._fallback = fallback
        self._connection: sqlite3.Connection | None = None
        self._sql = _STATEMENT.format(p1="?", p2="?", p3="?")

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            uri = f"file:{self._path}?mode=ro"
            self._connection = sqlite3.connect(
                uri, uri=True, timeout=SQLITE_BUSY_SECONDS, isolation_level=None
            )
        return self._connection

    async def account(
        self, user_id: uuid.UUID, session_id: uuid.UUID, *, now: datetime
    ) -> Account | None:
        try:
            row = (
                self._connect()
                .execute(self._sql, self._codec.params(user_id, session_id, now))
                .fetchone()
            )
        except sqlite3.Error:  # busy past the bound, or the file is gone: the slow path
            return await self._fallback.account(user_id, session_id, now=now)
        return self._codec.account(row)

    async def aclose(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class AsyncpgLiveSessions:
    def __init__(self, engine: AsyncEngine) -> None:
        url = make_url(engine.url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._pool: asyncpg.Pool | None = None
        self._creating = asyncio.Lock()
        self._sql = _STATEMENT.format(p1="$1", p2="$2", p3="$3")

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._creating:  # the first requests arrive together: one pool
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=1,
                        max_size=POSTGRES_POOL_SIZE,
                        timeout=5,  # connect: fail fast while the database is down
                        command_timeout=15,
                    )
        return self._pool

    async def account(
        self, user_id: uuid.UUID, session_id: uuid.UUID, *, now: datetime
    ) -> Account | None:
        try:
            pool = await self._get_pool()
            row = await pool.fetchrow(self._sql, user_id, session_id, now)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise DatabaseUnavailable from exc
        return None if row is None else Account(*row)

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
