"""The old Flask app's routes (AUTHSVC_LEGACY_ROUTES=true): its contract for old clients,
on the same accounts, sessions, throttling and audit as the new routes; never a 500
(`http_client` fails any test that gets one)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from authsvc.flask_import import import_flask_db
from tests.support.app import Api, AppWith
from tests.support.flask_db import OldClient, OldUser, write_old_db
from tests.support.settings import PASSWORD

DEPRECATION = "@1796083200"  # RFC 9745: deprecated since 2026-12-01


@pytest.fixture
async def legacy(app_with: AppWith) -> AsyncIterator[tuple[FastAPI, Api, OldClient]]:
    async with app_with(legacy_routes=True) as (app, api):
        yield app, api, OldClient(api.client)


def assert_deprecated(response: httpx.Response, successor: str) -> None:
    assert response.headers["Deprecation"] == DEPRECATION
    assert response.headers["Link"] == f'<{successor}>; rel="successor-version"'


def assert_message(response: httpx.Response, status: int, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"message"}
    if message is not None:
        assert response.json()["message"] == message


async def test_the_old_routes_are_off_by_default(api: Api) -> None:
    assert (await OldClient(api.client).register("a@example.com")).status_code == 404
    assert (await api.client.get("/user/login/users/me/")).status_code == 404
    spec = (await api.client.get("/openapi.json")).json()
    assert not [path for path in spec["paths"] if path.startswith("/user/login")]


async def test_register_log_in_and_me_the_old_way(
    legacy: tuple[FastAPI, Api, OldClient],
) -> None:
    _app, _api, old = legacy
    created = await old.register("Alice@Example.com", fullname="Alice Liddell")
    assert_message(created, 201, "user Alice@example.com was created successfully")
    assert_deprecated(created, "/auth/register")

    login = await old.login("alice@example.com")
    assert login.status_code == 200
    assert set(login.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert login.json()["token_type"] == "bearer"
    assert login.json()["expires_in"] == 3600
    assert_deprecated(login, "/auth/token")

    me = await old.me(login.json()["access_token"])
    assert me.status_code == 200
    assert me.json() == {"UserId": 1, "FullName": "Alice Liddell", "Email": "Alice@example.com"}
    assert_deprecated(me, "/users/me")


async def test_accounts_and_tokens_are_shared_with_the_new_routes(
    legacy: tuple[FastAPI, Api, OldClient],
) -> None:
    _app, api, old = legacy
    assert (await old.register("old@example.com")).status_code == 201
    assert (await api.register("new@example.com")).status_code == 201

    for email in ("old@example.com", "new@example.com"):
        new_token = (await api.login(email)).json()
        old_token = (await old.login(email)).json()
        for access in (new_token["access_token"], old_token["access_token"]):
            assert (await old.me(access)).json()["Email"] == email
            assert (await api.me(access)).json()["email"] == email
        assert new_token["scope"] == "user"
        refreshed = await api.refresh(old_token["refresh_token"])  # the old tokens' session
        assert refreshed.status_code == 200

    # A logout on the new routes ends the old token's session too.
    access = (await old.login("old@example.com")).json()["access_token"]
    assert (await api.logout(access)).status_code == 204
    assert_message(await old.me(access), 401, "Unable to verify token!")


async def test_the_scheme_may_be_written_in_any_case_or_left_out(
    legacy: tuple[FastAPI, Api, OldClient],
) -> None:
    _app, api, old = legacy
    await old.register("a@example.com")
    token = await old.token("a@example.com")
    for header in (f"bearer {token}", f"Bearer {token}", f"BEARER {token}", token):
        response = await api.client.get("/user/login/users/me/", headers={"Authorization": header})
        assert response.status_code == 200, header


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"password": PASSWORD}, "email cannot be blank!"),
        ({"email": "", "password": PASSWORD}, "email cannot be blank!"),
        ({"email": "a@example.com"}, "password cannot be blank!"),
        ({"email": "nope", "password": PASSWORD}, None),
        ({"email": "a@example.com", "password": "short"}, None),
        ({"email": "a@example.com", "password": "password123"}, None),
        ({"email": "a@example.com", "password": PASSWORD, "fullname": "x" * 201}, None),
        ({"email": "a@example.com", "password": PASSWORD, "fullname": "tab\there"}, None),
    ],
)
async def test_register_errors_are_400_with_a_message(
    legacy: tuple[FastAPI, Api, OldClient], form: dict[str, str], message: str | None
) -> None:
    _app, api, _old = legacy
    response = await api.client.post("/user/login/register", data=form)
    assert_message(response, 400, message)
    assert_deprecated(response, "/auth/register")


async def test_a_taken_email_is_400_not_500_whichever_route_took_it(
    legacy: tuple[FastAPI, Api, OldClient],
) -> None:
    _app, api, old = legacy
    assert (await api.register("taken@example.com")).status_code == 201
    for email in ("taken@example.com", "TAKEN@example.com"):
        response = await old.register(email)
        assert_message(response, 400)
        assert "already exists" in response.json()["message"]


async def test_other_bodies_read_as_missing_fields(
    legacy: tuple[FastAPI, Api, OldClient],
) -> None:
    _app, api, old = legacy
    await old.register("a@example.com")
    blank = "Username or Password can not be blank!"
    for request in (
        api.client.post("/user/login/token", json={"username": "a@example.com", "password": "x"}),
        api.client.post("/user/login/token", data={"username": "a@example.com"}),
        api.client.post("/user/login/token", data={"password": PASSWORD}),
        api.client.post("/user/login/token", content=b"\xff\xfe", headers=MULTIPART),
        api.client.post("/user/login/token"),
    ):
        assert_message(await request, 400, blank)
    multipart = await api.client.post(
        "/user/login/token",
        files={"username": (None, "a@example.com"), "password": (None, PASSWORD)},
    )
    assert multipart.status_code == 200  # `curl -F`, which the old app took too


MULTIPART = {"content-type": "multipart/form-data; boundary=x"}


async def test_an_unknown_email_and_a_wrong_password_get_the_same_401(
    legacy: tuple[FastAPI, Api, OldClient],
) -> None:
    _app, _api, old = legacy
    await old.register("a@example.com")
    unknown = await old.login("nobody@example.com")
    wrong = await old.login("a@example.com", "not the password")

    assert_message(unknown, 401, "Could not verify credentials!")
    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())


@pytest.mark.parametrize(
    "authorization",
    [None, "", "bearer", "bearer ", "Basic YTpi", "bearer not.a.token", "bearer a b"],
)
async def test_me_without_a_valid_token_is_401_with_a_message(
    legacy: tuple[FastAPI, Api, OldClient], authorization: str | None
) -> None:
    _app, api, _old = legacy
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await api.client.get("/user/login/users/me/", headers=headers)

    assert_message(response, 401)
    assert response.json()["message"] in ("Access token required!", "Unable to verify token!")
    assert_deprecated(response, "/users/me")


async def test_failed_logins_are_throttled_across_old_and_new_routes(
    app_with: AppWith,
) -> None:
    limits = {"login_limit_account_ip": "3/hour", "login_limit_account": "10/hour"}
    async with app_with(legacy_routes=True, **limits) as (_app, api):
        old = OldClient(api.client)
        await api.register("a@example.com")
        assert (await old.login("a@example.com", "wrong")).status_code == 401
        assert (await api.login("a@example.com", "wrong")).status_code == 400
        assert (await old.login("a@example.com", "wrong")).status_code == 401

        throttled_old = await old.login("a@example.com")
        throttled_new = await api.login("a@example.com")

    assert_message(throttled_old, 429)
    assert int(throttled_old.headers["Retry-After"]) >= 1
    assert throttled_new.status_code == 429


async def test_old_routes_are_audited_like_the_new_ones(
    legacy: tuple[FastAPI, Api, OldClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="authsvc.audit")
    _app, _api, old = legacy
    await old.register("a@example.com")
    await old.login("a@example.com", "wrong")
    await old.login("a@example.com")

    events = [getattr(r, "event", None) for r in caplog.records if r.name == "authsvc.audit"]
    assert events == ["register", "login_failed", "login"]


async def test_user_ids_are_integers_that_never_collide(
    legacy: tuple[FastAPI, Api, OldClient], tmp_path: Path
) -> None:
    app, api, old = legacy
    url = write_old_db(tmp_path / "old.db", [OldUser(41, "imported@example.com")])
    await import_flask_db(url, app.state.runtime.db)
    await api.register("new-route@example.com")  # numbered when an old route first asks

    emails = [f"user{n}@example.com" for n in range(8)]
    created = await asyncio.gather(*(old.register(email) for email in emails))
    assert [r.status_code for r in created] == [201] * 8
    tokens = [await old.token(email) for email in emails]
    tokens.append(await old.token("new-route@example.com"))
    tokens.append(await old.token("imported@example.com", "hunter2"))

    ids = [(await old.me(token)).json()["UserId"] for token in tokens]
    assert sorted(ids[:8]) == list(range(42, 50))  # above every imported UserId, distinct
    assert ids[8:] == [50, 41]  # the new-route account numbered at its first old `me`


async def test_concurrent_first_me_calls_agree_on_one_number(
    legacy: tuple[FastAPI, Api, OldClient],
) -> None:
    _app, api, old = legacy
    for n in range(10):
        await api.register(f"u{n}@example.com")
    tokens = [await old.token(f"u{n}@example.com") for n in range(10)]

    answers = await asyncio.gather(*(old.me(token) for token in tokens * 3))

    assert all(answer.status_code == 200 for answer in answers), [
        (a.status_code, a.text) for a in answers if a.status_code != 200
    ]
    ids = [answer.json()["UserId"] for answer in answers]
    assert sorted(set(ids)) == list(range(1, 11))
    assert ids[:10] == ids[10:20] == ids[20:]


async def test_openapi_marks_the_old_routes_deprecated(
    legacy: tuple[FastAPI, Api, OldClient],
) -> None:
    _app, api, _old = legacy
    spec = (await api.client.get("/openapi.json")).json()
    old = {path: ops for path, ops in spec["paths"].items() if path.startswith("/user/login")}

    assert set(old) == {"/user/login/register", "/user/login/token", "/user/login/users/me/"}
    for operations in old.values():
        for operation in operations.values():
            assert operation["deprecated"] is True
            assert "401" in operation["responses"] or "400" in operation["responses"]
    register = old["/user/login/register"]["post"]
    form = register["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["required"] == ["email", "password"]
