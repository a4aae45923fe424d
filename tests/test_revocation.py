"""Token revocation (RFC 7009, POST /auth/revoke) and introspection (RFC 7662, POST
/auth/introspect): a revoked token ends its whole session, and introspection tells a
resource server at once whether a token is still live."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from tests.support.app import Api, bearer, execute, grant_scope
from tests.support.settings import TEST_SECRET

SERVICE = "svc@example.com"
INACTIVE = {"active": False}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def forge(claims: dict[str, Any], *, key: str = TEST_SECRET) -> str:
    """An access token with these claims, signed like the service signs (unless `key`)."""
    return jwt.encode(claims, key, algorithm="HS256", headers={"typ": "at+jwt"})


async def introspector(api: Api, app: FastAPI) -> str:
    """An access token of a resource server's account holding the `introspect` scope."""
    assert (await api.register(SERVICE)).status_code == 201
    await grant_scope(app, SERVICE, "introspect")  # before login: scopes are granted then
    response = await api.login(SERVICE)
    assert response.status_code == 200, response.text
    assert "introspect" in response.json()["scope"].split()
    access_token: str = response.json()["access_token"]
    return access_token


def assert_empty_200(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.content == b""
    assert response.headers["cache-control"] == "no-store"


def assert_oauth_error(response: httpx.Response, error: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["error"] == error
    assert body["error_description"]
    return body


async def assert_session_ended(api: Api, tokens: dict[str, Any]) -> None:
    refresh = await api.refresh(tokens["refresh_token"])
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
    me = await api.me(tokens["access_token"])
    assert me.status_code == 401
    assert 'error="invalid_token"' in me.headers["www-authenticate"]


async def assert_session_live(api: Api, tokens: dict[str, Any]) -> None:
    assert (await api.me(tokens["access_token"])).status_code == 200


# --- revocation: what it ends -------------------------------------------------


async def test_revoking_a_refresh_token_ends_its_session(api: Api) -> None:
    tokens = await api.signed_up()

    response = await api.revoke(tokens["refresh_token"])

    assert_empty_200(response)
    await assert_session_ended(api, tokens)


async def test_revoking_an_access_token_ends_its_session(api: Api) -> None:
    tokens = await api.signed_up()

    response = await api.revoke(tokens["access_token"])

    assert_empty_200(response)
    await assert_session_ended(api, tokens)


async def test_revoking_one_session_leaves_the_users_other_sessions_working(api: Api) -> None:
    laptop = await api.signed_up()
    phone = (await api.login("alice@example.com")).json()

    assert_empty_200(await api.revoke(laptop["refresh_token"]))

    await assert_session_ended(api, laptop)
    await assert_session_live(api, phone)
    assert (await api.refresh(phone["refresh_token"])).status_code == 200


async def test_revoking_a_spent_refresh_token_ends_the_session(api: Api) -> None:
    first = await api.signed_up()
    second = (await api.refresh(first["refresh_token"])).json()

    response = await api.revoke(first["refresh_token"])

    assert_empty_200(response)
    await assert_session_ended(api, second)
    assert (await api.me(first["access_token"])).status_code == 401


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "id_token", "nonsense"])
async def test_token_type_hint_never_changes_what_is_revoked(api: Api, hint: str) -> None:
    by_refresh = await api.signed_up()
    by_access = (await api.login("alice@example.com")).json()
    untouched = (await api.login("alice@example.com")).json()

    assert_empty_200(await api.revoke(by_refresh["refresh_token"], token_type_hint=hint))
    assert_empty_200(await api.revoke(by_access["access_token"], token_type_hint=hint))

    await assert_session_ended(api, by_refresh)
    await assert_session_ended(api, by_access)
    await assert_session_live(api, untouched)


async def test_unknown_and_malformed_tokens_get_an_empty_200(api: Api) -> None:
    tokens = await api.signed_up()
    other_key = forge(claims_of(tokens["access_token"]), key="another-secret-" + "k" * 32)
    candidates = [
        secrets.token_urlsafe(32),  # shaped like a refresh token, never issued
        "garbage",
        "a.b.c",
        other_key,  # this session's claims, signed with another key
        secrets.token_urlsafe(3750)[:5000],
    ]

    for token in candidates:
        assert_empty_200(await api.revoke(token))
        for hint in ("access_token", "refresh_token", "unknown"):
            assert_empty_200(await api.revoke(token, token_type_hint=hint))

    await assert_session_live(api, tokens)  # the forged copy did not end the real session
    assert (await api.refresh(tokens["refresh_token"])).status_code == 200


async def test_revoking_an_already_revoked_token_is_still_an_empty_200(api: Api) -> None:
    revoked = await api.signed_up()
    logged_out = (await api.login("alice@example.com")).json()
    assert_empty_200(await api.revoke(revoked["refresh_token"]))
    assert (await api.logout(logged_out["access_token"])).status_code == 204

    for token in (
        revoked["refresh_token"],
        revoked["access_token"],
        logged_out["refresh_token"],
        logged_out["access_token"],
    ):
        assert_empty_200(await api.revoke(token))


# --- revocation: malformed requests and clients ---------------------------------


@pytest.mark.parametrize("form", [{}, {"token": ""}, {"token_type_hint": "refresh_token"}])
async def test_revoke_without_token_is_invalid_request(api: Api, form: dict[str, str]) -> None:
    response = await api.client.post("/auth/revoke", data=form, headers=FORM)

    body = assert_oauth_error(response, "invalid_request")
    assert "token" in body["error_description"]


async def test_revoke_without_a_body_is_invalid_request(api: Api) -> None:
    response = await api.client.post("/auth/revoke")

    assert_oauth_error(response, "invalid_request")


async def test_revoke_with_a_json_body_is_invalid_request(api: Api) -> None:
    tokens = await api.signed_up()

    response = await api.client.post("/auth/revoke", json={"token": tokens["refresh_token"]})

    assert_oauth_error(response, "invalid_request")
    await assert_session_live(api, tokens)


async def test_revoke_with_token_given_twice_is_invalid_request(api: Api) -> None:
    tokens = await api.signed_up()
    body = f"token={tokens['refresh_token']}&token={tokens['access_token']}"

    response = await api.client.post("/auth/revoke", content=body, headers=FORM)

    assert_oauth_error(response, "invalid_request")
    await assert_session_live(api, tokens)


@pytest.mark.parametrize("kind", ["refresh_token", "access_token"])
async def test_revoke_by_another_client_is_unauthorized_client_and_keeps_the_session(
    api: Api, kind: str
) -> None:
    tokens = await api.signed_up(client_id="app-a")

    response = await api.revoke(tokens[kind], client_id="app-b")

    assert_oauth_error(response, "unauthorized_client")
    await assert_session_live(api, tokens)
    assert (await api.refresh(tokens["refresh_token"])).status_code == 200


async def test_revoke_by_another_client_of_an_ended_session_is_an_empty_200(api: Api) -> None:
    tokens = await api.signed_up(client_id="app-a")
    await api.logout(tokens["access_token"])

    response = await api.revoke(tokens["refresh_token"], client_id="app-b")

    assert_empty_200(response)  # a dead token: nothing to refuse, nothing to confirm


@pytest.mark.parametrize("kind", ["refresh_token", "access_token"])
async def test_revoke_by_the_issuing_client_ends_the_session(api: Api, kind: str) -> None:
    tokens = await api.signed_up(client_id="app-a")

    response = await api.revoke(tokens[kind], client_id="app-a")

    assert_empty_200(response)
    await assert_session_ended(api, tokens)


# --- introspection: live tokens -------------------------------------------------


async def test_introspecting_a_live_access_token_describes_it(api: Api, app: FastAPI) -> None:
    tokens = await api.signed_up()
    user_id = (await api.me(tokens["access_token"])).json()["id"]
    claims = claims_of(tokens["access_token"])
    caller = await introspector(api, app)

    response = await api.introspect(tokens["access_token"], caller=caller)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "active": True,
        "sub": user_id,
        "username": "alice@example.com",
        "scope": "user",
        "client_id": claims["client_id"],
        "token_type": "bearer",
        "exp": claims["exp"],
        "iat": claims["iat"],
        "iss": claims["iss"],
        "aud": claims["aud"],
        "sid": claims["sid"],
        "jti": claims["jti"],
    }


async def test_introspecting_a_live_refresh_token_describes_it(api: Api, app: FastAPI) -> None:
    tokens = await api.signed_up()
    caller = await introspector(api, app)
    access = (await api.introspect(tokens["access_token"], caller=caller)).json()

    response = await api.introspect(tokens["refresh_token"], caller=caller)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    info = response.json()
    assert info["active"] is True
    assert info["token_type"] == "refresh_token"
    for same in ("sub", "username", "sid", "scope", "client_id", "iss"):
        assert info[same] == access[same], same
    assert info["aud"] != access["aud"]  # no resource server may take it for an access token
    assert info["aud"] == info["iss"]
    assert info["exp"] > time.time()
    assert info["iat"] <= time.time() + 1
    assert "jti" not in info


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "nonsense"])
async def test_token_type_hint_never_changes_what_introspection_finds(
    api: Api, app: FastAPI, hint: str
) -> None:
    tokens = await api.signed_up()
    caller = await introspector(api, app)

    access = await api.introspect(tokens["access_token"], caller=caller, token_type_hint=hint)
    refresh = await api.introspect(tokens["refresh_token"], caller=caller, token_type_hint=hint)

    assert access.json()["token_type"] == "bearer"
    assert refresh.json()["token_type"] == "refresh_token"


async def test_introspection_reports_only_the_scopes_the_user_still_holds(
    api: Api, app: FastAPI
) -> None:
    await api.register("alice@example.com")
    await grant_scope(app, "alice@example.com", "admin")
    tokens = (await api.login("alice@example.com")).json()
    assert tokens["scope"] == "admin user"
    caller = await introspector(api, app)

    await grant_scope(app, "alice@example.com")  # demoted to plain "user"

    for token in (tokens["access_token"], tokens["refresh_token"]):
        info = (await api.introspect(token, caller=caller)).json()
        assert info["active"] is True
        assert info["scope"] == "user"


# --- introspection: inactive tokens -----------------------------------------------


async def test_tokens_of_a_logged_out_session_are_inactive(api: Api, app: FastAPI) -> None:
    tokens = await api.signed_up()
    caller = await introspector(api, app)
    assert (await api.logout(tokens["access_token"])).status_code == 204

    for token in (tokens["access_token"], tokens["refresh_token"]):
        response = await api.introspect(token, caller=caller)

        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert response.json() == INACTIVE


async def test_revoked_tokens_are_inactive(api: Api, app: FastAPI) -> None:
    tokens = await api.signed_up()
    caller = await introspector(api, app)

    assert_empty_200(await api.revoke(tokens["refresh_token"]))

    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert (await api.introspect(token, caller=caller)).json() == INACTIVE


async def test_tokens_of_an_expired_session_are_inactive(api: Api, app: FastAPI) -> None:
    tokens = await api.signed_up()
    caller = await introspector(api, app)
    await execute(
        app,
        "UPDATE sessions SET expires_at = :t "
        "WHERE user_id = (SELECT id FROM users WHERE email = :e)",
        t=datetime(2000, 1, 1, tzinfo=UTC),
        e="alice@example.com",
    )

    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert (await api.introspect(token, caller=caller)).json() == INACTIVE


async def test_an_access_token_past_its_exp_is_inactive(api: Api, app: FastAPI) -> None:
    tokens = await api.signed_up()
    caller = await introspector(api, app)
    claims = claims_of(tokens["access_token"])
    expired = forge({**claims, "iat": claims["iat"] - 7200, "exp": claims["iat"] - 3600})

    response = await api.introspect(expired, caller=caller)

    assert response.json() == INACTIVE
    assert (await api.introspect(tokens["access_token"], caller=caller)).json()["active"]


async def test_a_spent_refresh_token_is_inactive(api: Api, app: FastAPI) -> None:
    first = await api.signed_up()
    caller = await introspector(api, app)
    second = (await api.refresh(first["refresh_token"])).json()

    spent = await api.introspect(first["refresh_token"], caller=caller)

    assert spent.json() == INACTIVE
    assert (await api.introspect(second["refresh_token"], caller=caller)).json()["active"]


async def test_unknown_and_malformed_tokens_are_inactive(api: Api, app: FastAPI) -> None:
    caller = await introspector(api, app)
    other_key = forge(claims_of(caller), key="another-secret-" + "k" * 32)

    for token in (
        secrets.token_urlsafe(32),
        "garbage",
        "a.b.c",
        other_key,
        secrets.token_urlsafe(3750)[:5000],
    ):
        response = await api.introspect(token, caller=caller)

        assert response.status_code == 200
        assert response.json() == INACTIVE


async def test_tokens_of_a_disabled_account_are_inactive(api: Api, app: FastAPI) -> None:
    tokens = await api.signed_up()
    caller = await introspector(api, app)

    await execute(app, "UPDATE users SET is_active = false WHERE email = :e", e="alice@example.com")

    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert (await api.introspect(token, caller=caller)).json() == INACTIVE


# --- introspection: who may ask ---------------------------------------------------


def assert_not_described(response: httpx.Response) -> None:
    body = response.json()
    assert "active" not in body
    assert "sub" not in body
    assert "username" not in body


async def test_introspection_without_a_bearer_is_401(api: Api) -> None:
    tokens = await api.signed_up()

    response = await api.client.post("/auth/introspect", data={"token": tokens["access_token"]})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert_not_described(response)


async def test_introspection_with_a_garbage_bearer_is_401(api: Api) -> None:
    tokens = await api.signed_up()

    response = await api.introspect(tokens["access_token"], caller="not.a.jwt")

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert_not_described(response)


async def test_introspection_without_the_introspect_scope_is_403(api: Api) -> None:
    tokens = await api.signed_up()

    response = await api.introspect(tokens["access_token"], caller=tokens["access_token"])

    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="introspect"' in challenge
    assert_not_described(response)


async def test_introspection_by_a_logged_out_caller_is_401(api: Api, app: FastAPI) -> None:
    tokens = await api.signed_up()
    caller = await introspector(api, app)
    assert (await api.logout(caller)).status_code == 204

    response = await api.introspect(tokens["access_token"], caller=caller)

    assert response.status_code == 401
    assert_not_described(response)


@pytest.mark.parametrize("form", [{}, {"token": ""}, {"token_type_hint": "access_token"}])
async def test_introspection_without_token_is_invalid_request(
    api: Api, app: FastAPI, form: dict[str, str]
) -> None:
    caller = await introspector(api, app)

    response = await api.client.post(
        "/auth/introspect", data=form, headers={**FORM, **bearer(caller)}
    )

    body = assert_oauth_error(response, "invalid_request")
    assert "token" in body["error_description"]


async def test_introspection_with_a_json_body_is_invalid_request(api: Api, app: FastAPI) -> None:
    caller = await introspector(api, app)

    response = await api.client.post(
        "/auth/introspect", json={"token": caller}, headers=bearer(caller)
    )

    assert_oauth_error(response, "invalid_request")
