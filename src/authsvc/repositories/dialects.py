"""The statements that differ between the databases, and nothing else: every repository
states what it wants once, and this module says how each database is asked.

SQLite and PostgreSQL have `UPDATE ... RETURNING` and accept `LIMIT` in an `IN`
subquery; MariaDB has `RETURNING` only on `INSERT` and `DELETE`, MySQL not at all, and
both refuse `LIMIT` there (error 1235). On those two the engine runs at READ COMMITTED
(see `authsvc.db`), so an UPDATE decides on the latest committed row, as on PostgreSQL,
and its row count counts the rows it matched (SQLAlchemy connects with FOUND_ROWS), not
only those whose values changed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Delete, Row, Update, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from authsvc.column_types import MYSQL_FAMILY


def is_mysql(db: AsyncSession) -> bool:
    """MySQL or MariaDB, whichever URL form (`mysql+asyncmy`, `mariadb+asyncmy`) named it."""
    return db.get_bind().dialect.name in MYSQL_FAMILY


async def update_one_returning(
    db: AsyncSession,
    statement: Update,
    *columns: InstrumentedAttribute[Any],
    key: ColumnElement[bool],
) -> Row[Any] | None:
    """Run `statement`, which matches at most the one row `key` names, and return that
    row's `columns` as the UPDATE left them; None when it matched nothing.

    Where `UPDATE ... RETURNING` is missing, the UPDATE's matched-row count decides and a
    read of the row follows. The UPDATE holds the row's lock until the transaction ends,
    so nobody changes it in between, and at READ COMMITTED the read sees it as it is.
    """
    if db.get_bind().dialect.update_returning:
        result = await db.execute(statement.returning(*columns))
        return result.one_or_none()
    if not await rowcount(db, statement):
        return None
    return (await db.execute(select(*columns).where(key))).one()


async def delete_batch(
    db: AsyncSession, primary_key: InstrumentedAttribute[Any], where: ColumnElement[bool], n: int
) -> int:
    """Delete at most `n` rows of `primary_key`'s table matching `where`; how many.

    MySQL and MariaDB refuse `LIMIT` in an `IN` subquery (error 1235); they delete with
    `DELETE ... WHERE ... LIMIT n`, which locks rows in the order of the index it walks,
    so purges on several replicas queue behind each other. Elsewhere it is
    `DELETE ... WHERE id IN (SELECT id ... LIMIT n)`.
    """
    table = primary_key.class_
    statement: Delete
    if is_mysql(db):
        statement = delete(table).where(where).with_dialect_options(mysql_limit=n, mariadb_limit=n)
    else:
        batch = select(primary_key).where(where).limit(n).scalar_subquery()
        statement = delete(table).where(primary_key.in_(batch))
    return await rowcount(db, statement.execution_options(synchronize_session=False))


async def rowcount(db: AsyncSession, statement: Update | Delete) -> int:
    """The rows an UPDATE or DELETE matched, on every database."""
    result = await db.execute(statement)
    return int(getattr(result, "rowcount", 0))
