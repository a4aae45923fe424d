"""/users/me latency with and without a flood of logins, against a real `authsvc serve`.

Password hashing is the expensive part of a login. It runs in a bounded pool of
threads, and beyond a bounded queue further logins are shed with 503, so a flood of
logins must not slow down requests that hash nothing. Run:

    .venv/bin/python bench/users_me_under_login_flood.py [--rounds 12] [--seconds 5]

It serves on 127.0.0.1 from a temporary SQLite database and measures, one request at a
time, /users/me p50/p99: idle; during a flood of concurrent logins with load shedding
(the default queue bound); and during the same flood with shedding switched off (an
unbounded queue). A separate process sends the flood, so its client work does not
delay the measuring client. Every phase is bounded in time and in request count, and
all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

EMAIL = "bench@example.com"
PASSWORD = "correct horse battery staple"
MAX_SAMPLES = 5000  # per phase, whatever the duration
MAX_FLOOD_REQUESTS = 20000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(database: Path, rounds: int, queue_limit: int | None) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    env.update(
        AUTHSVC_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        AUTHSVC_JWT_SECRET="bench-" + "s" * 40,
        AUTHSVC_BCRYPT_ROUNDS=str(rounds),
        # The flood logs in with the right password from one address: nothing to throttle.
        AUTHSVC_LOGIN_LIMIT_IP="100000/15 minutes",
    )
    if queue_limit is not None:
        env["AUTHSVC_HASH_QUEUE_LIMIT"] = str(queue_limit)
    command = [sys.executable, "-m", "authsvc", "serve", "--port", str(port)]
    process = subprocess.Popen(  # noqa: S603  # our own interpreter and fixed arguments
        [*command, "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise SystemExit(f"authsvc serve exited with {process.returncode}")
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
        process.wait(timeout=30)


def access_token(base_url: str) -> str:
    httpx.post(f"{base_url}/auth/register", json={"email": EMAIL, "password": PASSWORD})
    response = httpx.post(
        f"{base_url}/auth/token", data={"username": EMAIL, "password": PASSWORD}, timeout=60
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def measure_me(base_url: str, token: str, seconds: float) -> list[float]:
    """Sequential /users/me calls for `seconds`; latencies in ms."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        client.get("/users/me").raise_for_status()  # warm the connection
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(latencies) < MAX_SAMPLES:
            start = time.perf_counter()
            response = client.get("/users/me")
            latencies.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
    return latencies


def flood(base_url: str, concurrency: int, seconds: float, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """In its own process: `concurrency` clients logging in back to back for `seconds`."""

    async def run() -> tuple[Counter[int], list[float]]:
        statuses: Counter[int] = Counter()
        ok_latencies: list[float] = []
        deadline = time.monotonic() + seconds
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:

            async def worker() -> None:
                while time.monotonic() < deadline and statuses.total() < MAX_FLOOD_REQUESTS:
                    start = time.perf_counter()
                    try:
                        response = await client.post(
                            "/auth/token", data={"username": EMAIL, "password": PASSWORD}
                        )
                    except httpx.TransportError:
                        statuses[0] += 1
                        continue
                    statuses[response.status_code] += 1
                    if response.status_code == 200:
                        ok_latencies.append((time.perf_counter() - start) * 1000)
                    elif response.status_code == 503:
                        retry = float(response.headers.get("Retry-After", "1"))
                        await asyncio.sleep(min(retry, max(0.0, deadline - time.monotonic())))

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return statuses, ok_latencies

    results.put(asyncio.run(run()))


def percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100)[pct - 1] if len(values) > 1 else values[0]


def report(label: str, latencies: list[float]) -> None:
    print(
        f"  /users/me {label:34} n={len(latencies):5}  "
        f"p50 {percentile(latencies, 50):7.2f} ms  p99 {percentile(latencies, 99):7.2f} ms"
    )


def flooded_phase(base_url: str, token: str, concurrency: int, seconds: float, label: str) -> None:
    results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    sender = multiprocessing.Process(target=flood, args=(base_url, concurrency, seconds, results))
    sender.start()
    time.sleep(min(1.0, seconds / 4))  # let the queue fill before measuring
    latencies = measure_me(base_url, token, seconds - min(1.0, seconds / 4))
    statuses, ok_latencies = results.get(timeout=seconds + 120)
    sender.join(timeout=30)
    report(label, latencies)
    logins = ", ".join(f"{code or 'error'}: {count}" for code, count in sorted(statuses.items()))
    ok = (
        f"; successful login p50 {percentile(ok_latencies, 50):.0f} ms, "
        f"p99 {percentile(ok_latencies, 99):.0f} ms"
        if ok_latencies
        else ""
    )
    print(f"    logins sent: {logins}{ok}")


def main(rounds: int, seconds: float, concurrency: int) -> None:
    print(
        f"bcrypt cost {rounds}, {os.cpu_count()} CPUs, flood of {concurrency} concurrent "
        f"logins, {seconds:.0f} s per phase"
    )
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "bench.db"
        with server(database, rounds, queue_limit=None) as base_url:
            token = access_token(base_url)
            report("idle", measure_me(base_url, token, seconds))
            flooded_phase(base_url, token, concurrency, seconds, "login flood, shedding on")
        with server(database, rounds, queue_limit=1_000_000) as base_url:
            token = access_token(base_url)
            flooded_phase(base_url, token, concurrency, seconds, "login flood, shedding off")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=12, help="bcrypt cost (default 12)")
    parser.add_argument("--seconds", type=float, default=5, help="per phase (default 5)")
    parser.add_argument("--concurrency", type=int, default=64, help="flood clients (default 64)")
    args = parser.parse_args()
    main(args.rounds, args.seconds, args.concurrency)
