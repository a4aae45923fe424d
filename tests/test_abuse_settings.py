"""Settings that must not leave production open: a guessable JWT secret, public /metrics."""

from __future__ import annotations

import logging
import secrets
import subprocess
import sys

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from authsvc.config import resolve_jwt_secret
from tests.support.app import AppWith
from tests.support.processes import authsvc_env, free_port
from tests.support.settings import TEST_SECRET, IsolatedSettings

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
# Made when the test runs (not at collection, where each xdist worker would differ).
STRONG_SECRETS = {
    "token_urlsafe(48)": lambda: secrets.token_urlsafe(48),
    "token_urlsafe(24)": lambda: secrets.token_urlsafe(24),
    "token_hex(32)": lambda: secrets.token_hex(32),
    "token_hex(16)": lambda: secrets.token_hex(16),
    "the tests' secret": lambda: TEST_SECRET,
}


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


@pytest.mark.parametrize("kind", STRONG_SECRETS)
def test_production_accepts_a_generated_secret(kind: str) -> None:
    secret = STRONG_SECRETS[kind]()
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


# --- who may read /metrics ----------------------------------------------------------


async def get_metrics(app: FastAPI, peer: str, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get("/metrics", headers=headers)


async def test_production_serves_metrics_only_to_loopback_by_default(app_with: AppWith) -> None:
    async with app_with(env="production") as (app, _api):
        public = await get_metrics(app, "203.0.113.7")
        private = await get_metrics(app, "10.1.2.3")  # a NATed client can look private
        local = await get_metrics(app, "127.0.0.1")
        local6 = await get_metrics(app, "::1")

    for refused in (public, private):
        assert refused.status_code == 403
        assert "AUTHSVC_METRICS_ALLOWED_NETWORKS" in refused.json()["detail"]
        assert "authsvc_" not in refused.text
    for allowed in (local, local6):
        assert allowed.status_code == 200
        assert "authsvc_http_requests_total" in allowed.text


async def test_development_serves_metrics_to_anyone_by_default(app_with: AppWith) -> None:
    async with app_with() as (app, _api):
        assert (await get_metrics(app, "203.0.113.7")).status_code == 200


async def test_the_allowed_networks_are_a_setting_checked_against_the_real_client(
    app_with: AppWith,
) -> None:
    """Behind a trusted proxy the client it reports counts, not the proxy's own address."""
    settings = {
        "env": "production",
        "metrics_allowed_networks": "10.0.0.0/8, 2001:db8::/32",
        "trusted_proxies": "10.0.0.2",
    }
    async with app_with(**settings) as (app, _api):
        scraper = await get_metrics(app, "10.9.8.7")
        scraper6 = await get_metrics(app, "2001:db8::5")
        outsider = await get_metrics(app, "192.168.1.1")
        local = await get_metrics(app, "127.0.0.1")
        via_proxy = await get_metrics(app, "10.0.0.2", **{"X-Forwarded-For": "198.51.100.1"})
        scraper_via_proxy = await get_metrics(app, "10.0.0.2", **{"X-Forwarded-For": "10.3.3.3"})

    assert [scraper.status_code, scraper6.status_code, scraper_via_proxy.status_code] == [200] * 3
    assert [outsider.status_code, local.status_code, via_proxy.status_code] == [403] * 3


def test_the_allowed_networks_are_read_from_the_environment_like_trusted_proxies() -> None:
    settings = IsolatedSettings(
        env="production", jwt_secret=TEST_SECRET, metrics_allowed_networks="127.0.0.1, ::1,"
    )
    assert [str(n) for n in settings.metrics_networks or []] == ["127.0.0.1/32", "::1/128"]


async def test_docs_stay_on_in_production_unless_turned_off(app_with: AppWith) -> None:
    """A decision (see the README): the docs describe only the public API."""
    async with app_with(env="production") as (_app, api):
        assert (await api.client.get("/docs")).status_code == 200
    async with app_with(env="production", docs_enabled=False) as (_app, api):
        assert (await api.client.get("/docs")).status_code == 404
