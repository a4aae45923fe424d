"""Discovery: the JWKS, RFC 8414 metadata, and the README's verification example, run live."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from authsvc.security.keys import generate_private_key_pem
from authsvc.security.scopes import SCOPES
from authsvc.signing_keys import load_keys
from tests.support.app import Api, AppWith, execute
from tests.support.processes import authsvc_env, serve
from tests.support.settings import PASSWORD, TEST_SECRET

README = Path(__file__).resolve().parent.parent / "README.md"
METADATA = "/.well-known/oauth-authorization-server"
ISSUER = "http://authsvc.test"


# --- the JWK set ----------------------------------------------------------------


async def test_hs256_publishes_no_key_and_the_jwks_is_cacheable(api: Api) -> None:
    response = await api.client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.json() == {"keys": []}
    assert response.headers["cache-control"] == "public, max-age=300"
    assert "pragma" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_max_age_is_a_setting(app_with: AppWith) -> None:
    async with app_with(jwks_max_age_seconds=60) as (_app, api):
        jwks = await api.client.get("/.well-known/jwks.json")
        metadata = await api.client.get(METADATA)
    assert (
        jwks.headers["cache-control"] == metadata.headers["cache-control"] == ("public, max-age=60")
    )


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


async def test_the_hs256_secret_is_in_no_get_response(api: Api, app: FastAPI) -> None:
    await api.register("admin@example.com")
    await execute(app, "UPDATE users SET scopes = 'admin user'")
    token = (await api.login("admin@example.com")).json()["access_token"]
    spec = (await api.client.get("/openapi.json")).json()
    paths = [_concrete(path) for path, ops in spec["paths"].items() if "get" in ops]
    assert "/.well-known/jwks.json" in paths
    assert METADATA in paths
    paths += ["/docs", "/redoc", "/openapi.json", "/metrics", "/docs/oauth2-redirect"]

    for path in paths:
        for headers in ({}, {"Authorization": f"Bearer {token}"}):
            response = await api.client.get(path, headers=headers)
            assert response.status_code < 500, path
            assert TEST_SECRET not in response.text, path
            for name, value in response.headers.items():
                assert TEST_SECRET not in value, (path, name)


# --- RFC 8414 metadata -------------------------------------------------------------


async def test_metadata_has_every_member_built_from_the_issuer(app_with: AppWith) -> None:
    async with app_with(issuer="https://auth.example.com") as (_app, api):
        response = await api.client.get(METADATA)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.json() == {
        "issuer": "https://auth.example.com",
        "token_endpoint": "https://auth.example.com/auth/token",
        "revocation_endpoint": "https://auth.example.com/auth/revoke",
        "introspection_endpoint": "https://auth.example.com/auth/introspect",
        "jwks_uri": "https://auth.example.com/.well-known/jwks.json",
        "grant_types_supported": ["password", "refresh_token"],
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["none"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "service_documentation": "https://auth.example.com/docs",
    }


async def test_metadata_issuer_is_the_tokens_iss_and_urls_lose_a_trailing_slash(
    app_with: AppWith,
) -> None:
    async with app_with(issuer="https://auth.example.com/", docs_enabled=False) as (_app, api):
        metadata = (await api.client.get(METADATA)).json()
        token = (await api.signed_up())["access_token"]

    assert metadata["issuer"] == jwt.decode(token, options={"verify_signature": False})["iss"]
    assert metadata["token_endpoint"] == "https://auth.example.com/auth/token"
    assert metadata["jwks_uri"] == "https://auth.example.com/.well-known/jwks.json"
    assert "service_documentation" not in metadata  # no docs to point at


async def test_an_issuer_with_a_path_gets_the_path_suffixed_location(app_with: AppWith) -> None:
    async with app_with(issuer="https://example.com/tenant-a") as (_app, api):
        suffixed = await api.client.get(f"{METADATA}/tenant-a")
        plain = await api.client.get(METADATA)
        other = await api.client.get(f"{METADATA}/tenant-b")

    assert suffixed.status_code == 200
    assert suffixed.json() == plain.json()
    assert suffixed.json()["issuer"] == "https://example.com/tenant-a"
    assert suffixed.json()["token_endpoint"] == "https://example.com/tenant-a/auth/token"
    assert suffixed.headers["cache-control"] == "public, max-age=300"
    assert other.status_code == 404


async def test_an_issuer_without_a_path_has_no_suffixed_location(api: Api) -> None:
    assert (await api.client.get(METADATA + "/")).status_code == 404

    response = await api.client.get(METADATA + "/anything")

    assert response.status_code == 404
    assert response.json() == {
        "detail": f"No metadata here: this server's is at {METADATA}",
        "code": "not_found",
    }


async def test_discovery_routes_are_documented(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    for path in ("/.well-known/jwks.json", METADATA):
        operation = spec["paths"][path]["get"]
        assert operation["tags"] == ["discovery"]
        assert "$ref" in operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert not [path for path in spec["paths"] if path.startswith(f"{METADATA}/")]


# --- the README example, against a live server -----------------------------------------


def readme_example() -> str:
    """The python block right after the `<!-- jwks-example ... -->` marker in README.md."""
    match = re.search(
        r"^<!-- jwks-example[^\n]*-->\n```python\n(.*?)^```$",
        README.read_text(),
        re.DOTALL | re.MULTILINE,
    )
    assert match, "README.md lost its <!-- jwks-example --> python block"
    return match.group(1)


def _private_pem(algorithm: str) -> str:
    if algorithm == "RS256":  # 2048 bits: quicker than `keys generate`'s 3072
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    return generate_private_key_pem(algorithm)


@pytest.fixture(scope="module", params=["RS256", "ES256", "EdDSA"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, str]]:
    """A real `authsvc serve` signing with a new key: (algorithm, base URL, PEM)."""
    algorithm: str = request.param
    pem = _private_pem(algorithm)
    database = tmp_path_factory.mktemp("live") / "authsvc.db"
    env = authsvc_env(
        f"sqlite+aiosqlite:///{database}",
        AUTHSVC_JWT_ALGORITHM=algorithm,
        AUTHSVC_JWT_PRIVATE_KEYS=pem,
        AUTHSVC_ISSUER=ISSUER,
    )
    with serve(env) as base_url:
        yield algorithm, base_url, pem


def _access_token(base_url: str, email: str) -> str:
    httpx.post(f"{base_url}/auth/register", json={"email": email, "password": PASSWORD})
    response = httpx.post(f"{base_url}/auth/token", data={"username": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def run_example(base_url: str, token: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", readme_example()],
        env={"AUTH_URL": base_url, "AUTH_ISSUER": ISSUER, "ACCESS_TOKEN": token, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_readme_example_verifies_a_real_token_from_the_jwks(live: tuple[str, str, str]) -> None:
    algorithm, base_url, pem = live
    token = _access_token(base_url, f"{algorithm.lower()}@example.com")
    assert jwt.get_unverified_header(token)["kid"] == load_keys(pem, algorithm)[0].kid

    result = run_example(base_url, token)

    assert result.returncode == 0, result.stderr
    sub = jwt.decode(token, options={"verify_signature": False})["sub"]
    assert result.stdout == f"user {sub} scopes user\n"


def _resigned(token: str, pem: str, algorithm: str, header: dict[str, Any], **claims: Any) -> str:
    """The token with some claims or header fields changed, signed by the server's own key."""
    (key,) = load_keys(pem, algorithm)
    payload = {**jwt.decode(token, options={"verify_signature": False}), **claims}
    return jwt.encode(
        payload, key.private_key, algorithm=algorithm, headers={"kid": key.kid, **header}
    )


@pytest.mark.parametrize("live", ["EdDSA"], indirect=True)  # the checks are per token
def test_readme_example_checks_typ_aud_iss_and_the_signature(
    live: tuple[str, str, str],
) -> None:
    algorithm, base_url, pem = live
    token = _access_token(base_url, "checks@example.com")
    assert (
        run_example(base_url, _resigned(token, pem, algorithm, {"typ": "at+jwt"})).returncode == 0
    )

    not_access = _resigned(token, pem, algorithm, {"typ": "JWT"})
    other_aud = _resigned(token, pem, algorithm, {"typ": "at+jwt"}, aud="another-service")
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}AAAA"
    failures = {
        "not an access token": run_example(base_url, not_access),
        "InvalidAudienceError": run_example(base_url, other_aud),
        "InvalidIssuerError": run_example(base_url, token, AUTH_ISSUER="https://other.test"),
        "InvalidSignatureError": run_example(base_url, tampered),
    }
    for expected, result in failures.items():
        assert result.returncode != 0, expected
        assert expected in result.stderr, result.stderr
