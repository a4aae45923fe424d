"""/auth: registration, logout, and the OAuth endpoints but the token endpoint's grants."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from authsvc.api.deps import (
    Accounts,
    CurrentPrincipal,
    Introspector,
    RequestOrigin,
    ResourceServer,
    Revoker,
    Sessions,
)
from authsvc.api.errors import responses
from authsvc.api.forms import TokenParameterForm, form_body
from authsvc.errors import (
    BodyTooLarge,
    DatabaseUnavailable,
    EmailTaken,
    InsufficientScope,
    InvalidBody,
    InvalidRequest,
    InvalidToken,
    NotAuthenticated,
    Overloaded,
    Throttled,
    UnauthorizedClient,
)
from authsvc.models import User
from authsvc.schemas import IntrospectionResponse, TokenParameter, UserCreate, UserOut

router = APIRouter(prefix="/auth", tags=["auth"])

BEARER = (NotAuthenticated, InvalidToken, InsufficientScope)
TOKEN_PARAMETER_ERRORS = (InvalidRequest, UnauthorizedClient, BodyTooLarge, DatabaseUnavailable)


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=responses(EmailTaken, BodyTooLarge, InvalidBody, Throttled, Overloaded),
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
    responses=responses(*BEARER, InvalidBody, DatabaseUnavailable),
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


@router.post(
    "/revoke",
    response_class=Response,
    responses={
        200: {"description": "Revoked, or nothing to revoke (RFC 7009 §2.2)", "content": {}},
        **responses(*TOKEN_PARAMETER_ERRORS),
    },
    summary="Revoke a token (RFC 7009)",
    description="A refresh or access token ends its whole session. Unknown, expired, "
    "already revoked and malformed tokens get the same empty 200: a client may always "
    "discard its tokens after calling this.",
    openapi_extra=form_body(TokenParameter.model_json_schema()),
)
async def revoke(form: TokenParameterForm, revocation: Revoker) -> Response:
    await revocation.revoke(form.token, client_id=form.client_id)
    return Response(status_code=status.HTTP_200_OK)


@router.post(
    "/introspect",
    response_model=IntrospectionResponse,
    response_model_exclude_none=True,
    responses=responses(*TOKEN_PARAMETER_ERRORS, *BEARER),
    summary="Is this token live? (RFC 7662)",
    description="For resource servers that must know at once that a token was revoked. "
    "The caller needs a bearer token with the `introspect` scope. A live access or refresh "
    'token is described; anything else gets `{"active": false}`.',
    openapi_extra=form_body(TokenParameter.model_json_schema()),
)
async def introspect(
    _caller: ResourceServer,  # first: an unauthenticated caller learns nothing, not even
    form: TokenParameterForm,  # what is wrong with its form
    introspection: Introspector,
) -> IntrospectionResponse:
    description = await introspection.describe(form.token, client_id=form.client_id)
    return IntrospectionResponse.model_validate(description)
