"""`authsvc import-flask-db URL`: the Flask tutorial app's users, copied into authsvc.

The old table `users` (`UserId`, `FullName`, `Email`, `UserPassword`) is read in batches
with SQLAlchemy Core from any URL (a SQLite file, opened read-only, most often). Each row
becomes an account with its old `UserId` as `legacy_id`, its email validated and
normalised as at registration, and its bcrypt hash as it is: the first login checks it
the old way and replaces it (`security/passwords.py`).

Never overwritten: a row whose email already has an account, or whose UserId is already
another account's, is skipped and reported. A row imported before is recognised (same
email key, same UserId), so a second run imports nothing. Rows that cannot be accounts
(no email, one that does not validate, a hash that is not bcrypt) are reported by UserId.
"""

from __future__ import annotations

import enum
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from authsvc.clock import utcnow
from authsvc.db import Database
from authsvc.domain import ImportedAccount
from authsvc.emails import email_key
from authsvc.repositories.users import UserRepository
from authsvc.security import scopes as scope_rules
from authsvc.security.passwords import is_legacy_bcrypt

BATCH_SIZE = 1000
TABLE = "users"
REQUIRED_COLUMNS = ("UserId", "Email", "UserPassword")
OPTIONAL_COLUMNS = ("FullName",)
MAX_FULL_NAME = 200  # authsvc's column (the old app declared 40, which SQLite never enforced)

_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)


class ImportFailure(Exception):
    """The old database cannot be read (or is not the old app's): a real failure."""


class Outcome(enum.StrEnum):
    PRESENT = "present"  # the email (or the UserId) already has an account
    INVALID = "invalid"  # the row cannot be an account


@dataclass(frozen=True, slots=True)
class Skipped:
    user_id: object  # the row's UserId, as it was
    outcome: Outcome
    reason: str


@dataclass(slots=True)
class ImportReport:
    rows: int = 0
    imported: int = 0
    present: int = 0  # already_imported among them
    already_imported: int = 0
    invalid: int = 0
    seconds: float = 0.0


# --- one row ------------------------------------------------------------------------


def parse_row(row: dict[str, Any]) -> ImportedAccount | Skipped:
    """A row of the old table as the account it becomes, or why it cannot be one."""
    user_id = row.get("UserId")
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        return Skipped(user_id, Outcome.INVALID, "UserId is not an integer")
    raw_email = _text(row.get("Email"))
    if raw_email is None or not raw_email.strip():
        return Skipped(user_id, Outcome.INVALID, "no email")
    try:
        email = _EMAIL.validate_python(raw_email.strip())
    except ValidationError as exc:
        reason = str(exc.errors()[0]["msg"])
        return Skipped(user_id, Outcome.INVALID, f"the email does not validate ({reason})")
    hashed = _text(row.get("UserPassword"))
    if hashed is None or not is_legacy_bcrypt(hashed):
        return Skipped(user_id, Outcome.INVALID, "UserPassword is not a bcrypt hash")
    full_name = _text(row.get("FullName")) or None
    if full_name is not None and len(full_name) > MAX_FULL_NAME:
        reason = f"FullName is longer than {MAX_FULL_NAME} characters"
        return Skipped(user_id, Outcome.INVALID, reason)
    return ImportedAccount(
        legacy_id=user_id, email=email, full_name=full_name, hashed_password=hashed
    )


def _text(value: object) -> str | None:
    """flask_bcrypt returns bytes, which SQLite keeps as a BLOB: text either way."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return value if isinstance(value, str) else None


# --- the old database ------------------------------------------------------------------


def source_url(url: str) -> URL:
    """The URL to read from; a SQLite file is opened read-only, and must exist."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ImportFailure(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() != "sqlite":
        return parsed
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        if not database.startswith("file:"):
            raise ImportFailure("give the old database's file: sqlite:///path/to/file")
        return parsed
    path = Path(database)
    if not path.is_file():
        raise ImportFailure(f"no such file: {path}")
    return parsed.set(
        database=path.resolve().as_uri(), query={**parsed.query, "mode": "ro", "uri": "true"}
    )


def _columns(connection: Connection) -> list[str]:
    """The names of the old table's columns to read, as the database spells them."""
    inspector = sa.inspect(connection)
    if not inspector.has_table(TABLE):
        raise ImportFailure(f"the old database has no table {TABLE!r}")
    present = {column["name"].lower(): column["name"] for column in inspector.get_columns(TABLE)}
    missing = [name for name in REQUIRED_COLUMNS if name.lower() not in present]
    if missing:
        raise ImportFailure(f"table {TABLE!r} lacks the column(s) {', '.join(missing)}")
    wanted = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    return [present[name.lower()] for name in wanted if name.lower() in present]


def _query(columns: list[str]) -> sa.Select[Any]:
    table = sa.table(TABLE, *(sa.column(name) for name in columns))
    return sa.select(table).order_by(table.c[columns[0]])


def _as_row(columns: list[str], values: Sequence[Any]) -> dict[str, Any]:
    wanted = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    by_lower = {name.lower(): name for name in wanted}
    return {by_lower[name.lower()]: value for name, value in zip(columns, values, strict=True)}


async def read_old_users(url: str, batch_size: int) -> AsyncIterator[list[dict[str, Any]]]:
    """The old table's rows in batches, by UserId; ImportFailure if it cannot be read."""
    source = source_url(url)
    try:
        is_async = source.get_dialect().is_async
        if is_async:
            async for batch in _read_async(source, batch_size):
                yield batch
        else:
            for batch in _read_sync(source, batch_size):
                yield batch
    except (SQLAlchemyError, ImportError, OSError) as exc:
        raise ImportFailure(f"cannot read the old database: {_cause(exc)}") from exc


def _read_sync(source: URL, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    engine = sa.create_engine(source)
    try:
        with engine.connect() as connection:
            columns = _columns(connection)
            result = connection.execution_options(
                stream_results=True, yield_per=batch_size
            ).execute(_query(columns))
            for part in result.partitions(batch_size):
                yield [_as_row(columns, row) for row in part]
    finally:
        engine.dispose()


async def _read_async(source: URL, batch_size: int) -> AsyncIterator[list[dict[str, Any]]]:
    engine = create_async_engine(source)
    try:
        async with engine.connect() as connection:
            columns = await connection.run_sync(_columns)
            result = await connection.stream(_query(columns))
            async for part in result.partitions(batch_size):
                yield [_as_row(columns, row) for row in part]
    finally:
        await engine.dispose()


def _cause(exc: BaseException) -> str:
    original = getattr(exc, "orig", None)
    return f"{type(original or exc).__name__}: {original or exc}".splitlines()[0]


# --- into authsvc ---------------------------------------------------------------------


async def import_flask_db(
    url: str,
    db: Database,
    *,
    dry_run: bool = False,
    on_skip: Callable[[Skipped], None] = lambda _skipped: None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Copy the old users into `db`, batch by batch (each batch one transaction).

    `on_skip` hears of every row skipped but those imported before. With `dry_run`,
    nothing is written and the report says what would have been imported.
    """
    start = time.perf_counter()
    report = ImportReport()
    kept: dict[str, int] = {}  # email key -> UserId of the row imported (or to be) this run

    def skip(skipped: Skipped) -> None:
        if skipped.outcome is Outcome.INVALID:
            report.invalid += 1
        else:
            report.present += 1
        on_skip(skipped)

    async for rows in read_old_users(url, batch_size):
        report.rows += len(rows)
        batch: dict[str, ImportedAccount] = {}
        for row in rows:
            parsed = parse_row(row)
            if isinstance(parsed, Skipped):
                skip(parsed)
                continue
            key = email_key(parsed.email)
            first = batch[key].legacy_id if key in batch else kept.get(key)
            if first is not None:
                reason = (
                    f"the same email as UserId {first} in another letter case; authsvc keeps "
                    f"one account per email: UserId {first}'s"
                )
                skip(Skipped(parsed.legacy_id, Outcome.PRESENT, reason))
            else:
                batch[key] = parsed
        unit = db.reading() if dry_run else db.transaction()
        async with unit as session:
            fresh = await _sort_out(UserRepository(session), batch, report, skip)
            if not dry_run:
                fresh = await _insert(session, fresh, skip)
        kept.update({key: account.legacy_id for key, account in fresh.items()})
        report.imported += len(fresh)
    report.seconds = time.perf_counter() - start
    return report


async def _sort_out(
    users: UserRepository,
    batch: dict[str, ImportedAccount],
    report: ImportReport,
    skip: Callable[[Skipped], None],
) -> dict[str, ImportedAccount]:
    """The accounts of the batch that are new: the others are skipped (or, imported
    before, counted)."""
    existing = await users.legacy_ids_by_email_key(batch.keys())
    taken = await users.taken_legacy_ids([account.legacy_id for account in batch.values()])
    fresh: dict[str, ImportedAccount] = {}
    for key, account in batch.items():
        if key in existing:
            number = existing[key]
            if number == account.legacy_id:
                report.present += 1
                report.already_imported += 1
                continue
            whose = f" (UserId {number})" if number is not None else ""
            reason = f"an authsvc account{whose} has this email already; it was left as it is"
            skip(Skipped(account.legacy_id, Outcome.PRESENT, reason))
        elif account.legacy_id in taken:
            reason = f"UserId {account.legacy_id} is already another authsvc account's"
            skip(Skipped(account.legacy_id, Outcome.PRESENT, reason))
        else:
            fresh[key] = account
    return fresh


async def _insert(
    session: AsyncSession, fresh: dict[str, ImportedAccount], skip: Callable[[Skipped], None]
) -> dict[str, ImportedAccount]:
    """Insert the batch at once; if an account appeared meanwhile (a registration between
    the check and the insert), one by one, skipping those that are now taken. Returns
    those inserted."""
    users = UserRepository(session)
    now = utcnow()
    try:
        async with session.begin_nested():
            await users.add_imported(list(fresh.values()), scopes=scope_rules.USER, now=now)
        return fresh
    except IntegrityError:
        pass
    inserted: dict[str, ImportedAccount] = {}
    for key, account in fresh.items():
        try:
            async with session.begin_nested():
                await users.add_imported([account], scopes=scope_rules.USER, now=now)
            inserted[key] = account
        except IntegrityError:
            reason = "an authsvc account took this email or UserId during the import"
            skip(Skipped(account.legacy_id, Outcome.PRESENT, reason))
    return inserted


# --- what the command prints ------------------------------------------------------------


def describe(skipped: Skipped) -> str:
    return f"UserId {skipped.user_id}: skipped ({skipped.outcome}): {skipped.reason}"


def summary(report: ImportReport, *, dry_run: bool) -> list[str]:
    lines = []
    if not report.imported:
        before = f": {report.already_imported} rows were imported before"
        lines.append("nothing to import" + (before if report.already_imported else ""))
    verb = "would import" if dry_run else "imported"
    lines.append(
        f"{verb} {report.imported}, skipped as present {report.present} "
        f"({report.already_imported} imported before), skipped as invalid {report.invalid}; "
        f"{report.rows} rows read in {report.seconds:.1f} s"
    )
    if dry_run:
        lines.append("dry run: nothing was written")
    return lines
