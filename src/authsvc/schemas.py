"""Request and response bodies."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from authsvc.domain import UserView
from authsvc.errors import ERRORS
from authsvc.models import Session
from authsvc.security import scopes as scope_rules
from authsvc.security.password_policy import PasswordRejected, check_new_password

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

Password = Annotated[
    str,
    Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        description="8 to 1024 characters, any Unicode. All of it counts. Not one of the "
        "100,000 most common passwords, and not containing the name part of the email.",
        examples=["correct horse battery staple"],
    ),
]


def _printable(text: str) -> str:
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise ValueError("must not contain control characters (tabs, newlines, NUL...)")
    return text


FullName = Annotated[
    str, Field(max_length=200, examples=["Alice Liddell"]), AfterValidator(_printable)
]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(examples=["alice@example.com"])
    password: Password
    full_name: FullName | None = None

    @field_validator("password")
    @classmethod
    def _password_policy(cls, password: str, info: ValidationInfo) -> str:
        # `email` is declared first, so it is validated (or absent, if invalid) by now.
        try:
            return check_new_password(password, email=info.data.get("email"))
        except PasswordRejected as exc:  # the reason alone, without "Value error, "
            raise PydanticCustomError("password_policy", str(exc)) from None


class UserUpdate(BaseModel):
    """PATCH /users/me: only the fields sent change; `null` clears the name."""

    model_config = ConfigDict(extra="forbid")

    full_name: FullName | None = None


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
    new_password: Password  # the policy needs the account's email: see deps.valid_password_change


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str | None
    scopes: list[str]
    is_active: bool
    created_at: datetime

    @field_validator("scopes", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return sorted(value.split()) if isinstance(value, str) else value


class AccountDeletion(BaseModel):
    """DELETE /users/me: the current password, checked as at login."""

    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


# --- administration -------------------------------------------------------------------


def _known_scope(scope: str) -> str:
    if scope not in scope_rules.SCOPES:
        known = ", ".join(sorted(scope_rules.SCOPES))
        raise PydanticCustomError("unknown_scope", f"Unknown scope; the known scopes are: {known}")
    return scope


def _not_nullable(schema: dict[str, Any]) -> None:
    """Document an optional field that must not be null: no `null` option, no default."""
    schema.pop("default", None)
    options = [option for option in schema.pop("anyOf", []) if option.get("type") != "null"]
    if len(options) == 1:
        schema.update(options[0])


ScopeName = Annotated[
    str, Field(json_schema_extra={"enum": sorted(scope_rules.SCOPES)}), AfterValidator(_known_scope)
]
SCOPES_DESCRIPTION = "Every account also holds `user`, whether listed or not."


class AdminUserCreate(UserCreate):
    """POST /admin/users: the registration rules, and the scopes to grant."""

    scopes: list[ScopeName] = Field(default_factory=list, description=SCOPES_DESCRIPTION)


class AdminUserUpdate(BaseModel):
    """PATCH /admin/users/{id}: only the fields sent change; `null` clears the name."""

    model_config = ConfigDict(extra="forbid")

    is_active: bool | None = Field(
        default=None,
        description="false disables the account and ends all its sessions at once.",
        json_schema_extra=_not_nullable,
    )
    scopes: list[ScopeName] | None = Field(
        default=None,
        description="The scopes the account holds from now on; a scope removed is gone "
        f"from its access tokens at once. {SCOPES_DESCRIPTION}",
        json_schema_extra=_not_nullable,
    )
    full_name: FullName | None = None

    @field_validator("is_active", "scopes", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:  # a default is not validated: only a null sent gets here
            raise PydanticCustomError("not_null", "May be left out, but not null")
        return value


class AdminUserOut(UserOut):
    """An account as an admin sees it."""

    last_login_at: datetime | None = Field(description="The last password login.")
    live_sessions: int = Field(description="How many sessions are live now.")

    @classmethod
    def of(cls, view: UserView) -> AdminUserOut:
        public = UserOut.model_validate(view.user).model_dump()
        return cls(
            **public, last_login_at=view.user.last_login_at, live_sessions=view.live_sessions
        )


class AdminUserPage(BaseModel):
    items: list[AdminUserOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class TokenParameter(BaseModel):
    """The form of the revocation (RFC 7009 §2.1) and introspection (RFC 7662 §2.1) endpoints."""

    token: str = Field(description="The access or refresh token.")
    token_type_hint: str | None = Field(
        default=None,
        description="`access_token` or `refresh_token`: which to look for first. Optional; "
        "any other value is ignored.",
    )
    client_id: str | None = Field(
        default=None,
        description="Optional: the client the token was issued to. A token of another "
        "client is refused (RFC 7009 §2.1).",
        json_schema_extra={"maxLength": 200},
    )


class SessionOut(BaseModel):
    """A live login session, for "where you are signed in"."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: str
    user_agent: str | None = Field(description="As sent at login.")
    client_ip: str | None = Field(description="As seen at login.")
    created_at: datetime = Field(description="When the user logged in.")
    last_used_at: datetime = Field(description="The last login or token refresh.")
    expires_at: datetime = Field(description="Ends unless refreshed by then.")
    current: bool = Field(description="Whether this is the session of the calling token.")

    @classmethod
    def of(cls, session: Session, *, current_session_id: uuid.UUID) -> SessionOut:
        fields = {name: getattr(session, name) for name in cls.model_fields if name != "current"}
        return cls(**fields, current=session.id == current_session_id)


class IntrospectionResponse(BaseModel):
    """RFC 7662 §2.2. An inactive token gets `{"active": false}` and nothing else."""

    model_config = ConfigDict(from_attributes=True)

    active: bool = True
    sub: str | None = None
    username: str | None = Field(default=None, description="The account's email.")
    scope: str | None = None
    client_id: str | None = None
    token_type: Literal["bearer", "refresh_token"] | None = Field(
        default=None,
        description="`bearer` for an access token, `refresh_token` for a refresh token.",
    )
    exp: int | None = None
    iat: int | None = None
    iss: str | None = None
    aud: str | None = None
    sid: str | None = Field(default=None, description="The session the token belongs to.")
    jti: str | None = None


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Access token lifetime in seconds.")
    refresh_token: str
    scope: str


class OAuth2ErrorBody(BaseModel):
    """RFC 6749 §5.2."""

    error: str = Field(
        description="The registered error code",
        json_schema_extra={"enum": [e.spec.code for e in ERRORS if e.spec.shape == "oauth"]},
    )
    error_description: str


class ErrorBody(BaseModel):
    detail: str = Field(description="What went wrong and what to do; wording may change.")
    code: str = Field(description="Stable, for programs to match on (see each example)")


class ValidationErrorItem(BaseModel):
    type: str
    loc: list[str | int]
    msg: str


class ValidationErrorBody(BaseModel):
    """A 422: every part of the request that is invalid, with where (`loc`) and why."""

    detail: list[ValidationErrorItem]
    code: Literal["invalid_body"] = "invalid_body"


class ServiceInfo(BaseModel):
    message: str
    docs: str | None = Field(description="Where the API docs are; null when they are off.")


class HealthStatus(BaseModel):
    status: Literal["ok", "unavailable"]
    detail: str | None = None
