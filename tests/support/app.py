"""The app over HTTP: an httpx client on the ASGI app, and the calls a client app makes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from authsvc.app import create_app
from authsvc.config import Settings
from tests.support.settings import PASSWORD, make_settings


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
    """Give an account these scopes (and `user`), as `PATCH /admin/users/{id}` would."""
    await execute(
        app,
        "UPDATE users SET scopes = :scopes, is_admin = :is_admin WHERE email = :email",
        scopes=" ".join(sorted({"user", *scopes})),
        is_admin="admin" in scopes,
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
