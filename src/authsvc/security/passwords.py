"""Password hashing: bcrypt over SHA-256, off the event loop, with bounded concurrency."""

from __future__ import annotations

import unicodedata
from typing import Any

import anyio
import anyio.to_thread
from passlib.context import CryptContext


def normalize_password(password: str) -> str:
    """NFKC, so the same password typed on two keyboards (or IMEs) hashes the same."""
    return unicodedata.normalize("NFKC", password)


class PasswordHasher:
    """Hashes with `bcrypt_sha256`: the whole password counts, never cut at bcrypt's 72 bytes.

    Plain `bcrypt` hashes (from the old app) still verify and are marked deprecated,
    so a successful login hands back a replacement hash.

    bcrypt is deliberately slow and CPU-bound; running it on the event loop would
    stall every other request, so it runs in worker threads, at most `workers` at once.
    """

    def __init__(self, rounds: int, workers: int) -> None:
        self._context = CryptContext(
            schemes=["bcrypt_sha256", "bcrypt"],
            deprecated=["bcrypt"],
            bcrypt_sha256__rounds=rounds,
            bcrypt__rounds=rounds,
        )
        self._limiter = anyio.CapacityLimiter(workers)
        self.hashes_run = 0  # every hash, verify and dummy verify: a cost counter for metrics

    @property
    def busy(self) -> int:
        """Hash jobs running now."""
        return int(self._limiter.borrowed_tokens)

    @property
    def waiting(self) -> int:
        """Hash jobs queued for a worker."""
        return self._limiter.statistics().tasks_waiting

    async def _run(self, func: Any, *args: Any) -> Any:
        self.hashes_run += 1
        return await anyio.to_thread.run_sync(func, *args, limiter=self._limiter)

    async def hash(self, password: str) -> str:
        result: str = await self._run(self._context.hash, normalize_password(password))
        return result

    async def verify(self, password: str, hashed: str) -> tuple[bool, str | None]:
        """(matches, replacement hash when the stored one is outdated, else None)."""
        result: tuple[bool, str | None] = await self._run(
            self._verify_sync, normalize_password(password), hashed
        )
        return result

    def _verify_sync(self, password: str, hashed: str) -> tuple[bool, str | None]:
        try:
            ok, new_hash = self._context.verify_and_update(password, hashed)
        except ValueError:  # malformed stored hash, or a password the legacy scheme refuses
            return False, None
        return bool(ok), new_hash

    async def dummy_verify(self) -> None:
        """Spend the time a real verify would, so an unknown email is not faster to reject."""
        await self._run(self._context.dummy_verify)
