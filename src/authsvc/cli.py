"""The `authsvc` command: serve, migrate, create-user."""

from __future__ import annotations

import argparse
import asyncio
import copy
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from authsvc import __version__
from authsvc.config import Settings
from authsvc.errors import EmailTaken
from authsvc.security import scopes as scope_rules


class CliError(Exception):
    """A problem the operator can fix; printed as one line, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        settings = _load_settings()
        result: int = args.handler(args, settings)
        return result
    except CliError as exc:
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
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(handler=_create_user)
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

    asyncio.run(upgrade(settings))
    logging.getLogger("authsvc").info("database schema is up to date")
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if args.workers < 1:
        raise CliError("--workers must be at least 1")
    if not args.no_migrate:
        _migrate(args, settings)
    uvicorn.run(
        "authsvc.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        log_config=_log_config(args.log_level),
        proxy_headers=False,  # the peer address is the client; see the trusted-proxy setting
        server_header=False,
        timeout_graceful_shutdown=30,
    )
    return 0


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus our own loggers, so worker processes log the same way."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["authsvc"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


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
    from authsvc.service import AuthService

    password = _read_password(args.password_stdin)
    try:
        body = UserCreate(email=args.email, password=password, full_name=args.full_name)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise CliError(f"{error['loc'][0]}: {error['msg']}") from None
    scopes = frozenset({scope_rules.USER} | ({scope_rules.ADMIN} if args.admin else set()))

    async def create() -> str:
        await upgrade(settings)
        runtime = Runtime.build(settings)
        try:
            async with runtime.sessionmaker() as db:
                service = AuthService(
                    db, settings=settings, hasher=runtime.hasher, codec=runtime.codec
                )
                user = await service.register(
                    email=body.email,
                    password=body.password,
                    full_name=body.full_name,
                    scopes=scopes,
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
