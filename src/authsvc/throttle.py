"""Login and registration throttling, counted by the `limits` library.

Every login attempt that will be checked is counted first, each limit in one atomic step
(`hit`, which refuses to record past the limit), and only then is its password hashed:
a burst of concurrent guesses cannot slip past a limit before any of them is counted,
and a throttled request costs the server no hashing at all. Three limits guard a login:

- per (account, client address): what stops one attacker guessing one account;
- per client address, across accounts: password spraying from one address;
- per account, across addresses: guessing one account from many addresses.

All three count attempts, successes included: `limits` cannot take one attempt back out
of a moving window, only forget the whole window, and forgetting it on a success would
let an attacker reset the per-address count by logging in to an account of their own.
The exception is the (account, address) pair, whose counter a success clears: only the
password's holder can do that. An attempt refused by one limit counts against none of
them (but in a race: see `check_login`).

The per-account limit is set so that one attacker's address can never reach it on its own
(the settings refuse otherwise), and it does not apply to an address (for IPv6, the /64
network) the account has logged in from before: an attacker spread over many addresses
cannot lock the owner out of their own account from a place they use. Registration
counts every attempt per address, because each one costs a hash and says whether an
email has an account.

Counters live in this process's memory, or in Redis when `AUTHSVC_REDIS_URL` is set, so
that every replica and worker shares them. If Redis fails, logins are let through (and
the failure is logged): an outage of the throttle must not become an outage of logins.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import limits
import redis.asyncio
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from authsvc.audit import AuditEvent
from authsvc.client_ip import subscriber
from authsvc.config import Settings
from authsvc.emails import email_key
from authsvc.errors import Throttled

logger = logging.getLogger("authsvc.audit")

REDIS_TIMEOUT_SECONDS = 0.5  # a slow Redis must not hold every login up
# Connections to Redis per process. A burst waits for a free one (up to the wait below)
# rather than failing, since a failure lets the login through: with redis-py's default
# pool, a burst of a few dozen concurrent logins ran out of connections and was not
# throttled at all.
REDIS_MAX_CONNECTIONS = 32
REDIS_POOL_WAIT_SECONDS = 5.0
UNKNOWN_ADDRESS = "unknown"

Keys = tuple[str, ...]


class _MemoryStorage(MemoryStorage):
    """limits' async memory storage, with a `clear` that its own pruning task survives.

    limits 5.x prunes expired moving-window entries in a background task that lists the
    keys, then awaits on each in turn (a lock, a thread hop) and reads `events[key]`
    unguarded: a key cleared meanwhile (a successful login clears its pair counter) made
    it raise KeyError, logged as "Task exception was never retrieved". Here a cleared key
    is left behind as an empty window (acquiring 0 entries creates one, and nothing in
    between yields), which the task then drops like any other empty window. (A race of
    limits' own remains: attempts counted on a key while the task prunes that key can be
    pruned with it, if the task found all of its old entries expired.)
    """

    async def clear(self, key: str) -> None:
        await super().clear(key)
        await self.acquire_entry(key, limit=1, expiry=1, amount=0)


@dataclass(frozen=True, slots=True)
class Limit:
    key: str  # in the storage key
    name: str  # in the 429 message and the audit log
    item: limits.RateLimitItem


class Throttle:
    """The rate limits of logins and registrations, over one `limits` storage."""

    def __init__(
        self,
        storage: Storage,
        settings: Settings,
        *,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self._prefix = settings.throttle_key_prefix
        self._close = close
        parse = limits.parse
        self.account_ip = Limit(
            "login-account-ip",
            "failed logins for this account from this address",
            parse(settings.login_limit_account_ip),
        )
        self.ip = Limit(
            "login-ip", "login attempts from this address", parse(settings.login_limit_ip)
        )
        self.account = Limit(
            "login-account",
            "login attempts for this account",
            parse(settings.login_limit_account),
        )
        self.register_ip = Limit(
            "register-ip", "registrations from this address", parse(settings.register_limit_ip)
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        if not settings.redis_url:
            return cls(_MemoryStorage(), settings)
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=REDIS_MAX_CONNECTIONS,
            timeout=REDIS_POOL_WAIT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        storage = RedisStorage(
            "async+redis://",  # where to connect comes from the pool
            implementation="redispy",
            wrap_exceptions=True,
            connection_pool=pool,  # type: ignore[arg-type]  # documented; typed too narrowly
        )
        return cls(storage, settings, close=pool.aclose)

    async def aclose(self) -> None:
        if self._close is not None:
            await self._close()
        # The memory storage prunes expired counters in a task of its own; end it with us.
        timer = getattr(self._storage, "timer", None)
        if isinstance(timer, asyncio.Task) and not timer.done():
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer

    # --- logins ---------------------------------------------------------------

    async def check_login(
        self, email: str, ip: str | None, *, known_address: Callable[[], Awaitable[bool]]
    ) -> None:
        """Count this login attempt against every limit, or raise Throttled. Costs no hashing.

        First each limit is tested, counting nothing, so that an attempt any of them
        refuses counts against none. Then each is hit, one after the other, most specific
        first: a hit is atomic and records nothing once the limit is reached, so of a
        burst that passed the test together no more get through than the limit allows.
        An attempt that loses that race keeps its count in the limits hit before.

        `known_address` says whether the account has logged in from this address before;
        it is asked (at most once) only when the per-account limit is spent.
        """
        account, address = _account_key(email), _address_key(ip)
        checks: list[tuple[Limit, Keys]] = [
            (self.account_ip, (account, address)),
            (self.ip, (address,)),
            (self.account, (account,)),
        ]
        room = await asyncio.gather(*(self._allows(limit, keys) for limit, keys in checks))
        exempt = False  # from the per-account limit: the owner's usual address
        for (limit, keys), ok in zip(checks, room, strict=True):
            if ok:
                continue
            if limit is self.account and await known_address():
                exempt = True
                continue
            raise await self._throttled(limit, keys)
        for limit, keys in checks:
            if limit is self.account and exempt:
                continue  # spent, and not applied at this address: a hit would record nothing
            if await self._hit(limit, keys):
                continue
            if limit is self.account and await known_address():
                continue
            raise await self._throttled(limit, keys)

    async def login_succeeded(self, email: str, ip: str | None) -> None:
        """Clear the (account, address) counter; the other two keep the attempt."""
        keys = (_account_key(email), _address_key(ip))
        try:
            await self._limiter.clear(self.account_ip.item, *self._ids(self.account_ip, keys))
        except StorageError as exc:
            _storage_failed(exc)

    # --- registration ---------------------------------------------------------

    async def check_registration(self, ip: str | None) -> None:
        """Count this registration attempt; raise Throttled once the address has used up its
        allowance. Costs no hashing."""
        keys = (_address_key(ip),)
        if not await self._hit(self.register_ip, keys):
            raise await self._throttled(self.register_ip, keys)

    # --- helpers --------------------------------------------------------------

    def _ids(self, limit: Limit, keys: Keys) -> Keys:
        return (self._prefix, limit.key, *keys)

    async def _hit(self, limit: Limit, keys: Keys) -> bool:
        """Count one attempt unless the limit is reached; False when it is."""
        return await _fail_open(self._limiter.hit(limit.item, *self._ids(limit, keys)))

    async def _throttled(self, limit: Limit, keys: Keys) -> Throttled:
        return Throttled(
            f"Too many {limit.name}; retry in a while",
            limit=limit.key,
            retry_after=await self._retry_after(limit, keys),
        )

    async def _allows(self, limit: Limit, keys: Keys) -> bool:
        """Whether the limit still has room, counting nothing."""
        return await _fail_open(self._limiter.test(limit.item, *self._ids(limit, keys)))

    async def _retry_after(self, limit: Limit, keys: Keys) -> int:
        """Seconds until the oldest counted attempt leaves the window (at least 1)."""
        try:
            stats = await self._limiter.get_window_stats(limit.item, *self._ids(limit, keys))
        except StorageError as exc:
            _storage_failed(exc)
            return limit.item.get_expiry()
        return max(1, math.ceil(stats.reset_time - time.time()))


async def _fail_open(answer: Awaitable[bool]) -> bool:
    """The storage's answer, or "allowed" when the storage fails (see the module docstring)."""
    try:
        return await answer
    except StorageError as exc:
        _storage_failed(exc)
        return True


def _storage_failed(exc: StorageError) -> None:
    logger.error(
        "rate-limit storage failed; not throttling",
        extra={
            "event": AuditEvent.THROTTLE_UNAVAILABLE.value,
            "reason": type(exc.storage_error).__name__,
        },
    )


def _address_key(ip: str | None) -> str:
    """The client's counter key: its address, or for IPv6 its /64 network."""
    return subscriber(ip) if ip else UNKNOWN_ADDRESS


def _account_key(email: str) -> str:
    """The account's counter key: a digest, so no email address is stored in Redis."""
    return hashlib.sha256(email_key(email).encode()).hexdigest()[:32]
