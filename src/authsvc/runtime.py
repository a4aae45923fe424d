"""Everything one app instance owns, built from its settings: no module-level state.

This is where the collaborators are wired together: the database, the password hasher,
the token codec and the throttle go into the services, and the grants are registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from authsvc.audit import Audit
from authsvc.config import Settings
from authsvc.db import Database, create_engine
from authsvc.metrics import Metrics
from authsvc.oauth.bearer import BearerAuth
from authsvc.oauth.grants import GrantRegistry
from authsvc.oauth.grants.password import PasswordGrant
from authsvc.oauth.grants.refresh import RefreshTokenGrant
from authsvc.oauth.introspection import Introspection
from authsvc.oauth.minter import TokenMinter
from authsvc.oauth.revocation import Revocation
from authsvc.repositories.live_sessions import live_sessions
from authsvc.security.keys import TokenKeys
from authsvc.security.password_policy import common_passwords
from authsvc.security.passwords import PasswordHasher
from authsvc.security.tokens import AccessTokenCodec
from authsvc.services.accounts import AccountService
from authsvc.services.admin import AdminService
from authsvc.services.credentials import Credentials
from authsvc.services.lifecycle import Lifecycle
from authsvc.services.sessions import SessionService
from authsvc.signing_keys import resolve_token_keys
from authsvc.throttle import Throttle

HASH_QUEUE_PER_WORKER = 16  # the default bound of waiting hashes, per worker


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    db: Database
    hasher: PasswordHasher
    keys: TokenKeys  # a shared secret, or keys whose public half /.well-known/jwks.json lists
    codec: AccessTokenCodec
    metrics: Metrics | None
    throttle: Throttle
    accounts: AccountService
    admin: AdminService
    sessions: SessionService
    bearer: BearerAuth
    minter: TokenMinter
    grants: GrantRegistry
    revocation: Revocation
    introspection: Introspection

    @classmethod
    def build(cls, settings: Settings, *, preload: bool = True) -> Runtime:
        """`preload=False` for a one-off command that sets no password: it skips loading
        the password blocklist, which a server loads now, not in the first registration."""
        keys = resolve_token_keys(settings)  # first: KeyConfigError names a bad key and why
        db = Database(create_engine(settings))  # lazy: connects on first use
        if preload:
            common_passwords()
        metrics = Metrics() if settings.metrics_enabled else None
        audit = Audit(metrics)
        hasher = PasswordHasher(
            rounds=settings.bcrypt_rounds,
            workers=settings.hash_workers,
            active=metrics.hash_workers_active if metrics else None,
            max_waiting=(
                settings.hash_queue_limit
                if settings.hash_queue_limit is not None
                else HASH_QUEUE_PER_WORKER * settings.hash_workers
            ),
        )
        codec = AccessTokenCodec(
            keys=keys,
            issuer=settings.issuer,
            audience=settings.audience,
            lifetime=timedelta(minutes=settings.access_token_expire_minutes),
        )
        throttle = Throttle.from_settings(settings)
        credentials = Credentials(db, hasher=hasher, throttle=throttle, audit=audit)
        minter = TokenMinter(
            codec,
            refresh_lifetime=timedelta(minutes=settings.refresh_token_expire_minutes),
            default_client_id=settings.default_client_id,
        )
        bearer = BearerAuth(live_sessions(db.engine), codec=codec)
        lifecycle = Lifecycle(db, audit=audit)
        accounts = AccountService(
            db, credentials=credentials, lifecycle=lifecycle, throttle=throttle, audit=audit
        )
        grants = GrantRegistry(default=PasswordGrant.grant_type)
        grants.register(PasswordGrant(db, credentials=credentials, minter=minter, audit=audit))
        grants.register(
            RefreshTokenGrant(
                db,
                minter=minter,
                reuse_grace=timedelta(seconds=settings.refresh_reuse_grace_seconds),
                audit=audit,
            )
        )
        return cls(
            settings=settings,
            db=db,
            hasher=hasher,
            keys=keys,
            codec=codec,
            metrics=metrics,
            throttle=throttle,
            accounts=accounts,
            admin=AdminService(db, accounts=accounts, lifecycle=lifecycle, audit=audit),
            sessions=SessionService(db, audit=audit),
            bearer=bearer,
            minter=minter,
            grants=grants,
            revocation=Revocation(db, codec=codec, audit=audit),
            introspection=Introspection(db, bearer=bearer),
        )

    @property
    def engine(self) -> AsyncEngine:
        return self.db.engine

    async def aclose(self) -> None:
        await self.bearer.aclose()
        await self.db.aclose()
        await self.throttle.aclose()
        if self.metrics is not None:
            self.metrics.close()
