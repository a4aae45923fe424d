"""The OAuth endpoints about tokens already issued: revocation (RFC 7009) and
introspection (RFC 7662). Their errors are in RFC 6749's shape (`OAuthRoute`)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from authsvc.api.deps import BEARER_ERRORS, Introspector, ResourceServer, Revoker
from authsvc.api.errors import OAuthRoute, responses
from authsvc.api.forms import TokenParameterForm, form_body
from authsvc.errors import (
    BodyTooLarge,
    InvalidRequest,
    TemporarilyUnavailable,
    UnauthorizedClient,
)
from authsvc.schemas import IntrospectionResponse, TokenParameter

router = APIRouter(prefix="/auth", tags=["auth"], route_class=OAuthRoute)

TOKEN_PARAMETER_ERRORS = (
    InvalidRequest("Missing parameter: token"),
    UnauthorizedClient,
    BodyTooLarge,
    TemporarilyUnavailable("The database is unavailable; retry shortly", retry_after=5),
)


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
    responses=responses(*TOKEN_PARAMETER_ERRORS, *BEARER_ERRORS),
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
