from __future__ import annotations

from fastapi import APIRouter, status

from authsvc.api.responses import (
    BODY_TOO_LARGE,
    EMAIL_TAKEN,
    REGISTER_THROTTLED,
    TOKEN_ERRORS,
    TOKEN_THROTTLED,
)
from authsvc.deps import AuthServiceDep, Client, RegistrationClient, TokenForm
from authsvc.models import User
from authsvc.schemas import TokenRequest, TokenResponse, UserCreate, UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


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
async def register(body: UserCreate, client: RegistrationClient, auth: AuthServiceDep) -> User:
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
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": TokenRequest.model_json_schema()}
            },
        }
    },
)
async def token(form: TokenForm, client: Client, auth: AuthServiceDep) -> TokenResponse:
    pair = await auth.exchange(form, client)
    return TokenResponse(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        scope=pair.scope,
    )
