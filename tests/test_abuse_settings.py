"""Settings that must not leave production open: a guessable JWT secret, public /metrics."""

from __future__ import annotations

import logging
import secrets
import subprocess
import sys

import pytest
from pydantic import ValidationError

from authsvc.config import resolve_jwt_secret
from tests.conftest import TEST_SECRET, IsolatedSettings, authsvc_env, free_port

GENERATE = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"

WEAK_SECRETS = [
    "a" * 32,
    "0" * 32,
    "a" * 31 + "b",
    "changeme" * 4,
    "change-me-" * 4,  # .env.example's placeholder, made long enough
    "secret" * 6,
    "0123456789abcdef" * 2,
    "abc" * 20,
    "abcdefghijklmnopqrstuvwxyz012345",
    "my-super-secret-jwt-key-for-production-2024",
    "replace this with a long random string please",
]
STRONG_SECRETS = [
    secrets.token_urlsafe(48),
    secrets.token_urlsafe(24),
    secrets.token_hex(32),
    secrets.token_hex(16),
    TEST_SECRET,
]


@pytest.mark.parametrize("secret", WEAK_SECRETS)
def test_production_refuses_a_secret_with_obviously_low_entropy(secret: str) -> None:
    with pytest.raises(ValidationError) as caught:
        IsolatedSettings(env="production", jwt_secret=secret)

    (error,) = caught.value.errors()
    message = str(error["msg"])
    assert "AUTHSVC_JWT_SECRET" in message
    assert GENERATE in message
    assert "\n" not in message
    assert secret not in message


@pytest.mark.parametrize("secret", STRONG_SECRETS)
def test_production_accepts_a_generated_secret(secret: str) -> None:
    assert IsolatedSettings(env="production", jwt_secret=secret).jwt_secret is not None


@pytest.mark.parametrize("secret", WEAK_SECRETS[:3])
def test_development_only_warns_about_a_weak_secret(
    secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="authsvc")

    assert resolve_jwt_secret(IsolatedSettings(jwt_secret=secret)) == secret

    (record,) = [r for r in caplog.records if "AUTHSVC_JWT_SECRET" in r.getMessage()]
    assert "production refuses" in record.getMessage()
    assert GENERATE in record.getMessage()
    assert secret not in record.getMessage()


def test_authsvc_serve_in_production_with_32_zeros_stops_with_one_line(empty_db: str) -> None:
    env = authsvc_env(empty_db, AUTHSVC_ENV="production", AUTHSVC_JWT_SECRET="0" * 32)

    result = subprocess.run(
        [sys.executable, "-m", "authsvc", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,  # it would serve (and be killed then) if it started
        check=False,
    )

    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("authsvc: AUTHSVC_JWT_SECRET")
    assert GENERATE in line
