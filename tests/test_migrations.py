"""The Alembic migrations build exactly the schema the models describe, on every database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from authsvc.models import Base


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
    assert len(times) == 8
    assert set(times.values()) == {6}, times
