"""The databases every database test runs on: one list, `BACKENDS`.

SQLite is embedded and always runs. A server database runs when its URL variable is
set; in CI (CI=true) it must be set and answer, elsewhere its tests skip with the reason.
Adding a backend is one more entry in `BACKENDS`.

Under pytest-xdist each worker has databases of its own on each server, named after the
configured one (`test` → `test_gw0`) and created when missing, so that workers never
empty each other's tables.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from authsvc.migrate import upgrade
from authsvc.models import Base
from tests.support.settings import IN_CI, make_settings


@dataclass(frozen=True, slots=True)
class Backend:
    name: str
    url_variable: str | None  # None: embedded (SQLite), nothing to configure
    example: str = ""

    @property
    def url(self) -> str:
        return os.environ.get(self.url_variable, "") if self.url_variable else ""


BACKENDS = (
    Backend("sqlite", None),
    Backend(
        "postgresql",
        "AUTHSVC_TEST_DATABASE_URL",
        "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
    ),
    Backend(
        "mariadb",  # or MySQL: the same dialect, driver and statements
        "AUTHSVC_TEST_MARIADB_URL",
        "mysql+asyncmy://root@127.0.0.1:3306/test",
    ),
)
SERVER_BACKENDS = tuple(backend for backend in BACKENDS if backend.url_variable)
BACKEND_NAMES = [backend.name for backend in BACKENDS]
SERVER_BACKEND_NAMES = [backend.name for backend in SERVER_BACKENDS]
_BY_NAME = {backend.name: backend for backend in BACKENDS}


async def drop_tables(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        await engine.dispose()


async def empty_tables(url: str) -> None:
    """Delete every row, children first: the same statement on every database."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(table.delete())
    finally:
        await engine.dispose()


async def _reset(url: str) -> None:
    await drop_tables(url)
    await upgrade(make_settings(url))


def worker_database(url: str) -> str:
    """The database of this xdist worker on the server `url` names: `url` itself outside
    xdist, else one named after it and the worker (`test_gw0`), created if missing."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    asyncio.run(_create_database(url, name))
    return parsed.set(database=name).render_as_string(hide_password=False)


async def _ping(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


async def _create_database(url: str, name: str) -> None:
    """CREATE DATABASE, connected to the configured one (it exists; the new one not yet)."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote(name)
            if conn.dialect.name == "postgresql":
                exists = await conn.scalar(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                )
                if not exists:
                    await conn.execute(text(f"CREATE DATABASE {quoted}"))
            else:  # MySQL, MariaDB
                await conn.execute(text(f"CREATE DATABASE IF NOT EXISTS {quoted}"))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def server_database() -> Callable[[str], str]:
    """`server_database(name)`: the URL of that server backend, migrated from empty once
    per run; skips (fails in CI) when it is not configured or does not answer."""
    prepared: dict[str, tuple[str, bool]] = {}  # name: (URL, or why it is unavailable)

    def get(name: str) -> str:
        if name not in prepared:
            prepared[name] = _prepare(_BY_NAME[name])
        value, available = prepared[name]
        if not available:
            if IN_CI:
                pytest.fail(f"CI=true but {value}")
            pytest.skip(value)
        return value

    return get


def _prepare(backend: Backend) -> tuple[str, bool]:
    if not backend.url:
        return (
            f"{backend.name} not configured: set {backend.url_variable}, e.g. {backend.example}",
            False,
        )
    try:
        url = worker_database(backend.url)
        asyncio.run(_ping(url))
    except (OSError, sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
        return f"{backend.name} at {backend.url_variable} is not reachable: {exc}", False
    asyncio.run(_reset(url))  # reachable: a failure here is the test run's to report
    return url, True


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy, which is faster than migrating again."""
    path = tmp_path_factory.mktemp("template") / "authsvc.db"
    asyncio.run(upgrade(make_settings(f"sqlite+aiosqlite:///{path}")))
    return path


@pytest.fixture(params=BACKEND_NAMES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "authsvc.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("server_database")(request.param)
    asyncio.run(empty_tables(url))
    return url


@pytest.fixture(params=SERVER_BACKEND_NAMES)
def server_database_url(request: pytest.FixtureRequest) -> str:
    """An empty, migrated database of each server kind (one that can go down)."""
    url: str = request.getfixturevalue("server_database")(request.param)
    asyncio.run(empty_tables(url))
    return url


@pytest.fixture(params=BACKEND_NAMES)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database without tables of each kind, for an `authsvc` process to migrate itself."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    url: str = request.getfixturevalue("server_database")(request.param)
    asyncio.run(drop_tables(url))
    yield url
    asyncio.run(upgrade(make_settings(url)))  # leave it migrated for the tests after
