"""How far a burst of concurrent logins overshoots each rate limit, against a real server.

Each scenario starts `authsvc serve` (bcrypt cost 10, a temporary SQLite database, the
counters in memory or in Redis), fires concurrent requests and counts the answers: a 400
(or 201/409 for registrations) is an attempt that was checked, a 429 one that was
throttled. The overshoot is how many more were checked than the limit allows. Run:

    .venv/bin/python bench/login_burst.py [--storage memory|redis|both] [--quick]

- `ip-timed`: AUTHSVC_LOGIN_LIMIT_IP=5/30 seconds; 4 wrong guesses, then bursts of 16
  concurrent wrong guesses (each at another account) at t = 15, 31 and 46.5 s. A moving
  window of 5 per 30 s lets at most 10 through in those 48 s. Skipped with `--quick`.
- `ip`: 5 per hour from one address, 40 concurrent guesses at 40 accounts.
- `account`: 11 per hour for one account, 30 concurrent guesses from 30 addresses (the
  server trusts 127.0.0.1 as a proxy, so each request names its address).
- `pair`: 10 per 15 minutes for one (account, address), 30 concurrent guesses.
- `register`: 10 registrations per hour from one address, 30 concurrent.

It also counts tracebacks in each server's log. All traffic goes to 127.0.0.1; Redis is
`AUTHSVC_TEST_REDIS_URL` or redis://127.0.0.1:6379/15, under a key prefix of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

PASSWORD = "correct horse battery staple"
WRONG = "not the password"
REDIS_URL = os.environ.get("AUTHSVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOMY = {  # the limits a scenario does not measure, out of the way
    "AUTHSVC_LOGIN_LIMIT_ACCOUNT_IP": "1000/hour",
    "AUTHSVC_LOGIN_LIMIT_IP": "100000/hour",
    "AUTHSVC_LOGIN_LIMIT_ACCOUNT": "100000/hour",
    "AUTHSVC_REGISTER_LIMIT_IP": "100000/hour",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(storage: str, log: Path, **settings: str) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    env.update(
        {
            "AUTHSVC_DATABASE_URL": f"sqlite+aiosqlite:///{log.with_suffix('.db')}",
            "AUTHSVC_JWT_SECRET": "bench-" + uuid.uuid4().hex * 2,
            "AUTHSVC_BCRYPT_ROUNDS": "10",
            "AUTHSVC_HASH_QUEUE_LIMIT": "1000",  # measure the throttle, not the load shedding
            "AUTHSVC_TRUSTED_PROXIES": "127.0.0.1",
            "AUTHSVC_THROTTLE_KEY_PREFIX": f"bench-{uuid.uuid4().hex}",
            **ROOMY,
            **settings,
        }
    )
    if storage == "redis":
        env["AUTHSVC_REDIS_URL"] = REDIS_URL
    command = [sys.executable, "-m", "authsvc", "serve", "--port", str(port)]
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603  # our own interpreter and fixed arguments
            command, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                output_text = log.read_text()
                raise SystemExit(f"authsvc serve exited with {process.returncode}:\n{output_text}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("authsvc serve did not start within 30 s")
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=15)


async def login(
    client: httpx.AsyncClient, email: str, password: str = WRONG, via: str | None = None
) -> int:
    headers = {"X-Forwarded-For": via} if via else {}
    data = {"grant_type": "password", "username": email, "password": password}
    response = await client.post("/auth/token", data=data, headers=headers)
    return response.status_code


async def register(client: httpx.AsyncClient, email: str) -> int:
    response = await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    return response.status_code


def summary(codes: list[int]) -> str:
    return ", ".join(f"{count} x {code}" for code, count in sorted(Counter(codes).items()))


async def scenario(name: str, base_url: str) -> tuple[list[int], int]:
    """(every status code, how many the limit allows)."""
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        tag = uuid.uuid4().hex[:8]
        if name == "ip-timed":
            start = time.monotonic()
            codes = [await login(client, f"{tag}-{i}@example.com") for i in range(4)]
            for at in (15, 31, 46.5):
                await asyncio.sleep(max(0.0, start + at - time.monotonic()))
                codes += await asyncio.gather(
                    *(login(client, f"{tag}-{at}-{i}@example.com") for i in range(16))
                )
            return codes, 10
        if name == "ip":
            jobs = [login(client, f"{tag}-{i}@example.com") for i in range(40)]
            return list(await asyncio.gather(*jobs)), 5
        if name == "account":
            assert await register(client, f"{tag}@example.com") == 201
            jobs = [login(client, f"{tag}@example.com", via=f"203.0.113.{n}") for n in range(30)]
            return list(await asyncio.gather(*jobs)), 11
        if name == "pair":
            assert await register(client, f"{tag}@example.com") == 201
            jobs = [login(client, f"{tag}@example.com") for _ in range(30)]
            return list(await asyncio.gather(*jobs)), 10
        jobs = [register(client, f"{tag}-{i}@example.com") for i in range(30)]
        return list(await asyncio.gather(*jobs)), 10


SETTINGS = {
    "ip-timed": {"AUTHSVC_LOGIN_LIMIT_IP": "5/30 seconds"},
    "ip": {"AUTHSVC_LOGIN_LIMIT_IP": "5/hour"},
    "account": {
        "AUTHSVC_LOGIN_LIMIT_ACCOUNT_IP": "2/hour",
        "AUTHSVC_LOGIN_LIMIT_ACCOUNT": "11/hour",
    },
    "pair": {"AUTHSVC_LOGIN_LIMIT_ACCOUNT_IP": "10/15 minutes"},
    "register": {"AUTHSVC_REGISTER_LIMIT_IP": "10/hour"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--storage", choices=["memory", "redis", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="skip the 48 s timed scenario")
    args = parser.parse_args()
    storages = ["memory", "redis"] if args.storage == "both" else [args.storage]
    names = [name for name in SETTINGS if not (args.quick and name == "ip-timed")]
    print("| scenario | storage | answers | checked | allowed | overshoot | tracebacks |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for storage in storages:
            for name in names:
                log = Path(tmp) / f"{name}-{storage}.log"
                with server(storage, log, **SETTINGS[name]) as base_url:
                    codes, allowed = asyncio.run(scenario(name, base_url))
                checked = sum(code != 429 for code in codes)
                tracebacks = log.read_text().count("Traceback")
                print(
                    f"| {name} | {storage} | {summary(codes)} | {checked} | {allowed} "
                    f"| {max(0, checked - allowed)} | {tracebacks} |"
                )


if __name__ == "__main__":
    main()
