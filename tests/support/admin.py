"""The admin API as an admin's client calls it, and accounts made the operator's way."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from authsvc.domain import CLI_OPERATOR
from tests.support.app import Api, bearer
from tests.support.settings import PASSWORD

ROOT = "root@example.com"


async def provision(app: FastAPI, email: str, *scopes: str) -> str:
    """An account made as `authsvc create-user --scope ...` makes it; its id."""
    user = await app.state.runtime.accounts.provision(
        email=email, password=PASSWORD, full_name=None, scopes=frozenset(scopes), actor=CLI_OPERATOR
    )
    return str(user.id)


class AdminApi:
    """The /admin routes, called with one admin's access token."""

    def __init__(self, client: httpx.AsyncClient, token: str, user_id: str) -> None:
        self.client = client
        self.token = token
        self.user_id = user_id  # the admin's own

    @classmethod
    async def log_in(cls, app: FastAPI, api: Api, email: str = ROOT) -> AdminApi:
        """Provision an admin with this email, log in, and call as them."""
        user_id = await provision(app, email, "admin")
        response = await api.login(email)
        assert response.status_code == 200, response.text
        return cls(api.client, response.json()["access_token"], user_id)

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.request(
            method, f"/admin{path}", headers=bearer(self.token), **kwargs
        )

    async def list(self, **params: Any) -> httpx.Response:
        return await self.call("GET", "/users", params=params)

    async def get(self, user_id: str) -> httpx.Response:
        return await self.call("GET", f"/users/{user_id}")

    async def create(self, email: str, password: str = PASSWORD, **body: Any) -> httpx.Response:
        return await self.call(
            "POST", "/users", json={"email": email, "password": password, **body}
        )

    async def patch(self, user_id: str, **body: Any) -> httpx.Response:
        return await self.call("PATCH", f"/users/{user_id}", json=body)

    async def delete(self, user_id: str) -> httpx.Response:
        return await self.call("DELETE", f"/users/{user_id}")

    async def sessions(self, user_id: str) -> httpx.Response:
        return await self.call("GET", f"/users/{user_id}/sessions")

    async def end_sessions(self, user_id: str) -> httpx.Response:
        return await self.call("DELETE", f"/users/{user_id}/sessions")

    async def end_session(self, user_id: str, session_id: str) -> httpx.Response:
        return await self.call("DELETE", f"/users/{user_id}/sessions/{session_id}")

    async def user_id_of(self, email: str) -> str:
        items = (await self.list(q=email)).json()["items"]
        (user,) = [item for item in items if item["email"] == email]
        return str(user["id"])


@pytest.fixture
async def admin(app: FastAPI, api: Api) -> AdminApi:
    """An admin (root@example.com) logged in on the test's app."""
    return await AdminApi.log_in(app, api)
