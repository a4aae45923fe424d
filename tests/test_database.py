"""What each database must store and compare exactly as the others do (run on every one).

MySQL and MariaDB are where these would differ by default: whole-second DATETIME,
case- and accent-insensitive collations, matched-versus-changed row counts, and no
`LIMIT` in an `IN` subquery.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import select, update

from authsvc.models import Session, User
from authsvc.repositories import dialects
from authsvc.repositories.sessions import SessionRepository
from tests.support.app import Api


async def test_timestamps_keep_their_microseconds(app: FastAPI, api: Api) -> None:
    """The grace interval compares microseconds; whole seconds would shift every cutoff."""
    await api.signed_up()
    moment = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    async with app.state.runtime.db.transaction() as db:
        await db.execute(update(Session).values(revoked_at=moment))
    async with app.state.runtime.db.reading() as db:
        assert (await db.execute(select(Session.revoked_at))).scalar_one() == moment
        after = select(Session.id).where(Session.revoked_at > moment)
        before_next = select(Session.id).where(
            Session.revoked_at < moment + timedelta(microseconds=1)
        )
        assert (await db.execute(after)).first() is None
        assert (await db.execute(before_next)).first() is not None


async def test_any_unicode_email_and_name_round_trip(api: Api) -> None:
    """utf8mb4, not MySQL's 3-byte utf8: names with emoji are stored as sent."""
    name = "Zoë Ødegård 李小龍 🦊𝄞"
    response = await api.register("zoë@example.com", full_name=name)
    assert response.status_code == 201, response.text
    assert response.json()["full_name"] == name
    tokens = (await api.login("ZOË@example.com")).json()
    me = (await api.me(tokens["access_token"])).json()
    assert (me["email"], me["full_name"]) == ("zoë@example.com", name)


async def test_emails_differing_only_in_accents_are_two_accounts(api: Api) -> None:
    """Letter case is folded by the email key; nothing else is, whatever the collation
    (MariaDB's default one would take josé and jose for one)."""
    assert (await api.register("josé@example.com")).status_code == 201
    assert (await api.register("jose@example.com")).status_code == 201
    assert (await api.register("JOSÉ@example.com")).status_code == 409


async def test_a_login_email_with_trailing_spaces_is_an_unknown_account(api: Api) -> None:
    """The per-account throttle counts "alice@x.com " apart from "alice@x.com": the
    lookup must not match them either (MySQL's PAD SPACE collations would)."""
    await api.signed_up()
    response = await api.login("alice@example.com  ")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_an_update_counts_the_rows_it_matched_not_only_those_it_changed(
    app: FastAPI, api: Api
) -> None:
    """A login's conditional UPDATE assigns the hash it found: nothing changes, and the
    row must still count (MySQL reports changed rows unless connected with FOUND_ROWS)."""
    await api.signed_up()
    async with app.state.runtime.db.transaction() as db:
        unchanged = update(User).values(hashed_password=User.hashed_password)
        assert await dialects.rowcount(db, unchanged) == 1


async def test_the_purge_deletes_in_batches(app: FastAPI, api: Api) -> None:
    await api.signed_up()
    for _ in range(4):
        assert (await api.login("alice@example.com")).status_code == 200
    past = datetime(2020, 1, 1, tzinfo=UTC)
    async with app.state.runtime.db.transaction() as db:
        await db.execute(update(Session).values(revoked_at=past))

    batches = []
    for _ in range(3):
        async with app.state.runtime.db.transaction() as db:
            now = datetime.now(UTC)
            batches.append(
                await SessionRepository(db).purge(now=now, ended_before=now, batch_size=2)
            )
    assert [sessions for sessions, _tokens in batches] == [2, 2, 1]
