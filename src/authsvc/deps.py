"""FastAPI dependencies, as `Annotated` aliases a route signature can state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.client_ip import client_ip
from authsvc.errors import InvalidRequest
from authsvc.models import User
from authsvc.runtime import Runtime
from authsvc.schemas import TokenRequest
from authsvc.security import scopes as scope_rules
from authsvc.security.tokens import InvalidTokenError
from authsvc.service import AuthService, ClientInfo

# Declared scopes make Swagger UI's Authorize dialog offer them. auto_error=False:
# we answer a missing token ourselves, with RFC 6750's header, instead of a bare 401.
oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="auth/token", scopes=scope_rules.SCOPES, auto_error=False
)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_db(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with runtime.sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_db)]


def get_auth_service(db: SessionDep, runtime: RuntimeDep) -> AuthService:
    return AuthService(
        db,
        settings=runtime.settings,
        hasher=runtime.hasher,
        codec=runtime.codec,
        metrics=runtime.metrics,
        throttle=runtime.throttle,
    )


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


def _bearer_challenge(**params: str) -> dict[str, str]:
    if not params:
        return {"WWW-Authenticate": "Bearer"}
    rendered = ", ".join(f'{key}="{value}"' for key, value in params.items())
    return {"WWW-Authenticate": f"Bearer {rendered}"}


async def get_current_user(
    request: Request,
    security_scopes: SecurityScopes,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    auth: AuthServiceDep,
) -> User:
    """The one resolver every protected route shares: token, live session, active user, scopes."""
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Not authenticated: send 'Authorization: Bearer <access token>'",
            headers=_bearer_challenge(),
        )
    try:
        user, granted = await auth.authenticate(token)
    except InvalidTokenError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=f"{exc}; log in again or refresh the token",
            headers=_bearer_challenge(error="invalid_token", error_description=str(exc)),
        ) from exc
    missing = set(security_scopes.scopes) - granted
    if missing:
        needed = security_scopes.scope_str
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"This token lacks the scope(s): {' '.join(sorted(missing))}",
            headers=_bearer_challenge(error="insufficient_scope", scope=needed),
        )
    request.state.user_id = str(user.id)  # for the access log
    return user


CurrentUser = Annotated[User, Security(get_current_user, scopes=[scope_rules.USER])]


_TOKEN_FIELDS = frozenset(TokenRequest.model_fields)


async def token_request_form(request: Request) -> TokenRequest:
    """RFC 6749 §3.2: form-encoded, no parameter twice, an empty value counts as absent.

    Parsed by hand rather than with `Form()` so that every malformed request gets the
    RFC's 400 `invalid_request`, never FastAPI's 422.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidRequest("Send the parameters as application/x-www-form-urlencoded")
    try:
        form = await request.form()
    except Exception as exc:  # any parser failure is the client's malformed body
        raise InvalidRequest("The request body is not a valid form") from exc
    values: dict[str, str] = {}
    for key, value in form.multi_items():
        if key not in _TOKEN_FIELDS:
            continue
        if key in values:
            raise InvalidRequest(f"Parameter {key!r} must not be given more than once")
        if not isinstance(value, str):
            raise InvalidRequest(f"Parameter {key!r} must be text, not a file")
        values[key] = value
    return TokenRequest(**{key: value for key, value in values.items() if value})


TokenForm = Annotated[TokenRequest, Depends(token_request_form)]


def get_client_ip(request: Request, runtime: RuntimeDep) -> str | None:
    """The peer's address, or the client's as reported by a trusted proxy."""
    return client_ip(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        runtime.settings.trusted_proxies,
    )


ClientIP = Annotated[str | None, Depends(get_client_ip)]


def client_info(request: Request, form: TokenForm, ip: ClientIP) -> ClientInfo:
    return ClientInfo(client_id=form.client_id, user_agent=request.headers.get("user-agent"), ip=ip)


def registration_client(request: Request, ip: ClientIP) -> ClientInfo:
    return ClientInfo(user_agent=request.headers.get("user-agent"), ip=ip)


RegistrationClient = Annotated[ClientInfo, Depends(registration_client)]


Client = Annotated[ClientInfo, Depends(client_info)]
