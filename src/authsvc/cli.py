"""The `authsvc` command: serve, migrate, create-user, users, purge-sessions,
import-flask-db, keys."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import logging.config
import os
import signal
import sys
from collections.abc import Sequence
from datetime import timedelta
from types import FrameType

from pydantic import ValidationError

from authsvc import __version__
from authsvc.config import ASYMMETRIC_ALGORITHMS, Settings
from authsvc.domain import CLI_OPERATOR
from authsvc.errors import EmailTaken
from authsvc.logs import logging_config
from authsvc.metrics import shared_multiprocess_dir
from authsvc.security import scopes as scope_rules
from authsvc.security.keys import KeyConfigError, KeySet, generate_private_key_pem
from authsvc.signing_keys import resolve_token_keys


class CliError(Exception):
    """A problem the operator can fix; printed as one line, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if getattr(args, "without_settings", False):
            # `keys generate` makes the key that the settings may still lack: needs none.
            return int(args.handler(args, None))
        settings = _load_settings()
        log_config = logging_config(
            json_logs=settings.env == "production",
            level=getattr(args, "log_level", "info"),
            to_stderr=getattr(args, "logs_to_stderr", False),
        )
        logging.config.dictConfig(log_config)
        result: int = args.handler(args, settings)
        return result
    except (CliError, KeyConfigError) as exc:
        print(f"authsvc: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="authsvc",
        description="OAuth2 authentication service. Settings come from AUTHSVC_* variables.",
    )
    parser.add_argument("--version", action="version", version=f"authsvc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="migrate the database, then serve HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    serve.add_argument("--port", type=int, default=8000, help="default: %(default)s")
    serve.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("AUTHSVC_WORKERS", "1")),
        help="worker processes (default: $AUTHSVC_WORKERS or 1)",
    )
    serve.add_argument("--no-migrate", action="store_true", help="skip applying migrations")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations and exit")
    migrate.set_defaults(handler=_migrate)

    create = commands.add_parser("create-user", help="create an account (e.g. the first admin)")
    create.add_argument("email")
    create.add_argument("--full-name", default=None)
    create.add_argument("--admin", action="store_true", help="also grant the admin scope")
    create.add_argument(
        "--scope",
        action="append",
        default=[],
        choices=sorted(scope_rules.SCOPES),
        help="also grant this scope (repeatable), e.g. introspect for a resource server",
    )
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(handler=_create_user)

    from authsvc.cli_users import add_users_commands  # it needs CliError from here

    add_users_commands(commands)

    purge = commands.add_parser(
        "purge-sessions",
        help="delete sessions ended more than AUTHSVC_ENDED_SESSION_RETENTION_DAYS ago "
        "(serve also does this, every AUTHSVC_SESSION_PURGE_INTERVAL_SECONDS)",
    )
    purge.set_defaults(handler=_purge_sessions)

    flask = commands.add_parser(
        "import-flask-db",
        help="import the users of the old Flask tutorial app, with their passwords",
    )
    flask.add_argument("url", help="SQLAlchemy URL of its database, e.g. sqlite:///path/file")
    flask.add_argument("--dry-run", action="store_true", help="report, and write nothing")
    flask.set_defaults(handler=_import_flask_db)

    keys = commands.add_parser("keys", help="asymmetric signing keys (RS256, ES256, EdDSA)")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    generate = key_commands.add_parser(
        "generate", help="print a new private key (PKCS#8 PEM) for AUTHSVC_JWT_PRIVATE_KEYS"
    )
    generate.add_argument("--alg", required=True, choices=ASYMMETRIC_ALGORITHMS)
    generate.set_defaults(handler=_keys_generate, without_settings=True)
    listing = key_commands.add_parser(
        "list", help="the configured keys' kid and algorithm; the first one signs"
    )
    listing.set_defaults(handler=_keys_list)
    return parser


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["loc"]:
            message = f"AUTHSVC_{str(error['loc'][0]).upper()}: {message}"
        raise CliError(message) from None


def _migrate(_args: argparse.Namespace, settings: Settings) -> int:
    from authsvc.migrate import upgrade

    before, after = asyncio.run(upgrade(settings))
    log = logging.getLogger("authsvc.migrate")
    if before == after:
        log.info("database schema is up to date at %s", after, extra={"event": "migrate"})
    else:
        log.info(
            "migrated the database schema from %s to %s",
            before or "empty",
            after,
            extra={"event": "migrate", "from_revision": before, "to_revision": after},
        )
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if args.workers < 1:
        raise CliError("--workers must be at least 1")
    resolve_token_keys(settings)  # a bad key: one line now, not a traceback in every worker
    if not args.no_migrate:
        _migrate(args, settings)
    # uvicorn drains in-flight requests on SIGTERM, then re-raises the signal so the exit
    # status says "killed". A stop the orchestrator asked for is no failure: exit 0.
    previous = signal.signal(signal.SIGTERM, _stop_requested)
    try:
        with shared_multiprocess_dir(enabled=settings.metrics_enabled, workers=args.workers):
            uvicorn.run(
                "authsvc.app:create_app_from_env",
                factory=True,
                host=args.host,
                port=args.port,
                workers=args.workers,
                log_level=args.log_level,
                log_config=logging_config(
                    json_logs=settings.env == "production", level=args.log_level
                ),
                access_log=False,  # ours (authsvc.access) knows the route, request id and user
                proxy_headers=False,  # client IPs: see AUTHSVC_TRUSTED_PROXIES
                server_header=False,
                # h11, not httptools: httptools (llhttp) has no bound on a request's head
                # and reads a header of any size into memory; h11 refuses a head larger
                # than this (400, and the connection is closed without reading on).
                http="h11",
                h11_max_incomplete_event_size=settings.max_header_bytes,
                timeout_graceful_shutdown=30,
            )
    except _StopRequested:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


class _StopRequested(Exception):
    pass


def _stop_requested(_signum: int, _frame: FrameType | None) -> None:
    raise _StopRequested


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != password:
        raise CliError("the passwords do not match")
    return password


def _create_user(args: argparse.Namespace, settings: Settings) -> int:
    from authsvc.migrate import upgrade
    from authsvc.runtime import Runtime
    from authsvc.schemas import UserCreate

    password = _read_password(args.password_stdin)
    try:
        body = UserCreate(email=args.email, password=password, full_name=args.full_name)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise CliError(f"{error['loc'][0]}: {error['msg']}") from None
    scopes = frozenset(
        {scope_rules.USER, *args.scope} | ({scope_rules.ADMIN} if args.admin else set())
    )

    async def create() -> str:
        await upgrade(settings)
        runtime = Runtime.build(settings)
        try:
            # The operator's path: the only one that can grant more than `user`.
            user = await runtime.accounts.provision(
                email=body.email,
                password=body.password,
                full_name=body.full_name,
                scopes=scopes,
                actor=CLI_OPERATOR,
            )
            return str(user.id)
        finally:
            await runtime.aclose()

    try:
        user_id = asyncio.run(create())
    except EmailTaken:
        raise CliError(f"an account with the email {body.email} already exists") from None
    print(user_id)
    return 0


def _purge_sessions(_args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy.exc import DBAPIError

    from authsvc.audit import Audit
    from authsvc.db import Database, create_engine
    from authsvc.errors import DatabaseUnavailable
    from authsvc.services.sessions import SessionService

    async def purge() -> tuple[int, int]:
        db = Database(create_engine(settings))  # the database alone: no keys needed
        try:
            retention = timedelta(days=settings.ended_session_retention_days)
            return await SessionService(db, audit=Audit(None)).purge(retention=retention)
        finally:
            await db.aclose()

    try:
        sessions, tokens = asyncio.run(purge())
    except (DatabaseUnavailable, DBAPIError) as exc:
        cause = exc.__cause__ if isinstance(exc, DatabaseUnavailable) else exc
        raise CliError(
            f"cannot purge: {type(cause).__name__}; is the database up and migrated?"
        ) from None
    print(f"deleted {sessions} ended sessions and {tokens} expired refresh tokens")
    return 0


def _import_flask_db(args: argparse.Namespace, settings: Settings) -> int:
    from authsvc import flask_import
    from authsvc.audit import Audit, AuditEvent
    from authsvc.db import OUTAGES, Database, create_engine
    from authsvc.errors import DatabaseUnavailable
    from authsvc.migrate import is_current, upgrade

    async def run() -> flask_import.ImportReport:
        if not args.dry_run:
            await upgrade(settings)
        elif not await is_current(settings):
            raise CliError("the authsvc database is not migrated: run 'authsvc migrate' first")
        db = Database(create_engine(settings))
        try:
            return await flask_import.import_flask_db(
                args.url,
                db,
                dry_run=args.dry_run,
                on_skip=lambda skipped: print(flask_import.describe(skipped)),
            )
        finally:
            await db.aclose()

    try:
        report = asyncio.run(run())
    except flask_import.ImportFailure as exc:
        raise CliError(str(exc)) from None
    except (DatabaseUnavailable, *OUTAGES) as exc:
        cause = exc.__cause__ if isinstance(exc, DatabaseUnavailable) else exc
        raise CliError(f"the authsvc database is unavailable: {type(cause).__name__}") from None
    print("\n".join(flask_import.summary(report, dry_run=args.dry_run)))
    if not args.dry_run:
        Audit(None)(
            AuditEvent.FLASK_IMPORT,
            "flask users imported",
            imported=report.imported,
            present=report.present,
            invalid=report.invalid,
        )
    return 0


def _keys_generate(args: argparse.Namespace, _settings: Settings | None) -> int:
    print(generate_private_key_pem(args.alg), end="")
    return 0


def _keys_list(_args: argparse.Namespace, settings: Settings) -> int:
    keys = resolve_token_keys(settings)
    if not isinstance(keys, KeySet):
        raise CliError(
            f"AUTHSVC_JWT_ALGORITHM is {keys.algorithm}: tokens are signed with the shared "
            "secret AUTHSVC_JWT_SECRET, so there are no keys to list"
        )
    for number, key in enumerate(keys.keys):
        role = "signing" if number == 0 else "verifying"
        print(f"{key.kid}  {key.algorithm}  {role}  {key.source}")
    return 0
