"""Login latency: unknown email vs wrong password vs success, at the production bcrypt cost,
and a wrong password for an account whose hash is from a lower, older cost.

An attacker must not tell "no such account" from "wrong password" by timing. Run:

    .venv/bin/python bench/login_timing.py [--rounds 12] [--samples 30]

It starts the app in-process on a temporary SQLite database, interleaves the three kinds
of login so machine noise hits them alike, and prints median and p90 per kind plus the
ratio of the medians of unknown email and wrong password (1.00 is ideal).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from passlib.context import CryptContext
from sqlalchemy import text

from authsvc.app import create_app
from authsvc.config import Settings
from authsvc.migrate import upgrade

PASSWORD = "correct horse battery staple"


async def main(rounds: int, samples: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
            jwt_secret="bench-" + "s" * 40,
            bcrypt_rounds=rounds,
            # Throttling would answer 429 before any hashing: out of the way, to time hashing.
            login_limit_account_ip="10000/hour",
            login_limit_ip="100000/hour",
            login_limit_account="100000/hour",
            _env_file=None,  # type: ignore[call-arg]
        )
        await upgrade(settings)
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench"
            ) as client,
        ):
            for email in ("bench@example.com", "old@example.com"):
                await client.post("/auth/register", json={"email": email, "password": PASSWORD})
            # An account whose hash dates from a lower cost (before the cost was raised).
            old_hash = CryptContext(["bcrypt_sha256"], bcrypt_sha256__rounds=4).hash(PASSWORD)
            async with app.state.runtime.engine.begin() as conn:
                await conn.execute(
                    text("UPDATE users SET hashed_password = :h WHERE email = :e"),
                    {"h": old_hash, "e": "old@example.com"},
                )
            kinds = {
                "success": ("bench@example.com", PASSWORD, 200),
                "wrong password": ("bench@example.com", "not the password", 400),
                "unknown email": ("nobody@example.com", "not the password", 400),
                "wrong, old cost": ("old@example.com", "not the password", 400),
            }
            timings: dict[str, list[float]] = {kind: [] for kind in kinds}
            for _ in range(samples):
                for kind, (email, password, expected) in kinds.items():
                    start = time.perf_counter()
                    response = await client.post(
                        "/auth/token", data={"username": email, "password": password}
                    )
                    timings[kind].append((time.perf_counter() - start) * 1000)
                    assert response.status_code == expected, response.text

    print(f"bcrypt rounds {rounds}, {samples} samples each")
    for kind, values in timings.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"  {kind:16} median {statistics.median(values):7.1f} ms   p90 {p90:7.1f} ms")
    ratio = statistics.median(timings["unknown email"]) / statistics.median(
        timings["wrong password"]
    )
    print(f"  unknown email / wrong password median ratio: {ratio:.2f}")
    old = statistics.median(timings["wrong, old cost"]) / statistics.median(
        timings["unknown email"]
    )
    print(f"  wrong password on an old-cost hash / unknown email median ratio: {old:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.samples))
