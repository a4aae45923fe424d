from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from authsvc.api.responses import (
    BEARER_ERRORS,
    BODY_TOO_LARGE,
    DATABASE_UNAVAILABLE,
    PASSWORD_CHANGE_ERRORS,
    SESSION_NOT_FOUND,
)
from authsvc.deps import (
    AuthServiceDep,
    Caller,
    CurrentPrincipal,
    CurrentUser,
    PasswordChangeBody,
)
from authsvc.models import User
from authsvc.schemas import SessionOut, UserOut, UserUpdate

router = APIRouter(
    prefix="/users", tags=["users"], responses={**BEARER_ERRORS, **DATABASE_UNAVAILABLE}
)


@router.get("/me", response_model=UserOut, summary="The account behind the access token")
async def read_me(user: CurrentUser) -> User:
    return user


@router.patch("/me", response_model=UserOut, responses=BODY_TOO_LARGE, summary="Change your name")
async def update_me(body: UserUpdate, user: CurrentUser, auth: AuthServiceDep) -> User:
    return await auth.update_profile(user, body)


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=PASSWORD_CHANGE_ERRORS,
    summary="Change your password; signs out every other session",
    description="Needs the current password. The new one follows the registration rules "
    "(a 422 says which it breaks). Every other session ends; this one stays.",
)
async def change_password(
    body: PasswordChangeBody, principal: CurrentPrincipal, client: Caller, auth: AuthServiceDep
) -> None:
    await auth.change_password(
        principal,
        current_password=body.current_password,
        new_password=body.new_password,
        client=client,
    )


@router.get(
    "/me/sessions",
    response_model=list[SessionOut],
    summary="Where you are signed in: your live sessions",
)
async def list_sessions(principal: CurrentPrincipal, auth: AuthServiceDep) -> list[SessionOut]:
    sessions = await auth.list_sessions(principal.user.id)
    return [SessionOut.of(s, current_session_id=principal.session_id) for s in sessions]


@router.delete(
    "/me/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=SESSION_NOT_FOUND,
    summary="Sign out one of your sessions (a lost phone, say)",
)
async def end_session(
    session_id: uuid.UUID, principal: CurrentPrincipal, auth: AuthServiceDep
) -> None:
    await auth.end_session(principal.user.id, session_id)
