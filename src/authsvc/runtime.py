"""Everything one app instance owns, built from its settings: no module-level state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from authsvc.config import Settings
from authsvc.db import create_engine, create_sessionmaker
from authsvc.metrics import Metrics
from authsvc.security.keys import TokenKeys, resolve_token_keys
from authsvc.security.password_policy import common_passwords
from authsvc.security.passwords import PasswordHasher
from authsvc.security.tokens import AccessTokenCodec
from authsvc.throttle import Throttle

HASH_QUEUE_PER_WORKER = 16  # the default bound of waiting hashes, per worker


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    hasher: PasswordHasher
    keys: TokenKeys  # a shared secret, or keys whose public half /.well-known/jwks.json lists
    codec: AccessTokenCodec
    metrics: Metrics | None
    throttle: Throttle

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        keys = resolve_token_keys(settings)  # first: KeyConfigError names a bad key and why
        engine = create_engine(settings)  # lazy: connects on first use
        common_passwords()  # load the password blocklist now, not in the first registration
        metrics = Metrics() if settings.metrics_enabled else None
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            hasher=PasswordHasher(
                rounds=settings.bcrypt_rounds,
                workers=settings.hash_workers,
                active=metrics.hash_workers_active if metrics else None,
                max_waiting=(
                    settings.hash_queue_limit
                    if settings.hash_queue_limit is not None
                    else HASH_QUEUE_PER_WORKER * settings.hash_workers
                ),
            ),
            keys=keys,
            codec=AccessTokenCodec(
                keys=keys,
                issuer=settings.issuer,
                audience=settings.audience,
                lifetime=timedelta(minutes=settings.access_token_expire_minutes),
            ),
            metrics=metrics,
            throttle=Throttle.from_settings(settings),
        )

    async def aclose(self) -> None:
        await self.engine.dispose()
        await self.throttle.aclose()
        if self.metrics is not None:
            self.metrics.close()
