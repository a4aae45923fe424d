"""The values services take and return: plain dataclasses, no HTTP and no Pydantic."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import Final, Literal

from authsvc.models import User


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request came from, as recorded on a session and in the audit log."""

    client_id: str | None = None
    user_agent: str | None = None
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a live access token speaks for: the user, its session, the scopes it carries."""

    user: User
    session_id: uuid.UUID
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class ImportedAccount:
    """A user of the old Flask app, as authsvc will keep it: the old UserId, the email
    (validated, normalised), the name, and the bcrypt hash as it was."""

    legacy_id: int
    email: str
    full_name: str | None
    hashed_password: str


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a grant issues (RFC 6749 §5.1)."""

    access_token: str
    refresh_token: str
    expires_in: int
    scope: str


@dataclass(frozen=True, slots=True)
class TokenDescription:
    """RFC 7662 §2.2: what a live token is. An inactive token has only `active=False`."""

    active: bool
    token_type: Literal["bearer", "refresh_token"] | None = None
    sub: str | None = None
    username: str | None = None
    scope: str | None = None
    client_id: str | None = None
    exp: int | None = None
    iat: int | None = None
    iss: str | None = None
    aud: str | None = None
    sid: str | None = None
    jti: str | None = None


INACTIVE: Final = TokenDescription(active=False)


class Unchanged(enum.Enum):
    """A field a partial update leaves as it is (distinct from None, which clears it)."""

    UNCHANGED = enum.auto()


UNCHANGED: Final = Unchanged.UNCHANGED
