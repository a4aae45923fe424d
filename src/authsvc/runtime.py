"""Everything one app instance owns, built from its settings: no module-level state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from authsvc.config import Settings, resolve_jwt_secret
from authsvc.db import create_engine, create_sessionmaker
from authsvc.security.passwords import PasswordHasher
from authsvc.security.tokens import AccessTokenCodec


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    hasher: PasswordHasher
    codec: AccessTokenCodec

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings)  # lazy: connects on first use
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            hasher=PasswordHasher(rounds=settings.bcrypt_rounds, workers=settings.hash_workers),
            codec=AccessTokenCodec(
                secret=resolve_jwt_secret(settings),
                algorithm=settings.jwt_algorithm,
                issuer=settings.issuer,
                audience=settings.audience,
                lifetime=timedelta(minutes=settings.access_token_expire_minutes),
            ),
        )

    async def aclose(self) -> None:
        await self.engine.dispose()
