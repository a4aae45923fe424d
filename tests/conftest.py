"""Shared fixtures: a real database (SQLite, and PostgreSQL when configured), the app over HTTP.

Every test that uses `client` (or `api`) runs once per database. PostgreSQL runs when
AUTHSVC_TEST_DATABASE_URL is set; in CI (CI=true) it must be, and must answer.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from authsvc.app import create_app
from authsvc.config import Settings
from authsvc.migrate import upgrade

TEST_SECRET = "test-secret-" + "0123456789abcdef" * 4  # long enough for HS512 too
PASSWORD = "correct horse battery staple"
POSTGRES_URL = os.environ.get("AUTHSVC_TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"
TABLES = ("refresh_tokens", "sessions", "users")


class IsolatedSettings(Settings):
    """Settings from arguments only: a developer's AUTHSVC_* variables or .env never leak in."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "jwt_secret": TEST_SECRET,
        "bcrypt_rounds": 4,  # the minimum: tests exercise logic, not cost
        "hash_workers": 2,
        "session_purge_interval_seconds": 0,  # no purge at a random moment mid-test
        **overrides,
    }
    return IsolatedSettings(**values)


# --- databases --------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy, which is faster than migrating again."""
    path = tmp_path_factory.mktemp("template") / "authsvc.db"
    asyncio.run(upgrade(make_settings(f"sqlite+aiosqlite:///{path}")))
    return path


async def drop_postgres_tables(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(f"DROP TABLE IF EXISTS {', '.join(TABLES)}, alembic_version CASCADE")
            )
    finally:
        await engine.dispose()


async def _reset_postgres(url: str) -> None:
    await drop_postgres_tables(url)
    await upgrade(make_settings(url))


async def truncate_postgres(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL test database, migrated from empty once per run."""
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail("CI=true but AUTHSVC_TEST_DATABASE_URL is not set")
        pytest.skip(
            "PostgreSQL not configured: set AUTHSVC_TEST_DATABASE_URL, e.g. "
            "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        )
    try:
        asyncio.run(_reset_postgres(POSTGRES_URL))
    except (OSError, ConnectionError) as exc:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL at AUTHSVC_TEST_DATABASE_URL is down: {exc}")
        pytest.skip(f"PostgreSQL at AUTHSVC_TEST_DATABASE_URL is not reachable: {exc}")
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "authsvc.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(truncate_postgres(url))
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database without tables of each kind, for an `authsvc` process to migrate itself."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(drop_postgres_tables(url))
    yield url
    asyncio.run(upgrade(make_settings(url)))  # leave it migrated for the tests after


# --- the app over HTTP ------------------------------------------------------


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def http_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the ASGI app that fails the test on any 5xx but a deliberate 503."""
    server_errors: list[str] = []

    async def record(response: httpx.Response) -> None:
        if response.status_code >= 500 and response.status_code != 503:
            server_errors.append(f"{response.request.method} {response.request.url}")

    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", event_hooks={"response": [record]}
    ) as client:
        yield client
    assert not server_errors, f"server errors: {server_errors}"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running_app(settings) as app:
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as client:
        yield client


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


class Api:
    """The calls a client app makes, so tests read as the behaviour they check."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def register(self, email: str, password: str = PASSWORD, **extra: Any) -> httpx.Response:
        return await self.client.post(
            "/auth/register", json={"email": email, "password": password, **extra}
        )

    async def login(self, email: str, password: str = PASSWORD, **form: str) -> httpx.Response:
        data = {"grant_type": "password", "username": email, "password": password, **form}
        return await self.client.post("/auth/token", data=data)

    async def refresh(self, refresh_token: str, **form: str) -> httpx.Response:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **form}
        return await self.client.post("/auth/token", data=data)

    async def me(self, access_token: str) -> httpx.Response:
        return await self.client.get("/users/me", headers=bearer(access_token))

    async def logout(self, access_token: str, *, everywhere: bool = False) -> httpx.Response:
        params = {"all": "true"} if everywhere else {}
        return await self.client.post("/auth/logout", params=params, headers=bearer(access_token))

    async def revoke(self, token: str, **form: str) -> httpx.Response:
        return await self.client.post("/auth/revoke", data={"token": token, **form})

    async def introspect(self, token: str, *, caller: str, **form: str) -> httpx.Response:
        """POST /auth/introspect as `caller` (an access token holding `introspect`)."""
        return await self.client.post(
            "/auth/introspect", data={"token": token, **form}, headers=bearer(caller)
        )

    async def sessions(self, access_token: str) -> httpx.Response:
        return await self.client.get("/users/me/sessions", headers=bearer(access_token))

    async def signed_up(
        self, email: str = "alice@example.com", **login_form: str
    ) -> dict[str, Any]:
        """Register and log in; the token response."""
        assert (await self.register(email)).status_code == 201
        response = await self.login(email, **login_form)
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens


async def grant_scope(app: FastAPI, email: str, *scopes: str) -> None:
    """Give an account more scopes, as an admin would (`authsvc create-user --scope`)."""
    await execute(
        app,
        "UPDATE users SET scopes = :scopes WHERE email = :email",
        scopes=" ".join(sorted({"user", *scopes})),
        email=email,
    )


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


# `async with app_with(**settings) as (app, api)`: an app on the test's database.
AppWith = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, Api]]]


@pytest.fixture
def app_with(database_url: str) -> AppWith:
    """An app on the same database with some settings changed: `async with app_with(x=1)`."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[tuple[FastAPI, Api]]:
        async with (
            running_app(
                make_settings(overrides.pop("database_url", database_url), **overrides)
            ) as app,
            http_client(app) as client,
        ):
            yield app, Api(client)

    return factory


async def execute(app: FastAPI, sql: str, **params: Any) -> None:
    """Change the database behind the app directly (to age a token, disable a user...)."""
    async with app.state.runtime.engine.begin() as conn:
        await conn.execute(text(sql), params)


# --- real server processes --------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def authsvc_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    env.update(
        {
            "AUTHSVC_DATABASE_URL": database_url,
            "AUTHSVC_JWT_SECRET": TEST_SECRET,
            "AUTHSVC_BCRYPT_ROUNDS": "4",
            **extra,
        }
    )
    return env


@contextmanager
def serve(env: dict[str, str], *args: str, cwd: Path | None = None) -> Iterator[str]:
    """A real `authsvc serve` process on a free port; yields its base URL."""
    with serve_process(env, *args, cwd=cwd) as (base_url, _process):
        yield base_url


@contextmanager
def serve_process(
    env: dict[str, str],
    *args: str,
    cwd: Path | None = None,
    log_file: Path | None = None,
    wait: bool = True,
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`serve`, also yielding the process; its output goes to `log_file` if given.

    With `wait=False` it yields at once, for starting several together; call
    `wait_until_healthy` on each.
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "authsvc", "serve", "--port", str(port), *args]
    with (log_file or Path(os.devnull)).open("w") as output:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, text=True
        )
        try:
            if wait:
                wait_until_healthy(base_url, process, log_file)
            yield base_url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_healthy(
    base_url: str, process: subprocess.Popen[str], log_file: Path | None
) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            log = log_file.read_text() if log_file else "(pass log_file to see its output)"
            pytest.fail(f"authsvc serve exited with {process.returncode}:\n{log}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail("authsvc serve did not answer /healthz within 30 s")
        time.sleep(0.1)


# --- Redis (shared rate-limit counters) ---------------------------------------

REDIS_URL = os.environ.get("AUTHSVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis the throttling tests count in; each test uses its own key prefix.

    Skipped when it does not answer, except in CI (CI=true), where that is a failure.
    """
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"CI=true but Redis at {REDIS_URL} does not answer: {exc}")
        pytest.skip(
            f"Redis at {REDIS_URL} does not answer ({exc}); start one, or set "
            "AUTHSVC_TEST_REDIS_URL"
        )
    finally:
        client.close()
    return REDIS_URL
