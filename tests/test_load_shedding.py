"""Load shedding: a full hash queue answers 503 at once; routes that hash nothing go on.

One hash worker, room for one waiting hash, and a real bcrypt cost (12, a few hundred
ms a hash) so that a flood of logins fills the queue for certain.
"""

from __future__ import annotations

import asyncio

from authsvc.security.passwords import PasswordHasher
from tests.support.app import AppWith
from tests.support.settings import PASSWORD

FLOOD = 8


async def until_saturated(hasher: PasswordHasher) -> None:
    async with asyncio.timeout(10):
        # The hasher has no event to wait on; polling it is what a test can do.
        while not (hasher.busy == 1 and hasher.waiting == 1):  # noqa: ASYNC110
            await asyncio.sleep(0.002)


async def test_a_full_hash_queue_sheds_logins_while_other_routes_answer(
    app_with: AppWith,
) -> None:
    async with app_with(hash_workers=1, hash_queue_limit=1, bcrypt_rounds=12) as (app, api):
        tokens = await api.signed_up("alice@example.com")
        hasher: PasswordHasher = app.state.runtime.hasher
        hashes_before = hasher.hashes_run

        flood = [asyncio.create_task(api.login("alice@example.com")) for _ in range(FLOOD)]
        await until_saturated(hasher)
        me = await api.me(tokens["access_token"])
        refreshed = await api.refresh(tokens["refresh_token"])
        registration = await api.register("bob@example.com")
        still_saturated = hasher.busy == 1
        results = await asyncio.gather(*flood)

    assert still_saturated, "the checks above must have run while a hash was running"
    assert me.status_code == 200
    assert refreshed.status_code == 200
    assert registration.status_code == 503
    assert registration.json() == {
        "detail": "The server is busy checking other passwords; retry shortly",
        "code": "overloaded",
    }
    assert int(registration.headers["Retry-After"]) >= 1

    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 200] + [503] * (FLOOD - 2)  # one hashing, one waiting
    for shed in (r for r in results if r.status_code == 503):
        assert shed.json() == {
            "error": "temporarily_unavailable",
            "error_description": "The server is busy checking other passwords; retry shortly",
        }
        assert int(shed.headers["Retry-After"]) >= 1
    assert hasher.hashes_run == hashes_before + 2, "shed requests must not hash"


async def test_without_a_flood_nothing_is_shed(app_with: AppWith) -> None:
    async with app_with(hash_workers=1, hash_queue_limit=0) as (_app, api):
        await api.signed_up("alice@example.com")
        for _ in range(3):  # one at a time: never a queue, so never shed
            assert (await api.login("alice@example.com", PASSWORD)).status_code == 200
