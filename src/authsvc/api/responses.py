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
