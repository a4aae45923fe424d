"""Sessions: logout, logout everywhere, "where you are signed in", and the purge of ended ones."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.support.app import Api, AppWith, bearer, execute
from tests.support.processes import authsvc_env
from tests.support.settings import PASSWORD
from tests.test_cli import run_cli

PAST = datetime(2020, 1, 1, tzinfo=UTC)


def assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def count(app: FastAPI, table: str) -> int:
    async with app.state.runtime.engine.connect() as conn:
        result = await conn.execute(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
        return int(result.scalar_one())


# --- logout -------------------------------------------------------------------


async def test_logout_ends_the_session_for_its_access_and_refresh_tokens(api: Api) -> None:
    tokens = await api.signed_up()

    response = await api.logout(tokens["access_token"])

    assert response.status_code == 204
    assert response.content == b""
    assert_invalid_token(await api.me(tokens["access_token"]))
    refresh = await api.refresh(tokens["refresh_token"])
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"


async def test_logout_leaves_the_users_other_sessions_working(api: Api) -> None:
    phone = await api.signed_up()
    laptop = (await api.login("alice@example.com")).json()

    await api.logout(phone["access_token"])

    assert (await api.me(laptop["access_token"])).status_code == 200
    assert (await api.refresh(laptop["refresh_token"])).status_code == 200


async def test_logout_all_ends_every_session_of_the_user(api: Api) -> None:
    first = await api.signed_up()
    others = [(await api.login("alice@example.com")).json() for _ in range(2)]
    bob = await api.signed_up("bob@example.com")

    response = await api.logout(others[0]["access_token"], everywhere=True)

    assert response.status_code == 204
    for tokens in (first, *others):
        assert_invalid_token(await api.me(tokens["access_token"]))
        assert (await api.refresh(tokens["refresh_token"])).json()["error"] == "invalid_grant"
    assert (await api.me(bob["access_token"])).status_code == 200  # another user: untouched


async def test_logout_twice_is_401_the_second_time(api: Api) -> None:
    tokens = await api.signed_up()
    await api.logout(tokens["access_token"])

    assert_invalid_token(await api.logout(tokens["access_token"]))


async def test_logout_needs_an_access_token(api: Api) -> None:
    tokens = await api.signed_up()

    missing = await api.client.post("/auth/logout")
    with_refresh_token = await api.logout(tokens["refresh_token"])

    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert_invalid_token(with_refresh_token)
    assert (await api.me(tokens["access_token"])).status_code == 200


async def test_logout_all_rejects_a_value_that_is_not_a_boolean(api: Api) -> None:
    tokens = await api.signed_up()

    response = await api.client.post(
        "/auth/logout", params={"all": "maybe"}, headers=bearer(tokens["access_token"])
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "all"]
    assert (await api.me(tokens["access_token"])).status_code == 200


# --- where you are signed in --------------------------------------------------


async def test_sessions_lists_each_live_login_and_marks_the_current_one(api: Api) -> None:
    await api.register("alice@example.com")
    phone = (
        await api.client.post(
            "/auth/token",
            data={"username": "alice@example.com", "password": PASSWORD, "client_id": "ios"},
            headers={"User-Agent": "AlicePhone/1.0"},
        )
    ).json()
    laptop = (await api.login("alice@example.com")).json()

    response = await api.sessions(laptop["access_token"])

    assert response.status_code == 200
    sessions = response.json()
    assert len(sessions) == 2
    by_client = {s["client_id"]: s for s in sessions}
    assert by_client["ios"]["user_agent"] == "AlicePhone/1.0"
    assert by_client["ios"]["client_ip"] == "203.0.113.7"  # the test client's address
    assert by_client["ios"]["current"] is False
    assert by_client["authsvc"]["current"] is True
    for session in sessions:
        assert set(session) == {
            "id",
            "client_id",
            "user_agent",
            "client_ip",
            "created_at",
            "last_used_at",
            "expires_at",
            "current",
        }
    current = next(s for s in sessions if s["current"])
    seen_from_phone = (await api.sessions(phone["access_token"])).json()
    assert next(s for s in seen_from_phone if s["current"])["id"] != current["id"]


async def test_sessions_lists_neither_ended_sessions_nor_other_users(api: Api) -> None:
    ended = await api.signed_up()
    live = (await api.login("alice@example.com")).json()
    await api.signed_up("bob@example.com")
    await api.logout(ended["access_token"])

    sessions = (await api.sessions(live["access_token"])).json()

    assert [s["current"] for s in sessions] == [True]


async def test_refresh_updates_last_used_at(api: Api) -> None:
    tokens = await api.signed_up()
    before = (await api.sessions(tokens["access_token"])).json()[0]
    await asyncio.sleep(0.01)

    new = (await api.refresh(tokens["refresh_token"])).json()

    after = (await api.sessions(new["access_token"])).json()[0]
    assert after["id"] == before["id"]
    assert after["last_used_at"] > before["last_used_at"]
    assert after["created_at"] == before["created_at"]


async def test_deleting_one_of_your_sessions_ends_it(api: Api) -> None:
    lost_phone = await api.signed_up()
    laptop = (await api.login("alice@example.com")).json()
    phone_id = next(
        s["id"] for s in (await api.sessions(laptop["access_token"])).json() if not s["current"]
    )

    response = await api.client.delete(
        f"/users/me/sessions/{phone_id}", headers=bearer(laptop["access_token"])
    )

    assert response.status_code == 204
    assert_invalid_token(await api.me(lost_phone["access_token"]))
    assert (await api.refresh(lost_phone["refresh_token"])).json()["error"] == "invalid_grant"
    assert (await api.me(laptop["access_token"])).status_code == 200


async def test_deleting_another_users_session_is_404_and_that_session_still_works(
    api: Api,
) -> None:
    alice = await api.signed_up("alice@example.com")
    mallory = await api.signed_up("mallory@example.com")
    alice_session = (await api.sessions(alice["access_token"])).json()[0]["id"]

    response = await api.client.delete(
        f"/users/me/sessions/{alice_session}", headers=bearer(mallory["access_token"])
    )

    assert response.status_code == 404
    assert response.json() == {
        "detail": "You have no live session with this id",
        "code": "session_not_found",
    }
    assert (await api.me(alice["access_token"])).status_code == 200
    assert (await api.refresh(alice["refresh_token"])).status_code == 200


@pytest.mark.parametrize("session_id", ["unknown", "ended"])
async def test_deleting_an_unknown_or_ended_session_is_404(api: Api, session_id: str) -> None:
    old = await api.signed_up()
    tokens = (await api.login("alice@example.com")).json()
    ended = next(s["id"] for s in (await api.sessions(old["access_token"])).json() if s["current"])
    await api.logout(old["access_token"])
    target = ended if session_id == "ended" else str(uuid.uuid4())

    response = await api.client.delete(
        f"/users/me/sessions/{target}", headers=bearer(tokens["access_token"])
    )

    assert response.status_code == 404


async def test_a_session_id_that_is_not_a_uuid_is_422(api: Api) -> None:
    tokens = await api.signed_up()

    response = await api.client.delete(
        "/users/me/sessions/not-a-uuid", headers=bearer(tokens["access_token"])
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "session_id"]


async def test_an_expired_session_is_not_live(app: FastAPI, api: Api) -> None:
    tokens = await api.signed_up()

    await execute(app, "UPDATE sessions SET expires_at = :t", t=PAST)

    assert_invalid_token(await api.me(tokens["access_token"]))
    assert (await api.refresh(tokens["refresh_token"])).json()["error"] == "invalid_grant"


# --- purge ----------------------------------------------------------------------


async def test_purge_deletes_ended_and_expired_sessions_and_keeps_live_ones(
    app: FastAPI, api: Api
) -> None:
    live = await api.signed_up()
    logged_out = (await api.login("alice@example.com")).json()
    await api.logout(logged_out["access_token"])
    expired = (await api.login("alice@example.com")).json()
    expired_id = next(
        s["id"] for s in (await api.sessions(expired["access_token"])).json() if s["current"]
    )
    await execute(
        app,
        "UPDATE sessions SET expires_at = :t WHERE id = :id",
        t=PAST,
        id=uuid.UUID(expired_id).hex,  # the form both SQLite's CHAR(32) and PostgreSQL accept
    )
    rotated = (await api.refresh(live["refresh_token"])).json()  # a spent token: kept
    assert await count(app, "sessions") == 3

    deleted = await app.state.runtime.sessions.purge()

    assert deleted == (2, 0)  # their refresh tokens went with them (ON DELETE CASCADE)
    assert await count(app, "sessions") == 1
    assert await count(app, "refresh_tokens") == 2  # the live session's spent and new token
    assert (await api.me(rotated["access_token"])).status_code == 200
    assert (await api.refresh(rotated["refresh_token"])).status_code == 200


async def test_purge_keeps_ended_sessions_for_the_retention_period(app: FastAPI, api: Api) -> None:
    """A recently ended session's address still counts as one the account logs in from,
    which keeps the owner's usual address exempt from the per-account login limit."""
    for tokens in [await api.signed_up(), (await api.login("alice@example.com")).json()]:
        await api.logout(tokens["access_token"])
    await execute(app, "UPDATE sessions SET revoked_at = :t", t=PAST)  # ended long ago
    await api.logout((await api.login("alice@example.com")).json()["access_token"])

    deleted = await app.state.runtime.sessions.purge(retention=timedelta(days=30))

    assert deleted == (2, 0)  # the two aged ones; the one ended just now is kept
    assert await count(app, "sessions") == 1


async def test_purge_deletes_expired_refresh_tokens_of_live_sessions(
    app: FastAPI, api: Api
) -> None:
    tokens = await api.signed_up()
    new = (await api.refresh(tokens["refresh_token"])).json()
    await execute(
        app, "UPDATE refresh_tokens SET expires_at = :t WHERE spent_at IS NOT NULL", t=PAST
    )

    assert await app.state.runtime.sessions.purge() == (0, 1)

    assert (await api.refresh(new["refresh_token"])).status_code == 200


async def test_the_app_purges_ended_sessions_periodically(app_with: AppWith) -> None:
    async with app_with(session_purge_interval_seconds=1, ended_session_retention_days=0) as (
        app,
        api,
    ):
        tokens = await api.signed_up()
        await api.logout(tokens["access_token"])

        deadline = time.monotonic() + 10
        while await count(app, "sessions") and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)

        assert await count(app, "sessions") == 0
        assert await count(app, "users") == 1


async def test_purge_sessions_command_deletes_ended_sessions(
    app: FastAPI, api: Api, database_url: str
) -> None:
    tokens = await api.signed_up()
    await api.logout(tokens["access_token"])
    await api.signed_up("bob@example.com")

    env = authsvc_env(database_url, AUTHSVC_ENDED_SESSION_RETENTION_DAYS="0")
    result = await asyncio.to_thread(run_cli, "purge-sessions", env=env)

    assert result.returncode == 0, result.stderr
    assert "deleted 1 ended sessions and 0 expired refresh tokens" in result.stdout
    assert await count(app, "sessions") == 1


def test_purge_sessions_command_on_a_database_not_migrated_says_so(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/empty.db"

    result = run_cli("purge-sessions", env=authsvc_env(url))

    assert result.returncode == 2
    assert "migrated" in result.stderr
    assert "Traceback" not in result.stderr


def test_purge_sessions_command_needs_no_signing_key(tmp_path: Path, empty_db: str) -> None:
    """It only talks to the database: no key to load, no development secret written."""
    env = authsvc_env(empty_db, AUTHSVC_JWT_ALGORITHM="EdDSA")
    env.pop("AUTHSVC_JWT_SECRET")

    result = run_cli("purge-sessions", env=env, cwd=tmp_path)

    assert result.returncode == 2, result.stdout  # not migrated: said in one line
    assert "migrated" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob(".authsvc-*"))
