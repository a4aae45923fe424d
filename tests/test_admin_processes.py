"""Administration across two `authsvc serve` processes on one database: a disable on one
is seen by the other on the very next request, and the last-admin race is decided by the
database, not by either process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import httpx
import pytest

from tests.support.processes import authsvc_env, serve_process, wait_until_healthy
from tests.support.settings import PASSWORD
from tests.test_cli import run_cli

ROUNDS = 5


@pytest.fixture
def two_servers(empty_db: str) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    env = authsvc_env(empty_db)
    created = run_cli(
        "create-user", "root@example.com", "--admin", "--password-stdin", env=env, stdin=PASSWORD
    )
    assert created.returncode == 0, created.stderr
    with ExitStack() as stack:
        servers = [  # started together, then waited for
            stack.enter_context(serve_process(env, "--no-migrate", wait=False)) for _ in range(2)
        ]
        for base_url, process in servers:
            wait_until_healthy(base_url, process, None)
        a, b = (stack.enter_context(httpx.Client(base_url=url)) for url, _ in servers)
        yield a, b


def login(http: httpx.Client, email: str) -> dict[str, str]:
    response = http.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


def auth(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def create(http: httpx.Client, admin: dict[str, str], email: str, *scopes: str) -> str:
    body = {"email": email, "password": PASSWORD, "scopes": list(scopes)}
    response = http.post("/admin/users", json=body, headers=auth(admin))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_across_two_processes(two_servers: tuple[httpx.Client, httpx.Client]) -> None:
    """One test, to start the two servers once per backend."""
    a, b = two_servers
    root = login(a, "root@example.com")
    a_user_disabled_on_one_process_is_dead_on_the_other_at_once(a, b, root)
    two_admins_demoting_each_other_on_two_processes_leave_one(a, b, root)


def a_user_disabled_on_one_process_is_dead_on_the_other_at_once(
    a: httpx.Client, b: httpx.Client, root: dict[str, str]
) -> None:
    alice_id = create(a, root, "alice@example.com")
    alice = login(b, "alice@example.com")
    assert b.get("/users/me", headers=auth(alice)).status_code == 200

    disabled = a.patch(f"/admin/users/{alice_id}", json={"is_active": False}, headers=auth(root))
    assert disabled.status_code == 200

    me = b.get("/users/me", headers=auth(alice))
    assert me.status_code == 401
    assert me.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    refresh = b.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": alice["refresh_token"]}
    )
    assert refresh.json()["error"] == "invalid_grant"

    enabled = b.patch(f"/admin/users/{alice_id}", json={"is_active": True}, headers=auth(root))
    assert enabled.status_code == 200
    assert a.get("/users/me", headers=auth(alice)).status_code == 401  # not revived
    assert b.delete(f"/admin/users/{alice_id}", headers=auth(root)).status_code == 204
    assert a.post("/auth/register", json={"email": "alice@example.com", "password": PASSWORD})


def two_admins_demoting_each_other_on_two_processes_leave_one(
    a: httpx.Client, b: httpx.Client, root: dict[str, str]
) -> None:
    ids = {name: create(a, root, f"{name}@example.com", "admin") for name in ("x", "y")}
    tokens = {"x": login(a, "x@example.com"), "y": login(b, "y@example.com")}
    root_id = a.get("/users/me", headers=auth(root)).json()["id"]
    assert a.delete(f"/admin/users/{root_id}", headers=auth(root)).status_code == 204

    barrier = threading.Barrier(2)

    def demote(http: httpx.Client, actor: str, target: str) -> httpx.Response:
        barrier.wait()  # both requests leave together
        return http.patch(
            f"/admin/users/{ids[target]}", json={"scopes": []}, headers=auth(tokens[actor])
        )

    for round_ in range(ROUNDS):
        # x and y are the only admins: each demotes the other, on its own process.
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(demote, (a, b), ("x", "y"), ("y", "x")))

        # The loser is refused by the rule (409), or by the bearer check (403) when its
        # request comes after the winner's commit.
        statuses = sorted(r.status_code for r in results)
        assert statuses in ([200, 403], [200, 409]), (round_, [r.text for r in results])
        winner = "x" if results[0].status_code == 200 else "y"
        loser = "y" if winner == "x" else "x"
        listed = a.get("/admin/users", params={"scope": "admin"}, headers=auth(tokens[winner]))
        assert [user["email"] for user in listed.json()["items"]] == [f"{winner}@example.com"]
        # Promoted again, the loser's token (issued with `admin`) carries it again.
        promoted = b.patch(
            f"/admin/users/{ids[loser]}", json={"scopes": ["admin"]}, headers=auth(tokens[winner])
        )
        assert promoted.status_code == 200, promoted.text
