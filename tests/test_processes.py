"""Several `authsvc` processes on one database: nothing may assume a single process."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from httpx import Client

from tests.support.processes import authsvc_env, serve, serve_process, wait_until_healthy
from tests.support.settings import PASSWORD


def test_replicas_starting_together_all_come_up_and_migrate_once(
    empty_db: str, tmp_path: Path
) -> None:
    env = authsvc_env(empty_db)
    logs = [tmp_path / f"replica-{n}.log" for n in range(3)]
    with ExitStack() as stack:
        replicas = [  # all three start before any is waited for
            stack.enter_context(serve_process(env, log_file=log, wait=False)) for log in logs
        ]
        for (base_url, process), log in zip(replicas, logs, strict=True):
            wait_until_healthy(base_url, process, log)
        first_url = replicas[0][0]
        body = {"email": "replica@example.com", "password": PASSWORD}
        assert httpx.post(f"{first_url}/auth/register", json=body).status_code == 201
    outputs = [log.read_text() for log in logs]

    migrated = [out for out in outputs if "migrated the database schema from empty" in out]
    assert len(migrated) == 1, outputs
    assert sum("up to date" in out for out in outputs) == 2, outputs


@contextmanager
def two_servers_on(database_url: str, grace_seconds: int) -> Iterator[tuple[Client, Client]]:
    env = authsvc_env(database_url, AUTHSVC_REFRESH_REUSE_GRACE_SECONDS=str(grace_seconds))
    with (
        serve(env) as first_url,
        serve(env, "--no-migrate") as second_url,
        httpx.Client(base_url=first_url) as a,
        httpx.Client(base_url=second_url) as b,
    ):
        yield a, b


@pytest.fixture
def two_servers(empty_db: str) -> Iterator[tuple[Client, Client]]:
    """Two processes on one database, with a grace interval of 2 s."""
    with two_servers_on(empty_db, grace_seconds=2) as servers:
        yield servers


def login(http: httpx.Client, email: str) -> dict[str, str]:
    response = http.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


def refresh(http: httpx.Client, token: str) -> httpx.Response:
    return http.post("/auth/token", data={"grant_type": "refresh_token", "refresh_token": token})


def me(http: httpx.Client, access_token: str) -> int:
    return http.get("/users/me", headers={"Authorization": f"Bearer {access_token}"}).status_code


def test_user_registered_on_one_process_logs_in_on_the_other(
    two_servers: tuple[Client, Client],
) -> None:
    a, b = two_servers
    assert a.post("/auth/register", json={"email": "x@example.com", "password": PASSWORD})
    tokens = login(b, "x@example.com")
    assert me(a, tokens["access_token"]) == 200


def test_registrations_split_across_processes_create_one_account(
    two_servers: tuple[Client, Client],
) -> None:
    a, b = two_servers
    body = {"email": "race@example.com", "password": PASSWORD}
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(
            pool.map(
                lambda i: (a, b)[i % 2].post("/auth/register", json=body).status_code, range(20)
            )
        )
    assert sorted(statuses) == [201] + [409] * 19


def test_concurrent_refresh_on_two_processes_within_grace_keeps_one_session(
    two_servers: tuple[Client, Client],
) -> None:
    a, b = two_servers
    a.post("/auth/register", json={"email": "tabs@example.com", "password": PASSWORD})
    tokens = login(a, "tabs@example.com")
    barrier = threading.Barrier(2)

    def refresh_on(http: httpx.Client) -> httpx.Response:
        barrier.wait()
        return refresh(http, tokens["refresh_token"])

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(refresh_on, (a, b)))

    assert [r.status_code for r in results] == [200, 200]
    for r in results:  # both new pairs belong to the one live session
        assert me(a, r.json()["access_token"]) == 200
        assert me(b, r.json()["access_token"]) == 200
    assert me(b, tokens["access_token"]) == 200


def test_reuse_after_grace_ends_the_session_on_every_process(
    two_servers: tuple[Client, Client],
) -> None:
    a, b = two_servers
    a.post("/auth/register", json={"email": "stolen@example.com", "password": PASSWORD})
    tokens = login(a, "stolen@example.com")
    rotated = refresh(a, tokens["refresh_token"]).json()
    time.sleep(2.2)  # past the grace interval of 2 s

    reuse = refresh(b, tokens["refresh_token"])

    assert reuse.json()["error"] == "invalid_grant"
    assert me(a, rotated["access_token"]) == 401
    assert me(b, rotated["access_token"]) == 401
    assert refresh(a, rotated["refresh_token"]).json()["error"] == "invalid_grant"


def test_an_ended_session_is_refused_by_the_other_process_on_its_next_request(
    two_servers: tuple[httpx.Client, httpx.Client],
) -> None:
    """No process trusts what it read before: a logout, a revocation or a password change
    made through one process is refused by the other on the very next request."""
    a, b = two_servers
    a.post("/auth/register", json={"email": "ends@example.com", "password": PASSWORD})

    def bearer(tokens: dict[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    logged_out, revoked, changed, kept = (login(a, "ends@example.com") for _ in range(4))
    assert all(me(b, t["access_token"]) == 200 for t in (logged_out, revoked, changed, kept))

    assert a.post("/auth/logout", headers=bearer(logged_out)).status_code == 204
    assert me(b, logged_out["access_token"]) == 401
    assert a.post("/auth/revoke", data={"token": revoked["refresh_token"]}).status_code == 200
    assert me(b, revoked["access_token"]) == 401
    change = {"current_password": PASSWORD, "new_password": "another horse battery staple"}
    assert a.post("/users/me/password", json=change, headers=bearer(kept)).status_code == 204
    assert me(b, changed["access_token"]) == 401
    assert me(b, kept["access_token"]) == 200  # the session that changed it stays


def test_strict_mode_spends_a_token_once_across_two_processes(empty_db: str) -> None:
    """With no grace interval, of two processes given one refresh token at the same moment
    exactly one rotates it; the other is reuse, and the session ends (no forked chain)."""
    env = authsvc_env(empty_db, AUTHSVC_REFRESH_REUSE_GRACE_SECONDS="0")
    with (
        serve(env) as first_url,
        serve(env, "--no-migrate") as second_url,
        httpx.Client(base_url=first_url) as a,
        httpx.Client(base_url=second_url) as b,
    ):
        a.post("/auth/register", json={"email": "strict@example.com", "password": PASSWORD})
        for _ in range(8):  # a race: repeated, so a pass is not luck
            tokens = login(a, "strict@example.com")
            barrier = threading.Barrier(2)

            def refresh_on(
                http: httpx.Client,
                token: str = tokens["refresh_token"],
                barrier: threading.Barrier = barrier,
            ) -> httpx.Response:
                barrier.wait()
                return refresh(http, token)

            with ThreadPoolExecutor(max_workers=2) as pool:
                results = list(pool.map(refresh_on, (a, b)))

            assert sorted(r.status_code for r in results) == [200, 400]
            (won,) = (r.json() for r in results if r.status_code == 200)
            assert me(a, won["access_token"]) == 401  # the reuse ended the session
            assert refresh(b, won["refresh_token"]).json()["error"] == "invalid_grant"


def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(empty_db: str) -> None:
    # bcrypt cost 14 makes a registration take about a second: long enough to be mid-flight.
    env = authsvc_env(empty_db, AUTHSVC_BCRYPT_ROUNDS="14")
    with serve_process(env) as (base_url, process):
        with ThreadPoolExecutor(max_workers=1) as pool:
            in_flight = pool.submit(
                httpx.post,
                f"{base_url}/auth/register",
                json={"email": "slow@example.com", "password": PASSWORD},
                timeout=30,
            )
            time.sleep(0.3)
            process.send_signal(signal.SIGTERM)
            response = in_flight.result()
        assert process.wait(timeout=30) == 0
    assert response.status_code == 201
