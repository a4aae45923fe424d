"""The database: engine, and the unit of work every service runs its statements in."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from authsvc.column_types import MYSQL_FAMILY
from authsvc.config import Settings
from authsvc.errors import DatabaseUnavailable


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.database_url
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = create_async_engine(url, hide_parameters=True, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        hide_parameters=True,  # errors must not carry password hashes into logs
        pool_pre_ping=True,  # a restarted database is reconnected to, not reported as an error
        pool_size=10,
        max_overflow=10,
        pool_timeout=5,
        **_server_options(backend),
    )


def _server_options(backend: str) -> dict[str, Any]:
    """Per driver: fail fast while the database is down (connect in 5 s, no statement
    waits over 15 s), so callers get a 503 in seconds, not a hang."""
    if backend in MYSQL_FAMILY:  # asyncmy
        return {
            # PostgreSQL's default: each statement sees what is committed when it runs, an
            # UPDATE decides on the latest committed row, and reads take no locks. InnoDB's
            # REPEATABLE READ would add gap locks and shared locks on the rows an UPDATE's
            # subquery reads, and with them deadlocks between refreshes of one session.
            "isolation_level": "READ COMMITTED",
            "pool_recycle": 3600,  # well inside the server's wait_timeout for idle connections
            "connect_args": {"connect_timeout": 5, "read_timeout": 15, "charset": "utf8mb4"},
        }
    return {"connect_args": {"timeout": 5, "command_timeout": 15}}  # asyncpg


T = TypeVar("T")

# Execution options of a transaction that only reads (see `Database.reading`).
READ_ONLY: dict[str, Any] = {"authsvc_read_only": True}

# What the drivers raise when the database is down or unreachable: refused, reset, timed
# out, or a host that does not resolve (a stopped container's name). While connecting,
# asyncpg raises these bare (OSError), unwrapped by SQLAlchemy. asyncmy raises
# OperationalError (2003 cannot connect, 2013 lost connection) and InterfaceError; any
# other error SQLAlchemy's dialect judges a disconnect counts too (`is_outage`).
OUTAGES = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, OSError)


# A transaction the database chose to abort for another's sake: MySQL/MariaDB's deadlock
# and lock-wait timeout, PostgreSQL's deadlock and serialisation failure. Retried whole.
# MySQL's 1305 ("SAVEPOINT does not exist") is the same deadlock met inside a savepoint:
# InnoDB rolled the whole transaction back, savepoint and all.
_DEADLOCKS = {1213, 1205, 1305, "40P01", "40001"}
DEADLOCK_RETRIES = 10


def is_deadlock(exc: BaseException | None) -> bool:
    orig = getattr(exc, "orig", None)
    if orig is None:
        return False
    args = getattr(orig, "args", ())
    codes = {getattr(orig, "sqlstate", None), args[0] if args else None}  # SQLSTATE, errno
    return not codes.isdisjoint(_DEADLOCKS)


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, OUTAGES) or (
        isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated
    )


class Database:
    """Units of work: each service operation runs in one `transaction()` or `reading()`.

    An outage inside one becomes `DatabaseUnavailable`, so only the database's failures
    are ever reported as "the database is unavailable".
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessionmaker = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A transaction that may write; on SQLite it takes the write lock up front."""
        async with self._unit(read_only=False) as tx:
            yield tx

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A transaction that only reads: on SQLite it takes no write lock, so it neither
        waits for writers nor holds them up. Elsewhere it is an ordinary transaction."""
        async with self._unit(read_only=True) as tx:
            yield tx

    @asynccontextmanager
    async def _unit(self, *, read_only: bool) -> AsyncIterator[AsyncSession]:
        try:
            async with self._sessionmaker() as tx, tx.begin():
                if read_only:
                    await tx.connection(execution_options=READ_ONLY)
                yield tx
        except Exception as exc:
            if is_outage(exc):
                raise DatabaseUnavailable from exc
            raise

    async def retrying(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`work` in a transaction of its own, run again (after a short random pause) when
        the database aborts it to break a deadlock between concurrent writers."""
        for attempt in range(DEADLOCK_RETRIES):
            try:
                async with self.transaction() as tx:
                    return await work(tx)
            except DatabaseUnavailable as exc:
                if attempt == DEADLOCK_RETRIES - 1 or not is_deadlock(exc.__cause__):
                    raise
            await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311
        raise AssertionError("unreachable")

    async def ping(self, *, within: float) -> bool:
        """Whether the database answers within `within` seconds (never queued behind a
        SQLite writer)."""
        try:
            async with asyncio.timeout(within), self.engine.connect() as connection:
                await connection.execution_options(**READ_ONLY)
                await connection.execute(text("SELECT 1"))
        except Exception:  # any failure to answer means "no"; the caller says what it means
            return False
        return True

    async def aclose(self) -> None:
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Make SQLite safe under concurrent requests.

    A transaction that may write starts with BEGIN IMMEDIATE, so it takes the write
    lock up front and waits for it (busy timeout) instead of failing with "database is
    locked" when a read has to be upgraded to a write mid-transaction. One that only
    reads (`read_only`) starts with a plain BEGIN: in WAL mode it never waits.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        reads_only = connection.get_execution_options().get("authsvc_read_only", False)
        connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")
