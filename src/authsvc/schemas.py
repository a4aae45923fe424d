"""Request and response bodies."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

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


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(examples=["alice@example.com"])
    password: Password
    full_name: Annotated[str, Field(max_length=200, examples=["Alice Liddell"])] | None = None

    @field_validator("password")
    @classmethod
    def _password_policy(cls, password: str, info: ValidationInfo) -> str:
        # `email` is declared first, so it is validated (or absent, if invalid) by now.
        try:
            return check_new_password(password, email=info.data.get("email"))
        except PasswordRejected as exc:  # the reason alone, without "Value error, "
            raise PydanticCustomError("password_policy", str(exc)) from None

    @field_validator("full_name")
    @classmethod
    def _printable(cls, full_name: str | None) -> str | None:
        if full_name is not None and any(unicodedata.category(c) == "Cc" for c in full_name):
            raise ValueError("must not contain control characters (tabs, newlines, NUL...)")
        return full_name


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


class TokenRequest(BaseModel):
    """The token endpoint's form fields (RFC 6749 §4.3 and §6)."""

    grant_type: str | None = Field(
        default=None,
        description="`password` (the default when omitted) or `refresh_token`.",
        examples=["password"],
    )
    username: str | None = Field(default=None, description="The account's email (password grant).")
    password: str | None = Field(default=None, description="password grant")
    scope: str | None = Field(
        default=None, description="Space-separated scopes; omitted means all that are granted."
    )
    refresh_token: str | None = Field(default=None, description="refresh_token grant")
    client_id: str | None = Field(
        default=None,
        description="Optional public client id: up to 200 printable ASCII characters.",
        # Documented only: the service answers a bad one with RFC 6749's invalid_request.
        json_schema_extra={"maxLength": 200},
    )


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Access token lifetime in seconds.")
    refresh_token: str
    scope: str


class OAuth2ErrorBody(BaseModel):
    """RFC 6749 §5.2."""

    error: Literal[
        "invalid_request",
        "invalid_grant",
        "unsupported_grant_type",
        "invalid_scope",
        "slow_down",
        "temporarily_unavailable",
    ]
    error_description: str


class ErrorBody(BaseModel):
    detail: str


class ServiceInfo(BaseModel):
    message: str
    docs: str | None = Field(description="Where the API docs are; null when they are off.")


class HealthStatus(BaseModel):
    status: Literal["ok", "unavailable"]
    detail: str | None = None
