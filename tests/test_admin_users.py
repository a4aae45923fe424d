"""The admin API's user management: list (keyset pages, filters), read, create, change."""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid

import pytest
from fastapi import FastAPI

from authsvc.domain import UserFilter
from tests.support.admin import ROOT, AdminApi, provision
from tests.support.app import Api
from tests.support.settings import PASSWORD

ADMIN_VIEW = {
    "id",
    "email",
    "full_name",
    "scopes",
    "is_active",
    "created_at",
    "last_login_at",
    "live_sessions",
}


# --- read -------------------------------------------------------------------------


async def test_read_a_user_shows_last_login_and_live_sessions(admin: AdminApi, api: Api) -> None:
    await api.signed_up("alice@example.com")
    await api.login("alice@example.com")
    alice = await admin.user_id_of("alice@example.com")

    response = await admin.get(alice)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == ADMIN_VIEW
    assert body["email"] == "alice@example.com"
    assert body["scopes"] == ["user"]
    assert body["live_sessions"] == 2
    assert body["last_login_at"] is not None


async def test_unknown_or_malformed_id_is_404_user_not_found(admin: AdminApi) -> None:
    for user_id in (str(uuid.uuid4()), "not-an-id", "1"):
        response = await admin.get(user_id)
        assert response.status_code == 404, user_id
        assert response.json()["code"] == "user_not_found"


# --- create -------------------------------------------------------------------------


async def test_create_a_user_with_scopes_who_can_then_log_in(admin: AdminApi, api: Api) -> None:
    response = await admin.create(
        "svc@example.com", full_name="Resource server", scopes=["introspect"]
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["scopes"] == ["introspect", "user"]
    assert body["live_sessions"] == 0
    assert body["last_login_at"] is None
    token = await api.login("svc@example.com")
    assert token.json()["scope"] == "introspect user"


async def test_create_follows_the_registration_rules(admin: AdminApi) -> None:
    await admin.create("taken@example.com")

    taken = await admin.create("TAKEN@example.com")
    common = await admin.create("new@example.com", password="password123")
    missing = await admin.call("POST", "/users", json={"email": "x@example.com"})

    assert taken.status_code == 409
    assert taken.json()["code"] == "email_taken"
    assert common.status_code == 422
    assert missing.status_code == 422  # a password is required until password reset exists


async def test_unknown_scope_is_a_422_listing_the_known_ones(admin: AdminApi) -> None:
    created = await admin.create("x@example.com", scopes=["superuser"])
    patched = await admin.patch(admin.user_id, scopes=["admin", "root"])

    for response in (created, patched):
        assert response.status_code == 422
        (error,) = response.json()["detail"]
        assert error["type"] == "unknown_scope"
        assert "admin, introspect, user" in error["msg"]


# --- change -----------------------------------------------------------------------------


async def test_patch_changes_only_what_is_sent(admin: AdminApi) -> None:
    user = (await admin.create("bob@example.com", full_name="Bob")).json()

    renamed = await admin.patch(user["id"], full_name="Robert")
    promoted = await admin.patch(user["id"], scopes=["introspect"])
    cleared = await admin.patch(user["id"], full_name=None)
    nothing = await admin.patch(user["id"])

    assert renamed.json()["full_name"] == "Robert"
    assert promoted.json()["scopes"] == ["introspect", "user"]
    assert promoted.json()["full_name"] == "Robert"
    assert cleared.json()["full_name"] is None
    assert nothing.status_code == 200
    assert nothing.json()["scopes"] == ["introspect", "user"]


async def test_patch_refuses_null_and_unknown_fields(admin: AdminApi) -> None:
    user_id = (await admin.create("bob@example.com")).json()["id"]
    for body in ({"is_active": None}, {"scopes": None}, {"email": "x@example.com"}):
        response = await admin.patch(user_id, **body)
        assert response.status_code == 422, body
    assert (await admin.patch(str(uuid.uuid4()), full_name="x")).json()["code"] == "user_not_found"


async def test_every_admin_action_is_audited_with_actor_target_and_change(
    admin: AdminApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="authsvc.audit")
    user_id = (await admin.create("bob@example.com", scopes=["introspect"])).json()["id"]
    await admin.patch(user_id, is_active=False, scopes=["admin"], full_name="Bob")
    await admin.end_sessions(user_id)
    await admin.delete(user_id)

    events = {r.__dict__["event"]: r.__dict__ for r in caplog.records if "event" in r.__dict__}
    for name in ("user_created", "user_updated", "user_sessions_ended", "user_deleted"):
        assert events[name]["actor_id"] == admin.user_id, name
        assert events[name]["user_id"] == user_id, name
        assert events[name]["via"] == "api"
    assert events["user_updated"]["changes"] == (
        "is_active=false scopes=+admin -introspect full_name=changed"
    )
    logged = " ".join(str(r.__dict__) for r in caplog.records)
    assert PASSWORD not in logged
    assert "bob@example.com" not in str(events["user_deleted"])


# --- list: filters ----------------------------------------------------------------------


async def test_list_filters_by_email_prefix_activity_and_scope(
    admin: AdminApi, app: FastAPI
) -> None:
    await provision(app, "Alice.Smith@Example.com")
    await provision(app, "alice_b@example.com", "introspect")
    await provision(app, "alice%c@example.com")
    bob = await provision(app, "bob@example.com")
    await admin.patch(bob, is_active=False)

    async def emails(**params: object) -> list[str]:
        response = await admin.list(**params)
        assert response.status_code == 200, response.text
        return [item["email"] for item in response.json()["items"]]

    assert await emails(q="ALICE") == [
        "Alice.Smith@Example.com",
        "alice_b@example.com",
        "alice%c@example.com",
    ]
    assert await emails(q="alice_") == ["alice_b@example.com"]  # `_` is no wildcard
    assert await emails(q="alice%") == ["alice%c@example.com"]  # nor is `%`
    assert await emails(is_active=False) == ["bob@example.com"]
    assert await emails(scope="introspect") == ["alice_b@example.com"]
    assert await emails(scope="admin") == [ROOT]
    assert await emails(q="alice", scope="introspect", is_active=True) == ["alice_b@example.com"]
    assert await emails(q="nobody") == []
    assert await emails(q="a\x00b") == []


async def test_list_refuses_bad_parameters_with_a_422(admin: AdminApi) -> None:
    not_json = base64.urlsafe_b64encode(b"garbage").decode()
    wrong_fields = base64.urlsafe_b64encode(b'{"c": 1, "i": "x"}').decode()
    naive = base64.urlsafe_b64encode(
        b'{"c": "2026-01-01T00:00:00", "i": "' + str(uuid.uuid4()).encode() + b'"}'
    ).decode()
    for params in (
        {"cursor": "!!!"},
        {"cursor": not_json},
        {"cursor": wrong_fields},
        {"cursor": naive},
        {"cursor": "x" * 501},
        {"limit": 0},
        {"limit": 201},
        {"scope": "superuser"},
    ):
        response = await admin.list(**params)
        assert response.status_code == 422, params
        assert response.json()["code"] == "invalid_body"


# --- list: keyset pagination ------------------------------------------------------------


async def test_pages_walk_every_user_once_while_users_are_added(
    admin: AdminApi, app: FastAPI, api: Api
) -> None:
    runtime = app.state.runtime
    for n in range(249):  # and the admin: 250
        await provision(app, f"user{n:03}@example.com")
    existing = {view.user.email async for view in runtime.admin.all_users(UserFilter())}
    assert len(existing) == 250

    seen: list[str] = []
    cursor: str | None = None
    added = 0
    while True:
        params = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        page, _ = await asyncio.gather(
            admin.list(**params), provision(app, f"late{added:03}@example.com")
        )
        added += 1
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 50
        seen += [item["email"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == len(set(seen)), "a user was listed twice"
    assert existing <= set(seen), "a user was skipped"
    assert set(seen[:250]) == existing  # those added meanwhile come after, if at all


async def test_the_last_page_has_no_cursor_and_the_default_limit_is_50(
    admin: AdminApi, app: FastAPI
) -> None:
    for n in range(50):  # with the admin: 51
        await provision(app, f"u{n}@example.com")

    first = (await admin.list()).json()
    last = (await admin.list(cursor=first["next_cursor"])).json()
    exact = (await admin.list(limit=51)).json()

    assert len(first["items"]) == 50
    assert len(last["items"]) == 1
    assert last["next_cursor"] is None
    assert exact["next_cursor"] is None  # no empty page after a full one


# --- the OpenAPI document -----------------------------------------------------------------


async def test_admin_routes_are_tagged_and_locked_with_the_admin_scope(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    admin_operations = [
        (path, method, operation)
        for path, operations in spec["paths"].items()
        if path.startswith("/admin/")
        for method, operation in operations.items()
    ]
    assert len(admin_operations) == 8
    (scheme,) = spec["components"]["securitySchemes"]
    for path, method, operation in admin_operations:
        assert operation["tags"] == ["admin"], (method, path)
        assert operation["security"] == [{scheme: ["admin"]}], (method, path)
        assert {"401", "403"} <= set(operation["responses"]), (method, path)
