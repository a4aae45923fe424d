"""Database outages: requests answer 503 quickly, and the service recovers by itself."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from tests.support.app import Api, AppWith, http_client, running_app
from tests.support.databases import empty_tables
from tests.support.settings import make_settings


class TcpProxy:
    """A TCP forwarder on 127.0.0.1 that the test can cut and restore: a database outage
    without touching the real database server."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Refuse new connections and drop the open ones, as a crashed server would."""
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream_writer}
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            sink.transport.abort()
            self._writers.discard(sink)


@asynccontextmanager
async def proxied(database_url: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    try:
        yield (
            proxy,
            url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        )
    finally:
        if proxy._server is not None and proxy._server.is_serving():
            await proxy.cut()


async def test_database_outage_gives_fast_503_and_recovers_without_restart(
    server_database_url: str,
) -> None:
    """Server databases only: a SQLite file cannot go down under a running process."""
    await empty_tables(server_database_url)
    async with (
        proxied(server_database_url) as (proxy, url),
        running_app(make_settings(url)) as app,
        http_client(app) as client,
    ):
        api = Api(client)
        tokens = await api.signed_up()
        assert (await api.me(tokens["access_token"])).status_code == 200

        await proxy.cut()
        start = time.monotonic()
        down = await api.me(tokens["access_token"])
        elapsed = time.monotonic() - start
        assert down.status_code == 503
        assert down.headers["retry-after"]
        assert "database" in down.json()["detail"].lower()
        assert elapsed < 10
        assert (await api.refresh(tokens["refresh_token"])).status_code == 503
        assert (await api.register("new@example.com")).status_code == 503
        ready = await api.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        assert (await api.client.get("/healthz")).status_code == 200  # the process is fine

        await proxy.start()  # the database is back, same address
        assert (await api.me(tokens["access_token"])).status_code == 200
        assert (await api.client.get("/readyz")).status_code == 200
        assert (await api.refresh(tokens["refresh_token"])).status_code == 200


@pytest.mark.parametrize("fault", ["refused", "unknown host"])
async def test_unreachable_database_is_503_not_500(
    database_url: str, app_with: AppWith, fault: str
) -> None:
    """A closed port, or a host name that does not resolve (a stopped compose service)."""
    if database_url.startswith("sqlite"):
        broken = "sqlite+aiosqlite:////nonexistent-directory/authsvc.db"
    else:
        url = make_url(database_url)
        url = url.set(port=1) if fault == "refused" else url.set(host="postgres.invalid")
        broken = url.render_as_string(hide_password=False)
    async with app_with(database_url=broken) as (_app, api):
        register = await api.register("alice@example.com")
        login = await api.login("alice@example.com")
        ready = await api.client.get("/readyz")

    for response in (register, login, ready):
        assert response.status_code == 503
        assert response.json()


async def test_reads_do_not_queue_behind_a_sqlite_writer(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """SQLite only (PostgreSQL readers never wait for writers): while another connection
    holds the write lock, token checks and /readyz still answer at once."""
    path = tmp_path / "authsvc.db"
    shutil.copyfile(sqlite_template, path)
    async with (
        running_app(make_settings(f"sqlite+aiosqlite:///{path}")) as app,
        http_client(app) as client,
    ):
        api = Api(client)
        tokens = await api.signed_up()
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        try:
            async with asyncio.timeout(5):  # the busy timeout a write would wait is 30 s
                me = await api.me(tokens["access_token"])
                ready = await client.get("/readyz")
        finally:
            writer.execute("ROLLBACK")
            writer.close()

    assert me.status_code == 200
    assert ready.status_code == 200


async def test_an_os_error_outside_the_database_is_not_reported_as_a_database_outage(
    app: FastAPI,
) -> None:
    """Only the database's failures are "the database is unavailable": a socket error of
    another collaborator (an SMTP server, say) is a bug to log, answered 500."""

    async def broken() -> None:
        raise ConnectionRefusedError("some other server")

    app.add_api_route("/broken-collaborator", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/broken-collaborator")

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error", "code": "internal_error"}
