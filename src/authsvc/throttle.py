"""Login and registration throttling, counted by the `limits` library.

Only failures are counted, and every check happens before any password is hashed, so a
throttled request costs the server no hashing at all. Three limits guard a login:

- per (account, client address): what stops one attacker guessing one account;
- per client address, across accounts: password spraying from one address;
- per account, across addresses: guessing one account from many addresses.

The per-account limit is set so that one address can never reach it on its own (the
settings refuse otherwise), and it does not apply to an address the account has logged
in from before: an attacker spread over many addresses cannot lock the owner out of
their own account from a place they use. A successful login clears the counter of
its (account, address) pair. Registration counts every attempt per address, because
each one costs a hash and says whether an email has an account.

Counters live in this process's memory, or in Redis when `AUTHSVC_REDIS_URL` is set, so
that every replica and worker shares them. If Redis fails, logins are let through (and
the failure is logged): an outage of the throttle must not become an outage of logins.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
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

from authsvc.config import Settings
from authsvc.emails import email_key
from authsvc.errors import Throttled

logger = logging.getLogger("authsvc.audit")

REDIS_TIMEOUT_SECONDS = 0.5  # a slow Redis must not hold every login up
UNKNOWN_ADDRESS = "unknown"
IPV6_PREFIX = 64  # IPv6 clients are counted per /64 network

Keys = tuple[str, ...]


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
            "login-ip", "failed logins from this address", parse(settings.login_limit_ip)
        )
        self.account = Limit(
            "login-account", "failed logins for this account", parse(settings.login_limit_account)
        )
        self.register_ip = Limit(
            "register-ip", "registrations from this address", parse(settings.register_limit_ip)
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        if not settings.redis_url:
            return cls(MemoryStorage(), settings)
        pool = redis.asyncio.ConnectionPool.from_url(
            settings.redis_url,
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
        """Raise Throttled if this login may not even be tried. Costs no hashing.

        The (account, address) attempt is counted here, before the password is checked,
        in one atomic step (`hit`): a burst of concurrent guesses cannot all slip past
        the check before any of them is counted. A success clears it again. The other
        two limits count failures only (see `login_failed`), so they are only tested.

        `known_address` says whether the account has logged in from this address before;
        it is asked only when the per-account limit is spent.
        """
        account, address = _account_key(email), _address_key(ip)
        checks: list[tuple[Limit, Keys]] = [(self.ip, (address,)), (self.account, (account,))]
        allowed = await asyncio.gather(*(self._allows(limit, keys) for limit, keys in checks))
        for (limit, keys), ok in zip(checks, allowed, strict=True):
            if ok:
                continue
            if limit is self.account and await known_address():
                continue  # the owner's usual address: not locked out by a distributed attack
            raise await self._throttled(limit, keys)
        pair = (account, address)
        if not await self._hit(self.account_ip, pair):
            raise await self._throttled(self.account_ip, pair)

    async def login_failed(self, email: str, ip: str | None) -> None:
        account, address = _account_key(email), _address_key(ip)
        # The (account, address) pair was counted before the password was checked.
        hits: list[tuple[Limit, Keys]] = [(self.ip, (address,)), (self.account, (account,))]
        try:
            await asyncio.gather(
                *(self._limiter.hit(limit.item, *self._ids(limit, keys)) for limit, keys in hits)
            )
        except StorageError as exc:
            _storage_failed(exc)

    async def login_succeeded(self, email: str, ip: str | None) -> None:
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
        extra={"event": "throttle_unavailable", "reason": type(exc.storage_error).__name__},
    )


def _address_key(ip: str | None) -> str:
    """The client's counter key: its address, or for IPv6 its /64 network.

    One IPv6 subscriber usually holds a whole /64, so counting single addresses would
    let one attacker rotate through billions of them.
    """
    if not ip:
        return UNKNOWN_ADDRESS
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # "::ffff:192.0.2.1" is an IPv4 client
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return ip


def _account_key(email: str) -> str:
    """The account's counter key: a digest, so no email address is stored in Redis."""
    return hashlib.sha256(email_key(email).encode()).hexdigest()[:32]
