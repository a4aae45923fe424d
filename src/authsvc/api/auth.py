from __future__ import annotations

from fastapi import APIRouter, status

from authsvc.api.responses import EMAIL_TAKEN, TOKEN_ERRORS
from authsvc.deps import AuthServiceDep, Client, TokenForm
from authsvc.models import User
from authsvc.schemas import TokenRequest, TokenResponse, UserCreate, UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=EMAIL_TAKEN,
    summary="Create an account",
)
async def register(body: UserCreate, auth: AuthServiceDep) -> User:
    return await auth.register(email=body.email, password=body.password, full_name=body.full_name)


@router.post(
    "/token",
    responses=TOKEN_ERRORS,
    summary="OAuth2 token endpoint: password and refresh_token grants",
    description="RFC 6749 §4.3 and §6. Every error is a 400 with `error` and `error_description`.",
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
