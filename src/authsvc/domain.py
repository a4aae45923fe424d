"""The values services take and return: plain dataclasses, no HTTP and no Pydantic."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from authsvc.models import User


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request came from, as recorded on a session and in the audit log."""

    client_id: str | None = None
    user_agent: str | None = None
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class Account:
    """A user as the per-request check reads it (the columns of `models.User`)."""

    id: uuid.UUID
    email: str
    full_name: str | None
    scopes: str  # space-separated
    is_active: bool
    created_at: datetime
    hashed_password: str
    legacy_id: int | None = None  # the old Flask routes' integer UserId, once given

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a live access token speaks for: the user, its session, the scopes it carries."""

    user: Account
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


# --- administration ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performs an administrative action: an admin's user id (the API), or an
    operator at the command line (`user_id` None), for the audit log."""

    user_id: uuid.UUID | None
    via: Literal["api", "cli"]


CLI_OPERATOR: Final = Actor(user_id=None, via="cli")


@dataclass(frozen=True, slots=True)
class UserView:
    """An account as an admin sees it."""

    user: User
    live_sessions: int


@dataclass(frozen=True, slots=True)
class UserFilter:
    email_prefix: str | None = None  # compared case-insensitively, as email keys are
    is_active: bool | None = None
    scope: str | None = None


@dataclass(frozen=True, slots=True)
class PageKey:
    """Where a page of users ends, in their listing order (created_at, then id)."""

    created_at: datetime
    id: uuid.UUID


@dataclass(frozen=True, slots=True)
class UserPage:
    items: list[UserView]
    next: PageKey | None  # None: this was the last page


@dataclass(frozen=True, slots=True)
class UserChanges:
    """What a PATCH changes; a field left UNCHANGED stays as it is."""

    is_active: bool | Unchanged = Unchanged.UNCHANGED
    scopes: frozenset[str] | Unchanged = Unchanged.UNCHANGED
    full_name: str | Unchanged | None = Unchanged.UNCHANGED
