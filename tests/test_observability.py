"""Request ids, Prometheus metrics and logs: what an operator sees, and what it must never see."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Receive, Scope, Send

from authsvc.middleware import RequestContextMiddleware
from tests.support.app import Api, AppWith
from tests.support.processes import authsvc_env, serve_process
from tests.support.settings import PASSWORD, TEST_SECRET


async def test_request_id_is_echoed_or_generated(api: Api) -> None:
    given = await api.client.get("/healthz", headers={"X-Request-ID": "trace-42.a_b:c"})
    generated = await api.client.get("/healthz")
    unsafe = await api.client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})

    assert given.headers["x-request-id"] == "trace-42.a_b:c"
    assert len(generated.headers["x-request-id"]) == 32
    assert unsafe.headers["x-request-id"] not in ("bad id\twith spaces", "")


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_requests_logins_refreshes_and_reuse(app_with: AppWith) -> None:
    async with app_with(refresh_reuse_grace_seconds=0) as (_app, api):
        tokens = await api.signed_up()
        await api.login("alice@example.com", "wrong password")
        await api.me(tokens["access_token"])
        await api.refresh(tokens["refresh_token"])
        await api.refresh(tokens["refresh_token"])  # reuse: session revoked

        response = await api.client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values = samples(response.text)
    me = frozenset({("method", "GET"), ("route", "/users/me"), ("status", "200")})
    assert values[("authsvc_http_requests_total", me)] == 1
    token_400 = frozenset({("method", "POST"), ("route", "/auth/token"), ("status", "400")})
    assert values[("authsvc_http_requests_total", token_400)] == 2
    latency = frozenset({("method", "GET"), ("route", "/users/me")})
    assert values[("authsvc_http_request_duration_seconds_count", latency)] == 1
    assert values[("authsvc_logins_total", frozenset({("result", "success")}))] == 1
    assert values[("authsvc_logins_total", frozenset({("result", "failure")}))] == 1
    assert values[("authsvc_token_refreshes_total", frozenset())] == 1
    assert values[("authsvc_refresh_reuse_detected_total", frozenset())] == 1
    assert values[("authsvc_password_hash_workers_active", frozenset())] == 0


async def test_unmatched_paths_do_not_become_metric_labels(api: Api) -> None:
    await api.client.get("/no/such/path/12345")
    text = (await api.client.get("/metrics")).text
    assert "12345" not in text
    assert 'route="unmatched"' in text


async def test_metrics_can_be_turned_off(app_with: AppWith) -> None:
    async with app_with(metrics_enabled=False) as (_app, api):
        assert (await api.client.get("/metrics")).status_code == 404


def test_logs_are_json_and_never_hold_passwords_tokens_or_secrets(
    empty_db: str, tmp_path: Path
) -> None:
    """A full register / login / refresh / reuse run against a production-mode process at DEBUG."""
    log_file = tmp_path / "authsvc.log"
    env = authsvc_env(empty_db, AUTHSVC_ENV="production", AUTHSVC_REFRESH_REUSE_GRACE_SECONDS="0")
    secrets_seen: list[str] = [PASSWORD, "wrong password here", TEST_SECRET]

    with (
        serve_process(env, "--log-level", "debug", log_file=log_file) as (base_url, _),
        httpx.Client(base_url=base_url) as http,
    ):
        email = "logs@example.com"
        http.post("/auth/register", json={"email": email, "password": PASSWORD})
        http.post("/auth/token", data={"username": email, "password": "wrong password here"})
        tokens = http.post("/auth/token", data={"username": email, "password": PASSWORD}).json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}", "X-Request-ID": "req-me-1"}
        assert http.get("/users/me", headers=bearer).status_code == 200
        rotated = http.post(
            "/auth/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        ).json()
        http.post(
            "/auth/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )
        secrets_seen += [tokens["access_token"], tokens["refresh_token"]]
        secrets_seen += [rotated["access_token"], rotated["refresh_token"]]

    text = log_file.read_text()
    for secret in secrets_seen:
        assert secret not in text
    assert "$bcrypt" not in text  # nor a password hash

    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    for entry in entries:
        assert {"timestamp", "level", "logger", "event"} <= set(entry)
    requests = [e for e in entries if e["event"] == "request"]
    me = next(e for e in requests if e["route"] == "/users/me")
    assert me["request_id"] == "req-me-1"
    assert me["status"] == 200
    assert me["duration_ms"] >= 0
    assert me["user_id"]
    events = {e["event"] for e in entries}
    assert {"register", "login", "login_failed", "refresh", "refresh_reuse"} <= events
    failed = next(e for e in entries if e["event"] == "login_failed")
    assert failed["client_ip"] == "127.0.0.1"
    assert failed["reason"]


def test_metrics_sum_over_worker_processes(empty_db: str) -> None:
    healthz = (
        "authsvc_http_requests_total",
        frozenset({("method", "GET"), ("route", "/healthz"), ("status", "200")}),
    )
    with (
        serve_process(authsvc_env(empty_db), "--workers", "2") as (base_url, _),
        httpx.Client(base_url=base_url) as http,
    ):
        before = samples(http.get("/metrics").text)[healthz]
        for _ in range(20):  # the kernel spreads the connections over both workers
            with httpx.Client(base_url=base_url) as fresh_connection:
                assert fresh_connection.get("/healthz").status_code == 200
        after = samples(http.get("/metrics").text)[healthz]
    assert after - before == 20


async def test_an_unexpected_error_is_a_json_500_with_request_id_and_headers() -> None:
    """Answered inside our middleware, not by Starlette's outermost handler, so a 500
    carries the request id and the security headers like every other response."""

    async def broken_app(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("a bug")

    app = RequestContextMiddleware(broken_app, metrics=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/anything", headers={"X-Request-ID": "req-500"})

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error", "code": "internal_error"}
    assert response.headers["x-request-id"] == "req-500"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
