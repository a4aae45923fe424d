"""Every error the service answers with, in one table: a stable code, a status, a message.

Services raise these; `api/errors.py` renders them and documents them in each route's
OpenAPI `responses` from the same entries (a route may give a more specific message
for its example; code and status always come from here). Two shapes:

- API errors: `{"detail": "...", "code": "..."}`; `code` is stable, `detail` says what
  to fix and may change wording.
- OAuth errors (the token, revocation and introspection endpoints): RFC 6749 §5.2's
  `{"error": "...", "error_description": "..."}`, where `error` is the registered code.

Adding an error means adding a class to `api.py` or `oauth.py` here and listing it in
`ERRORS`.
"""

from __future__ import annotations

from authsvc.errors.api import (
    BadRequest,
    BearerError,
    BodyTooLarge,
    DatabaseUnavailable,
    EmailTaken,
    InsufficientScope,
    InternalError,
    InvalidBody,
    InvalidToken,
    LastAdmin,
    MethodNotAllowed,
    NotAuthenticated,
    NotFound,
    Overloaded,
    PasswordChangedMeanwhile,
    SessionNotFound,
    Throttled,
    UnknownScope,
    UserNotFound,
    WrongPassword,
)
from authsvc.errors.base import ErrorSpec, ServiceError, Shape, rfc6749_text
from authsvc.errors.oauth import (
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    OAuth2Error,
    SlowDown,
    TemporarilyUnavailable,
    UnauthorizedClient,
    UnsupportedGrantType,
)

ERRORS: tuple[type[ServiceError], ...] = (
    EmailTaken,
    WrongPassword,
    PasswordChangedMeanwhile,
    SessionNotFound,
    UnknownScope,
    UserNotFound,
    LastAdmin,
    NotAuthenticated,
    InvalidToken,
    InsufficientScope,
    Throttled,
    Overloaded,
    DatabaseUnavailable,
    BodyTooLarge,
    InvalidBody,
    BadRequest,
    NotFound,
    MethodNotAllowed,
    InternalError,
    InvalidRequest,
    InvalidGrant,
    UnsupportedGrantType,
    InvalidScope,
    UnauthorizedClient,
    SlowDown,
    TemporarilyUnavailable,
)
"""The table: every error a response can carry."""

__all__ = [
    "ERRORS",
    "BadRequest",
    "BearerError",
    "BodyTooLarge",
    "DatabaseUnavailable",
    "EmailTaken",
    "ErrorSpec",
    "InsufficientScope",
    "InternalError",
    "InvalidBody",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidScope",
    "InvalidToken",
    "LastAdmin",
    "MethodNotAllowed",
    "NotAuthenticated",
    "NotFound",
    "OAuth2Error",
    "Overloaded",
    "PasswordChangedMeanwhile",
    "ServiceError",
    "SessionNotFound",
    "Shape",
    "SlowDown",
    "TemporarilyUnavailable",
    "Throttled",
    "UnauthorizedClient",
    "UnknownScope",
    "UnsupportedGrantType",
    "UserNotFound",
    "WrongPassword",
    "rfc6749_text",
]
