"""Request hardening: body size cap, security headers, CORS, docs switch, documented errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from tests.support.app import Api, AppWith
from tests.support.settings import PASSWORD, make_settings

MIB = 1024 * 1024


def hashes_run(app: FastAPI) -> int:
    count: int = app.state.runtime.hasher.hashes_run
    return count


async def test_a_1_mib_body_is_413_before_it_is_parsed(app: FastAPI, api: Api) -> None:
    huge = b"x" * MIB  # not even JSON: a parser would have said 422
    before = hashes_run(app)

    register = await api.client.post(
        "/auth/register", content=huge, headers={"content-type": "application/json"}
    )
    token = await api.client.post(
        "/auth/token",
        content=b"grant_type=password&username=a%40example.com&password=" + huge,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    for response in (register, token):
        assert response.status_code == 413
        assert response.json() == {
            "detail": "The request body must be at most 65536 bytes",
            "code": "body_too_large",
        }
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
    assert hashes_run(app) == before


async def test_a_chunked_body_without_length_is_cut_off_at_the_limit(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(16):
            yield b"x" * 65536  # 1 MiB in all, with no Content-Length up front

    response = await api.client.post(
        "/auth/register", content=chunks(), headers={"content-type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413


async def test_bodies_under_the_limit_are_parsed_as_usual(app_with: AppWith) -> None:
    async with app_with(max_body_bytes=4096) as (_app, api):
        small = await api.client.post("/auth/register", json={"email": "x", "full_name": "y"})
        big = await api.client.post("/auth/register", json={"email": "x", "full_name": "y" * 5000})

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"email": "alice@example.com", '
            yield b'"password": "correct horse battery staple"}'

        chunked = await api.client.post(
            "/auth/register", content=chunks(), headers={"content-type": "application/json"}
        )

    assert small.status_code == 422
    assert big.status_code == 413
    assert big.json()["detail"] == "The request body must be at most 4096 bytes"
    assert chunked.status_code == 201


async def test_every_auth_response_says_nosniff_and_no_store(api: Api) -> None:
    responses = [
        await api.register("alice@example.com"),  # 201
        await api.register("alice@example.com"),  # 409
        await api.register("bob@example.com", "password123"),  # 422
        await api.login("alice@example.com", "not the password"),  # 400
        login := await api.login("alice@example.com"),  # 200
        await api.me(login.json()["access_token"]),  # 200
        await api.me("not-a-token"),  # 401
        await api.refresh(login.json()["refresh_token"]),  # 200
    ]
    for response in responses:
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.request.url
        assert response.headers["Cache-Control"] == "no-store", response.request.url


async def test_cors_answers_only_the_configured_origins(app_with: AppWith) -> None:
    allowed, other = "https://app.example.com", "https://evil.example.net"
    async with app_with(cors_origins=allowed) as (_app, api):

        async def preflight(origin: str) -> dict[str, str]:
            response = await api.client.options(
                "/auth/token",
                headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            )
            return dict(response.headers)

        ok, refused = await preflight(allowed), await preflight(other)
        simple = await api.client.get("/healthz", headers={"Origin": allowed})

    assert ok["access-control-allow-origin"] == allowed
    assert "access-control-allow-credentials" not in ok
    assert "access-control-allow-origin" not in refused
    assert "Retry-After" in simple.headers["access-control-expose-headers"]


def test_a_wildcard_cors_origin_is_refused() -> None:
    with pytest.raises(ValidationError, match="'\\*' is not accepted"):
        make_settings("sqlite+aiosqlite://", cors_origins="https://a.example, *")


async def test_docs_and_the_openapi_document_can_be_switched_off(app_with: AppWith) -> None:
    async with app_with(docs_enabled=False) as (_app, api):
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            assert (await api.client.get(path)).status_code == 404, path
        assert (await api.client.get("/")).json()["docs"] is None
        assert (await api.register("alice@example.com")).status_code == 201
        assert (await api.login("alice@example.com", PASSWORD)).status_code == 200


async def test_the_new_errors_are_documented_with_examples_and_retry_after(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()

    for path in ("/auth/token", "/auth/register"):
        responses = spec["paths"][path]["post"]["responses"]
        assert {"413", "429", "503"} <= set(responses), path
        for status in ("429", "503"):
            assert "Retry-After" in responses[status]["headers"], (path, status)
        for status in ("413", "429", "503"):
            examples = responses[status]["content"]["application/json"]["examples"]
            assert examples, (path, status)
    token_429 = spec["paths"]["/auth/token"]["post"]["responses"]["429"]
    example = next(iter(token_429["content"]["application/json"]["examples"].values()))
    assert example["value"]["error"] == "slow_down"
