"""`authsvc users ...`: the admin API for operators without a token, under the same rules
(the last active admin cannot be disabled, demoted or deleted)."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from authsvc.config import Settings
from authsvc.domain import CLI_OPERATOR, UserChanges, UserFilter
from authsvc.errors import DatabaseUnavailable, LastAdmin, UserNotFound
from authsvc.security import scopes as scope_rules
from authsvc.services.admin import AdminService

T = TypeVar("T")


def add_users_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = commands.add_parser("users", help="list and manage accounts (as the admin API does)")
    users.set_defaults(logs_to_stderr=True)  # stdout is the output: `users list --json | jq`
    sub = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")

    listing = sub.add_parser("list", help="every account, oldest first")
    listing.add_argument("--q", default=None, help="only emails starting with this (any case)")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(handler=_list)

    for name, text, handler in (
        ("disable", "disable the account and end all its sessions", _disable),
        ("enable", "enable the account (its ended sessions stay ended)", _enable),
        ("delete", "erase the account, its sessions and refresh tokens", _delete),
        ("end-sessions", "end every session of the account", _end_sessions),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("email")
        command.set_defaults(handler=handler)

    for name, text, handler in (
        ("grant", "give the account a scope", _grant),
        ("revoke", "take a scope from the account (at once, from its tokens too)", _revoke),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("email")
        command.add_argument("scope", choices=sorted(scope_rules.SCOPES))
        command.set_defaults(handler=handler)


def _run(settings: Settings, action: Callable[[AdminService], Awaitable[T]]) -> T:
    """Run `action` with the admin service of a runtime built for this one command;
    the rules' refusals become one line and exit status 2."""
    from authsvc.cli import CliError
    from authsvc.runtime import Runtime

    async def run() -> T:
        runtime = Runtime.build(settings, preload=False)  # no command here sets a password
        try:
            return await action(runtime.admin)
        finally:
            await runtime.aclose()

    try:
        return asyncio.run(run())
    except (UserNotFound, LastAdmin) as exc:
        raise CliError(exc.message) from None
    except DatabaseUnavailable as exc:
        raise CliError(
            f"the database did not answer ({type(exc.__cause__).__name__}); is it up and migrated?"
        ) from None


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from authsvc.schemas import AdminUserOut

    async def collect(admin: AdminService) -> list[AdminUserOut]:
        return [
            AdminUserOut.of(view) async for view in admin.all_users(UserFilter(email_prefix=args.q))
        ]

    users = _run(settings, collect)
    if args.json:
        print(json.dumps([user.model_dump(mode="json") for user in users], indent=2))
        return 0
    for user in users:
        state = "active" if user.is_active else "disabled"
        print(
            f"{user.id}  {user.email}  {state}  {' '.join(user.scopes)}  "
            f"sessions={user.live_sessions}"
        )
    return 0


async def _change(admin: AdminService, email: str, changes: UserChanges) -> list[str]:
    """Apply `changes` to the account with this email; the scopes it holds after."""
    view = await admin.find_by_email(email)
    after = await admin.update_user(view.user.id, changes, actor=CLI_OPERATOR)
    return sorted(after.user.scope_set)


def _disable(args: argparse.Namespace, settings: Settings) -> int:
    _run(settings, lambda admin: _change(admin, args.email, UserChanges(is_active=False)))
    print(f"disabled {args.email}; its sessions are ended")
    return 0


def _enable(args: argparse.Namespace, settings: Settings) -> int:
    _run(settings, lambda admin: _change(admin, args.email, UserChanges(is_active=True)))
    print(f"enabled {args.email}")
    return 0


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    async def delete(admin: AdminService) -> None:
        view = await admin.find_by_email(args.email)
        await admin.delete_user(view.user.id, actor=CLI_OPERATOR)

    _run(settings, delete)
    print(f"deleted {args.email}")
    return 0


def _end_sessions(args: argparse.Namespace, settings: Settings) -> int:
    async def end(admin: AdminService) -> int:
        view = await admin.find_by_email(args.email)
        return await admin.end_sessions(view.user.id, actor=CLI_OPERATOR)

    ended = _run(settings, end)
    print(f"ended {ended} sessions of {args.email}")
    return 0


def _grant(args: argparse.Namespace, settings: Settings) -> int:
    return _rescope(args, settings, add=True)


def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    from authsvc.cli import CliError

    if args.scope == scope_rules.USER:
        raise CliError("every account holds the user scope; disable the account instead")
    return _rescope(args, settings, add=False)


def _rescope(args: argparse.Namespace, settings: Settings, *, add: bool) -> int:
    async def rescope(admin: AdminService) -> list[str]:
        held = (await admin.find_by_email(args.email)).user.scope_set
        scopes = held | {args.scope} if add else held - {args.scope}
        return await _change(admin, args.email, UserChanges(scopes=scopes))

    scopes = _run(settings, rescope)
    print(f"{args.email} holds: {' '.join(scopes)}")
    return 0
