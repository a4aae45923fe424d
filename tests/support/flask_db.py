"""A database of the old Flask tutorial app, written the way that app writes it.

Its schema is Flask-SQLAlchemy's `create_all()` of the app's `User` model, as found in a
real `instance/flask_login_example`; `UserPassword` holds what flask_bcrypt's
`generate_password_hash` returns: `bcrypt.hashpw(password.encode(), gensalt(12))`, bytes,
which SQLite keeps as a BLOB. Before bcrypt 5, hashpw read only the first 72 bytes.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import httpx

from tests.support.settings import PASSWORD

SCHEMA = """
CREATE TABLE users (
    "UserId" INTEGER NOT NULL,
    "FullName" VARCHAR(40),
    "Email" VARCHAR(50) NOT NULL,
    "UserPassword" VARCHAR(255) NOT NULL,
    PRIMARY KEY ("UserId"),
    UNIQUE ("Email")
);
CREATE INDEX "ix_users_UserId" ON users ("UserId");
"""


@functools.cache
def flask_bcrypt_hash(password: str, rounds: int = 4) -> bytes:
    """flask_bcrypt's hash of `password` (cached: a test may reuse one for many users).
    bcrypt 5 refuses more than 72 bytes; the old app's bcrypt 4 read only those."""
    return bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(rounds))


@dataclass(frozen=True)
class OldUser:
    user_id: int
    email: str | None
    password: str = "hunter2"
    full_name: str | None = "Old User"
    rounds: int = 4
    stored_hash: bytes | str | None = None  # a hash as stored, instead of one of `password`

    def row(self) -> tuple[int, str | None, str | None, bytes | str | None]:
        stored = self.stored_hash
        if stored is None:
            stored = flask_bcrypt_hash(self.password, self.rounds)
        return (self.user_id, self.full_name, self.email, stored)


def write_old_db(path: Path, users: Iterable[OldUser], *, schema: str = SCHEMA) -> str:
    """Create the old app's database file with these users; its `sqlite:///` URL."""
    connection = sqlite3.connect(path)
    try:
        connection.executescript(schema)
        users = list(users)
        if users:
            add_old_users(connection, users)
    finally:
        connection.close()
    return f"sqlite:///{path}"


def add_old_users(connection: sqlite3.Connection, users: Iterable[OldUser]) -> None:
    with connection:
        connection.executemany(
            'INSERT INTO users ("UserId", "FullName", "Email", "UserPassword") VALUES (?, ?, ?, ?)',
            (user.row() for user in users),
        )


class OldClient:
    """The requests the old app's clients send: forms, and `bearer` in lower case."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def register(
        self, email: str, password: str = PASSWORD, fullname: str | None = None
    ) -> httpx.Response:
        form = {"email": email, "password": password}
        if fullname is not None:
            form["fullname"] = fullname
        return await self.client.post("/user/login/register", data=form)

    async def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        form = {"username": username, "password": password}
        return await self.client.post("/user/login/token", data=form)

    async def me(self, access_token: str) -> httpx.Response:
        headers = {"Authorization": f"bearer {access_token}"}
        return await self.client.get("/user/login/users/me/", headers=headers)

    async def token(self, username: str, password: str = PASSWORD) -> str:
        response = await self.login(username, password)
        assert response.status_code == 200, response.text
        access: str = response.json()["access_token"]
        return access
