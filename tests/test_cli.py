"""The `authsvc` command, run as a real process: serve, migrate, create-user, settings errors."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.processes import authsvc_env, serve
from tests.support.settings import PASSWORD


def run_cli(
    *args: str, env: dict[str, str], stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "authsvc", *args],
        input=stdin,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def sign_up_and_call_me(http: httpx.Client, email: str) -> httpx.Response:
    http.post("/auth/register", json={"email": email, "password": PASSWORD})
    token = http.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return http.get(
        "/users/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )


def test_serve_migrates_and_answers_the_whole_flow(empty_db: str) -> None:
    with (
        serve(authsvc_env(empty_db)) as base_url,
        httpx.Client(base_url=base_url) as http,
    ):
        assert http.get("/").json() == {
            "message": "authsvc: OAuth2 authentication service",
            "docs": "/docs",
        }
        me = sign_up_and_call_me(http, "p@example.com")
        assert me.status_code == 200
        assert me.json()["email"] == "p@example.com"
        assert http.get("/readyz").json() == {"status": "ok", "detail": None}


def test_serve_with_workers_shares_one_database(empty_db: str) -> None:
    env = authsvc_env(empty_db)
    with serve(env, "--workers", "2") as base_url, httpx.Client(base_url=base_url) as http:
        body = {"email": "w@example.com", "password": PASSWORD}
        statuses = [http.post("/auth/register", json=body).status_code for _ in range(4)]
        assert statuses == [201, 409, 409, 409]
        for _ in range(4):  # whichever worker answers, the user and the secret are shared
            assert sign_up_and_call_me(http, "w@example.com").status_code == 200


def test_migrate_is_idempotent(empty_db: str) -> None:
    env = authsvc_env(empty_db)
    first = run_cli("migrate", env=env)
    second = run_cli("migrate", env=env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr


def test_create_user_admin_from_stdin_then_log_in_with_admin_scope(empty_db: str) -> None:
    env = authsvc_env(empty_db)
    created = run_cli(
        "create-user",
        "root@example.com",
        "--admin",
        "--full-name",
        "Root",
        "--password-stdin",
        env=env,
        stdin=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    duplicate = run_cli(
        "create-user", "ROOT@example.com", "--password-stdin", env=env, stdin=PASSWORD + "\n"
    )
    assert duplicate.returncode == 2
    assert "already exists" in duplicate.stderr

    with serve(env, "--no-migrate") as base_url:
        token = httpx.post(
            f"{base_url}/auth/token",
            data={"username": "root@example.com", "password": PASSWORD, "scope": "admin user"},
        )
    assert token.status_code == 200
    assert token.json()["scope"] == "admin user"


def test_create_user_scope_grants_introspection_to_a_resource_server(empty_db: str) -> None:
    env = authsvc_env(empty_db)
    created = run_cli(
        "create-user",
        "svc@example.com",
        "--scope",
        "introspect",
        "--password-stdin",
        env=env,
        stdin=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr

    with serve(env, "--no-migrate") as base_url, httpx.Client(base_url=base_url) as http:
        service = http.post(
            "/auth/token", data={"username": "svc@example.com", "password": PASSWORD}
        )
        assert service.json()["scope"] == "introspect user"
        caller = {"Authorization": f"Bearer {service.json()['access_token']}"}
        http.post("/auth/register", json={"email": "alice@example.com", "password": PASSWORD})
        alice = http.post(
            "/auth/token", data={"username": "alice@example.com", "password": PASSWORD}
        ).json()["access_token"]

        live = http.post("/auth/introspect", data={"token": alice}, headers=caller)
        http.post("/auth/logout", headers={"Authorization": f"Bearer {alice}"})
        ended = http.post("/auth/introspect", data={"token": alice}, headers=caller)

    assert live.json()["active"] is True
    assert live.json()["username"] == "alice@example.com"
    assert ended.json() == {"active": False}


def test_create_user_refuses_an_unknown_scope(empty_db: str) -> None:
    result = run_cli(
        "create-user",
        "svc@example.com",
        "--scope",
        "superuser",
        "--password-stdin",
        env=authsvc_env(empty_db),
        stdin=PASSWORD + "\n",
    )

    assert result.returncode == 2
    assert "invalid choice: 'superuser'" in result.stderr


def test_create_user_rejects_a_short_password(empty_db: str) -> None:
    result = run_cli(
        "create-user",
        "x@example.com",
        "--password-stdin",
        env=authsvc_env(empty_db),
        stdin="short\n",
    )
    assert result.returncode == 2
    assert "password" in result.stderr


def test_production_refuses_to_start_without_a_strong_secret(empty_db: str) -> None:
    env = authsvc_env(empty_db, AUTHSVC_ENV="production")
    del env["AUTHSVC_JWT_SECRET"]
    missing = run_cli("serve", env=env)
    env["AUTHSVC_JWT_SECRET"] = "too-short"
    short = run_cli("serve", env=env)

    for result in (missing, short):
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1
        assert "AUTHSVC_JWT_SECRET" in lines[0]
        assert "32 bytes" in lines[0]


def test_invalid_setting_is_one_clear_line(empty_db: str) -> None:
    env = authsvc_env(empty_db, AUTHSVC_ACCESS_TOKEN_EXPIRE_MINUTES="soon")
    result = run_cli("migrate", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("authsvc: AUTHSVC_ACCESS_TOKEN_EXPIRE_MINUTES")


def test_development_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    env = authsvc_env(f"sqlite+aiosqlite:///{tmp_path / 'dev.db'}")
    del env["AUTHSVC_JWT_SECRET"]

    with serve(env, cwd=tmp_path) as base_url, httpx.Client(base_url=base_url) as http:
        assert sign_up_and_call_me(http, "d@example.com").status_code == 200
        token = http.post("/auth/token", data={"username": "d@example.com", "password": PASSWORD})
        access = token.json()["access_token"]
    secret_file = tmp_path / ".authsvc-jwt-secret"
    secret = secret_file.read_text()
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    assert len(secret.strip()) >= 32

    with serve(env, cwd=tmp_path) as base_url:  # restarted: same secret, tokens still valid
        me = httpx.get(f"{base_url}/users/me", headers={"Authorization": f"Bearer {access}"})
        assert me.status_code == 200
    assert secret_file.read_text() == secret
