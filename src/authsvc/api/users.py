"""/users/me: the caller's own account and sessions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from authsvc.api.deps import (
    BEARER_ERRORS,
    Accounts,
    CurrentPrincipal,
    CurrentUser,
    PasswordChangeBody,
    RequestOrigin,
    Sessions,
)
from authsvc.api.errors import responses
from authsvc.domain import UNCHANGED, Account
from authsvc.errors import (
    BodyTooLarge,
    DatabaseUnavailable,
    InvalidBody,
    LastAdmin,
    Overloaded,
    PasswordChangedMeanwhile,
    SessionNotFound,
    Throttled,
    WrongPassword,
)
from authsvc.schemas import AccountDeletion, SessionOut, UserOut, UserUpdate

router = APIRouter(
    prefix="/users",
    tags=["users"],
    responses=responses(*BEARER_ERRORS, DatabaseUnavailable),
)


@router.get("/me", response_model=UserOut, summary="The account behind the access token")
async def read_me(user: CurrentUser) -> Account:
    return user


@router.patch(
    "/me",
    response_model=UserOut,
    responses=responses(BodyTooLarge, InvalidBody),
    summary="Change your name",
)
async def update_me(body: UserUpdate, user: CurrentUser, accounts: Accounts) -> Account:
    full_name = body.full_name if "full_name" in body.model_fields_set else UNCHANGED
    return await accounts.update_profile(user, full_name=full_name)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(
        WrongPassword,
        Throttled,
        LastAdmin,
        PasswordChangedMeanwhile,
        BodyTooLarge,
        InvalidBody,
        Overloaded,
    ),
    summary="Delete your account",
    description="Needs the current password (a wrong one is 400, and counts against the "
    "login limits). Erases the account, its sessions and refresh tokens; the email can "
    "register again. The last active admin cannot (409).",
)
async def delete_me(
    body: AccountDeletion, principal: CurrentPrincipal, origin: RequestOrigin, accounts: Accounts
) -> None:
    await accounts.delete_account(principal, current_password=body.current_password, origin=origin)


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(
        WrongPassword,
        Throttled,
        PasswordChangedMeanwhile,
        BodyTooLarge,
        InvalidBody,
        Overloaded,
        DatabaseUnavailable,
    ),
    summary="Change your password; signs out every other session",
    description="Needs the current password. The new one follows the registration rules "
    "(a 422 says which it breaks). Every other session ends; this one stays.",
)
async def change_password(
    body: PasswordChangeBody,
    principal: CurrentPrincipal,
    origin: RequestOrigin,
    accounts: Accounts,
) -> None:
    await accounts.change_password(
        principal,
        current_password=body.current_password,
        new_password=body.new_password,
        origin=origin,
    )


@router.get(
    "/me/sessions",
    response_model=list[SessionOut],
    summary="Where you are signed in: your live sessions",
)
async def list_sessions(principal: CurrentPrincipal, sessions: Sessions) -> list[SessionOut]:
    live = await sessions.list_live(principal.user.id)
    return [SessionOut.of(s, current_session_id=principal.session_id) for s in live]


@router.delete(
    "/me/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(SessionNotFound, InvalidBody),
    summary="Sign out one of your sessions (a lost phone, say)",
)
async def end_session(
    session_id: uuid.UUID, principal: CurrentPrincipal, sessions: Sessions
) -> None:
    await sessions.end(principal.user.id, session_id)
