"""GET /users/me: bearer tokens checked per RFC 6750 and RFC 9068, scopes enforced."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from fastapi import FastAPI

from tests.support.app import Api, execute
from tests.support.settings import TEST_SECRET


def forge(claims: dict[str, Any], *, key: str = TEST_SECRET, **header: Any) -> str:
    return jwt.encode(claims, key, algorithm="HS256", headers={"typ": "at+jwt", **header})


async def real_claims(api: Api) -> dict[str, Any]:
    token = (await api.signed_up())["access_token"]
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


async def test_me_returns_the_user(api: Api) -> None:
    tokens = await api.signed_up("alice@example.com")

    response = await api.me(tokens["access_token"])

    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.com"
    assert response.headers["cache-control"] == "no-store"


async def test_scheme_is_case_insensitive(api: Api) -> None:
    token = (await api.signed_up())["access_token"]
    for scheme in ("bearer", "BEARER", "Bearer"):
        response = await api.client.get("/users/me", headers={"Authorization": f"{scheme} {token}"})
        assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Basic YTpi"}],
)
async def test_missing_or_garbled_authorization_is_401_with_challenge(
    api: Api, headers: dict[str, str]
) -> None:
    response = await api.client.get("/users/me", headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Bearer" in response.json()["detail"]


def assert_invalid_token(response: Any) -> None:
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="invalid_token"')
    assert response.json()["detail"]


async def test_garbage_token_is_invalid_token(api: Api) -> None:
    assert_invalid_token(await api.me("not.a.jwt"))
    assert_invalid_token(await api.me("x" * 5000))


async def test_token_signed_with_another_key_is_rejected(api: Api) -> None:
    claims = await real_claims(api)
    assert_invalid_token(await api.me(forge(claims, key="another-secret-" + "k" * 32)))


async def test_alg_none_is_rejected(api: Api) -> None:
    claims = await real_claims(api)
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"typ": "at+jwt"})
    assert_invalid_token(await api.me(unsigned))


async def test_other_algorithm_is_rejected(api: Api) -> None:
    claims = await real_claims(api)
    hs512 = jwt.encode(claims, TEST_SECRET, algorithm="HS512", headers={"typ": "at+jwt"})
    assert_invalid_token(await api.me(hs512))


async def test_token_without_typ_is_rejected(api: Api) -> None:
    claims = await real_claims(api)
    no_typ = jwt.encode(claims, TEST_SECRET, algorithm="HS256", headers={"typ": None})
    assert "typ" not in jwt.get_unverified_header(no_typ)
    assert_invalid_token(await api.me(no_typ))
    assert_invalid_token(await api.me(forge(claims, typ="JWT")))


async def test_expired_token_is_rejected(api: Api) -> None:
    claims = await real_claims(api)
    claims.update(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    response = await api.me(forge(claims))
    assert_invalid_token(response)
    assert "expired" in response.json()["detail"]


@pytest.mark.parametrize(
    "change",
    [
        {"iss": "https://evil.example"},
        {"aud": "another-service"},
        {"sub": "not-a-uuid"},
        {"sub": str(uuid.uuid4())},
        {"sid": str(uuid.uuid4())},
    ],
)
async def test_wrong_claims_are_rejected(api: Api, change: dict[str, str]) -> None:
    claims = await real_claims(api)
    assert_invalid_token(await api.me(forge({**claims, **change})))


@pytest.mark.parametrize(
    "claim", ["exp", "iat", "iss", "aud", "sub", "jti", "scope", "sid", "client_id"]
)
async def test_token_missing_a_required_claim_is_rejected(api: Api, claim: str) -> None:
    claims = await real_claims(api)
    del claims[claim]
    assert_invalid_token(await api.me(forge(claims)))


async def test_refresh_token_is_not_an_access_token(api: Api) -> None:
    tokens = await api.signed_up()
    assert_invalid_token(await api.me(tokens["refresh_token"]))


async def test_token_lacking_the_scope_is_403_insufficient_scope(api: Api, app: FastAPI) -> None:
    await api.register("admin@example.com")
    await execute(app, "UPDATE users SET scopes = 'admin user'")
    admin_only = (await api.login("admin@example.com", scope="admin")).json()["access_token"]

    response = await api.me(admin_only)

    assert response.status_code == 403
    assert response.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="user"'
    assert "user" in response.json()["detail"]


async def test_a_forged_scope_claim_does_not_pass(api: Api) -> None:
    claims = await real_claims(api)
    claims["scope"] = ""
    assert (await api.me(forge(claims))).status_code == 403


async def test_disabled_user_is_401(api: Api, app: FastAPI) -> None:
    token = (await api.signed_up())["access_token"]
    await execute(app, "UPDATE users SET is_active = false")

    assert_invalid_token(await api.me(token))


async def test_revoked_session_ends_its_access_tokens(api: Api, app: FastAPI) -> None:
    token = (await api.signed_up())["access_token"]
    await execute(app, "UPDATE sessions SET revoked_at = created_at")

    assert_invalid_token(await api.me(token))
