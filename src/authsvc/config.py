"""Settings, read from `AUTHSVC_*` environment variables and an optional `.env` file."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Literal, Self, get_args

import limits
from pydantic import (
    AfterValidator,
    Field,
    IPvAnyNetwork,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

from authsvc.security.secret_strength import GENERATE, weakness

logger = logging.getLogger("authsvc")

MIN_SECRET_BYTES = 32
DEV_SECRET_FILENAME = ".authsvc-jwt-secret"

# HS*: one shared secret signs and verifies. The others sign with a private key and
# publish the public half at /.well-known/jwks.json, so verifiers need no secret.
SharedSecretAlgorithm = Literal["HS256", "HS384", "HS512"]
AsymmetricAlgorithm = Literal["RS256", "ES256", "EdDSA"]
JwtAlgorithm = Literal[SharedSecretAlgorithm, AsymmetricAlgorithm]
ASYMMETRIC_ALGORITHMS: tuple[str, ...] = get_args(AsymmetricAlgorithm)


def _rate_limit(value: str) -> str:
    try:
        limits.parse(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a rate limit; write it like '10/15 minutes' or '100 per hour'"
        ) from None
    return value


# A rate limit in the `limits` notation: "10/15 minutes", "100 per hour".
RateLimit = Annotated[str, AfterValidator(_rate_limit)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AUTHSVC_", env_file=".env", extra="ignore", frozen=True
    )

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./authsvc.db"

    jwt_secret: SecretStr | None = None
    jwt_algorithm: JwtAlgorithm = "HS256"
    # RS256/ES256/EdDSA: PEM text, or the path of a PEM file or of a directory of *.pem
    # files (sorted by name). The first key signs; every key verifies.
    jwt_private_keys: SecretStr | None = None
    jwks_max_age_seconds: int = Field(default=300, ge=0)  # Cache-Control of the JWKS
    issuer: str = "http://localhost:8000"
    audience: str = "authsvc"
    default_client_id: str = "authsvc"
    access_token_expire_minutes: int = Field(default=60, gt=0)
    refresh_token_expire_minutes: int = Field(default=43200, gt=0)
    refresh_reuse_grace_seconds: int = Field(default=10, ge=0)
    # How often each process deletes ended and expired sessions; 0 turns it off (then run
    # `authsvc purge-sessions` from cron).
    session_purge_interval_seconds: int = Field(default=3600, ge=0)
    # How long an ended or expired session is kept before the purge deletes it. While kept,
    # its client address still counts as one the account logs in from (see throttle.py).
    ended_session_retention_days: int = Field(default=30, ge=0)

    bcrypt_rounds: int = Field(default=12, ge=4, le=31)
    # Concurrent password hashes; bcrypt is CPU-bound, so more than the core count only queues.
    hash_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    # Load shedding: hashes that may wait for a worker; a login or registration beyond that
    # gets 503 at once. None: 16 per worker (about 4 s of queue at bcrypt cost 12).
    hash_queue_limit: int | None = Field(default=None, ge=0)

    # Abuse resistance. Login attempts (successes too; see throttle.py) are counted in Redis
    # when it is set (shared by every replica and worker), else in this process's memory.
    redis_url: str | None = None
    throttle_key_prefix: str = "authsvc"
    login_limit_account_ip: RateLimit = "10/15 minutes"
    login_limit_ip: RateLimit = "300/15 minutes"
    login_limit_account: RateLimit = "100/hour"
    register_limit_ip: RateLimit = "30/hour"
    # Peers whose X-Forwarded-For is believed: addresses or networks, comma-separated.
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # The request line and headers together (`authsvc serve`); larger gets 400, unread.
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    docs_enabled: bool = True  # /docs, /redoc and /openapi.json

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    metrics_enabled: bool = True  # GET /metrics, Prometheus text format
    # Who may read /metrics: client addresses or networks, comma-separated (the client as
    # AUTHSVC_TRUSTED_PROXIES resolves it). Unset: loopback only in production, anyone in
    # development (see `metrics_networks`).
    metrics_allowed_networks: Annotated[list[IPvAnyNetwork] | None, NoDecode] = None

    # The old Flask tutorial app's routes (/user/login/...), deprecated, for its old clients.
    legacy_routes: bool = False

    @field_validator("cors_origins", "trusted_proxies", "metrics_allowed_networks", mode="before")
    @classmethod
    def _split_comma_list(cls, value: object) -> object:
        """Lists come from the environment as `a, b, c`."""
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("use a redis://, rediss:// or unix:// URL")
        return value or None

    @model_validator(mode="after")
    def _one_address_cannot_lock_an_account(self) -> Self:
        """The per-account limit must be out of reach of a single address.

        In any stretch of time T one address gets at most `amount * (T // window + 1)`
        attempts past the per-(account, address) limit (a success clears that counter, but
        only the password's holder can log in); that must stay below the per-account
        limit, or one attacker could lock the owner out.
        """
        pair = limits.parse(self.login_limit_account_ip)
        account = limits.parse(self.login_limit_account)
        reachable = pair.amount * (account.get_expiry() // pair.get_expiry() + 1)
        if reachable >= account.amount:
            raise ValueError(
                f"AUTHSVC_LOGIN_LIMIT_ACCOUNT ({account}) must allow more attempts than one "
                f"address can make under AUTHSVC_LOGIN_LIMIT_ACCOUNT_IP ({pair}): "
                f"{reachable} in {account.get_expiry()} s; raise it or lower the other"
            )
        return self

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        if "*" in value:
            raise ValueError("list the allowed origins explicitly; '*' is not accepted")
        return value

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Self:
        if self.env == "production" and not self.asymmetric_signing:
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
            if len(secret.encode()) < MIN_SECRET_BYTES:
                raise ValueError(
                    f"AUTHSVC_JWT_SECRET must be set to at least {MIN_SECRET_BYTES} bytes "
                    f"in production (generate one with: {GENERATE})"
                )
            if reason := weakness(secret):
                raise ValueError(
                    f"AUTHSVC_JWT_SECRET {reason}: production needs a random secret "
                    f"(generate one with: {GENERATE})"
                )
        return self

    @model_validator(mode="after")
    def _production_needs_keys(self) -> Self:
        """A generated development key would differ per replica and sit in a container's
        scratch space: production must be given its keys."""
        if self.env == "production" and self.asymmetric_signing and not self.jwt_private_keys:
            raise ValueError(
                f"AUTHSVC_JWT_PRIVATE_KEYS must be set in production with "
                f"AUTHSVC_JWT_ALGORITHM={self.jwt_algorithm}: generate a key with "
                f"'authsvc keys generate --alg {self.jwt_algorithm} > key.pem' and set "
                "AUTHSVC_JWT_PRIVATE_KEYS to its path (or to the PEM text)"
            )
        return self

    @property
    def metrics_networks(self) -> list[IPv4Network | IPv6Network] | None:
        """The networks /metrics answers; None: anyone.

        Production's default is loopback alone, not the private ranges too: behind Docker's
        or podman's port publishing, or a Kubernetes service, a client from the internet
        can reach the service from a private address.
        """
        if self.metrics_allowed_networks is not None:
            return list(self.metrics_allowed_networks)
        if self.env == "production":
            return [IPv4Network("127.0.0.0/8"), IPv6Network("::1/128")]
        return None

    @property
    def asymmetric_signing(self) -> bool:
        """Tokens are signed with a private key, verifiable by anyone with the JWKS."""
        return self.jwt_algorithm in ASYMMETRIC_ALGORITHMS

    @property
    def state_dir(self) -> Path:
        """Where development-only generated files live: next to the SQLite database."""
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(url.database).resolve().parent
        return Path.cwd()


def resolve_jwt_secret(settings: Settings) -> str:
    """The configured secret, or in development one generated once and kept on disk.

    Keeping it on disk means tokens survive a restart and every worker process
    agrees on it; the file is created atomically so racing workers share one.
    """
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value()
        if len(secret.encode()) < MIN_SECRET_BYTES:
            logger.warning(
                "AUTHSVC_JWT_SECRET is shorter than %d bytes; production refuses this",
                MIN_SECRET_BYTES,
            )
        elif reason := weakness(secret):
            logger.warning(
                "AUTHSVC_JWT_SECRET %s; production refuses this (generate one with: %s)",
                reason,
                GENERATE,
            )
        return secret
    return development_file(
        settings,
        DEV_SECRET_FILENAME,
        lambda: secrets.token_urlsafe(48),
        what="secret",
        setting="AUTHSVC_JWT_SECRET",
    )


def development_file(
    settings: Settings, filename: str, generate: Callable[[], str], *, what: str, setting: str
) -> str:
    """The contents of `filename` in the state directory, generated once if missing.

    Keeping it on disk means tokens survive a restart and every worker process
    agrees on it; the file (mode 0600) is created atomically so racing workers share one.
    """
    path = settings.state_dir / filename
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(generate())
    try:
        os.link(tmp, path)  # atomic: exactly one racing process wins
        logger.warning(
            "No %s set: generated a development %s in %s. Set %s in production.",
            setting,
            what,
            path,
            setting,
        )
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()
