"""The account of the caller: PATCH /users/me and POST /users/me/password."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.support.app import Api, AppWith, bearer
from tests.support.settings import PASSWORD

NEW_PASSWORD = "a brand new passphrase for today"


async def patch_me(api: Api, token: str, body: Any) -> httpx.Response:
    return await api.client.patch("/users/me", json=body, headers=bearer(token))


async def change_password(
    api: Api, token: str, current: str = PASSWORD, new: str = NEW_PASSWORD
) -> httpx.Response:
    return await api.client.post(
        "/users/me/password",
        json={"current_password": current, "new_password": new},
        headers=bearer(token),
    )


async def password_hash(app: FastAPI) -> str:
    async with app.state.runtime.engine.connect() as conn:
        result = await conn.execute(text("SELECT hashed_password FROM users"))
        return str(result.scalar_one())


# --- PATCH /users/me ------------------------------------------------------------


async def test_patch_me_changes_the_full_name(api: Api) -> None:
    token = (await api.signed_up())["access_token"]

    response = await patch_me(api, token, {"full_name": "Alice Liddell"})

    assert response.status_code == 200
    assert response.json()["full_name"] == "Alice Liddell"
    assert response.json()["email"] == "alice@example.com"
    assert (await api.me(token)).json()["full_name"] == "Alice Liddell"


async def test_patch_me_with_null_clears_the_name_and_with_nothing_keeps_it(api: Api) -> None:
    await api.register("alice@example.com", full_name="Alice")
    token = (await api.login("alice@example.com")).json()["access_token"]

    unchanged = await patch_me(api, token, {})
    cleared = await patch_me(api, token, {"full_name": None})

    assert unchanged.json()["full_name"] == "Alice"
    assert cleared.json()["full_name"] is None
    assert (await api.me(token)).json()["full_name"] is None


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"email": "mallory@example.com"}, ["body", "email"]),
        ({"scopes": ["admin"]}, ["body", "scopes"]),
        ({"full_name": "x" * 201}, ["body", "full_name"]),
        ({"full_name": "Alice\nLiddell"}, ["body", "full_name"]),
        ({"full_name": 42}, ["body", "full_name"]),
        (["full_name"], ["body"]),
    ],
)
async def test_patch_me_refuses_what_it_cannot_change_and_changes_nothing(
    api: Api, body: Any, loc: list[str]
) -> None:
    token = (await api.signed_up())["access_token"]

    response = await patch_me(api, token, body)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc
    me = (await api.me(token)).json()
    assert (me["email"], me["scopes"], me["full_name"]) == ("alice@example.com", ["user"], None)


async def test_patch_me_needs_an_access_token(api: Api) -> None:
    response = await api.client.patch("/users/me", json={"full_name": "Nobody"})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


# --- POST /users/me/password ----------------------------------------------------


async def test_password_change_ends_the_other_sessions_and_keeps_this_one(api: Api) -> None:
    this_device = await api.signed_up()
    other_devices = [(await api.login("alice@example.com")).json() for _ in range(2)]

    response = await change_password(api, this_device["access_token"])

    assert response.status_code == 204
    assert response.content == b""
    assert (await api.me(this_device["access_token"])).status_code == 200
    assert (await api.refresh(this_device["refresh_token"])).status_code == 200
    for tokens in other_devices:
        assert (await api.me(tokens["access_token"])).status_code == 401
        assert (await api.refresh(tokens["refresh_token"])).json()["error"] == "invalid_grant"


async def test_after_a_password_change_only_the_new_password_logs_in(api: Api) -> None:
    tokens = await api.signed_up()

    await change_password(api, tokens["access_token"])

    old = await api.login("alice@example.com", PASSWORD)
    assert old.status_code == 400
    assert old.json()["error"] == "invalid_grant"
    assert (await api.login("alice@example.com", NEW_PASSWORD)).status_code == 200


async def test_wrong_current_password_is_400_and_changes_nothing(api: Api) -> None:
    tokens = await api.signed_up()
    other = (await api.login("alice@example.com")).json()

    response = await change_password(api, tokens["access_token"], current="not my password")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The current password is incorrect; nothing was changed",
        "code": "wrong_password",
    }
    assert (await api.login("alice@example.com", PASSWORD)).status_code == 200
    assert (await api.login("alice@example.com", NEW_PASSWORD)).status_code == 400
    assert (await api.me(other["access_token"])).status_code == 200


@pytest.mark.parametrize(
    ("new_password", "says"),
    [
        ("password123", "common"),
        ("alice-in-wonderland", "email"),
        ("Xy7!q", "at least 8"),
    ],
)
async def test_new_password_follows_the_registration_rules(
    api: Api, new_password: str, says: str
) -> None:
    tokens = await api.signed_up()

    response = await change_password(api, tokens["access_token"], new=new_password)

    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "new_password"]
    assert says in error["msg"]
    assert new_password not in response.text  # never echoed
    assert (await api.login("alice@example.com", PASSWORD)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"new_password": NEW_PASSWORD},
        {"current_password": PASSWORD},
        {"current_password": "", "new_password": NEW_PASSWORD},
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "email": "x@example.com"},
    ],
)
async def test_password_change_with_a_malformed_body_is_422(api: Api, body: dict[str, str]) -> None:
    tokens = await api.signed_up()

    response = await api.client.post(
        "/users/me/password", json=body, headers=bearer(tokens["access_token"])
    )

    assert response.status_code == 422
    assert PASSWORD not in response.text
    assert (await api.login("alice@example.com", PASSWORD)).status_code == 200


async def test_wrong_current_passwords_are_throttled_like_failed_logins(
    app_with: AppWith,
) -> None:
    async with app_with(login_limit_account_ip="3/15 minutes") as (app, api):
        tokens = await api.signed_up()
        stored = await password_hash(app)
        for _ in range(3):
            wrong = await change_password(api, tokens["access_token"], current="guess")
            assert wrong.status_code == 400

        throttled = await change_password(api, tokens["access_token"])

        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) > 0
        assert "Too many" in throttled.json()["detail"]
        assert await password_hash(app) == stored  # even the right password changed nothing


async def test_a_password_change_needs_an_access_token(api: Api) -> None:
    await api.register("alice@example.com")

    missing = await api.client.post(
        "/users/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert (await api.login("alice@example.com", PASSWORD)).status_code == 200


async def test_a_login_with_the_old_password_racing_a_password_change_never_survives_it(
    app_with: AppWith,
) -> None:
    """The thief's login checks the old password while the owner changes it; whichever
    commits first, the thief ends up without a live session."""
    # A cost-12 hash: checking it takes a while. The app keeps that cost, or the thief's
    # login would replace the hash with a cost-4 one: a change of its own, which the
    # owner's would then lose (409) when it commits first.
    async with app_with(bcrypt_rounds=12) as (_app, api):
        owner = await api.signed_up()

        async def thief() -> httpx.Response:
            await asyncio.sleep(0.1)  # starts while the change is checking the old password
            return await api.login("alice@example.com", PASSWORD)

        change, stolen = await asyncio.gather(change_password(api, owner["access_token"]), thief())

        assert change.status_code == 204
        if stolen.status_code == 200:  # committed first: the change must have ended it
            assert (await api.me(stolen.json()["access_token"])).status_code == 401
            refresh = await api.refresh(stolen.json()["refresh_token"])
            assert refresh.json()["error"] == "invalid_grant"
        else:
            assert stolen.json()["error"] == "invalid_grant"
        assert (await api.me(owner["access_token"])).status_code == 200
