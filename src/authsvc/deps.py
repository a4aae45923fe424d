"""FastAPI dependencies, as `Annotated` aliases a route signature can state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.client_ip import client_ip
from authsvc.errors import InvalidRequest
from authsvc.models import User
from authsvc.runtime import Runtime
from authsvc.schemas import PasswordChange, TokenParameter, TokenRequest
from authsvc.security import scopes as scope_rules
from authsvc.security.password_policy import PasswordRejected, check_new_password
from authsvc.security.tokens import InvalidTokenError
from authsvc.service import CLIENT_ID_RULE, AuthService, ClientInfo, Principal, valid_client_id

FormModel = TypeVar("FormModel", bound=BaseModel)

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


async def get_principal(
    request: Request,
    security_scopes: SecurityScopes,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    auth: AuthServiceDep,
) -> Principal:
    """The one resolver every protected route shares: token, live session, active user, scopes."""
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Not authenticated: send 'Authorization: Bearer <access token>'",
            headers=_bearer_challenge(),
        )
    try:
        principal = await auth.authenticate(token)
    except InvalidTokenError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=f"{exc}; log in again or refresh the token",
            headers=_bearer_challenge(error="invalid_token", error_description=str(exc)),
        ) from exc
    missing = set(security_scopes.scopes) - principal.scopes
    if missing:
        needed = security_scopes.scope_str
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"This token lacks the scope(s): {' '.join(sorted(missing))}",
            headers=_bearer_challenge(error="insufficient_scope", scope=needed),
        )
    request.state.user_id = str(principal.user.id)  # for the access log
    return principal


# The caller and its session, for routes that act on the session (logout, password change).
CurrentPrincipal = Annotated[Principal, Security(get_principal, scopes=[scope_rules.USER])]


def get_current_user(principal: Annotated[Principal, Security(get_principal)]) -> User:
    return principal.user


CurrentUser = Annotated[User, Security(get_current_user, scopes=[scope_rules.USER])]

# A resource server asking about other tokens (RFC 7662).
IntrospectionCaller = Annotated[Principal, Security(get_principal, scopes=[scope_rules.INTROSPECT])]


def oauth_form(model: type[FormModel]) -> Callable[[Request], Awaitable[FormModel]]:
    """A dependency parsing an OAuth endpoint's form into `model`, the RFC 6749 §3.2 way:
    form-encoded, no parameter twice, an empty value counts as absent.

    Parsed by hand rather than with `Form()` so that every malformed request gets the
    RFC's 400 `invalid_request`, never FastAPI's 422.
    """
    fields = frozenset(model.model_fields)

    async def parse(request: Request) -> FormModel:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise InvalidRequest("Send the parameters as application/x-www-form-urlencoded")
        try:
            form = await request.form()
        except Exception as exc:  # any parser failure is the client's malformed body
            raise InvalidRequest("The request body is not a valid form") from exc
        values: dict[str, str] = {}
        for key, value in form.multi_items():
            if key not in fields:
                continue
            if key in values:
                raise InvalidRequest(f"Parameter {key!r} must not be given more than once")
            if not isinstance(value, str):
                raise InvalidRequest(f"Parameter {key!r} must be text, not a file")
            values[key] = value
        try:
            return model(**{key: value for key, value in values.items() if value})
        except ValidationError as exc:  # only a required parameter can be wrong here
            missing = ", ".join(str(error["loc"][0]) for error in exc.errors())
            raise InvalidRequest(f"Missing parameter: {missing}") from None

    return parse


TokenForm = Annotated[TokenRequest, Depends(oauth_form(TokenRequest))]


async def token_parameter(
    form: Annotated[TokenParameter, Depends(oauth_form(TokenParameter))],
) -> TokenParameter:
    if form.client_id is not None and not valid_client_id(form.client_id):
        raise InvalidRequest(CLIENT_ID_RULE)
    return form


# The form of /auth/revoke and /auth/introspect.
TokenParameterForm = Annotated[TokenParameter, Depends(token_parameter)]


def get_client_ip(request: Request, runtime: RuntimeDep) -> str | None:
    """The peer's address, or the client's as reported by a trusted proxy."""
    return client_ip(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        runtime.settings.trusted_proxies,
    )


ClientIP = Annotated[str | None, Depends(get_client_ip)]


def caller_info(request: Request, ip: ClientIP) -> ClientInfo:
    return ClientInfo(user_agent=request.headers.get("user-agent"), ip=ip)


# Who is calling: user agent and address, for rate limits and the audit log.
Caller = Annotated[ClientInfo, Depends(caller_info)]


def client_info(form: TokenForm, caller: Caller) -> ClientInfo:
    return replace(caller, client_id=form.client_id)


# Who is calling the token endpoint, with the client_id of its form.
Client = Annotated[ClientInfo, Depends(client_info)]


def valid_password_change(body: PasswordChange, user: CurrentUser) -> PasswordChange:
    """The new password against the policy, which needs the account's email: a 422 in the
    same shape as any other invalid body."""
    try:
        check_new_password(body.new_password, email=user.email)
    except PasswordRejected as exc:
        raise RequestValidationError(
            [{"type": "password_policy", "loc": ("body", "new_password"), "msg": str(exc)}]
        ) from None
    return body


PasswordChangeBody = Annotated[PasswordChange, Depends(valid_password_change)]
