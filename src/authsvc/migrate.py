"""Schema migrations, run at start by `authsvc serve` and on their own by `authsvc migrate`."""

from __future__ import annotations

from importlib.util import find_spec

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection

from authsvc.column_types import MYSQL_FAMILY
from authsvc.config import Settings
from authsvc.db import create_engine

# Any fixed 64-bit number: replicas starting together queue on it, so one migrates.
# (PostgreSQL's advisory locks are per database.)
ADVISORY_LOCK_KEY = 0x61757468737663  # "authsvc"
# MySQL/MariaDB's named locks are per server, and their names at most 64 characters.
MYSQL_LOCK_NAME = "CONCAT('authsvc-migrate-', MD5(DATABASE()))"
MYSQL_LOCK_TIMEOUT_SECONDS = 600


def script_location() -> str:
    """The migration scripts: the repo's alembic/, installed as `authsvc.migrations`.

    It is a directory without `__init__.py` on purpose: as a regular package it would
    shadow the real `alembic` library whenever the repository root is on sys.path.
    """
    spec = find_spec("authsvc.migrations")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("authsvc.migrations is missing: the installation is incomplete")
    return str(next(iter(spec.submodule_search_locations)))


def alembic_config(database_url: str) -> Config:
    """A Config that needs no alembic.ini: the scripts ship inside the package."""
    config = Config()
    config.set_main_option("script_location", script_location())
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


async def upgrade(settings: Settings, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to `revision`; returns the revisions before and after (equal: nothing to do).

    Replicas starting together queue on a lock, so one migrates and the others then find
    the schema at `revision` and do nothing.
    """
    config = alembic_config(settings.database_url)
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            if connection.dialect.name in MYSQL_FAMILY:
                return await _upgrade_under_named_lock(connection, config, revision)
            async with connection.begin():
                if connection.dialect.name == "postgresql":
                    # Held until this transaction ends; PostgreSQL's DDL is transactional,
                    # so a waiting replica then finds the schema at head and does nothing.
                    await connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
                    )
                return await connection.run_sync(_run_upgrade, config, revision)
    finally:
        await engine.dispose()


async def _upgrade_under_named_lock(
    connection: AsyncConnection, config: Config, revision: str
) -> tuple[str | None, str | None]:
    """MySQL and MariaDB: their DDL is not transactional (each statement commits), so the
    lock is GET_LOCK's, held by the connection until released, not by a transaction.
    It is named after the database: replicas of other databases on the server never wait.
    The revision is read only once the lock is ours, in a transaction begun after it, and
    at READ COMMITTED: a replica that waited sees the schema the first one left.
    """
    acquired = await connection.scalar(
        text(f"SELECT GET_LOCK({MYSQL_LOCK_NAME}, :timeout)"),
        {"timeout": MYSQL_LOCK_TIMEOUT_SECONDS},
    )
    await connection.commit()
    if acquired != 1:
        raise RuntimeError(
            f"another process held the migration lock for {MYSQL_LOCK_TIMEOUT_SECONDS} s; "
            "is a migration stuck?"
        )
    try:
        async with connection.begin():
            return await connection.run_sync(_run_upgrade, config, revision)
    finally:
        await connection.execute(text(f"SELECT RELEASE_LOCK({MYSQL_LOCK_NAME})"))
        await connection.commit()


def _run_upgrade(
    connection: Connection, config: Config, revision: str
) -> tuple[str | None, str | None]:
    before = MigrationContext.configure(connection).get_current_revision()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
    return before, MigrationContext.configure(connection).get_current_revision()


async def is_current(settings: Settings) -> bool:
    """Whether the database's schema is at the latest revision (nothing to migrate)."""
    heads = set(ScriptDirectory.from_config(alembic_config(settings.database_url)).get_heads())
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_heads()
            )
    finally:
        await engine.dispose()
    return set(current) == heads
