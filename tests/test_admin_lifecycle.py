"""A disabled or deleted account is dead at once; admins end sessions; users delete their
own account (DELETE /users/me)."""

from __future__ import annotations

import logging
import uuid

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.support.admin import AdminApi, provision
from tests.support.app import Api, AppWith, bearer
from tests.support.settings import PASSWORD


def assert_dead(access: httpx.Response, refresh: httpx.Response) -> None:
    assert access.status_code == 401
    assert access.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"


def sid(access_token: str) -> str:
    return str(jwt.decode(access_token, options={"verify_signature": False})["sid"])


async def rows(app: FastAPI, table: str) -> int:
    async with app.state.runtime.engine.connect() as conn:
        result = await conn.execute(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
        return int(result.scalar_one())


# --- disable and enable ------------------------------------------------------------------


async def test_disabling_kills_every_token_at_once_and_enabling_revives_none(
    admin: AdminApi, api: Api
) -> None:
    phone = await api.signed_up("alice@example.com")
    laptop = (await api.login("alice@example.com")).json()
    alice = await admin.user_id_of("alice@example.com")

    disabled = await admin.patch(alice, is_active=False)

    assert disabled.status_code == 200
    assert disabled.json()["is_active"] is False
    assert disabled.json()["live_sessions"] == 0
    for tokens in (phone, laptop):
        assert_dead(
            await api.me(tokens["access_token"]), await api.refresh(tokens["refresh_token"])
        )
    assert (await api.login("alice@example.com")).json()["error"] == "invalid_grant"

    enabled = await admin.patch(alice, is_active=True)

    assert enabled.json()["is_active"] is True
    for tokens in (phone, laptop):  # the old sessions stay ended
        assert_dead(
            await api.me(tokens["access_token"]), await api.refresh(tokens["refresh_token"])
        )
    fresh = await api.login("alice@example.com")
    assert fresh.status_code == 200
    assert (await api.me(fresh.json()["access_token"])).status_code == 200


async def test_removing_a_scope_takes_effect_on_existing_tokens_at_once(
    admin: AdminApi, app: FastAPI, api: Api
) -> None:
    other = await AdminApi.log_in(app, api, "second@example.com")
    assert (await other.list()).status_code == 200

    demoted = await admin.patch(other.user_id, scopes=["user"])

    assert demoted.json()["scopes"] == ["user"]
    refused = await other.list()
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
    assert (await api.me(other.token)).status_code == 200  # still a user


# --- delete -------------------------------------------------------------------------------


async def test_deleting_erases_the_account_and_its_tokens_and_frees_the_email(
    admin: AdminApi, api: Api, app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="authsvc.audit")
    tokens = await api.signed_up("alice@example.com")
    await api.refresh(tokens["refresh_token"])  # a spent refresh token too
    alice = await admin.user_id_of("alice@example.com")
    before = await rows(app, "sessions"), await rows(app, "refresh_tokens")

    deleted = await admin.delete(alice)

    assert deleted.status_code == 204
    assert (await admin.get(alice)).json()["code"] == "user_not_found"
    assert (await admin.delete(alice)).status_code == 404
    assert_dead(await api.me(tokens["access_token"]), await api.refresh(tokens["refresh_token"]))
    assert (await rows(app, "sessions"), await rows(app, "refresh_tokens")) == (
        before[0] - 1,
        before[1] - 2,
    )
    assert (await api.register("ALICE@example.com")).status_code == 201
    (event,) = [r for r in caplog.records if r.__dict__.get("event") == "user_deleted"]
    assert event.__dict__["user_id"] == alice
    assert "alice" not in str(event.__dict__).replace(alice, "")


# --- sessions -----------------------------------------------------------------------------


async def test_admin_lists_and_ends_a_users_sessions(admin: AdminApi, api: Api) -> None:
    phone = await api.signed_up("alice@example.com")
    laptop = (await api.login("alice@example.com")).json()
    bob = await api.signed_up("bob@example.com")
    alice = await admin.user_id_of("alice@example.com")

    listed = (await admin.sessions(alice)).json()
    assert {s["id"] for s in listed} == {sid(phone["access_token"]), sid(laptop["access_token"])}
    assert not any(s["current"] for s in listed)  # none is the admin's own
    phone_sid = sid(phone["access_token"])

    one = await admin.end_session(alice, phone_sid)
    again = await admin.end_session(alice, phone_sid)
    bobs = await admin.end_session(alice, sid(bob["access_token"]))

    assert one.status_code == 204
    assert again.json()["code"] == "session_not_found"
    assert bobs.json()["code"] == "session_not_found"  # not alice's: untouched
    assert (await api.me(phone["access_token"])).status_code == 401
    assert (await api.me(laptop["access_token"])).status_code == 200

    assert (await admin.end_sessions(alice)).status_code == 204
    assert (await api.me(laptop["access_token"])).status_code == 401
    assert (await admin.sessions(alice)).json() == []
    assert (await api.me(bob["access_token"])).status_code == 200


async def test_session_routes_answer_404_for_unknown_users_and_sessions(admin: AdminApi) -> None:
    nobody = str(uuid.uuid4())
    assert (await admin.sessions(nobody)).json()["code"] == "user_not_found"
    assert (await admin.end_sessions("nope")).json()["code"] == "user_not_found"
    assert (await admin.end_session(nobody, str(uuid.uuid4()))).json()["code"] == "user_not_found"
    malformed = await admin.end_session(admin.user_id, "not-a-session")
    assert malformed.json()["code"] == "session_not_found"


# --- DELETE /users/me ---------------------------------------------------------------------


async def delete_me(api: Api, token: str, password: str = PASSWORD) -> httpx.Response:
    return await api.client.request(
        "DELETE", "/users/me", json={"current_password": password}, headers=bearer(token)
    )


async def test_users_delete_their_own_account(api: Api, app: FastAPI) -> None:
    tokens = await api.signed_up("alice@example.com")
    other = (await api.login("alice@example.com")).json()

    wrong = await delete_me(api, tokens["access_token"], "not my password")
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "wrong_password"
    assert (await api.me(tokens["access_token"])).status_code == 200

    deleted = await delete_me(api, tokens["access_token"])

    assert deleted.status_code == 204
    for pair in (tokens, other):
        assert_dead(await api.me(pair["access_token"]), await api.refresh(pair["refresh_token"]))
    assert await rows(app, "users") == 0
    assert (await api.register("alice@example.com")).status_code == 201


async def test_wrong_passwords_for_deletion_count_as_failed_logins(app_with: AppWith) -> None:
    # Every attempt from an address counts, the sign-up's own login too: 1 + 2 guesses.
    async with app_with(login_limit_ip="3/15 minutes") as (_app, api):
        tokens = await api.signed_up("alice@example.com")
        for _ in range(2):
            assert (await delete_me(api, tokens["access_token"], "guess")).status_code == 400

        throttled_delete = await delete_me(api, tokens["access_token"])
        throttled_login = await api.login("alice@example.com")

        assert throttled_delete.status_code == 429
        assert throttled_login.status_code == 429
        assert throttled_login.json()["error"] == "slow_down"
        assert (await api.me(tokens["access_token"])).status_code == 200  # nothing deleted


async def test_the_last_admin_cannot_delete_their_own_account(admin: AdminApi, api: Api) -> None:
    refused = await delete_me(api, admin.token)

    assert refused.status_code == 409
    assert refused.json()["code"] == "last_admin"
    assert (await admin.list()).status_code == 200


async def test_an_admin_may_delete_their_own_account_while_another_remains(
    admin: AdminApi, app: FastAPI, api: Api
) -> None:
    await provision(app, "second@example.com", "admin")

    assert (await delete_me(api, admin.token)).status_code == 204
    assert (await api.me(admin.token)).status_code == 401
