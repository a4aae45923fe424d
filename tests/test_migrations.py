"""The Alembic migrations build exactly the schema the models describe, on every database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI
from sqlalchemy import Connection, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from authsvc.migrate import upgrade
from authsvc.models import Base, User
from tests.support.databases import drop_tables
from tests.support.settings import make_settings


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(app: FastAPI) -> None:
    async with app.state.runtime.engine.connect() as connection:
        diff = await connection.run_sync(_diff)
    assert diff == []


async def test_mariadb_text_compares_exactly_and_timestamps_keep_microseconds(
    server_database: Callable[[str], str],
) -> None:
    """What the models cannot say to Alembic's comparison: on MariaDB every text column
    is utf8mb4 with the NO PAD binary collation, and every timestamp DATETIME(6)."""
    url = server_database("mariadb")
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT table_name, column_name, data_type, collation_name,"
                    " datetime_precision FROM information_schema.columns"
                    " WHERE table_schema = DATABASE() AND table_name <> 'alembic_version'"
                )
            )
            columns = {(row[0], row[1]): row[2:] for row in rows}
    finally:
        await engine.dispose()
    texts = {key: collation for key, (kind, collation, _) in columns.items() if kind == "varchar"}
    times = {key: precision for key, (kind, _, precision) in columns.items() if kind == "datetime"}
    assert ("users", "email_key") in texts
    assert ("refresh_tokens", "token_hash") in texts
    assert set(texts.values()) == {"utf8mb4_nopad_bin"}, texts
    assert len(times) == 9  # 0001: 8, and 0003: users.last_login_at
    assert set(times.values()) == {6}, times


async def test_migration_0004_keeps_the_rows_of_an_earlier_mariadb_schema(
    server_database: Callable[[str], str],
) -> None:
    """A MariaDB database migrated before 0004 (the database's default collation,
    whole-second DATETIME) keeps its rows, Unicode and timestamps intact."""
    url = server_database("mariadb")
    settings = make_settings(url)
    await drop_tables(url)
    engine = create_async_engine(url)
    try:
        await upgrade(settings, "0002")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO users (id, email, email_key, full_name, hashed_password,"
                    " scopes, is_active, created_at) VALUES ('0123456789abcdef0123456789abcdef',"
                    " 'josé@example.com', 'josé@example.com', 'Zoë 🦊', 'h', 'user', 1,"
                    " '2030-01-02 03:04:05')"
                )
            )
        await upgrade(settings)
        async with engine.connect() as conn:
            row = (await conn.execute(text("SELECT email_key, full_name FROM users"))).one()
            created = (await conn.execute(select(User.created_at))).scalar_one()
        assert tuple(row) == ("josé@example.com", "Zoë 🦊")
        assert created == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    finally:
        await engine.dispose()
        await drop_tables(url)
        await upgrade(settings)  # migrated from empty again, for the tests after


def test_every_package_ships_in_the_wheel() -> None:
    """`pip install .` packs only the packages pyproject.toml lists: a new one must be there."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).parent.parent
    listed = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(root / "src").parts)
        for init in (root / "src").rglob("__init__.py")
    }
    assert found <= listed, sorted(found - listed)
