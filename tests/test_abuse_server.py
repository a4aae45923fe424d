"""Abuse resistance that only a real `authsvc serve` process shows: its log, its HTTP parser."""

from __future__ import annotations

import asyncio
import random
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.support.processes import authsvc_env, serve_process
from tests.support.settings import PASSWORD

WRONG = "not the password"


def test_a_burst_of_failed_and_successful_logins_leaves_no_traceback_in_the_log(
    tmp_path: Path,
) -> None:
    """limits' memory storage prunes its counters in a background task, which raised
    KeyError ("Task exception was never retrieved") when a success cleared a counter it
    was about to prune."""
    env = authsvc_env(
        f"sqlite+aiosqlite:///{tmp_path / 'burst.db'}",
        AUTHSVC_TRUSTED_PROXIES="127.0.0.1",  # so each request can name its own address
        AUTHSVC_LOGIN_LIMIT_ACCOUNT_IP="1000/hour",  # nothing is throttled: many counters
        AUTHSVC_LOGIN_LIMIT_IP="100000/hour",
        AUTHSVC_LOGIN_LIMIT_ACCOUNT="100000/hour",
        AUTHSVC_HASH_QUEUE_LIMIT="1000",
    )
    log = tmp_path / "server.log"
    accounts = [f"user{n}@example.com" for n in range(8)]
    with serve_process(env, log_file=log) as (base_url, _process):

        async def run() -> list[int]:
            limits = httpx.Limits(max_connections=16)
            async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
                for email in accounts:
                    body = {"email": email, "password": PASSWORD}
                    assert (await client.post("/auth/register", json=body)).status_code == 201
                rng = random.Random(10)  # noqa: S311  # a fixed mix, not a secret

                async def login(n: int) -> int:
                    password = PASSWORD if n % 3 == 0 else WRONG
                    data = {"username": rng.choice(accounts), "password": password}
                    via = {"X-Forwarded-For": f"198.51.100.{n % 200}"}
                    response = await client.post("/auth/token", data=data, headers=via)
                    return response.status_code

                return list(await asyncio.gather(*(login(n) for n in range(600))))

        codes = asyncio.run(run())

    assert set(codes) <= {200, 400}, sorted(set(codes))
    output = log.read_text()
    assert "Traceback" not in output, output[output.index("Traceback") :][:3000]
    assert "exception was never retrieved" not in output


def send_raw(base_url: str, request: bytes) -> bytes:
    """One request over a plain socket; what came back before the server closed (b"" if it
    reset the connection first)."""
    url = urlsplit(base_url)
    assert url.hostname is not None
    assert url.port is not None
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        try:
            sock.sendall(request)
            chunks = []  # until the server closes: the request says "Connection: close"
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (BrokenPipeError, ConnectionResetError):
            return b""
        return b"".join(chunks)


def get_me(authorization_bytes: int) -> bytes:
    token = b"a" * authorization_bytes
    return (
        b"GET /users/me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Authorization: Bearer " + token + b"\r\n\r\n"
    )


def test_the_server_refuses_a_request_head_over_its_limit_without_reading_it(
    tmp_path: Path,
) -> None:
    """httptools reads a header of any size (a 40 MB Authorization header was read
    whole). `authsvc serve` uses h11, which refuses a head (400, connection closed) once
    more than AUTHSVC_MAX_HEADER_BYTES (16 KiB) of it is buffered incomplete: 1 MiB
    arrives in several reads and is cut off at the first one past the limit. A head that
    arrives in one read (64 KiB here) is parsed whole, and the app answers 431."""
    env = authsvc_env(f"sqlite+aiosqlite:///{tmp_path / 'headers.db'}")
    log = tmp_path / "server.log"
    with serve_process(env, log_file=log) as (base_url, _process):
        accepted = send_raw(base_url, get_me(8 * 1024))
        too_large = send_raw(base_url, get_me(32 * 1024))
        cut_off = send_raw(base_url, get_me(1024 * 1024))
        still_up = httpx.get(f"{base_url}/healthz")

    assert accepted.startswith(b"HTTP/1.1 401 "), accepted[:200]  # read: a bad token
    assert too_large.startswith(b"HTTP/1.1 431 "), too_large[:200]
    assert b"at most 16384 bytes" in too_large
    # Refused before the app saw it: 400, or a reset (the server closed with the rest of
    # the head unread) that lost the answer; never the app's 401.
    assert cut_off == b"" or cut_off.startswith(b"HTTP/1.1 400 "), cut_off[:200]
    assert "Invalid HTTP request received" in log.read_text()
    assert still_up.status_code == 200
