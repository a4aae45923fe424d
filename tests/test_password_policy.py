"""The password policy (NIST SP 800-63B): length, common passwords, the email's own name.

It holds wherever a password is chosen: registration here, `authsvc create-user` below.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from authsvc.security.password_policy import COMMON_PASSWORDS_FILE, common_passwords
from tests.support.app import Api
from tests.support.processes import authsvc_env


def password_error(response_json: dict[str, object]) -> str:
    errors = response_json["detail"]
    assert isinstance(errors, list)
    (error,) = [e for e in errors if e["loc"][-1] == "password"]
    message: str = error["msg"]
    return message


@pytest.mark.parametrize(
    "password",
    [
        "password123",
        "PASSWORD123",  # case does not make it uncommon
        "Qwertyuiop",
        "iloveyou",
        "".join(chr(ord(c) + 0xFEE0) for c in "password123"),  # full-width: same after NFKC
    ],
)
async def test_a_common_password_is_422_saying_so(api: Api, password: str) -> None:
    response = await api.register("alice@example.com", password)

    assert response.status_code == 422
    assert "most common passwords" in password_error(response.json())
    assert (await api.login("alice@example.com", password)).status_code == 400  # no account


@pytest.mark.parametrize(
    "password",
    ["", "short", "7chars!", "abcde\u0301fg"],  # the last: 8 code points, 7 after NFKC
)
async def test_a_short_password_is_422_saying_how_long_it_must_be(api: Api, password: str) -> None:
    response = await api.register("alice@example.com", password)

    assert response.status_code == 422
    assert "at least 8 characters" in password_error(response.json())


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("alice.smith@example.com", "alice.smith"),  # equal to the name
        ("alice.smith@example.com", "Alice.Smith-1999"),  # contains it, in any case
        ("alice.smith@example.com", "my name is alicesmith"),  # without the separator
        ("bobby+shop@example.com", "bobby-the-builder"),  # without the +tag
    ],
)
async def test_a_password_made_from_the_email_name_is_422_saying_so(
    api: Api, email: str, password: str
) -> None:
    response = await api.register(email, password)

    assert response.status_code == 422
    assert "email address" in password_error(response.json())


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("alice@example.com", "correct horse battery staple"),
        ("alice@example.com", "ünïcödé pässwörd ☃"),
        ("al@example.com", "always alert, Al"),  # names under 4 characters may appear inside
        ("example@alice.com", "alice in wonderland"),  # the domain is not the name
    ],
)
async def test_other_passwords_are_accepted_without_composition_rules(
    api: Api, email: str, password: str
) -> None:
    assert (await api.register(email, password)).status_code == 201
    assert (await api.login(email, password)).status_code == 200


def test_the_shipped_list_has_the_100000_most_common_passwords() -> None:
    data = resources.files("authsvc.security").joinpath(COMMON_PASSWORDS_FILE).read_bytes()
    lines = gzip.decompress(data).decode().splitlines()
    assert len(lines) == 100_000
    assert lines[:3] == ["123456", "password", "12345678"]  # most common first
    blocked = common_passwords()
    assert len(blocked) > 95_000  # case-folded, so a few entries fold together
    assert "password" in blocked
    assert "correct horse battery staple" not in blocked


def test_create_user_applies_the_same_policy(tmp_path: Path) -> None:
    env = authsvc_env(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")

    def create(email: str, password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "authsvc", "create-user", email, "--password-stdin"],
            input=password + "\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    common = create("root@example.com", "password123")
    assert common.returncode == 2
    assert "most common passwords" in common.stderr
    own_name = create("rootadmin@example.com", "rootadmin-2024")
    assert own_name.returncode == 2
    assert "email address" in own_name.stderr
    assert create("root@example.com", "correct horse battery staple").returncode == 0
