"""Domain errors. They carry no HTTP; `app.py` maps each to its response."""

from __future__ import annotations


class OAuth2Error(Exception):
    """An RFC 6749 §5.2 error: `error` is the registered code, the message says what to fix."""

    error = "invalid_request"

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


class EmailTaken(Exception):
    """An account with this email (compared case-insensitively) already exists."""
