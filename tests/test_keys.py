"""Asymmetric signing (RS256, ES256, EdDSA): kids, rotation, key loading, development keys."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import shutil
import stat
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any, TypeVar

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError

from authsvc.security.keys import KeyConfigError, generate_private_key_pem, thumbprint
from authsvc.signing_keys import load_keys
from tests.support.app import Api, AppWith, http_client, running_app
from tests.support.processes import authsvc_env
from tests.support.settings import IsolatedSettings, make_settings
from tests.test_cli import run_cli

T = TypeVar("T")
ALGORITHMS = ["RS256", "ES256", "EdDSA"]
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
KTY = {"RS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _new_pem(algorithm: str) -> str:
    if algorithm == "RS256":  # the 2048-bit minimum: quicker than `keys generate`'s 3072
        return _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return generate_private_key_pem(algorithm)


@pytest.fixture(scope="module")
def pems() -> dict[str, list[str]]:
    """Three private keys per algorithm, made once: RSA key generation is slow-ish."""
    return {algorithm: [_new_pem(algorithm) for _ in range(3)] for algorithm in ALGORITHMS}


def kid_of(pem: str, algorithm: str) -> str:
    (key,) = load_keys(pem, algorithm)
    return key.kid


def header(token: str) -> dict[str, Any]:
    return jwt.get_unverified_header(token)


def assert_invalid_token(response: Any, says: str = "") -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert says in response.json()["detail"]


# --- tokens and the JWKS, per algorithm ---------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_tokens_carry_kid_and_typ_and_the_jwks_publishes_the_key(
    app_with: AppWith, pems: dict[str, list[str]], algorithm: str
) -> None:
    pem = pems[algorithm][0]
    async with app_with(jwt_algorithm=algorithm, jwt_private_keys=pem) as (_app, api):
        tokens = await api.signed_up()
        me = await api.me(tokens["access_token"])
        jwks = (await api.client.get("/.well-known/jwks.json")).json()

    kid = kid_of(pem, algorithm)
    assert header(tokens["access_token"]) == {"alg": algorithm, "typ": "at+jwt", "kid": kid}
    assert me.status_code == 200, me.text
    (jwk,) = jwks["keys"]
    assert jwk["kid"] == kid
    assert jwk["use"] == "sig"
    assert jwk["alg"] == algorithm
    assert jwk["kty"] == KTY[algorithm]
    assert not PRIVATE_MEMBERS & jwk.keys()
    assert thumbprint(jwk) == kid  # the kid is the RFC 7638 thumbprint of what is published
    public = jwt.PyJWK(jwk).key
    claims = jwt.decode(tokens["access_token"], public, algorithms=[algorithm], audience="authsvc")
    assert claims["sub"] == me.json()["id"]


async def test_decoded_claims_carry_client_id_jti_and_aware_times(
    app_with: AppWith, pems: dict[str, list[str]]
) -> None:
    pem = pems["EdDSA"][0]
    async with app_with(jwt_algorithm="EdDSA", jwt_private_keys=pem) as (app, api):
        token = (await api.signed_up())["access_token"]
        claims = app.state.runtime.codec.decode(token)
    raw = jwt.decode(token, options={"verify_signature": False})
    assert claims.client_id == raw["client_id"] == "authsvc"
    assert claims.token_id == raw["jti"]
    assert claims.issued_at.tzinfo == claims.expires_at.tzinfo == UTC
    assert claims.issued_at.timestamp() == raw["iat"]
    assert claims.expires_at - claims.issued_at == timedelta(minutes=60)


# --- rotation -----------------------------------------------------------------


async def test_rotation_previous_key_verifies_removed_key_does_not(
    app_with: AppWith, pems: dict[str, list[str]]
) -> None:
    old, new = pems["ES256"][0], pems["ES256"][1]
    old_kid, new_kid = kid_of(old, "ES256"), kid_of(new, "ES256")

    async with app_with(jwt_algorithm="ES256", jwt_private_keys=old) as (_app, api):
        old_token = (await api.signed_up())["access_token"]
    assert header(old_token)["kid"] == old_kid

    # Step 1: the new key is added second: published, not yet signing.
    async with app_with(jwt_algorithm="ES256", jwt_private_keys=old + new) as (_app, api):
        assert (await api.me(old_token)).status_code == 200
        published = (await api.client.get("/.well-known/jwks.json")).json()["keys"]
        assert [key["kid"] for key in published] == [old_kid, new_kid]
        assert header((await api.login("alice@example.com")).json()["access_token"])["kid"] == (
            old_kid
        )

    # Step 2: the new key is made first: it signs; the old one still verifies.
    async with app_with(jwt_algorithm="ES256", jwt_private_keys=new + old) as (_app, api):
        assert (await api.me(old_token)).status_code == 200
        new_token = (await api.login("alice@example.com")).json()["access_token"]
        assert header(new_token)["kid"] == new_kid
        assert (await api.me(new_token)).status_code == 200

    # Step 3: the old key is removed: its tokens are refused, the new key's still pass.
    async with app_with(jwt_algorithm="ES256", jwt_private_keys=new) as (_app, api):
        assert_invalid_token(await api.me(old_token), "unknown key")
        assert (await api.me(new_token)).status_code == 200
        published = (await api.client.get("/.well-known/jwks.json")).json()["keys"]
        assert [key["kid"] for key in published] == [new_kid]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with(header_: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    signing_input = f"{_b64(json.dumps(header_).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


async def test_kid_is_only_a_lookup_the_algorithm_stays_pinned(
    app_with: AppWith, pems: dict[str, list[str]]
) -> None:
    pem, stranger = pems["RS256"][0], pems["RS256"][1]
    kid = kid_of(pem, "RS256")
    async with app_with(jwt_algorithm="RS256", jwt_private_keys=pem) as (_app, api):
        token = (await api.signed_up())["access_token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        jwk = (await api.client.get("/.well-known/jwks.json")).json()["keys"][0]
        public_pem = jwt.PyJWK(jwk).key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        private = load_keys(stranger, "RS256")[0].private_key

        no_kid = jwt.encode(claims, private, algorithm="RS256", headers={"typ": "at+jwt"})
        assert_invalid_token(await api.me(no_kid), "unknown key")
        # Another key claiming our kid: the signature does not verify.
        impostor = jwt.encode(
            claims, private, algorithm="RS256", headers={"typ": "at+jwt", "kid": kid}
        )
        assert_invalid_token(await api.me(impostor))
        # The classic confusion: HS256 keyed with the published public key.
        confused = _hs256_with({"alg": "HS256", "typ": "at+jwt", "kid": kid}, claims, public_pem)
        assert_invalid_token(await api.me(confused))
        unsigned = jwt.encode(claims, "", algorithm="none", headers={"typ": "at+jwt", "kid": kid})
        assert_invalid_token(await api.me(unsigned))
        assert (await api.me(token)).status_code == 200


# --- loading keys -------------------------------------------------------------


async def test_a_directory_of_keys_in_file_name_order(
    app_with: AppWith, pems: dict[str, list[str]], tmp_path: Path
) -> None:
    first, second = pems["EdDSA"][0], pems["EdDSA"][1]
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    (keys_dir / "2024-02.pem").write_text(second)
    (keys_dir / "2024-01.pem").write_text(first)
    (keys_dir / "README.txt").write_text("not a key, and not read")

    loaded = load_keys(str(keys_dir), "EdDSA")
    assert [key.source for key in loaded] == [
        str(keys_dir / "2024-01.pem"),
        str(keys_dir / "2024-02.pem"),
    ]
    async with app_with(jwt_algorithm="EdDSA", jwt_private_keys=str(keys_dir)) as (_app, api):
        token = (await api.signed_up())["access_token"]
        jwks = (await api.client.get("/.well-known/jwks.json")).json()
    assert header(token)["kid"] == kid_of(first, "EdDSA")
    assert [k["kid"] for k in jwks["keys"]] == [kid_of(first, "EdDSA"), kid_of(second, "EdDSA")]


def test_pem_text_with_two_keys_and_a_file_with_two(
    pems: dict[str, list[str]], tmp_path: Path
) -> None:
    a, b = pems["RS256"][0], pems["RS256"][1]
    from_text = load_keys(a + "\n" + b, "RS256")
    assert [key.kid for key in from_text] == [kid_of(a, "RS256"), kid_of(b, "RS256")]
    assert from_text[1].source == "AUTHSVC_JWT_PRIVATE_KEYS (key 2)"

    squeezed = (b + a).replace("\n", "\\n")  # one line, as some .env files need
    assert [key.kid for key in load_keys(squeezed, "RS256")] == [
        kid_of(b, "RS256"),
        kid_of(a, "RS256"),
    ]
    path = tmp_path / "both.pem"
    path.write_text(a + b)
    assert [key.kid for key in load_keys(str(path), "RS256")] == [key.kid for key in from_text]


def test_pem_text_and_rsa_traditional_format_are_accepted(pems: dict[str, list[str]]) -> None:
    key = serialization.load_pem_private_key(pems["RS256"][0].encode(), password=None)
    traditional = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # BEGIN RSA PRIVATE KEY
        serialization.NoEncryption(),
    ).decode()
    assert load_keys(traditional, "RS256")[0].kid == kid_of(pems["RS256"][0], "RS256")


def _key_error(value: str, algorithm: str) -> str:
    with pytest.raises(KeyConfigError) as caught:
        load_keys(value, algorithm)
    return str(caught.value)


def test_wrong_or_weak_keys_get_clear_errors(pems: dict[str, list[str]], tmp_path: Path) -> None:
    ed_file = tmp_path / "ed25519.pem"
    ed_file.write_text(pems["EdDSA"][0])
    message = _key_error(str(ed_file), "ES256")
    assert message == (
        f"{ed_file}: an Ed25519 key, but AUTHSVC_JWT_ALGORITHM=ES256 needs an EC key on "
        "the P-256 curve"
    )
    assert "Ed25519 key" in _key_error(pems["ES256"][0], "EdDSA")
    assert "RSA key of at least 2048 bits" in _key_error(pems["EdDSA"][0], "RS256")

    p384 = _pem(ec.generate_private_key(ec.SECP384R1()))
    assert "an EC key on the secp384r1 curve" in _key_error(p384, "ES256")
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    small_rsa = _pem(weak)  # too small on purpose
    assert "1024 bits; RS256 needs at least 2048" in _key_error(small_rsa, "RS256")

    second_wrong = pems["EdDSA"][0] + pems["ES256"][0]
    assert _key_error(second_wrong, "EdDSA").startswith("AUTHSVC_JWT_PRIVATE_KEYS (key 2): an EC")


def test_unusable_key_sources_get_clear_errors(pems: dict[str, list[str]], tmp_path: Path) -> None:
    key = serialization.load_pem_private_key(pems["EdDSA"][0].encode(), password=None)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert "a PUBLIC KEY block; expected a private key" in _key_error(public.decode(), "EdDSA")
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    ).decode()
    assert "encrypted" in _key_error(encrypted, "EdDSA")
    garbled = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    assert "not a readable PEM private key" in _key_error(garbled, "EdDSA")
    missing = tmp_path / "nope.pem"
    assert "nor the path of an existing file or directory" in _key_error(str(missing), "EdDSA")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert f"the directory {empty} holds no *.pem files" in _key_error(str(empty), "EdDSA")
    not_pem = tmp_path / "key.pem"
    not_pem.write_text("hello")
    assert _key_error(str(not_pem), "EdDSA").startswith(f"{not_pem}: no PEM block")
    twice = pems["EdDSA"][0] * 2
    assert "the same key as AUTHSVC_JWT_PRIVATE_KEYS (key 1)" in _key_error(twice, "EdDSA")


def test_thumbprint_matches_the_rfc_7638_example() -> None:
    """RFC 7638 §3.1: this RSA key's thumbprint; members other than e, kty, n don't count."""
    jwk = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1"
            "L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4"
            "QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbO"
            "pbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF"
            "Cur-kEgU8awapJzKnqDKgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


# --- the command line -----------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[Path]]:
    """`authsvc keys generate --alg EdDSA` under production settings that lack keys (that
    is how to fix them, so it must run): its output, and the files left in its directory."""
    cwd = tmp_path_factory.mktemp("generate")
    env = authsvc_env(
        "sqlite+aiosqlite:///nowhere.db", AUTHSVC_ENV="production", AUTHSVC_JWT_ALGORITHM="EdDSA"
    )
    result = run_cli("keys", "generate", "--alg", "EdDSA", env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout, list(cwd.iterdir())


def test_keys_generate_prints_pkcs8_and_touches_nothing(generated: tuple[str, list[Path]]) -> None:
    pem, files = generated
    assert pem.startswith("-----BEGIN PRIVATE KEY-----\n")  # PKCS#8
    assert pem.endswith("-----END PRIVATE KEY-----\n")
    assert files == []  # no database, no key file


async def test_a_generated_key_loads_and_signs(
    app_with: AppWith, generated: tuple[str, list[Path]]
) -> None:
    pem, _files = generated
    async with app_with(jwt_algorithm="EdDSA", jwt_private_keys=pem) as (_app, api):
        token = (await api.signed_up())["access_token"]
        assert (await api.me(token)).status_code == 200
    assert header(token)["kid"] == kid_of(pem, "EdDSA")


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_keys_generate_for_rsa_and_ec(algorithm: str, tmp_path: Path) -> None:
    result = run_cli(
        "keys", "generate", "--alg", algorithm, env=authsvc_env("unused"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    (key,) = load_keys(result.stdout, algorithm)
    if algorithm == "RS256":
        assert isinstance(key.private_key, rsa.RSAPrivateKey)
        assert key.private_key.key_size == 3072


def test_keys_list_marks_the_signing_key(pems: dict[str, list[str]], tmp_path: Path) -> None:
    first, second = pems["ES256"][0], pems["ES256"][1]
    env = authsvc_env(
        f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        AUTHSVC_JWT_ALGORITHM="ES256",
        AUTHSVC_JWT_PRIVATE_KEYS=first + second,
    )
    result = run_cli("keys", "list", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{kid_of(first, 'ES256')}  ES256  signing  AUTHSVC_JWT_PRIVATE_KEYS (key 1)",
        f"{kid_of(second, 'ES256')}  ES256  verifying  AUTHSVC_JWT_PRIVATE_KEYS (key 2)",
    ]
    hs256 = run_cli("keys", "list", env=authsvc_env("unused"), cwd=tmp_path)
    assert hs256.returncode == 2
    assert "shared secret" in hs256.stderr


def test_serve_with_a_bad_key_file_exits_with_one_line(
    pems: dict[str, list[str]], tmp_path: Path
) -> None:
    key_file = tmp_path / "signing.pem"
    key_file.write_text(pems["RS256"][0])
    env = authsvc_env(
        f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        AUTHSVC_JWT_ALGORITHM="EdDSA",
        AUTHSVC_JWT_PRIVATE_KEYS=str(key_file),
    )
    result = run_cli("serve", "--port", "1", env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"authsvc: {key_file}: an RSA key (2048 bits), but AUTHSVC_JWT_ALGORITHM=EdDSA "
        "needs an Ed25519 key"
    ]
    assert not (tmp_path / "x.db").exists()  # refused before migrating anything


@pytest.mark.parametrize("algorithm", ["EdDSA", "RS256"])
def test_a_key_in_the_wrong_encoding_is_never_echoed(
    pems: dict[str, list[str]], tmp_path: Path, algorithm: str
) -> None:
    encoded = base64.b64encode(pems[algorithm][0].encode()).decode()  # not PEM: base64 of it
    env = authsvc_env(
        f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        AUTHSVC_JWT_ALGORITHM=algorithm,
        AUTHSVC_JWT_PRIVATE_KEYS=encoded,
    )

    result = run_cli("serve", "--port", "1", env=env, cwd=tmp_path)

    assert result.returncode == 2
    assert "neither PEM text" in result.stderr
    assert "Traceback" not in result.stderr
    assert encoded[:40] not in result.stderr + result.stdout


def test_production_needs_keys_for_an_asymmetric_algorithm(
    pems: dict[str, list[str]], tmp_path: Path
) -> None:
    with pytest.raises(ValidationError, match="authsvc keys generate --alg ES256"):
        IsolatedSettings(env="production", jwt_algorithm="ES256")
    # With keys, no HS* secret is needed.
    IsolatedSettings(env="production", jwt_algorithm="ES256", jwt_private_keys=pems["ES256"][0])

    env = authsvc_env(
        f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        AUTHSVC_ENV="production",
        AUTHSVC_JWT_ALGORITHM="RS256",
    )
    del env["AUTHSVC_JWT_SECRET"]
    result = run_cli("serve", env=env, cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("authsvc: AUTHSVC_JWT_PRIVATE_KEYS must be set in production")
    assert "authsvc keys generate --alg RS256" in line


# --- development keys ---------------------------------------------------------------


def on_dev_app(url: str, algorithm: str, calls: Callable[[Api], Awaitable[T]]) -> T:
    """Start the app on `url` with no key configured, make some calls, stop it."""

    async def run() -> T:
        settings = make_settings(url, jwt_algorithm=algorithm)
        async with running_app(settings) as app, http_client(app) as client:
            return await calls(Api(client))

    return asyncio.run(run())


def test_development_key_is_generated_once_next_to_the_database_and_reused(
    sqlite_template: Path, tmp_path: Path
) -> None:
    db = tmp_path / "dev.db"
    shutil.copyfile(sqlite_template, db)
    url = f"sqlite+aiosqlite:///{db}"
    key_file = tmp_path / ".authsvc-jwt-key-eddsa.pem"

    async def sign_up(api: Api) -> str:
        token: str = (await api.signed_up())["access_token"]
        return token

    token = on_dev_app(url, "EdDSA", sign_up)
    pem = key_file.read_text()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert header(token)["kid"] == kid_of(pem, "EdDSA")

    async def me(api: Api) -> int:
        return (await api.me(token)).status_code

    assert on_dev_app(url, "EdDSA", me) == 200  # restarted: the same key
    assert key_file.read_text() == pem

    # Another algorithm gets its own file, never the EdDSA key; the old tokens stop working.
    async def switched(api: Api) -> tuple[int, str]:
        login = await api.login("alice@example.com")
        return (await api.me(token)).status_code, login.json()["access_token"]

    status, es_token = on_dev_app(url, "ES256", switched)
    assert status == 401
    assert header(es_token)["alg"] == "ES256"
    assert sorted(p.name for p in tmp_path.glob(".authsvc-jwt-key-*")) == [
        ".authsvc-jwt-key-eddsa.pem",
        ".authsvc-jwt-key-es256.pem",
    ]
