"""The refresh_token grant: single-use rotation, reuse detection, and the grace interval."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from tests.support.app import Api, AppWith, execute


async def test_refresh_returns_a_new_pair_and_keeps_the_session(api: Api) -> None:
    tokens = await api.signed_up()

    response = await api.refresh(tokens["refresh_token"])

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    new = response.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert new["access_token"] != tokens["access_token"]
    assert new["scope"] == "user"
    assert (await api.me(new["access_token"])).status_code == 200
    assert (await api.me(tokens["access_token"])).status_code == 200  # same live session


async def test_rotation_chain_keeps_working(api: Api) -> None:
    refresh_token = (await api.signed_up())["refresh_token"]
    for _ in range(5):
        response = await api.refresh(refresh_token)
        assert response.status_code == 200
        refresh_token = response.json()["refresh_token"]


async def test_reused_refresh_token_revokes_session(app_with: AppWith) -> None:
    async with app_with(refresh_reuse_grace_seconds=1) as (_app, api):
        first = await api.signed_up()
        second = (await api.refresh(first["refresh_token"])).json()
        await asyncio.sleep(1.2)  # past the grace interval

        reuse = await api.refresh(first["refresh_token"])

        assert reuse.status_code == 400
        assert reuse.json()["error"] == "invalid_grant"
        # The whole session is gone: the newer refresh token and every access token.
        assert (await api.refresh(second["refresh_token"])).json()["error"] == "invalid_grant"
        assert (await api.me(second["access_token"])).status_code == 401
        assert (await api.me(first["access_token"])).status_code == 401


async def test_reuse_revokes_only_that_session(app_with: AppWith) -> None:
    async with app_with(refresh_reuse_grace_seconds=0) as (_app, api):
        stolen = await api.signed_up()
        other_device = (await api.login("alice@example.com")).json()
        await api.refresh(stolen["refresh_token"])

        assert (await api.refresh(stolen["refresh_token"])).status_code == 400

        assert (await api.me(other_device["access_token"])).status_code == 200
        assert (await api.refresh(other_device["refresh_token"])).status_code == 200


async def test_retry_within_grace_interval_succeeds_without_revoking(api: Api) -> None:
    tokens = await api.signed_up()

    first = await api.refresh(tokens["refresh_token"])
    retry = await api.refresh(tokens["refresh_token"])

    assert first.status_code == retry.status_code == 200
    for pair in (first.json(), retry.json()):
        assert (await api.me(pair["access_token"])).status_code == 200
        assert (await api.refresh(pair["refresh_token"])).status_code == 200


async def test_concurrent_refreshes_with_one_token_both_succeed(api: Api) -> None:
    tokens = await api.signed_up()

    responses = await asyncio.gather(*(api.refresh(tokens["refresh_token"]) for _ in range(2)))

    assert [r.status_code for r in responses] == [200, 200]
    for response in responses:
        assert (await api.me(response.json()["access_token"])).status_code == 200
    assert (await api.me(tokens["access_token"])).status_code == 200  # session alive


async def test_strict_mode_lets_one_of_two_concurrent_refreshes_spend_the_token(
    app_with: AppWith,
) -> None:
    """No grace interval: exactly one of two simultaneous uses wins; the other is reuse."""
    async with app_with(refresh_reuse_grace_seconds=0) as (_app, api):
        await api.register("alice@example.com")
        for _ in range(8):  # a race: repeated, so a pass is not luck
            tokens = (await api.login("alice@example.com")).json()

            responses = await asyncio.gather(
                *(api.refresh(tokens["refresh_token"]) for _ in range(2))
            )

            assert sorted(r.status_code for r in responses) == [200, 400]
            (won,) = (r.json() for r in responses if r.status_code == 200)
            assert (await api.me(won["access_token"])).status_code == 401  # session ended


async def test_unknown_refresh_token_is_invalid_grant(api: Api) -> None:
    response = await api.refresh("not-a-token-we-issued")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_access_token_is_not_a_refresh_token(api: Api) -> None:
    tokens = await api.signed_up()
    response = await api.refresh(tokens["access_token"])
    assert response.json()["error"] == "invalid_grant"
    assert (await api.refresh(tokens["refresh_token"])).status_code == 200


async def test_expired_refresh_token_is_invalid_grant(api: Api, app: FastAPI) -> None:
    tokens = await api.signed_up()
    await execute(app, "UPDATE refresh_tokens SET expires_at = created_at")

    assert (await api.refresh(tokens["refresh_token"])).json()["error"] == "invalid_grant"


async def test_disabled_user_cannot_refresh(api: Api, app: FastAPI) -> None:
    tokens = await api.signed_up()
    await execute(app, "UPDATE users SET is_active = false")

    assert (await api.refresh(tokens["refresh_token"])).json()["error"] == "invalid_grant"


async def test_refresh_may_narrow_but_never_widen_scope(api: Api, app: FastAPI) -> None:
    await api.register("admin@example.com")
    await execute(app, "UPDATE users SET scopes = 'admin user'")
    narrow = (await api.login("admin@example.com", scope="user")).json()

    widened = await api.refresh(narrow["refresh_token"], scope="user admin")
    assert widened.status_code == 400
    assert widened.json()["error"] == "invalid_scope"

    # The failed attempt spent nothing: the same token still refreshes.
    same = await api.refresh(narrow["refresh_token"])
    assert same.json()["scope"] == "user"

    full = (await api.login("admin@example.com")).json()
    narrowed = await api.refresh(full["refresh_token"], scope="admin")
    assert narrowed.json()["scope"] == "admin"
    # Narrowing one access token does not shrink the session's grant.
    again = await api.refresh(narrowed.json()["refresh_token"])
    assert again.json()["scope"] == "admin user"


async def test_scope_removed_from_user_is_dropped_on_refresh(api: Api, app: FastAPI) -> None:
    await api.register("admin@example.com")
    await execute(app, "UPDATE users SET scopes = 'admin user'")
    tokens = (await api.login("admin@example.com")).json()
    await execute(app, "UPDATE users SET scopes = 'user'")

    assert (await api.refresh(tokens["refresh_token"])).json()["scope"] == "user"


async def test_refresh_token_bound_to_its_client(api: Api) -> None:
    await api.register("alice@example.com")
    tokens = (await api.login("alice@example.com", client_id="app-a")).json()

    other = await api.refresh(tokens["refresh_token"], client_id="app-b")
    assert other.json()["error"] == "invalid_grant"
    assert (await api.refresh(tokens["refresh_token"], client_id="app-a")).status_code == 200


async def test_a_copy_replayed_inside_the_grace_interval_cannot_fork_the_session(
    app_with: AppWith,
) -> None:
    """A thief replaying a just-spent token gets a pair, but the session keeps one live
    refresh token: the branch used after the grace interval is caught as reuse."""
    async with app_with(refresh_reuse_grace_seconds=1) as (_app, api):
        original = await api.signed_up()
        legit = (await api.refresh(original["refresh_token"])).json()
        thief = (await api.refresh(original["refresh_token"])).json()  # inside the grace
        await asyncio.sleep(1.2)

        assert (await api.refresh(legit["refresh_token"])).json()["error"] == "invalid_grant"
        # Reuse detected: the whole session is gone, the thief's branch too.
        assert (await api.refresh(thief["refresh_token"])).json()["error"] == "invalid_grant"
        assert (await api.me(thief["access_token"])).status_code == 401


async def test_concurrent_refreshes_without_grace_one_wins_the_other_is_reuse(
    app_with: AppWith,
) -> None:
    """Strict mode (no grace interval): the database lets one of two uses through; the
    other is reuse, and ends the session, the winner's new tokens with it."""
    async with app_with(refresh_reuse_grace_seconds=0) as (_app, api):
        tokens = await api.signed_up()

        responses = await asyncio.gather(*(api.refresh(tokens["refresh_token"]) for _ in range(2)))

        assert sorted(r.status_code for r in responses) == [200, 400]
        won = next(r for r in responses if r.status_code == 200).json()
        lost = next(r for r in responses if r.status_code == 400).json()
        assert lost["error"] == "invalid_grant"
        assert (await api.me(won["access_token"])).status_code == 401
        assert (await api.refresh(won["refresh_token"])).json()["error"] == "invalid_grant"
