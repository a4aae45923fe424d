"""Login and registration throttling: per (account, address), per address, per account.

Every test runs with the in-memory counters and with Redis (and on each database).
Small limits keep them fast: 3 failures per (account, address), 6 per address, 10 per
account, 3 registrations per address, all per hour.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.support.app import Api, running_app
from tests.support.processes import authsvc_env, serve
from tests.support.settings import PASSWORD, make_settings
from tests.support.throttling import Site, site_factory

LIMITS = {
    "login_limit_account_ip": "3/hour",
    "login_limit_ip": "6/hour",
    "login_limit_account": "10/hour",
    "register_limit_ip": "3/hour",
}
ATTACKER = "198.51.100.66"
OWNER = "192.0.2.10"
WRONG = "not the password"


@pytest.fixture
def site(
    database_url: str, storage: dict[str, str]
) -> Callable[..., AbstractAsyncContextManager[Site]]:
    """`async with site(**settings) as s`: the app with small limits, reachable from any IP."""
    return site_factory(database_url, {**LIMITS, **storage})


def assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["error"] == "slow_down"
    assert "Too many" in body["error_description"]
    assert "login" in body["error_description"]
    assert 1 <= int(response.headers["Retry-After"]) <= 3600


async def test_pair_limit_answers_429_with_retry_after_before_any_hashing(
    site: Callable[..., AbstractAsyncContextManager[Site]],
) -> None:
    async with site() as s:
        attacker = s.peer(ATTACKER)
        assert (await attacker.register("alice@example.com")).status_code == 201
        for _ in range(3):
            assert (await attacker.login("alice@example.com", WRONG)).status_code == 400

        before = s.hashes_run
        response = await attacker.login("alice@example.com", PASSWORD)  # even the right one

        assert_throttled(response)
        assert "for this account from this address" in response.json()["error_description"]
        assert s.hashes_run == before, "a throttled login must not hash anything"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_burst_of_concurrent_guesses_cannot_overshoot_the_pair_limit(
    site: Callable[..., AbstractAsyncContextManager[Site]],
) -> None:
    """Counted before the password is checked, so parallel guesses cannot all slip past
    the check, and one address cannot push the per-account count to a lockout."""
    async with site(hash_queue_limit=100) as s:
        attacker, owner = s.peer(ATTACKER), s.peer(OWNER)
        assert (await attacker.register("alice@example.com")).status_code == 201

        burst = await asyncio.gather(
            *(attacker.login("alice@example.com", WRONG) for _ in range(30))
        )

        statuses = sorted(r.status_code for r in burst)
        assert statuses == [400] * 3 + [429] * 27
        assert (await owner.login("alice@example.com")).status_code == 200


async def test_a_successful_login_resets_the_pair(
    site: Callable[..., AbstractAsyncContextManager[Site]],
) -> None:
    async with site() as s:
        owner = s.peer(OWNER)
        await owner.register("alice@example.com")
        for _ in range(2):
            assert (await owner.login("alice@example.com", WRONG)).status_code == 400
        assert (await owner.login("alice@example.com")).status_code == 200

        for _ in range(3):  # a fresh allowance of 3 failures
            assert (await owner.login("alice@example.com", WRONG)).status_code == 400
        assert_throttled(await owner.login("alice@example.com", WRONG))


async def test_the_owner_logs_in_from_another_address_while_one_is_throttled(
    site: Callable[..., AbstractAsyncContextManager[Site]],
) -> None:
    async with site() as s:
        attacker, owner = s.peer(ATTACKER), s.peer(OWNER)
        await owner.register("alice@example.com")
        for _ in range(3):
            await attacker.login("alice@example.com", WRONG)
        assert_throttled(await attacker.login("alice@example.com", PASSWORD))

        assert (await owner.login("alice@example.com")).status_code == 200


async def test_unknown_accounts_count_too_so_spraying_from_one_address_is_limited(
    site: Callable[..., AbstractAsyncContextManager[Site]],
) -> None:
    async with site() as s:
        attacker = s.peer(ATTACKER)
        await s.peer(OWNER).register("alice@example.com")
        for i in range(6):  # one guess each at six accounts, none of which exist
            assert (await attacker.login(f"user{i}@example.com", WRONG)).status_code == 400

        response = await attacker.login("alice@example.com", PASSWORD)

        assert_throttled(response)
        assert "from this address" in response.json()["error_description"]
        assert (await s.peer(OWNER).login("alice@example.com")).status_code == 200


async def test_many_addresses_trip_the_account_limit_but_not_for_the_owners_usual_address(
    site: Callable[..., AbstractAsyncContextManager[Site]],
) -> None:
    async with site() as s:
        owner = s.peer(OWNER)
        await owner.register("alice@example.com")
        assert (await owner.login("alice@example.com")).status_code == 200  # a known address
        for n in range(4):  # a botnet: 4 addresses, 3 guesses each, 10 reach the limit
            bot = s.peer(f"203.0.113.{100 + n}")
            for _ in range(3):
                await bot.login("alice@example.com", WRONG)

        before = s.hashes_run
        stranger = await s.peer("203.0.113.200").login("alice@example.com", PASSWORD)
        assert_throttled(stranger)
        assert "for this account" in stranger.json()["error_description"]
        assert s.hashes_run == before

        assert (await owner.login("alice@example.com")).status_code == 200


async def test_a_forged_x_forwarded_for_from_an_untrusted_peer_is_ignored(
    site: Callable[..., AbstractAsyncContextManager[Site]],
) -> None:
    async with site() as s:
        await s.peer(OWNER).register("alice@example.com")
        for n in range(3):  # a new made-up address every time
            forged = s.peer(ATTACKER, **{"X-Forwarded-For": f"192.0.2.{50 + n}"})
            assert (await forged.login("alice@example.com", WRONG)).status_code == 400

        forged = s.peer(ATTACKER, **{"X-Forwarded-For": "192.0.2.99"})
        assert_throttled(await forged.login("alice@example.com", PASSWORD))

        # The session records the peer, not what the header claimed.
        ok = s.peer(OWNER, **{"X-Forwarded-For": "192.0.2.77"})
        assert (await ok.login("alice@example.com")).status_code == 200
        assert await session_ips(s.app) == [OWNER]


async def test_a_trusted_proxy_reports_the_client_address(
    site: Callable[..., AbstractAsyncContextManager[Site]],
) -> None:
    async with site(trusted_proxies="10.0.0.0/8") as s:
        proxy = "10.0.0.2"
        await s.peer(proxy, **{"X-Forwarded-For": OWNER}).register("alice@example.com")
        # What the client wrote itself (the forged first entry) is not believed; the
        # address the outer proxy saw (appended by it, after a second trusted hop) is.
        via = f"6.6.6.6, {ATTACKER}, 10.9.9.9"
        for _ in range(3):
            attacker = s.peer(proxy, **{"X-Forwarded-For": via})
            await attacker.login("alice@example.com", WRONG)
        assert_throttled(await attacker.login("alice@example.com", PASSWORD))

        owner = s.peer(proxy, **{"X-Forwarded-For": OWNER})
        assert (await owner.login("alice@example.com")).status_code == 200
        assert await session_ips(s.app) == [OWNER]


async def test_ipv6_clients_are_counted_per_64_network(
    site: Callable[..., AbstractAsyncContextManager[Site]],
) -> None:
    async with site() as s:
        await s.peer(OWNER).register("alice@example.com")
        for n in range(3):  # a new address for every guess, all in one /64
            bot = s.peer(f"2001:db8:1:2::{n + 1:x}")
            assert (await bot.login("alice@example.com", WRONG)).status_code == 400

        assert_throttled(await s.peer("2001:db8:1:2:ffff::9").login("alice@example.com"))
        assert (await s.peer("2001:db8:1:3::1").login("alice@example.com")).status_code == 200


async def test_ipv4_clients_on_a_dual_stack_socket_are_counted_apart(
    site: Callable[..., AbstractAsyncContextManager[Site]],
) -> None:
    """A server listening on "::" sees IPv4 peers as ::ffff:a.b.c.d: not one shared /64."""
    async with site() as s:
        await s.peer(OWNER).register("alice@example.com")
        for _ in range(3):
            attacker = s.peer(f"::ffff:{ATTACKER}")
            assert (await attacker.login("alice@example.com", WRONG)).status_code == 400

        assert_throttled(await s.peer(ATTACKER).login("alice@example.com"))  # same client
        assert (await s.peer(f"::ffff:{OWNER}").login("alice@example.com")).status_code == 200


async def test_registration_is_limited_per_address_before_hashing(
    site: Callable[..., AbstractAsyncContextManager[Site]],
) -> None:
    async with site() as s:
        harvester = s.peer(ATTACKER)
        statuses = [(await harvester.register(f"u{i}@example.com")).status_code for i in range(3)]
        assert statuses == [201, 201, 201]

        before = s.hashes_run
        response = await harvester.register("alice@example.com")

        assert response.status_code == 429
        assert "registrations from this address" in response.json()["detail"]
        assert 1 <= int(response.headers["Retry-After"]) <= 3600
        assert s.hashes_run == before
        assert (await s.peer(OWNER).register("alice@example.com")).status_code == 201


async def test_throttling_decisions_are_audited_without_secrets(
    site: Callable[..., AbstractAsyncContextManager[Site]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="authsvc.audit")
    async with site() as s:
        attacker = s.peer(ATTACKER)
        await attacker.register("alice@example.com")
        for _ in range(4):
            await attacker.login("alice@example.com", WRONG)

    events = [r for r in caplog.records if r.name == "authsvc.audit"]
    failed = [r for r in events if getattr(r, "event", None) == "login_failed"]
    throttled = [r for r in events if getattr(r, "event", None) == "login_throttled"]
    assert len(failed) == 3
    assert all(r.client_ip == ATTACKER and r.user_id for r in failed)  # type: ignore[attr-defined]
    (record,) = throttled
    assert record.client_ip == ATTACKER  # type: ignore[attr-defined]
    assert record.reason == "login-account-ip"  # type: ignore[attr-defined]
    for r in events:
        rendered = repr(vars(r))
        assert WRONG not in rendered
        assert PASSWORD not in rendered


async def test_logins_go_on_when_redis_is_down(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The throttle failing must not become an outage of logins: they pass, it is logged."""
    dead = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings = make_settings(database_url, **LIMITS, redis_url=dead)
    async with running_app(settings) as app:
        transport = httpx.ASGITransport(app=app, client=(OWNER, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            api = Api(client)
            assert (await api.register("alice@example.com")).status_code == 201
            for _ in range(4):
                assert (await api.login("alice@example.com", WRONG)).status_code == 400
            assert (await api.login("alice@example.com")).status_code == 200
    assert any(getattr(r, "event", None) == "throttle_unavailable" for r in caplog.records)


def test_two_server_processes_sharing_redis_share_the_counters(
    redis_url: str, tmp_path: Path
) -> None:
    env = authsvc_env(
        f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}",
        AUTHSVC_REDIS_URL=redis_url,
        AUTHSVC_THROTTLE_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
        **{f"AUTHSVC_{name.upper()}": value for name, value in LIMITS.items()},
    )
    with serve(env) as first, serve(env, "--no-migrate") as second:
        assert first != second
        body = {"email": "alice@example.com", "password": PASSWORD}
        assert httpx.post(f"{first}/auth/register", json=body).status_code == 201

        def login(base_url: str, password: str) -> httpx.Response:
            data = {"username": "alice@example.com", "password": password}
            return httpx.post(f"{base_url}/auth/token", data=data)

        assert [login(url, WRONG).status_code for url in (first, second, first)] == [400] * 3
        assert_throttled(login(second, PASSWORD))  # the second saw only one failure itself
        assert_throttled(login(first, PASSWORD))


async def session_ips(app: FastAPI) -> list[str]:
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(text("SELECT client_ip FROM sessions"))
        return [row[0] for row in rows]
