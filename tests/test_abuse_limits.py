"""The login limits under concurrency: every checked attempt is counted before its hash.

Every test runs with the in-memory counters and with Redis (and on each database). The
limits are per hour, so nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.support.settings import PASSWORD
from tests.support.throttling import SiteFactory, site_factory

LIMITS = {
    "login_limit_account_ip": "3/hour",
    "login_limit_ip": "6/hour",
    "login_limit_account": "11/hour",
    "register_limit_ip": "100/hour",
    "hash_queue_limit": 100,  # a burst is never shed: every request meets the throttle
}
ATTACKER = "198.51.100.66"
OWNER = "192.0.2.10"
WRONG = "not the password"


@pytest.fixture
def site(database_url: str, storage: dict[str, str]) -> SiteFactory:
    """`async with site(**settings) as s`: the app with small limits, reachable from any IP."""
    return site_factory(database_url, {**LIMITS, **storage})


def statuses(responses: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


def assert_throttled(response: httpx.Response, limit: str) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "slow_down"
    assert limit in response.json()["error_description"]
    assert 1 <= int(response.headers["Retry-After"]) <= 3600


async def test_a_burst_from_one_address_cannot_overshoot_the_per_address_limit(
    site: SiteFactory,
) -> None:
    """4 of 6 used, then 16 concurrent guesses at 16 accounts: 2 are checked, not 16."""
    async with site() as s:
        attacker = s.peer(ATTACKER)
        for i in range(4):
            assert (await attacker.login(f"user{i}@example.com", WRONG)).status_code == 400

        before = s.hashes_run
        burst = await asyncio.gather(
            *(attacker.login(f"burst{i}@example.com", WRONG) for i in range(16))
        )

        assert statuses(burst) == [400] * 2 + [429] * 14
        assert s.hashes_run - before == 2, "only the checked guesses may cost a hash"
        assert_throttled(await attacker.login("late@example.com", WRONG), "from this address")


async def test_a_burst_from_many_addresses_cannot_overshoot_the_per_account_limit(
    site: SiteFactory,
) -> None:
    """30 concurrent guesses at one account from 30 addresses (behind a trusted proxy)."""
    async with site(trusted_proxies="10.0.0.0/8") as s:
        assert (await s.via_proxy(OWNER).register("alice@example.com")).status_code == 201

        before = s.hashes_run
        burst = await asyncio.gather(
            *(s.via_proxy(f"203.0.113.{n}").login("alice@example.com", WRONG) for n in range(30))
        )

        assert statuses(burst) == [400] * 11 + [429] * 19
        assert s.hashes_run - before == 11
        stranger = await s.via_proxy("203.0.113.200").login("alice@example.com", PASSWORD)
        assert_throttled(stranger, "for this account")


async def test_a_large_burst_is_throttled_not_let_through_for_want_of_connections(
    site: SiteFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A storage failure lets logins through (fail open), so a burst must never cause one:
    with redis-py's default pool, a few dozen concurrent logins ran out of connections."""
    async with site() as s:
        attacker = s.peer(ATTACKER)
        burst = await asyncio.gather(
            *(attacker.login(f"u{i}@example.com", WRONG) for i in range(150))
        )

        assert statuses(burst) == [400] * 6 + [429] * 144
    # No call waited in vain for a connection. A read timing out is another matter: on a
    # loaded machine the burst can starve this process's event loop past Redis's 0.5 s.
    failures = [r for r in caplog.records if getattr(r, "event", "") == "throttle_unavailable"]
    assert all(getattr(r, "reason", "") == "TimeoutError" for r in failures), failures


async def test_bursts_after_the_window_is_full_are_all_refused_and_cost_nothing(
    site: SiteFactory,
) -> None:
    async with site() as s:
        attacker = s.peer(ATTACKER)
        for _round in range(3):
            burst = await asyncio.gather(
                *(attacker.login(f"u{i}@example.com", WRONG) for i in range(8))
            )
            assert all(r.status_code in (400, 429) for r in burst)
        before = s.hashes_run
        burst = await asyncio.gather(
            *(attacker.login(f"v{i}@example.com", WRONG) for i in range(8))
        )
        assert statuses(burst) == [429] * 8
        assert s.hashes_run == before


async def test_successful_logins_count_against_the_per_address_limit(site: SiteFactory) -> None:
    """Every checked attempt counts, a success too (see the README): `limits` cannot take
    one attempt back out of a moving window, and clearing the whole counter on a success
    would let an attacker reset it by logging in to an account of their own."""
    async with site() as s:
        attacker = s.peer(ATTACKER)
        assert (await attacker.register("mallory@example.com")).status_code == 201
        for i in range(5):
            assert (await attacker.login(f"victim{i}@example.com", WRONG)).status_code == 400
        assert (await attacker.login("mallory@example.com")).status_code == 200  # the 6th

        assert_throttled(await attacker.login("victim@example.com", WRONG), "from this address")
        assert_throttled(await attacker.login("mallory@example.com"), "from this address")
        assert (await s.peer(OWNER).login("mallory@example.com")).status_code == 200


async def test_a_throttled_attempt_counts_against_no_other_limit(site: SiteFactory) -> None:
    async with site() as s:
        attacker = s.peer(ATTACKER)
        for _ in range(3):
            assert (await attacker.login("alice@example.com", WRONG)).status_code == 400
        for _ in range(10):  # refused by the (account, address) limit: counted nowhere
            assert_throttled(await attacker.login("alice@example.com", WRONG), "this address")

        for _ in range(3):  # so 3 of the 6 per-address attempts are left
            assert (await attacker.login("bob@example.com", WRONG)).status_code == 400
        assert_throttled(await attacker.login("carol@example.com", WRONG), "from this address")


async def test_the_owner_is_not_locked_out_by_a_distributed_burst(site: SiteFactory) -> None:
    async with site(trusted_proxies="10.0.0.0/8") as s:
        owner = s.via_proxy(OWNER)
        assert (await owner.register("alice@example.com")).status_code == 201
        assert (await owner.login("alice@example.com")).status_code == 200  # a known address

        burst = await asyncio.gather(
            *(s.via_proxy(f"203.0.113.{n}").login("alice@example.com", WRONG) for n in range(40))
        )

        assert statuses(burst) == [400] * 10 + [429] * 30  # the owner's login was the 11th
        assert (await owner.login("alice@example.com")).status_code == 200


async def test_the_owners_known_address_is_their_ipv6_64_network(site: SiteFactory) -> None:
    """The counters group IPv6 clients by /64; so does the owner's exemption."""
    async with site() as s:
        home = s.peer("2001:db8:1:2::aaaa")
        assert (await home.register("alice@example.com")).status_code == 201
        assert (await home.login("alice@example.com")).status_code == 200
        for n in range(4):  # a botnet uses up the per-account limit
            bot = s.peer(f"203.0.113.{100 + n}")
            for _ in range(3):
                await bot.login("alice@example.com", WRONG)

        # The same subscriber's next privacy address, and the long form of one.
        assert (await s.peer("2001:db8:1:2::bbbb").login("alice@example.com")).status_code == 200
        same_64 = "2001:0db8:0001:0002:ffff:0000:0000:0001"
        assert (await s.peer(same_64).login("alice@example.com")).status_code == 200
        elsewhere = await s.peer("2001:db8:1:3::aaaa").login("alice@example.com")
        assert_throttled(elsewhere, "for this account")
