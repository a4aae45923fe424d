"""Abuse resistance that only a real `authsvc serve` process shows: its log, its HTTP parser."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import httpx

from tests.conftest import PASSWORD, authsvc_env, serve_process

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
