"""`authsvc users ...`, run as real processes against the test's database, checked through
the app: the admin API's powers for operators, under the same rules."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

from fastapi import FastAPI

from tests.support.admin import provision
from tests.support.app import Api
from tests.support.processes import authsvc_env
from tests.test_cli import run_cli


async def users(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run_cli, "users", *args, env=authsvc_env(database_url))


def refused(result: subprocess.CompletedProcess[str], says: str) -> None:
    """Exit status 2 and one line saying why (beside the audit log, also on stderr)."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.startswith("authsvc: ")]
    assert len(lines) == 1, result.stderr
    assert says in lines[0]


def said(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


async def test_users_commands_manage_accounts_under_the_apis_rules(
    app: FastAPI, api: Api, database_url: str
) -> None:
    await provision(app, "root@example.com", "admin")
    await provision(app, "Alice@example.com")
    alice = (await api.login("alice@example.com")).json()

    # list, as text and as JSON (stdout holds only the output: the logs go to stderr)
    lines = said(await users(database_url, "list")).splitlines()
    assert [line.split()[1:] for line in lines] == [
        ["root@example.com", "active", "admin", "user", "sessions=0"],
        ["Alice@example.com", "active", "user", "sessions=1"],
    ]
    (entry,) = json.loads(said(await users(database_url, "list", "--q", "ALI", "--json")))
    assert entry["email"] == "Alice@example.com"
    assert entry["live_sessions"] == 1
    assert entry["last_login_at"] is not None

    # end-sessions, disable, enable
    ended = said(await users(database_url, "end-sessions", "alice@example.com"))
    assert ended == "ended 1 sessions of alice@example.com"
    assert (await api.me(alice["access_token"])).status_code == 401
    alice = (await api.login("alice@example.com")).json()
    said(await users(database_url, "disable", "alice@example.com"))
    assert (await api.me(alice["access_token"])).status_code == 401
    assert (await api.refresh(alice["refresh_token"])).json()["error"] == "invalid_grant"
    assert (await api.login("alice@example.com")).status_code == 400
    said(await users(database_url, "enable", "alice@example.com"))
    assert (await api.me(alice["access_token"])).status_code == 401  # not revived
    assert (await api.login("alice@example.com")).status_code == 200

    # grant, revoke and delete, and the last admin
    granted = said(await users(database_url, "grant", "alice@example.com", "admin"))
    assert granted == "alice@example.com holds: admin user"
    assert said(await users(database_url, "revoke", "root@example.com", "admin")) == (
        "root@example.com holds: user"
    )
    refused(await users(database_url, "revoke", "alice@example.com", "admin"), "last active admin")
    assert (
        said(await users(database_url, "delete", "root@example.com")) == "deleted root@example.com"
    )
    assert (await api.register("root@example.com")).status_code == 201  # the email is free
    refused(await users(database_url, "delete", "nobody@example.com"), "nobody@example.com")
    assert (await api.login("alice@example.com")).json()["scope"] == "admin user"


def test_every_account_keeps_the_user_scope(tmp_path: Path) -> None:
    result = run_cli(
        "users",
        "revoke",
        "alice@example.com",
        "user",
        env=authsvc_env(f"sqlite+aiosqlite:///{tmp_path}/unused.db"),
    )
    refused(result, "disable the account instead")
