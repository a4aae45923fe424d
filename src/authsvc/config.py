"""Settings, read from `AUTHSVC_*` environment variables and an optional `.env` file."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

logger = logging.getLogger("authsvc")

MIN_SECRET_BYTES = 32
DEV_SECRET_FILENAME = ".authsvc-jwt-secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AUTHSVC_", env_file=".env", extra="ignore", frozen=True
    )

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./authsvc.db"

    jwt_secret: SecretStr | None = None
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    issuer: str = "http://localhost:8000"
    audience: str = "authsvc"
    default_client_id: str = "authsvc"
    access_token_expire_minutes: int = Field(default=60, gt=0)
    refresh_token_expire_minutes: int = Field(default=43200, gt=0)
    refresh_reuse_grace_seconds: int = Field(default=10, ge=0)

    bcrypt_rounds: int = Field(default=12, ge=4, le=31)
    # Concurrent password hashes; bcrypt is CPU-bound, so more than the core count only queues.
    hash_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        if "*" in value:
            raise ValueError("list the allowed origins explicitly; '*' is not accepted")
        return value

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Self:
        if self.env == "production":
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
            if len(secret.encode()) < MIN_SECRET_BYTES:
                raise ValueError(
                    f"AUTHSVC_JWT_SECRET must be set to at least {MIN_SECRET_BYTES} bytes "
                    "in production (generate one with: "
                    "python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
        return self

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
        return secret
    path = settings.state_dir / DEV_SECRET_FILENAME
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    try:
        os.link(tmp, path)  # atomic: exactly one racing process wins
        logger.warning(
            "No AUTHSVC_JWT_SECRET set: generated a development secret in %s. "
            "Set AUTHSVC_JWT_SECRET in production.",
            path,
        )
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()
