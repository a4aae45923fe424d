"""There is always an admin: the last active admin cannot be demoted, disabled or deleted,
and the database decides it, so two admins acting on each other at once leave one."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.support.admin import AdminApi
from tests.support.app import Api, execute

ROUNDS = 8


async def active_admins(app: FastAPI) -> list[str]:
    """Checked both ways: the flag the lock uses, and the scopes the bearer check uses."""
    async with app.state.runtime.engine.connect() as conn:
        flagged = await conn.execute(
            text("SELECT email FROM users WHERE is_admin AND is_active ORDER BY email")
        )
        scoped = await conn.execute(
            text("SELECT email, scopes FROM users WHERE is_active ORDER BY email")
        )
        emails = [str(row[0]) for row in flagged]
        assert emails == [str(row[0]) for row in scoped if "admin" in str(row[1]).split()]
        return emails


async def act(admin: AdminApi, target: str, action: str) -> httpx.Response:
    if action == "demote":
        return await admin.patch(target, scopes=["user"])
    if action == "disable":
        return await admin.patch(target, is_active=False)
    return await admin.delete(target)


@pytest.mark.parametrize("action", ["demote", "disable", "delete"])
async def test_the_last_admin_cannot_be_removed_even_by_themself(
    admin: AdminApi, api: Api, action: str
) -> None:
    user = (await admin.create("bob@example.com")).json()

    refused = await act(admin, admin.user_id, action)

    assert refused.status_code == 409
    assert refused.json()["code"] == "last_admin"
    assert (await admin.list()).status_code == 200  # nothing changed
    # Acting on a user who is not an admin is unaffected by the rule.
    assert (await act(admin, user["id"], action)).status_code in (200, 204)


async def test_an_admin_may_demote_themself_while_another_remains(
    admin: AdminApi, app: FastAPI, api: Api
) -> None:
    other = await AdminApi.log_in(app, api, "second@example.com")

    assert (await admin.patch(admin.user_id, scopes=["user"])).status_code == 200
    assert (await admin.list()).status_code == 403
    assert (await other.patch(other.user_id, scopes=["user"])).json()["code"] == "last_admin"
    assert await active_admins(app) == ["second@example.com"]


async def test_disabled_admins_do_not_count(admin: AdminApi, app: FastAPI, api: Api) -> None:
    other = await AdminApi.log_in(app, api, "second@example.com")
    assert (await admin.patch(other.user_id, is_active=False)).status_code == 200

    assert (await admin.delete(admin.user_id)).json()["code"] == "last_admin"
    # Enabling the disabled admin again makes two; then either may go.
    assert (await admin.patch(other.user_id, is_active=True)).status_code == 200
    assert (await admin.delete(admin.user_id)).status_code == 204
    assert await active_admins(app) == ["second@example.com"]


@pytest.mark.parametrize(
    ("first", "second"), [("demote", "demote"), ("disable", "delete"), ("delete", "demote")]
)
async def test_two_admins_acting_on_each_other_at_once_leave_exactly_one(
    app: FastAPI, api: Api, first: str, second: str
) -> None:
    for round_ in range(ROUNDS):
        await execute(app, "UPDATE users SET is_admin = false, scopes = 'user'")
        a = await AdminApi.log_in(app, api, f"a{round_}@example.com")
        b = await AdminApi.log_in(app, api, f"b{round_}@example.com")

        results = await asyncio.gather(act(a, b.user_id, first), act(b, a.user_id, second))

        # The loser is refused by the rule (409), or, when its request comes after the
        # winner's commit, by the bearer check: 403 once demoted, 401 once disabled or gone.
        done = [r for r in results if r.status_code in (200, 204)]
        refused = [r for r in results if r not in done]
        assert len(done) == 1, (round_, [r.text for r in results])
        assert refused[0].status_code in (401, 403, 409), refused[0].text
        assert len(await active_admins(app)) == 1, round_
