"""Every /admin route needs the `admin` scope: a `user` token gets 403 on each of them."""

from __future__ import annotations

import re
import uuid

from fastapi import FastAPI

from tests.support.app import Api, bearer, grant_scope


def admin_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every /admin route the app serves, path parameters filled in.
    Taken from its OpenAPI document, which FastAPI builds from the routes themselves."""
    found = []
    for template, operations in app.openapi()["paths"].items():
        if template.startswith("/admin"):
            path = re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), template)
            found += [(method.upper(), path) for method in operations]
    return found


async def test_a_user_token_on_any_admin_route_is_403_insufficient_scope(
    app: FastAPI, api: Api
) -> None:
    token = (await api.signed_up())["access_token"]
    routes = admin_routes(app)
    assert len(routes) == 8

    for method, path in routes:
        response = await api.client.request(method, path, json={}, headers=bearer(token))
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["code"] == "insufficient_scope"
        assert response.headers["www-authenticate"] == (
            'Bearer error="insufficient_scope", scope="admin"'
        )


async def test_an_admin_who_logged_in_without_the_admin_scope_is_refused_too(
    app: FastAPI, api: Api
) -> None:
    await api.register("root@example.com")
    await grant_scope(app, "root@example.com", "admin")
    user_only = (await api.login("root@example.com", scope="user")).json()["access_token"]

    for method, path in admin_routes(app):
        response = await api.client.request(method, path, json={}, headers=bearer(user_only))
        assert response.status_code == 403, (method, path)


async def test_no_token_on_any_admin_route_is_401(app: FastAPI, api: Api) -> None:
    for method, path in admin_routes(app):
        response = await api.client.request(method, path, json={})
        assert response.status_code == 401, (method, path)
        assert response.json()["code"] == "not_authenticated"
