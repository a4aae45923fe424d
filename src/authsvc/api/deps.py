"""FastAPI dependencies, as `Annotated` aliases a route signature can state.

All async: a sync dependency costs a thread-pool round trip per request. Each service
is built once per app (`Runtime`) and handed out as it is.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordBearer, SecurityScopes

from authsvc.client_ip import client_ip
from authsvc.domain import Account, Origin, Principal
from authsvc.errors import InsufficientScope, InvalidToken, NotAuthenticated
from authsvc.oauth.bearer import BearerAuth
from authsvc.oauth.grants import GrantRegistry
from authsvc.oauth.introspection import Introspection
from authsvc.oauth.revocation import Revocation
from authsvc.runtime import Runtime
from authsvc.schemas import PasswordChange
from authsvc.security import scopes as scope_rules
from authsvc.security.password_policy import PasswordRejected, check_new_password
from authsvc.services.accounts import AccountService
from authsvc.services.admin import AdminService
from authsvc.services.sessions import SessionService

# Declared scopes make Swagger UI's Authorize dialog offer them. auto_error=False:
# a missing token is answered by BearerAuth, with RFC 6750's challenge.
oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="auth/token", scopes=scope_rules.SCOPES, auto_error=False
)


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_accounts(runtime: RuntimeDep) -> AccountService:
    return runtime.accounts


async def get_admin(runtime: RuntimeDep) -> AdminService:
    return runtime.admin


async def get_sessions(runtime: RuntimeDep) -> SessionService:
    return runtime.sessions


async def get_grants(runtime: RuntimeDep) -> GrantRegistry:
    return runtime.grants


async def get_revocation(runtime: RuntimeDep) -> Revocation:
    return runtime.revocation


async def get_introspection(runtime: RuntimeDep) -> Introspection:
    return runtime.introspection


Accounts = Annotated[AccountService, Depends(get_accounts)]
Admin = Annotated[AdminService, Depends(get_admin)]
Sessions = Annotated[SessionService, Depends(get_sessions)]
Grants = Annotated[GrantRegistry, Depends(get_grants)]
Revoker = Annotated[Revocation, Depends(get_revocation)]
Introspector = Annotated[Introspection, Depends(get_introspection)]


async def get_principal(
    request: Request,
    security_scopes: SecurityScopes,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """The one resolver every protected route shares; the route states the scopes. On
    every authenticated request: the runtime is read directly (no dependency node)."""
    bearer: BearerAuth = request.app.state.runtime.bearer
    principal = await bearer.authenticate(token, required=frozenset(security_scopes.scopes))
    request.state.user_id = str(principal.user.id)  # for the access log
    return principal


# The caller and its session, for routes that act on the session (logout, password change).
CurrentPrincipal = Annotated[Principal, Security(get_principal, scopes=[scope_rules.USER])]


async def get_current_user(principal: Annotated[Principal, Security(get_principal)]) -> Account:
    return principal.user


CurrentUser = Annotated[Account, Security(get_current_user, scopes=[scope_rules.USER])]

# What a route behind a bearer token can answer (for its `responses=`).
BEARER_ERRORS = (NotAuthenticated, InvalidToken, InsufficientScope)

# An admin, for the /admin routes: Swagger UI shows their lock with the `admin` scope.
AdminPrincipal = Annotated[Principal, Security(get_principal, scopes=[scope_rules.ADMIN])]

# A resource server asking about other tokens (RFC 7662).
ResourceServer = Annotated[Principal, Security(get_principal, scopes=[scope_rules.INTROSPECT])]


async def get_origin(request: Request, runtime: RuntimeDep) -> Origin:
    """Who is calling: user agent, and the peer's address or the client's as reported by a
    trusted proxy. The token endpoint adds the form's client_id."""
    ip = client_ip(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        runtime.settings.trusted_proxies,
    )
    return Origin(user_agent=request.headers.get("user-agent"), ip=ip)


RequestOrigin = Annotated[Origin, Depends(get_origin)]


async def valid_password_change(body: PasswordChange, user: CurrentUser) -> PasswordChange:
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
