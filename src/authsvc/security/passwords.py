"""Password hashing: bcrypt over SHA-256, off the event loop, with bounded concurrency."""

from __future__ import annotations

import math
import time
import unicodedata
from typing import Any

import anyio
import anyio.to_thread
from passlib.context import CryptContext
from prometheus_client import Gauge

from authsvc.errors import Overloaded


def normalize_password(password: str) -> str:
    """NFKC, so the same password typed on two keyboards (or IMEs) hashes the same."""
    return unicodedata.normalize("NFKC", password)


class PasswordHasher:
    """Hashes with `bcrypt_sha256`: the whole password counts, never cut at bcrypt's 72 bytes.

    Plain `bcrypt` hashes (from the old app) still verify and are marked deprecated,
    so a successful login hands back a replacement hash.

    bcrypt is deliberately slow and CPU-bound; running it on the event loop would
    stall every other request, so it runs in worker threads, at most `workers` at once.

    Load shedding: when every worker is busy and `max_waiting` jobs already wait, a new
    job raises `Overloaded` at once (no hash runs) instead of joining an unbounded queue.
    """

    def __init__(
        self,
        rounds: int,
        workers: int,
        active: Gauge | None = None,
        *,
        max_waiting: int | None = None,
    ) -> None:
        self._context = CryptContext(
            schemes=["bcrypt_sha256", "bcrypt"],
            deprecated=["bcrypt"],
            bcrypt_sha256__rounds=rounds,
            bcrypt__rounds=rounds,
        )
        self._limiter = anyio.CapacityLimiter(workers)
        self.hashes_run = 0  # hashes, verifies and dummy verifies started: what the work cost
        self._active = active
        self._workers = workers
        self.max_waiting = max_waiting  # None: never shed
        self._mean_seconds = 0.25  # running mean of one job's time, for Retry-After
        self._verify_seconds: float | None = None  # a dummy verify's time (see `verify`)

    @property
    def busy(self) -> int:
        """Hash jobs running now."""
        return int(self._limiter.borrowed_tokens)

    @property
    def waiting(self) -> int:
        """Hash jobs queued for a worker."""
        return self._limiter.statistics().tasks_waiting

    def _shed_if_full(self) -> None:
        if self.max_waiting is None or self._limiter.available_tokens > 0:
            return
        waiting = self.waiting
        if waiting >= self.max_waiting:
            queued = waiting + self.busy
            retry_after = max(1, math.ceil(queued * self._mean_seconds / self._workers))
            raise Overloaded(
                "The server is busy checking other passwords; retry shortly",
                retry_after=retry_after,
            )

    async def _run(self, func: Any, *args: Any) -> Any:
        self._shed_if_full()
        self.hashes_run += 1
        async with self._limiter:  # held while the thread runs: `busy` counts real work
            if self._active is not None:
                self._active.inc()
            start = time.perf_counter()
            try:
                return await anyio.to_thread.run_sync(func, *args)
            finally:
                self._mean_seconds += (time.perf_counter() - start - self._mean_seconds) / 8
                if self._active is not None:
                    self._active.dec()

    async def hash(self, password: str) -> str:
        result: str = await self._run(self._context.hash, normalize_password(password))
        return result

    async def verify(self, password: str, hashed: str) -> tuple[bool, str | None]:
        """(matches, replacement hash when the stored one is outdated, else None).

        A failure against an outdated hash (a lower cost, from before the cost was
        raised) takes as long as a current one: a quick "no" would tell an attacker the
        account exists, since an unknown email costs a dummy verify at today's cost.
        """
        start = time.perf_counter()
        result: tuple[bool, str | None] = await self._run(
            self._verify_sync, normalize_password(password), hashed
        )
        if not result[0] and self._needs_update(hashed):
            spent = time.perf_counter() - start
            if self._verify_seconds is None:  # not measured yet: measure, and spend it
                await self.dummy_verify()
            elif spent < self._verify_seconds:
                await anyio.sleep(self._verify_seconds - spent)
        return result

    def _needs_update(self, hashed: str) -> bool:
        try:
            return bool(self._context.needs_update(hashed))
        except ValueError:  # not a hash we know: treat as outdated, so it is padded
            return True

    def _verify_sync(self, password: str, hashed: str) -> tuple[bool, str | None]:
        try:
            ok, new_hash = self._context.verify_and_update(password, hashed)
        except ValueError:  # malformed stored hash, or a password the legacy scheme refuses
            return False, None
        return bool(ok), new_hash

    async def dummy_verify(self) -> None:
        """Spend the time a real verify would, so an unknown email is not faster to reject."""
        start = time.perf_counter()
        await self._run(self._context.dummy_verify)
        seconds = time.perf_counter() - start
        if self._verify_seconds is None:
            # passlib makes its dummy hash on the first call: a hash and a verify, each of
            # one verify's cost.
            self._verify_seconds = seconds / 2
        else:  # a running mean: what a verify at today's cost takes, queueing included
            self._verify_seconds += (seconds - self._verify_seconds) / 8
