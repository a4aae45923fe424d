"""POST /auth/token with the password grant, and the RFC 6749 error contract."""

from __future__ import annotations

import jwt
import pytest
from fastapi import FastAPI

from authsvc.runtime import Runtime
from tests.support.app import Api, execute
from tests.support.settings import PASSWORD, TEST_SECRET


def runtime(app: FastAPI) -> Runtime:
    value: Runtime = app.state.runtime
    return value


async def test_password_grant_returns_rfc6749_token_response(api: Api) -> None:
    await api.register("alice@example.com")

    response = await api.login("alice@example.com")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "user"
    assert body["refresh_token"].count(".") == 0  # opaque, not a JWT


async def test_access_token_follows_rfc9068(api: Api) -> None:
    await api.register("alice@example.com")
    token = (await api.login("alice@example.com", client_id="mobile-app")).json()["access_token"]

    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"], audience="authsvc")
    user = (await api.me(token)).json()

    assert header["typ"] == "at+jwt"
    assert header["alg"] == "HS256"
    assert claims["iss"] == "http://localhost:8000"
    assert claims["aud"] == "authsvc"
    assert claims["sub"] == user["id"]
    assert claims["client_id"] == "mobile-app"
    assert claims["scope"] == "user"
    assert {"exp", "iat", "jti", "sid"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 3600


async def test_client_id_defaults_to_the_setting(api: Api) -> None:
    tokens = await api.signed_up()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == "authsvc"


async def test_grant_type_may_be_omitted_by_older_clients(api: Api) -> None:
    await api.register("alice@example.com")
    response = await api.client.post(
        "/auth/token", data={"username": "alice@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200


async def test_email_is_matched_case_insensitively(api: Api) -> None:
    await api.register("Alice@Example.com")
    assert (await api.login("ALICE@example.COM")).status_code == 200


async def test_unknown_email_and_wrong_password_are_indistinguishable(
    api: Api, app: FastAPI
) -> None:
    await api.register("alice@example.com")
    hasher = runtime(app).hasher

    before = hasher.hashes_run
    wrong_password = await api.login("alice@example.com", "not the password")
    after_wrong = hasher.hashes_run
    unknown_email = await api.login("nobody@example.com", "not the password")

    assert wrong_password.status_code == unknown_email.status_code == 400
    assert (
        wrong_password.json()
        == unknown_email.json()
        == {
            "error": "invalid_grant",
            "error_description": "Incorrect email or password",
        }
    )
    # An unknown email still costs one bcrypt verification, like a wrong password.
    assert after_wrong - before == 1
    assert hasher.hashes_run - after_wrong == 1


async def test_only_the_exact_long_password_logs_in(api: Api) -> None:
    password = "p" * 99 + "A"  # 100 characters: beyond bcrypt's 72-byte limit
    assert (await api.register("long@example.com", password)).status_code == 201

    assert (await api.login("long@example.com", "p" * 99 + "B")).status_code == 400
    assert (await api.login("long@example.com", "p" * 99)).status_code == 400
    assert (await api.login("long@example.com", password)).status_code == 200


async def test_unicode_password_matches_in_any_normal_form(api: Api) -> None:
    composed, decomposed = "caf\u00e9-au-lait", "cafe\u0301-au-lait"
    assert (await api.register("cafe@example.com", composed)).status_code == 201
    assert (await api.login("cafe@example.com", decomposed)).status_code == 200


async def test_disabled_account_cannot_log_in(api: Api, app: FastAPI) -> None:
    await api.register("alice@example.com")
    await execute(app, "UPDATE users SET is_active = false")

    response = await api.login("alice@example.com")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_legacy_bcrypt_hash_verifies_and_is_upgraded(api: Api, app: FastAPI) -> None:
    import bcrypt

    await api.register("old@example.com")
    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    await execute(app, "UPDATE users SET hashed_password = :h", h=legacy)

    assert (await api.login("old@example.com")).status_code == 200

    async with runtime(app).db.reading() as db:
        from sqlalchemy import text

        stored = (await db.execute(text("SELECT hashed_password FROM users"))).scalar_one()
    assert stored.startswith("$bcrypt-sha256$")
    assert (await api.login("old@example.com")).status_code == 200


# --- scopes -----------------------------------------------------------------


async def test_a_scope_the_account_lacks_is_left_out_of_the_grant(api: Api) -> None:
    """RFC 6749 §3.3: the server may issue less than asked, and says so in `scope`. A
    refusal here would confirm the password without a login being counted or audited."""
    await api.register("alice@example.com")

    for asked in ("user admin", "admin"):
        response = await api.login("alice@example.com", scope=asked)

        assert response.status_code == 200, response.text
        assert response.json()["scope"] == "user"
    sessions = (await api.sessions(response.json()["access_token"])).json()
    assert len(sessions) == 2  # each was an ordinary, recorded login


async def test_an_admin_asking_for_a_scope_it_lacks_is_not_given_admin(
    api: Api, app: FastAPI
) -> None:
    await api.register("admin@example.com")
    await execute(app, "UPDATE users SET scopes = 'admin user'")

    response = await api.login("admin@example.com", scope="introspect")

    assert response.json()["scope"] == "user"
    refreshed = await api.refresh(response.json()["refresh_token"])
    assert refreshed.json()["scope"] == "user"


async def test_an_unknown_scope_is_refused_before_the_password_is_checked(
    api: Api, app: FastAPI
) -> None:
    await api.register("alice@example.com")

    hasher = runtime(app).hasher
    hashes_before = hasher.hashes_run

    right = await api.login("alice@example.com", scope="user superuser")
    wrong = await api.login("alice@example.com", "not the password", scope="user superuser")
    nobody = await api.login("nobody@example.com", "whatever pw", scope="user superuser")

    assert hasher.hashes_run == hashes_before  # refused before any password was checked
    assert right.status_code == wrong.status_code == nobody.status_code == 400
    assert right.json() == wrong.json() == nobody.json()
    assert right.json()["error"] == "invalid_scope"
    assert "superuser" in right.json()["error_description"]


async def test_no_scope_means_every_granted_scope(api: Api, app: FastAPI) -> None:
    await api.register("admin@example.com")
    await execute(app, "UPDATE users SET scopes = 'admin user'")

    assert (await api.login("admin@example.com")).json()["scope"] == "admin user"
    assert (await api.login("admin@example.com", scope="admin")).json()["scope"] == "admin"


async def test_malformed_scope_is_invalid_scope(api: Api) -> None:
    await api.register("alice@example.com")
    response = await api.login("alice@example.com", scope='us"er')
    assert response.json()["error"] == "invalid_scope"


# --- the RFC 6749 §5.2 error contract ---------------------------------------


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({}, "invalid_request"),
        ({"username": "a@example.com"}, "invalid_request"),
        ({"password": PASSWORD}, "invalid_request"),
        ({"grant_type": "password", "username": "", "password": PASSWORD}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "x"}, "unsupported_grant_type"),
    ],
)
async def test_bad_token_requests_get_rfc6749_errors(
    api: Api, form: dict[str, str], error: str
) -> None:
    response = await api.client.post("/auth/token", data=form)

    assert response.status_code == 400
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]


async def test_json_body_is_invalid_request_not_422(api: Api) -> None:
    response = await api.client.post(
        "/auth/token", json={"username": "a@example.com", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "x-www-form-urlencoded" in response.json()["error_description"]


async def test_repeated_parameter_is_invalid_request(api: Api) -> None:
    await api.register("alice@example.com")
    response = await api.client.post(
        "/auth/token",
        content=f"username=alice@example.com&password={PASSWORD}&password=other",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "password" in response.json()["error_description"]


async def test_token_endpoint_only_accepts_post(api: Api) -> None:
    response = await api.client.get("/auth/token")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed", "code": "method_not_allowed"}


@pytest.mark.parametrize("client_id", ["c" * 201, "tab\there", "ünïcode"])
async def test_malformed_client_id_is_invalid_request(api: Api, client_id: str) -> None:
    await api.register("alice@example.com")
    response = await api.login("alice@example.com", client_id=client_id)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "client_id" in response.json()["error_description"]


async def test_longest_client_id_is_accepted(api: Api) -> None:
    await api.register("alice@example.com")
    assert (await api.login("alice@example.com", client_id="c" * 200)).status_code == 200


async def test_username_with_a_nul_byte_is_an_unknown_account(api: Api) -> None:
    await api.register("alice@example.com")
    response = await api.login("alice@example.com\x00")
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Incorrect email or password",
    }


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": 'snow\u2603"man\\'},
        {"username": "a@example.com", "password": "x" * 8, "scope": "user \u00e9"},
    ],
)
async def test_error_description_holds_only_rfc6749_characters(
    api: Api, form: dict[str, str]
) -> None:
    response = await api.client.post("/auth/token", data=form)
    assert response.status_code == 400
    description = response.json()["error_description"]
    assert all(c == "!" or "#" <= c <= "[" or "]" <= c <= "~" or c == " " for c in description)
