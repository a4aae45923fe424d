"""`authsvc import-flask-db`: the old Flask app's users, with their passwords, once.

Each test writes an old-app database itself (`tests/support/flask_db.py`) and imports it
into authsvc on every backend; the command itself runs as a real process.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from authsvc.flask_import import ImportFailure, ImportReport, Skipped, import_flask_db
from tests.support.app import Api, AppWith
from tests.support.flask_db import OldClient, OldUser, add_old_users, write_old_db
from tests.support.processes import authsvc_env
from tests.support.settings import PASSWORD

ALICE = OldUser(1, "alice@example.com", "hunter2", "Alice Liddell")
BOB = OldUser(2, "Bob@Example.com", "correct horse battery staple", "Bob", rounds=12)
CAROL = OldUser(7, "carol@example.com", "sesame open", None)


async def run_import(
    app: FastAPI, url: str, *, dry_run: bool = False
) -> tuple[ImportReport, list[Skipped]]:
    skipped: list[Skipped] = []
    report = await import_flask_db(
        url, app.state.runtime.db, dry_run=dry_run, on_skip=skipped.append, batch_size=2
    )
    return report, skipped


async def stored_hash(app: FastAPI, email: str) -> str:
    async with app.state.runtime.engine.connect() as connection:
        query = text("SELECT hashed_password FROM users WHERE email_key = :key")
        value: str = (await connection.execute(query, {"key": email.casefold()})).scalar_one()
    return value


def run_cli(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "authsvc", *args],
        env=authsvc_env(database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_old_users_log_in_with_their_old_passwords_on_old_and_new_routes(
    app_with: AppWith, tmp_path: Path
) -> None:
    url = write_old_db(tmp_path / "flask_login_example", [ALICE, BOB, CAROL])
    async with app_with(legacy_routes=True) as (app, api):
        report, skipped = await run_import(app, url)
        assert (report.imported, report.present, report.invalid, skipped) == (3, 0, 0, [])
        old = OldClient(api.client)

        for user in (ALICE, BOB, CAROL):
            assert user.email
            assert (await stored_hash(app, user.email)).startswith("$2b$")
            new_route = await api.login(user.email, user.password)
            assert new_route.status_code == 200, new_route.text
            assert (await stored_hash(app, user.email)).startswith("$bcrypt-sha256$")
            old_route = await old.login(user.email.upper(), user.password)
            assert old_route.status_code == 200, old_route.text

            for token in (new_route.json()["access_token"], old_route.json()["access_token"]):
                me = await old.me(token)
                assert me.json() == {
                    "UserId": user.user_id,
                    "FullName": user.full_name,
                    "Email": user.email.replace("Example.com", "example.com"),
                }
                assert (await api.me(token)).json()["full_name"] == user.full_name


async def test_the_upgraded_hash_survives_a_wrong_password_and_a_second_import(
    app_with: AppWith, tmp_path: Path
) -> None:
    url = write_old_db(tmp_path / "old.db", [ALICE])
    async with app_with(legacy_routes=True) as (app, api):
        await run_import(app, url)
        assert (await api.login(ALICE.email or "", ALICE.password)).status_code == 200
        upgraded = await stored_hash(app, "alice@example.com")

        assert (await api.login("alice@example.com", "not hunter2")).status_code == 400
        report, _ = await run_import(app, url)

        assert (report.imported, report.already_imported) == (0, 1)
        assert await stored_hash(app, "alice@example.com") == upgraded
        assert (await api.login("alice@example.com", ALICE.password)).status_code == 200


async def test_a_password_over_72_bytes_logs_in_whole_then_only_whole(
    app_with: AppWith, tmp_path: Path
) -> None:
    """The old app (bcrypt < 5) read the first 72 bytes; bcrypt 5 refuses more. The
    import keeps the old check until the first login re-hashes the whole password."""
    password = "é" * 30 + "long-tail-" + "x" * 20  # 90 bytes in UTF-8
    same_72_bytes = password[:45] + "something else"
    users = [OldUser(5, "long@example.com", password), OldUser(6, "twin@example.com", password)]
    async with app_with() as (app, api):
        await run_import(app, write_old_db(tmp_path / "old.db", users))
        assert (await api.login("long@example.com", password[:40])).status_code == 400

        assert (await api.login("long@example.com", password)).status_code == 200
        assert (await stored_hash(app, "long@example.com")).startswith("$bcrypt-sha256$")
        assert (await api.login("long@example.com", same_72_bytes)).status_code == 400
        assert (await api.login("long@example.com", password)).status_code == 200

        # Until then, the old app's check: what it read of the password was 72 bytes.
        assert (await api.login("twin@example.com", same_72_bytes)).status_code == 200


async def test_imported_accounts_skip_the_password_policy_until_they_change_it(
    app: FastAPI, api: Api, tmp_path: Path
) -> None:
    """ "hunter2" is short and common: it could not be chosen today, but it logs in."""
    await run_import(app, write_old_db(tmp_path / "old.db", [ALICE]))
    tokens = (await api.login("alice@example.com", "hunter2")).json()
    change = await api.client.post(
        "/users/me/password",
        json={"current_password": "hunter2", "new_password": "hunter3"},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert change.status_code == 422  # a new password follows today's rules


async def test_rows_that_cannot_be_imported_are_reported_by_user_id(
    app: FastAPI, api: Api, tmp_path: Path
) -> None:
    assert (await api.register("taken@example.com")).status_code == 201
    rows = [
        ALICE,
        OldUser(2, ""),
        OldUser(3, "not-an-email"),
        OldUser(4, "werkzeug@example.com", stored_hash=b"pbkdf2:sha256:600000$salt$abc"),
        OldUser(5, "ALICE@example.com"),
        OldUser(6, "Taken@Example.com"),
        OldUser(8, "named@example.com", full_name="x" * 201),
        OldUser(9, "text-hash@example.com", stored_hash=ALICE.row()[3].decode()),  # type: ignore[union-attr]
    ]
    report, skipped = await run_import(app, write_old_db(tmp_path / "old.db", rows))

    reasons = {s.user_id: (s.outcome.value, s.reason) for s in skipped}
    assert reasons == {
        2: ("invalid", "no email"),
        3: ("invalid", reasons[3][1]),
        4: ("invalid", "UserPassword is not a bcrypt hash"),
        5: ("present", reasons[5][1]),
        6: ("present", "an authsvc account has this email already; it was left as it is"),
        8: ("invalid", "FullName is longer than 200 characters"),
    }
    assert reasons[3][1].startswith("the email does not validate")
    assert "UserId 1" in reasons[5][1]
    assert (report.imported, report.present, report.invalid, report.rows) == (2, 2, 4, 8)
    assert (await api.login("taken@example.com", PASSWORD)).status_code == 200
    assert (await api.login("taken@example.com", "hunter2")).status_code == 400
    assert (await api.login("text-hash@example.com", "hunter2")).status_code == 200


async def test_a_user_id_already_numbered_in_authsvc_is_not_given_twice(
    app_with: AppWith, tmp_path: Path
) -> None:
    async with app_with(legacy_routes=True) as (app, api):
        old = OldClient(api.client)
        assert (await old.register("early@example.com")).status_code == 201  # UserId 1
        _, skipped = await run_import(app, write_old_db(tmp_path / "old.db", [ALICE, CAROL]))

        assert [(s.user_id, s.reason) for s in skipped] == [
            (1, "UserId 1 is already another authsvc account's")
        ]
        assert (await old.me(await old.token("carol@example.com", "sesame open"))).json()[
            "UserId"
        ] == 7
        early = await old.me(await old.token("early@example.com"))
        assert early.json()["UserId"] == 1


async def test_a_dry_run_writes_nothing_and_reports_the_same(
    app: FastAPI, api: Api, tmp_path: Path
) -> None:
    """Batches of two: the second spelling of Alice's email comes in a later batch."""
    rows = [ALICE, OldUser(2, ""), OldUser(3, "ALICE@EXAMPLE.COM"), CAROL]
    url = write_old_db(tmp_path / "old.db", rows)

    dry, dry_skipped = await run_import(app, url, dry_run=True)
    assert (await api.login("alice@example.com", "hunter2")).status_code == 400
    real, real_skipped = await run_import(app, url)

    assert (dry.imported, dry.present, dry.invalid) == (real.imported, real.present, real.invalid)
    assert (real.imported, real.present, real.invalid) == (2, 1, 1)
    assert dry_skipped == real_skipped


async def test_an_account_registered_during_the_import_is_kept(
    app: FastAPI, tmp_path: Path
) -> None:
    """The batch insert falls back to one row at a time when one of its emails was taken
    between the check and the insert."""
    from authsvc.domain import ImportedAccount
    from authsvc.flask_import import _insert
    from authsvc.repositories.users import UserRepository

    raced = ImportedAccount(1, "raced@example.com", None, "$2b$04$" + "a" * 53)
    fine = ImportedAccount(2, "fine@example.com", None, "$2b$04$" + "b" * 53)
    skipped: list[Skipped] = []
    async with app.state.runtime.db.transaction() as session:
        await UserRepository(session).add(
            email="raced@example.com", hashed_password="x", full_name=None, scopes="user"
        )
        imported = await _insert(session, {"raced": raced, "fine": fine}, skipped.append)

    assert list(imported) == ["fine"]
    assert [s.user_id for s in skipped] == [1]


async def test_ten_thousand_users_are_imported_in_batches(
    app: FastAPI, api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "big.db"
    write_old_db(path, [])
    connection = sqlite3.connect(path)
    hashes = [OldUser(0, "", f"password {n}").row()[3] for n in range(4)]
    add_old_users(
        connection,
        (OldUser(n, f"user{n}@example.com", stored_hash=hashes[n % 4]) for n in range(1, 10_001)),
    )
    connection.close()

    start = time.perf_counter()
    report = await import_flask_db(f"sqlite:///{path}", app.state.runtime.db)
    seconds = time.perf_counter() - start
    with capsys.disabled():
        print(f"\n10,000-user import on {app.state.runtime.engine.dialect.name}: {seconds:.1f} s")

    assert (report.rows, report.imported) == (10_000, 10_000)
    assert (await api.login("user9999@example.com", "password 3")).status_code == 200
    again = await import_flask_db(f"sqlite:///{path}", app.state.runtime.db)
    assert (again.imported, again.already_imported) == (0, 10_000)


async def test_an_async_driver_url_reads_the_same(app: FastAPI, tmp_path: Path) -> None:
    write_old_db(tmp_path / "old.db", [ALICE])
    report, _ = await run_import(app, f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    assert report.imported == 1


@pytest.mark.parametrize(
    ("schema", "error"),
    [
        ("CREATE TABLE people (id INTEGER)", "no table 'users'"),
        ('CREATE TABLE users ("UserId" INTEGER, "Email" TEXT)', "lacks the column(s) UserPassword"),
    ],
)
async def test_a_database_that_is_not_the_old_apps_fails(
    app: FastAPI, tmp_path: Path, schema: str, error: str
) -> None:
    url = write_old_db(tmp_path / "other.db", [], schema=schema)
    with pytest.raises(ImportFailure, match=error.replace("(", r"\(").replace(")", r"\)")):
        await run_import(app, url)


# --- the command ------------------------------------------------------------------------


def test_the_command_reports_then_imports_once(database_url: str, tmp_path: Path) -> None:
    url = write_old_db(tmp_path / "old.db", [ALICE, OldUser(2, "alice@EXAMPLE.com"), CAROL])

    dry = run_cli("import-flask-db", url, "--dry-run", database_url=database_url)
    first = run_cli("import-flask-db", url, database_url=database_url)
    second = run_cli("import-flask-db", url, database_url=database_url)

    assert dry.returncode == first.returncode == second.returncode == 0, first.stderr
    skip_line = "UserId 2: skipped (present): the same email as UserId 1"
    assert dry.stdout.startswith(skip_line)
    assert "would import 2, skipped as present 1 " in dry.stdout
    assert "dry run: nothing was written" in dry.stdout
    assert "imported 2, skipped as present 1 (0 imported before), skipped as invalid 0" in (
        first.stdout
    )
    assert "nothing to import: 2 rows were imported before" in second.stdout
    assert "imported 0, skipped as present 3 (2 imported before)" in second.stdout


def test_the_command_fails_only_when_the_old_database_cannot_be_read(
    database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "not-a-db").write_text("hello")
    for url, message in [
        (f"sqlite:///{tmp_path / 'missing.db'}", "no such file"),
        (f"sqlite:///{tmp_path / 'not-a-db'}", "cannot read the old database"),
        ("not a url", "not a database URL"),
    ]:
        result = run_cli("import-flask-db", url, database_url=database_url)
        assert result.returncode == 2, result.stdout
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "missing.db").exists()  # opened read-only: never created
