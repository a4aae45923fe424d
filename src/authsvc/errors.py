"""Domain errors, rendered as responses by `app.py` (OAuth2 errors carry the status RFC 6749
and its extensions give them)."""

from __future__ import annotations


class OAuth2Error(Exception):
    """An RFC 6749 §5.2 error: `error` is the registered code, the message says what to fix."""

    error = "invalid_request"
    status_code = 400
    retry_after: int | None = None  # seconds, sent as Retry-After when set

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidRequest(OAuth2Error):
    error = "invalid_request"


class InvalidGrant(OAuth2Error):
    error = "invalid_grant"


class UnsupportedGrantType(OAuth2Error):
    error = "unsupported_grant_type"


class InvalidScope(OAuth2Error):
    error = "invalid_scope"


class UnauthorizedClient(OAuth2Error):
    error = "unauthorized_client"


class EmailTaken(Exception):
    """An account with this email (compared case-insensitively) already exists."""


class RetryLater(OAuth2Error):
    """An OAuth2 error that says when to try again (`Retry-After`, in seconds)."""

    def __init__(self, description: str, *, retry_after: int) -> None:
        super().__init__(description)
        self.retry_after = retry_after


class SlowDown(RetryLater):
    """Too many failed logins for this account or address: answered 429 with Retry-After.

    `slow_down` is the registered OAuth error code (RFC 8628 §3.5) for "poll less often".
    """

    error = "slow_down"
    status_code = 429


class TemporarilyUnavailable(RetryLater):
    """The server sheds the request (too much password hashing queued): 503, Retry-After."""

    error = "temporarily_unavailable"
    status_code = 503


class TryAgainLater(Exception):
    """Refused before any work was done; the client may retry after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Throttled(TryAgainLater):
    """Over a rate limit. `limit` names which (for the audit log)."""

    def __init__(self, message: str, *, limit: str, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.limit = limit


class Overloaded(TryAgainLater):
    """Too many password hashes already queued: shed this request instead of queueing it."""


class WrongPassword(Exception):
    """The current password given to confirm a change is not the account's."""


class PasswordChangedMeanwhile(Exception):
    """Another request replaced the password hash between checking and changing it."""


class SessionNotFound(Exception):
    """No live session with that id belongs to the caller (another user's looks the same)."""
