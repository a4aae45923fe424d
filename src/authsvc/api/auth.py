"""/auth: registration and logout (the OAuth endpoints are `token.py` and `oauth.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from authsvc.api.deps import BEARER_ERRORS, Accounts, CurrentPrincipal, RequestOrigin, Sessions
from authsvc.api.errors import responses
from authsvc.errors import (
    BodyTooLarge,
    DatabaseUnavailable,
    EmailTaken,
    InvalidBody,
    Overloaded,
    Throttled,
)
from authsvc.models import User
from authsvc.schemas import UserCreate, UserOut

router = APIRouter(prefix="/auth", tags=["auth"])

REGISTRATION_THROTTLED = Throttled(
    "Too many registrations from this address; retry in a while",
    limit="register-ip",
    retry_after=1800,
)


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=responses(
        EmailTaken,
        BodyTooLarge,
        InvalidBody,
        REGISTRATION_THROTTLED,
        Overloaded,
        DatabaseUnavailable,
    ),
    summary="Create an account",
    description="The password must be 8 to 1024 characters (any Unicode), not one of the "
    "100,000 most common passwords, and must not contain the name part of the email; "
    "a 422 says which rule it breaks. Registrations are limited per client address (429).",
)
async def register(body: UserCreate, origin: RequestOrigin, accounts: Accounts) -> User:
    return await accounts.register(
        email=body.email, password=body.password, full_name=body.full_name, origin=origin
    )


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(*BEARER_ERRORS, InvalidBody, DatabaseUnavailable),
    summary="End this session, or every session of the account",
    description="Ends the session of the access token (its refresh token and access tokens "
    "stop working at once); with `all=true`, every session of the account.",
)
async def logout(
    principal: CurrentPrincipal,
    sessions: Sessions,
    everywhere: Annotated[
        bool, Query(alias="all", description="End every session of the account.")
    ] = False,
) -> None:
    await sessions.logout(principal, everywhere=everywhere)
