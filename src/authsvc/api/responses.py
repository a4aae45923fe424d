"""OpenAPI documentation of every error a route can return, with examples."""

from __future__ import annotations

from typing import Any

from authsvc.schemas import ErrorBody, OAuth2ErrorBody

Responses = dict[int | str, dict[str, Any]]


def _json(model: type, description: str, examples: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "description": description,
        "content": {
            "application/json": {
                "examples": {name: {"value": value} for name, value in examples.items()}
            }
        },
        **extra,
    }


def _www_authenticate(example: str) -> dict[str, Any]:
    return {
        "headers": {
            "WWW-Authenticate": {
                "description": "RFC 6750 §3 challenge",
                "required": True,
                "schema": {"type": "string", "example": example},
            }
        }
    }


BEARER_ERRORS: Responses = {
    401: _json(
        ErrorBody,
        "No access token, or one that is invalid, expired, revoked or of a disabled account",
        {
            "missing": {"detail": "Not authenticated: send 'Authorization: Bearer <access token>'"},
            "expired": {
                "detail": "The access token has expired; log in again or refresh the token"
            },
        },
        **_www_authenticate('Bearer error="invalid_token"'),
    ),
    403: _json(
        ErrorBody,
        "The access token lacks a scope this route needs",
        {"insufficient_scope": {"detail": "This token lacks the scope(s): user"}},
        **_www_authenticate('Bearer error="insufficient_scope", scope="user"'),
    ),
}

TOKEN_ERRORS: Responses = {
    400: _json(
        OAuth2ErrorBody,
        "RFC 6749 §5.2 error",
        {
            "invalid_grant": {
                "error": "invalid_grant",
                "error_description": "Incorrect email or password",
            },
            "invalid_request": {
                "error": "invalid_request",
                "error_description": "Missing parameter: password",
            },
            "invalid_scope": {
                "error": "invalid_scope",
                "error_description": "Scope not allowed: admin. Request a subset of: user",
            },
            "unsupported_grant_type": {
                "error": "unsupported_grant_type",
                "error_description": "Unsupported grant_type 'implicit'; use 'password' or "
                "'refresh_token'",
            },
        },
    ),
}

EMAIL_TAKEN: Responses = {
    409: _json(
        ErrorBody,
        "An account with this email already exists",
        {"email_taken": {"detail": "An account with this email already exists; log in instead"}},
    ),
}


def _retry_after(description: str, example: int) -> dict[str, Any]:
    return {
        "headers": {
            "Retry-After": {
                "description": description,
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "example": example},
            }
        }
    }


BODY_TOO_LARGE: Responses = {
    413: _json(
        ErrorBody,
        "The request body is larger than the configured limit (AUTHSVC_MAX_BODY_BYTES)",
        {"too_large": {"detail": "The request body must be at most 65536 bytes"}},
    ),
}

TOKEN_THROTTLED: Responses = {
    429: _json(
        OAuth2ErrorBody,
        "Too many failed logins for this account from this address, from this address, or "
        "for this account. Checked before the password is, so a throttled try costs nothing.",
        {
            "slow_down": {
                "error": "slow_down",
                "error_description": "Too many failed logins for this account from this "
                "address; retry in a while",
            }
        },
        **_retry_after("Seconds until another login may be tried", 540),
    ),
    503: _json(
        OAuth2ErrorBody,
        "Too many password checks already queued (load shedding); retry after the delay",
        {
            "temporarily_unavailable": {
                "error": "temporarily_unavailable",
                "error_description": "The server is busy checking other passwords; retry shortly",
            }
        },
        **_retry_after("Seconds after which the queue has likely drained", 2),
    ),
}

REGISTER_THROTTLED: Responses = {
    429: _json(
        ErrorBody,
        "Too many registrations from this address",
        {
            "throttled": {
                "detail": "Too many registrations from this address; retry in a while",
            }
        },
        **_retry_after("Seconds until another registration may be tried", 1800),
    ),
    503: _json(
        ErrorBody,
        "Too many password hashes already queued (load shedding), or the database is down",
        {
            "overloaded": {"detail": "The server is busy checking other passwords; retry shortly"},
            "database": {"detail": "The database is unavailable; retry shortly"},
        },
        **_retry_after("Seconds to wait before retrying", 2),
    ),
}

TOKEN_PARAMETER_ERRORS: Responses = {
    400: _json(
        OAuth2ErrorBody,
        "RFC 6749 §5.2 error: a malformed request, or a token of another client",
        {
            "invalid_request": {
                "error": "invalid_request",
                "error_description": "Missing parameter: token",
            },
            "unauthorized_client": {
                "error": "unauthorized_client",
                "error_description": "The token was issued to another client",
            },
        },
    ),
}

SESSION_NOT_FOUND: Responses = {
    404: _json(
        ErrorBody,
        "None of your live sessions has this id (another user's session is not found either)",
        {"not_found": {"detail": "You have no live session with this id"}},
    ),
}

DATABASE_UNAVAILABLE: Responses = {
    503: _json(
        ErrorBody,
        "The database is unavailable",
        {"database": {"detail": "The database is unavailable; retry shortly"}},
        **_retry_after("Seconds to wait before retrying", 5),
    ),
}

PASSWORD_CHANGE_ERRORS: Responses = {
    400: _json(
        ErrorBody,
        "The current password is wrong; nothing was changed",
        {
            "wrong_password": {
                "detail": "The current password is incorrect; nothing was changed",
            }
        },
    ),
    429: _json(
        ErrorBody,
        "Too many wrong passwords for this account (counted with failed logins)",
        {
            "throttled": {
                "detail": "Too many failed logins for this account from this address; "
                "retry in a while",
            }
        },
        **_retry_after("Seconds until another try", 540),
    ),
    409: _json(
        ErrorBody,
        "Another request changed the password at the same moment; nothing was changed",
        {
            "changed_meanwhile": {
                "detail": "The password was changed by another request at the same time; "
                "nothing was changed by this one: retry with the password now in force",
            }
        },
    ),
    **BODY_TOO_LARGE,
    503: REGISTER_THROTTLED[503],
}
