"""Fixtures, registered from `tests/support/` (one module per concern).

Every test that uses `client`, `api` or `database_url` runs once per database in
`tests/support/databases.py: BACKENDS`.
"""

from tests.support.admin import admin
from tests.support.app import api, app, app_with, client, settings
from tests.support.databases import (
    database_url,
    empty_db,
    server_database,
    server_database_url,
    sqlite_template,
)
from tests.support.redis import redis_url
from tests.support.throttling import storage

__all__ = [
    "admin",
    "api",
    "app",
    "app_with",
    "client",
    "database_url",
    "empty_db",
    "redis_url",
    "server_database",
    "server_database_url",
    "settings",
    "sqlite_template",
    "storage",
]
