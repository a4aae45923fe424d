"""The Flask tutorial app's routes, for its old clients while they move (deprecated).

Included only with AUTHSVC_LEGACY_ROUTES=true. Each route calls the same service as its
new counterpart (accounts, sessions, throttling and audit are shared) and translates the
answer at this edge into the old app's contract: form fields, `{"message": ...}` bodies,
its status codes where they were meant, never its 500s. Every response says it is
deprecated (RFC 9745) and links to the route that replaces it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from authsvc.api.deps import Accounts, Grants, RequestOrigin, RuntimeDep
from authsvc.api.forms import form_body
from authsvc.errors import (
    EmailTaken,
    InsufficientScope,
    InvalidGrant,
    InvalidToken,
    NotAuthenticated,
    ServiceError,
)
from authsvc.schemas import UserCreate
from authsvc.security import scopes as scope_rules

# When these routes were deprecated: RFC 9745's Deprecation is a date, "@" + Unix time.
DEPRECATED_AT = datetime(2026, 12, 1, tzinfo=UTC)
DEPRECATION = f"@{int(DEPRECATED_AT.timestamp())}"

BAD_CREDENTIALS = "Could not verify credentials!"  # the old wrong-password message, for both
TOKEN_REQUIRED = "Access token required!"
BAD_TOKEN = "Unable to verify token!"
FIELDS = {"email", "password", "fullname", "username"}


class LegacyMessage(BaseModel):
    message: str = Field(examples=["user alice@example.com was created successfully"])


class LegacyToken(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = Field(default="bearer", examples=["bearer"])
    expires_in: int = Field(description="Access token lifetime in seconds.")


class LegacyUser(BaseModel):
    UserId: int = Field(description="An imported user's old UserId, or a new unique number.")
    FullName: str | None
    Email: str


def _documented(*errors: tuple[int, str, str]) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"model": LegacyMessage, "description": what, "content": _example(message)}
        for code, what, message in errors
    }


def _example(message: str) -> dict[str, Any]:
    return {"application/json": {"example": {"message": message}}}


HEADERS_DOC = {
    "Deprecation": {
        "description": "RFC 9745: deprecated since (@ Unix time)",
        "schema": {"type": "string", "example": DEPRECATION},
    },
    "Link": {
        "description": "The route replacing this one",
        "schema": {"type": "string", "example": '</auth/token>; rel="successor-version"'},
    },
}
BUSY = (
    (429, "Too many failed tries or registrations; see Retry-After", "Retry in a while"),
    (503, "Too many password checks queued, or the database is down", "Retry shortly"),
)

router = APIRouter(prefix="/user/login", tags=["old Flask app (deprecated)"], deprecated=True)


def _headers(successor: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "Deprecation": DEPRECATION,
        "Link": f'<{successor}>; rel="successor-version"',
        **(extra or {}),
    }


def _answer(successor: str, code: int, body: BaseModel | dict[str, Any]) -> JSONResponse:
    content = body.model_dump() if isinstance(body, BaseModel) else body
    return JSONResponse(content, status_code=code, headers=_headers(successor))


def _error(
    successor: str, exc: ServiceError, message: str | None = None, code: int | None = None
) -> JSONResponse:
    """A service's error in the old shape: its status (401 for any bearer problem) unless
    the old one is given, its message unless the old one is given, and its Retry-After."""
    if code is None:
        code = (
            status.HTTP_401_UNAUTHORIZED if isinstance(exc, InsufficientScope) else exc.spec.status
        )
    extra: dict[str, str] = {}
    retry_after = exc.retry_after if exc.retry_after is not None else exc.spec.retry_after
    if retry_after is not None:
        extra["Retry-After"] = str(retry_after)
    if code == status.HTTP_401_UNAUTHORIZED:  # RFC 9110 §15.5.2: a 401 names its scheme
        extra["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        {"message": message or exc.message}, status_code=code, headers=_headers(successor, extra)
    )


async def _form(request: Request) -> dict[str, str]:
    """The old app's `request.form`: form-encoded or multipart, the first of a repeated
    field, blanks as absent. Anything else (JSON, a broken body) reads as no fields."""
    try:
        form = await request.form()
    except Exception:  # a malformed body is the client's: it simply has no fields
        return {}
    values: dict[str, str] = {}
    for key, value in form.multi_items():
        if key in FIELDS and isinstance(value, str) and value and key not in values:
            values[key] = value
    return values


def _form_schema(required: list[str], **fields: str) -> dict[str, Any]:
    properties = {name: {"type": "string", "description": text} for name, text in fields.items()}
    return form_body({"type": "object", "properties": properties, "required": required})


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=LegacyMessage,
    summary="Create an account (old route: use POST /auth/register)",
    description="Same accounts and rules as `POST /auth/register`. A taken email is a 400.",
    openapi_extra=_form_schema(
        ["email", "password"], email="", password="The same rules as /auth/register", fullname=""
    ),
    responses={
        201: {"headers": HEADERS_DOC},
        **_documented(
            (
                400,
                "A missing field, an invalid email or password, a taken email",
                "user with email alice@example.com already exists",
            ),
            *BUSY,
        ),
    },
)
async def register(request: Request, origin: RequestOrigin, accounts: Accounts) -> JSONResponse:
    successor = "/auth/register"
    form = await _form(request)
    for required in ("email", "password"):
        if required not in form:
            return _answer(successor, 400, {"message": f"{required} cannot be blank!"})
    try:
        body = UserCreate(
            email=form["email"], password=form["password"], full_name=form.get("fullname")
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]).replace("full_name", "fullname")
        return _answer(successor, 400, {"message": f"{field}: {error['msg']}"})
    try:
        user = await accounts.register(
            email=body.email,
            password=body.password,
            full_name=body.full_name,
            origin=origin,
            legacy_id=True,
        )
    except EmailTaken as exc:
        message = f"user with email {body.email} already exists"
        return _error(successor, exc, message, status.HTTP_400_BAD_REQUEST)
    except ServiceError as exc:
        return _error(successor, exc)
    created = LegacyMessage(message=f"user {user.email} was created successfully")
    return _answer(successor, 201, created)


@router.post(
    "/token",
    response_model=LegacyToken,
    summary="Log in (old route: use POST /auth/token)",
    description="The password grant of `POST /auth/token`, without `grant_type`; the "
    "tokens carry the `user` scope. An unknown email and a wrong password get the same "
    "401.",
    openapi_extra=_form_schema(
        ["username", "password"], username="The account's email", password=""
    ),
    responses={
        200: {"headers": HEADERS_DOC},
        **_documented(
            (400, "A missing field", "Username or Password can not be blank!"),
            (401, "Wrong email or password", BAD_CREDENTIALS),
            *BUSY,
        ),
    },
)
async def token(request: Request, origin: RequestOrigin, grants: Grants) -> JSONResponse:
    successor = "/auth/token"
    form = await _form(request)
    if "username" not in form or "password" not in form:
        return _answer(successor, 400, {"message": "Username or Password can not be blank!"})
    parameters = {
        "grant_type": "password",
        "username": form["username"],
        "password": form["password"],
        "scope": scope_rules.USER,  # what the old app's tokens carried, and no more
    }
    try:
        pair = await grants.exchange(parameters, origin)
    except InvalidGrant as exc:
        return _error(successor, exc, BAD_CREDENTIALS, status.HTTP_401_UNAUTHORIZED)
    except ServiceError as exc:
        return _error(successor, exc)
    tokens = LegacyToken(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
    )
    return _answer(successor, 200, tokens)


@router.get(
    "/users/me/",
    response_model=LegacyUser,
    summary="The account behind the access token (old route: use GET /users/me)",
    description="`Authorization: bearer TOKEN` (any letter case). Any access token of "
    "authsvc works, from either token route.",
    responses={
        200: {"headers": HEADERS_DOC},
        **_documented(
            (401, "No token, or one that is invalid, expired or revoked", BAD_TOKEN),
            BUSY[1],
        ),
    },
)
async def read_me(request: Request, runtime: RuntimeDep, accounts: Accounts) -> JSONResponse:
    successor = "/users/me"
    token = _bearer_token(request.headers.get("authorization"))
    try:
        principal = await runtime.bearer.authenticate(token, required=frozenset({scope_rules.USER}))
        request.state.user_id = str(principal.user.id)  # for the access log
        user_id = await accounts.legacy_id(principal.user)
    except NotAuthenticated as exc:
        return _error(successor, exc, TOKEN_REQUIRED)
    except (InvalidToken, InsufficientScope) as exc:
        return _error(successor, exc, BAD_TOKEN)
    except ServiceError as exc:  # the database is down: 503
        return _error(successor, exc)
    user = principal.user
    return _answer(
        successor, 200, LegacyUser(UserId=user_id, FullName=user.full_name, Email=user.email)
    )


def _bearer_token(header: str | None) -> str | None:
    """`bearer TOKEN` in any letter case; a bare token too, which the old app took. None
    when there is none (no header, `bearer` alone, another scheme)."""
    parts = (header or "").split()
    if len(parts) == 1 and parts[0].lower() != "bearer":
        return parts[0]
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1]
    return None
