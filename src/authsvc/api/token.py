"""The token endpoint (RFC 6749 §3.2): one route for every grant in the registry."""

from __future__ import annotations

from fastapi import APIRouter

from authsvc.api.deps import Grants, RequestOrigin
from authsvc.api.errors import OAuthRoute, responses
from authsvc.api.forms import TokenForm, form_body, token_form_schema
from authsvc.errors import (
    BodyTooLarge,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    SlowDown,
    TemporarilyUnavailable,
    UnsupportedGrantType,
)
from authsvc.oauth.grants import GrantRegistry
from authsvc.schemas import TokenResponse


def token_router(grants: GrantRegistry) -> APIRouter:
    """The router of the token endpoint, documented from the grants registered in it."""
    router = APIRouter(prefix="/auth", tags=["auth"], route_class=OAuthRoute)
    names = ", ".join(f"`{grant_type}`" for grant_type in grants.grant_types)
    errors = (
        InvalidGrant,
        InvalidRequest("Missing parameter: password"),
        InvalidScope,
        UnsupportedGrantType(f"Unsupported grant_type 'implicit'; use {grants.choices()}"),
        BodyTooLarge,
        SlowDown,
        TemporarilyUnavailable,
    )

    @router.post(
        "/token",
        responses=responses(*errors),
        summary=f"OAuth2 token endpoint: {names} grants",
        description="RFC 6749 §4.3 and §6. Errors are JSON with `error` and "
        "`error_description`: 400 for a bad request or credentials, 429 `slow_down` after "
        "too many failed logins, 503 `temporarily_unavailable` when too many password checks "
        "are queued or the database is unavailable; both of these carry `Retry-After`.",
        openapi_extra=form_body(token_form_schema(grants)),
    )
    async def token(form: TokenForm, origin: RequestOrigin, registry: Grants) -> TokenResponse:
        pair = await registry.exchange(form, origin)
        return TokenResponse(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            expires_in=pair.expires_in,
            scope=pair.scope,
        )

    return router
