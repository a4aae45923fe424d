"""Password hashing: bcrypt over SHA-256, off the event loop, with bounded concurrency."""

from __future__ import annotations

import math
import re
import time
import unicodedata
from typing import Any

import anyio
import anyio.to_thread
import bcrypt
from passlib.context import CryptContext
from prometheus_client import Gauge

from authsvc.errors import Overloaded

# A plain bcrypt hash as the Flask tutorial app (flask_bcrypt) stored it: $2a$, $2b$ or $2y$,
# a two-digit cost, then 22 characters of salt and 31 of checksum.
_LEGACY_BCRYPT = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")
# What bcrypt reads of a password: the rest never counted, and bcrypt 5 refuses it.
BCRYPT_MAX_BYTES = 72


def normalize_password(password: str) -> str:
    """NFKC, so the same password typed on two keyboards (or IMEs) hashes the same."""
    return unicodedata.normalize("NFKC", password)


def is_legacy_bcrypt(hashed: str) -> bool:
    """Whether `hashed` is a plain bcrypt hash (the old app's scheme), not one of ours."""
    return _LEGACY_BCRYPT.fullmatch(hashed) is not None


def legacy_bcrypt_matches(password: str, hashed: str) -> bool:
    """The old app's check, exactly: flask_bcrypt hashed the UTF-8 bytes as typed (no
    normalisation), and bcrypt before 5.0 read only the first 72 of them. So a password
    longer than that is checked on its first 72 bytes, as it always was (bcrypt 5 would
    refuse it, and the old app's users would be locked out)."""
    try:
        secret = password.encode()[:BCRYPT_MAX_BYTES]
        return bcrypt.checkpw(secret, hashed.encode("ascii"))
    except ValueError:  # a lone surrogate (no UTF-8 form), or a hash bcrypt cannot read
        return False


class PasswordHasher:
    """Hashes with `bcrypt_sha256`: the whole password counts, never cut at bcrypt's 72 bytes.

    Plain `bcrypt` hashes (imported from the old Flask app) still verify, the way the old
    app checked them (`legacy_bcrypt_matches`), and a successful login hands back a
    replacement hash of the whole password in today's scheme.

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
        result: tuple[bool, str | None] = await self._run(self._verify_sync, password, hashed)
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
        if is_legacy_bcrypt(hashed):
            if not legacy_bcrypt_matches(password, hashed):
                return False, None
            # The replacement is of the whole password, normalised: from now on it all counts.
            return True, self._context.hash(normalize_password(password))
        try:
            ok, new_hash = self._context.verify_and_update(normalize_password(password), hashed)
        except ValueError:  # a malformed stored hash
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
