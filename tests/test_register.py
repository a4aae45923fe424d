"""POST /auth/register: accounts are created once per email, whatever its case."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import pytest

from tests.support.app import Api
from tests.support.settings import PASSWORD


async def test_register_returns_the_new_user(api: Api) -> None:
    response = await api.register("alice@example.com", full_name="Alice Liddell")

    assert response.status_code == 201
    user = response.json()
    assert set(user) == {"id", "email", "full_name", "scopes", "is_active", "created_at"}
    uuid.UUID(user["id"])
    datetime.fromisoformat(user["created_at"])
    assert user["email"] == "alice@example.com"
    assert user["full_name"] == "Alice Liddell"
    assert user["scopes"] == ["user"]
    assert user["is_active"] is True
    assert "password" not in response.text
    assert PASSWORD not in response.text


async def test_email_domain_is_normalised(api: Api) -> None:
    response = await api.register("Alice@EXAMPLE.com")
    assert response.status_code == 201
    assert response.json()["email"] == "Alice@example.com"


async def test_duplicate_email_in_any_case_is_409_not_500(api: Api) -> None:
    assert (await api.register("A@x.com")).status_code == 201

    for email in ("A@x.com", "a@x.com", "a@X.COM"):
        response = await api.register(email)
        assert response.status_code == 409
        assert "already exists" in response.json()["detail"]


async def test_concurrent_registrations_of_one_email_create_exactly_one_account(api: Api) -> None:
    responses = await asyncio.gather(
        *(api.register("race@example.com" if i % 2 else "RACE@example.com") for i in range(20))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19
    assert (await api.login("race@example.com")).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "a@example.com", "password": "x" * 1025}, "password"),
        ({"email": "a@example.com"}, "password"),
        ({"password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": PASSWORD, "scopes": ["admin"]}, "scopes"),
        ({"email": "a@example.com", "password": PASSWORD, "full_name": "x" * 201}, "full_name"),
    ],
)
async def test_invalid_body_is_422_naming_the_field(
    api: Api, body: dict[str, object], field: str
) -> None:
    response = await api.client.post("/auth/register", json=body)

    assert response.status_code == 422
    assert any(error["loc"][-1] == field for error in response.json()["detail"])


async def test_a_body_that_is_not_json_is_422(api: Api) -> None:
    response = await api.client.post(
        "/auth/register", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    "password",
    ["8x!Qv2#k", "пароль-достаточно-длинный", "🔑🔑🔑🔑🔑🔑🔑🔑", "x" * 1024, "with\x00nul-byte"],
)
async def test_any_unicode_password_of_8_to_1024_characters_is_accepted(
    api: Api, password: str
) -> None:
    assert (await api.register("u@example.com", password)).status_code == 201
    assert (await api.login("u@example.com", password)).status_code == 200


async def test_a_body_that_is_not_utf8_is_422_saying_so(api: Api) -> None:
    response = await api.client.post(
        "/auth/register", content=b'{"email": "\xff"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "UTF-8" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("password", ["abc1234", "password123", "x" * 1025])
async def test_a_rejected_password_is_never_echoed_back(api: Api, password: str) -> None:
    response = await api.register("echo@example.com", password)
    assert response.status_code == 422
    assert password not in response.text
    assert response.json()["detail"][0]["loc"] == ["body", "password"]


@pytest.mark.parametrize("full_name", ["Alice\x00Liddell", "Alice\nLiddell"])
async def test_full_name_with_control_characters_is_422(api: Api, full_name: str) -> None:
    response = await api.register("alice@example.com", full_name=full_name)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "full_name"]


async def test_json_sent_as_text_is_422_saying_to_send_json_without_echoing_it(
    api: Api,
) -> None:
    body = f'{{"email": "a@example.com", "password": "{PASSWORD}"}}'
    response = await api.client.post(
        "/auth/register", content=body, headers={"content-type": "text/plain"}
    )
    assert response.status_code == 422
    assert PASSWORD not in response.text
    assert "application/json" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"email": "a@example.com", "password": "xxxxxxxxxx", "full_name": "\\ud800x"}',
        b'{"email": "\\ud800@example.com", "password": "xxxxxxxxxx"}',
        b'{"email": "a@example.com", "password": "xxxxxxxxxx", "\\ud800": 1}',
    ],
)
async def test_lone_surrogates_are_422_not_500(api: Api, body: bytes) -> None:
    response = await api.client.post(
        "/auth/register", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"]


async def test_validation_errors_echo_no_submitted_value(api: Api) -> None:
    response = await api.client.post(
        "/auth/register", json={"email": "not-an-email", "pasword": "secret-typo-value"}
    )
    assert response.status_code == 422
    assert "secret-typo-value" not in response.text
    assert all("input" not in error for error in response.json()["detail"])
