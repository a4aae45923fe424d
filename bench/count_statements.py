"""Database work per operation: the statements and round trips of me, login, refresh,
register and logout, as the app runs them.

    .venv/bin/python bench/count_statements.py        (or: make bench-statements)

Runs the app in-process (httpx over ASGI) on a temporary SQLite database, and on
PostgreSQL when AUTHSVC_BENCH_POSTGRES_URL is set (the bench database: it is emptied).
Each operation runs once to warm up (prepared statements, the pool), then once counted.
SQLAlchemy events on the app's engine see every statement (`before_cursor_execute`),
every BEGIN / COMMIT / ROLLBACK (on SQLite the app's BEGIN is a statement of its own),
and every pool checkout, which pings the server first where `pool_pre_ping` is on.
A round trip is one of these: a statement, a BEGIN, a COMMIT or ROLLBACK, or a ping.
It also counts the hops to anyio's worker threads (`anyio.to_thread.run_sync`): FastAPI
runs each plain `def` dependency there, and the hasher each hash. Prints a Markdown table
per database.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
from run import DATABASES, JWT_SECRET, PASSWORD, UNTHROTTLED, Skip
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from authsvc.app import create_app
from authsvc.config import Settings
from authsvc.migrate import upgrade

EMAIL = "count@example.com"
_TABLES = re.compile(r'\b(?:FROM|JOIN|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


def summary(statement: str) -> str:
    """`SELECT users, sessions`: the verb and the tables, in the order they appear."""
    words = statement.split()
    verb = words[0].upper() if words else "?"
    if verb in ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA"):
        return " ".join(words[:2]) if verb == "BEGIN" else verb
    tables = list(dict.fromkeys(_TABLES.findall(statement)))
    return f"{verb} {', '.join(tables)}".strip()


class Recorder:
    """What reaches the database while `recording` is a list."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.recording: list[str] | None = None
        self.hops = 0
        sync = engine.sync_engine
        self.sqlite = sync.dialect.name == "sqlite"
        self.pings = bool(getattr(sync.pool, "_pre_ping", False))
        event.listen(sync, "before_cursor_execute", self._statement)
        event.listen(sync, "begin", self._begin)
        event.listen(sync, "commit", lambda _conn: self._add("COMMIT"))
        event.listen(sync, "rollback", lambda _conn: self._add("ROLLBACK"))
        event.listen(sync, "checkout", self._checkout)

    @asynccontextmanager
    async def counting_thread_hops(self) -> AsyncIterator[None]:
        """Count the calls of anyio.to_thread.run_sync (callers look it up at each call)."""
        original = anyio.to_thread.run_sync

        async def counted(*args: Any, **kwargs: Any) -> Any:
            if self.recording is not None:
                self.hops += 1
            return await original(*args, **kwargs)

        anyio.to_thread.run_sync = counted  # type: ignore[assignment]
        try:
            yield
        finally:
            anyio.to_thread.run_sync = original

    def _add(self, what: str) -> None:
        if self.recording is not None:
            self.recording.append(what)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self._add(summary(statement))

    def _begin(self, _conn: Any) -> None:
        if not self.sqlite:  # SQLite: the app sends its BEGIN as a statement, seen above
            self._add("BEGIN")

    def _checkout(self, *_args: Any) -> None:
        if self.pings:
            self._add("ping")


async def count(database_url: str) -> list[tuple[str, list[str], int]]:
    settings = Settings(
        database_url=database_url,
        jwt_secret=JWT_SECRET,
        bcrypt_rounds=4,  # the statements are the same at any cost
        session_purge_interval_seconds=0,  # no purge in the middle of an operation
        _env_file=None,  # type: ignore[call-arg]
        **{key.removeprefix("AUTHSVC_").lower(): value for key, value in UNTHROTTLED.items()},
    )
    await upgrade(settings)
    app = create_app(settings)
    recorder = Recorder(app.state.runtime.engine)
    transport = httpx.ASGITransport(app=app)
    results: list[tuple[str, list[str], int]] = []
    counter = 0
    async with (
        app.router.lifespan_context(app),
        recorder.counting_thread_hops(),
        httpx.AsyncClient(transport=transport, base_url="http://count") as client,
    ):

        async def register() -> httpx.Response:
            nonlocal counter
            counter += 1
            body = {"email": f"new{counter}@example.com", "password": PASSWORD}
            return await client.post("/auth/register", json=body)

        async def login() -> httpx.Response:
            form = {"grant_type": "password", "username": EMAIL, "password": PASSWORD}
            return await client.post("/auth/token", data=form)

        def bearer(tokens: dict[str, Any]) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens['access_token']}"}

        registered = await client.post(
            "/auth/register", json={"email": EMAIL, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        tokens = (await login()).json()

        async def me() -> httpx.Response:
            return await client.get("/users/me", headers=bearer(tokens))

        async def refresh() -> httpx.Response:
            nonlocal tokens
            form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
            response = await client.post("/auth/token", data=form)
            tokens = response.json()
            return response

        async def logout() -> httpx.Response:
            other = (await login()).json()  # a session of its own to end; not counted
            recorder.recording, recorder.hops = [], 0
            return await client.post("/auth/logout", headers=bearer(other))

        operations = [
            ("GET /users/me", me, 200),
            ("login (password grant)", login, 200),
            ("refresh (refresh_token grant)", refresh, 200),
            ("register", register, 201),
            ("logout", logout, 204),
        ]
        for name, operation, expected in operations:
            for counted in (False, True):
                recorder.recording = [] if counted else None
                recorder.hops = 0
                response = await operation()
                assert response.status_code == expected, (name, response.text)
            results.append((name, recorder.recording or [], recorder.hops))
            recorder.recording = None
    return results


def round_trips(sequence: list[str]) -> int:
    return len(sequence)


def statements(sequence: list[str]) -> int:
    """The SQL the app asks for: neither transaction control nor pings."""
    skip = ("BEGIN", "COMMIT", "ROLLBACK", "ping")
    return sum(1 for item in sequence if not item.startswith(skip))


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="authsvc-count-") as tmp:
        for name in ("sqlite", "postgresql"):
            try:
                url = DATABASES[name].prepare(Path(tmp))
            except Skip as exc:
                print(f"skipping {name}: {exc}\n")
                continue
            print(f"### {name}\n")
            print("| operation | statements | round trips | thread hops | in order |")
            print("|---|---|---|---|---|")
            for operation, sequence, hops in asyncio.run(count(url)):
                print(
                    f"| {operation} | {statements(sequence)} | {round_trips(sequence)} "
                    f"| {hops} | {'; '.join(sequence)} |"
                )
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
