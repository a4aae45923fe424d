"""Settings for tests: only what a test passes, never a developer's environment."""

from __future__ import annotations

import os
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from authsvc.config import Settings

TEST_SECRET = "test-secret-" + "0123456789abcdef" * 4  # long enough for HS512 too
PASSWORD = "correct horse battery staple"
IN_CI = os.environ.get("CI", "").lower() == "true"


class IsolatedSettings(Settings):
    """Settings from arguments only: a developer's AUTHSVC_* variables or .env never leak in."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "jwt_secret": TEST_SECRET,
        "bcrypt_rounds": 4,  # the minimum: tests exercise logic, not cost
        "hash_workers": 2,
        "session_purge_interval_seconds": 0,  # no purge at a random moment mid-test
        **overrides,
    }
    return IsolatedSettings(**values)
