"""The API's own errors: accounts, administration, bearer tokens, load, outages, HTTP."""

from __future__ import annotations

from authsvc.errors.base import ErrorSpec, ServiceError

# --- accounts -------------------------------------------------------------------


class EmailTaken(ServiceError):
    spec = ErrorSpec(
        "email_taken",
        409,
        "An account with this email already exists; log in instead",
        "An account with this email (in any letter case) already exists",
    )


class WrongPassword(ServiceError):
    spec = ErrorSpec(
        "wrong_password",
        400,
        "The current password is incorrect; nothing was changed",
        "The current password is wrong; nothing was changed (counted like a failed login)",
    )


class PasswordChangedMeanwhile(ServiceError):
    spec = ErrorSpec(
        "password_changed_meanwhile",
        409,
        "The password was changed by another request at the same time; nothing was "
        "changed by this one: retry with the password now in force",
        "Another request changed the password at the same moment; nothing was changed",
    )


class SessionNotFound(ServiceError):
    spec = ErrorSpec(
        "session_not_found",
        404,
        "You have no live session with this id",
        "None of your live sessions has this id (another user's session is not found either)",
    )


class UnknownScope(ServiceError):
    """For callers that bypass the API's schema (which lists the known scopes as an enum)."""

    spec = ErrorSpec(
        "unknown_scope",
        422,
        "Unknown scope: superuser. Known scopes: admin introspect user",
        "A scope this server does not know",
    )

    def __init__(self, unknown: frozenset[str], known: frozenset[str]) -> None:
        super().__init__(
            f"Unknown scope: {' '.join(sorted(unknown))}. Known scopes: {' '.join(sorted(known))}"
        )


# --- administration -------------------------------------------------------------


class UserNotFound(ServiceError):
    spec = ErrorSpec(
        "user_not_found",
        404,
        "No account has this id",
        "No account has this id (or the id is malformed)",
    )


class LastAdmin(ServiceError):
    spec = ErrorSpec(
        "last_admin",
        409,
        "This is the last active admin: grant admin to another account first",
        "The change would leave no active admin (demoting, disabling or deleting the last one)",
    )


# --- bearer tokens (RFC 6750) -------------------------------------------------------


class BearerError(ServiceError):
    """Answered with an RFC 6750 §3 `WWW-Authenticate` challenge."""


class NotAuthenticated(BearerError):
    spec = ErrorSpec(
        "not_authenticated",
        401,
        "Not authenticated: send 'Authorization: Bearer <access token>'",
        "No access token was sent",
    )


class InvalidToken(BearerError):
    spec = ErrorSpec(
        "invalid_token",
        401,
        "The access token has expired; log in again or refresh the token",
        "The access token is invalid, expired, revoked, or of a disabled account",
    )

    def __init__(self, reason: str) -> None:
        super().__init__(f"{reason}; log in again or refresh the token")
        self.reason = reason


class InsufficientScope(BearerError):
    spec = ErrorSpec(
        "insufficient_scope",
        403,
        "This token lacks the scope(s): user",
        "The access token lacks a scope this route needs",
    )

    def __init__(self, missing: frozenset[str], required: frozenset[str]) -> None:
        super().__init__(f"This token lacks the scope(s): {' '.join(sorted(missing))}")
        self.required = required


# --- load and outages -----------------------------------------------------------------


class Throttled(ServiceError):
    """Over a rate limit; `limit` names which (for the audit log)."""

    spec = ErrorSpec(
        "throttled",
        429,
        "Too many failed logins for this account from this address; retry in a while",
        "Over a rate limit (failed logins, or registrations, from this address or for this "
        "account); checked before any password is hashed, so it costs nothing",
        retry_after=540,
        retry_after_meaning="Seconds until another attempt may be made",
    )

    def __init__(self, message: str, *, limit: str, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.limit = limit


class Overloaded(ServiceError):
    """Too many password hashes already queued: shed this request instead of queueing it."""

    spec = ErrorSpec(
        "overloaded",
        503,
        "The server is busy checking other passwords; retry shortly",
        "Too many password hashes already queued (load shedding); retry after the delay",
        retry_after=2,
        retry_after_meaning="Seconds after which the queue has likely drained",
    )


class DatabaseUnavailable(ServiceError):
    spec = ErrorSpec(
        "database_unavailable",
        503,
        "The database is unavailable; retry shortly",
        "The database did not answer",
        retry_after=5,
    )


# --- the HTTP layer's own -----------------------------------------------------------


class BodyTooLarge(ServiceError):
    spec = ErrorSpec(
        "body_too_large",
        413,
        "The request body must be at most 65536 bytes",
        "The request body is larger than the configured limit (AUTHSVC_MAX_BODY_BYTES)",
    )


class InvalidBody(ServiceError):
    """A 422: its `detail` is the list of what is wrong, each with `loc` and `msg`."""

    spec = ErrorSpec(
        "invalid_body", 422, "The request is invalid", "The request body or parameters are invalid"
    )


class BadRequest(ServiceError):
    """A request the HTTP layer could not read at all (the routes' own checks say more)."""

    spec = ErrorSpec("bad_request", 400, "Bad Request", "The request could not be read")


class NotFound(ServiceError):
    spec = ErrorSpec("not_found", 404, "Not Found", "Nothing here")


class MethodNotAllowed(ServiceError):
    spec = ErrorSpec("method_not_allowed", 405, "Method Not Allowed", "Not for this method")


class InternalError(ServiceError):
    spec = ErrorSpec(
        "internal_error", 500, "Internal server error", "A bug; the log has the details"
    )
