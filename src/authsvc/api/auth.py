from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from authsvc.api.responses import (
    BEARER_ERRORS,
    BODY_TOO_LARGE,
    DATABASE_UNAVAILABLE,
    EMAIL_TAKEN,
    REGISTER_THROTTLED,
    TOKEN_ERRORS,
    TOKEN_PARAMETER_ERRORS,
    TOKEN_THROTTLED,
)
from authsvc.deps import (
    AuthServiceDep,
    Caller,
    Client,
    CurrentPrincipal,
    IntrospectionCaller,
    TokenForm,
    TokenParameterForm,
)
from authsvc.models import User
from authsvc.schemas import (
    IntrospectionResponse,
    TokenParameter,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserOut,
)

router = APIRouter(prefix="/auth", tags=["auth"])


def _form_body(model: type[TokenRequest | TokenParameter]) -> dict[str, Any]:
    """Document a form parsed by `deps.oauth_form` (FastAPI cannot see it)."""
    content = {"application/x-www-form-urlencoded": {"schema": model.model_json_schema()}}
    return {"requestBody": {"required": True, "content": content}}


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses={**EMAIL_TAKEN, **BODY_TOO_LARGE, **REGISTER_THROTTLED},
    summary="Create an account",
    description="The password must be 8 to 1024 characters (any Unicode), not one of the "
    "100,000 most common passwords, and must not contain the name part of the email; "
    "a 422 says which rule it breaks. Registrations are limited per client address (429).",
)
async def register(body: UserCreate, client: Caller, auth: AuthServiceDep) -> User:
    return await auth.register(
        email=body.email, password=body.password, full_name=body.full_name, client=client
    )


@router.post(
    "/token",
    responses={**TOKEN_ERRORS, **BODY_TOO_LARGE, **TOKEN_THROTTLED},
    summary="OAuth2 token endpoint: password and refresh_token grants",
    description="RFC 6749 §4.3 and §6. Errors are JSON with `error` and `error_description`: "
    "400 for a bad request or credentials, 429 `slow_down` after too many failed logins, "
    "503 `temporarily_unavailable` when too many password checks are queued; both of "
    "these carry `Retry-After`.",
    openapi_extra=_form_body(TokenRequest),
)
async def token(form: TokenForm, client: Client, auth: AuthServiceDep) -> TokenResponse:
    pair = await auth.exchange(form, client)
    return TokenResponse(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        scope=pair.scope,
    )


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**BEARER_ERRORS, **DATABASE_UNAVAILABLE},
    summary="End this session, or every session of the account",
    description="Ends the session of the access token (its refresh token and access tokens "
    "stop working at once); with `all=true`, every session of the account.",
)
async def logout(
    principal: CurrentPrincipal,
    auth: AuthServiceDep,
    everywhere: Annotated[
        bool, Query(alias="all", description="End every session of the account.")
    ] = False,
) -> None:
    await auth.logout(principal, everywhere=everywhere)


@router.post(
    "/revoke",
    response_class=Response,
    responses={
        200: {"description": "Revoked, or nothing to revoke (RFC 7009 §2.2)", "content": {}},
        **TOKEN_PARAMETER_ERRORS,
        **BODY_TOO_LARGE,
        **DATABASE_UNAVAILABLE,
    },
    summary="Revoke a token (RFC 7009)",
    description="A refresh or access token ends its whole session. Unknown, expired, "
    "already revoked and malformed tokens get the same empty 200: a client may always "
    "discard its tokens after calling this.",
    openapi_extra=_form_body(TokenParameter),
)
async def revoke(form: TokenParameterForm, auth: AuthServiceDep) -> Response:
    await auth.revoke_token(form.token, client_id=form.client_id)
    return Response(status_code=status.HTTP_200_OK)


@router.post(
    "/introspect",
    response_model=IntrospectionResponse,
    response_model_exclude_none=True,
    responses={
        **TOKEN_PARAMETER_ERRORS,
        **BEARER_ERRORS,
        **BODY_TOO_LARGE,
        **DATABASE_UNAVAILABLE,
    },
    summary="Is this token live? (RFC 7662)",
    description="For resource servers that must know at once that a token was revoked. "
    "The caller needs a bearer token with the `introspect` scope. A live access or refresh "
    'token is described; anything else gets `{"active": false}`.',
    openapi_extra=_form_body(TokenParameter),
)
async def introspect(
    _caller: IntrospectionCaller,  # first: an unauthenticated caller learns nothing, not even
    form: TokenParameterForm,  # what is wrong with its form
    auth: AuthServiceDep,
) -> IntrospectionResponse:
    return await auth.introspect(form.token)
