"""Login latency: unknown email vs wrong password vs success, at the production bcrypt cost.

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
            await client.post(
                "/auth/register", json={"email": "bench@example.com", "password": PASSWORD}
            )
            kinds = {
                "success": ("bench@example.com", PASSWORD, 200),
                "wrong password": ("bench@example.com", "not the password", 400),
                "unknown email": ("nobody@example.com", "not the password", 400),
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
        print(f"  {kind:15} median {statistics.median(values):7.1f} ms   p90 {p90:7.1f} ms")
    ratio = statistics.median(timings["unknown email"]) / statistics.median(
        timings["wrong password"]
    )
    print(f"  unknown email / wrong password median ratio: {ratio:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.samples))
