"""OAuth 2.0 errors (RFC 6749 §5.2 and its extensions): `spec.code` is the registered
`error` code, and the body has RFC 6749's shape."""

from __future__ import annotations

from authsvc.errors.base import ErrorSpec, ServiceError


class OAuth2Error(ServiceError):
    """An RFC 6749 §5.2 error: `spec.code` is the registered `error` code."""


class InvalidRequest(OAuth2Error):
    spec = ErrorSpec(
        "invalid_request",
        400,
        "Send the parameters as application/x-www-form-urlencoded",
        "A parameter is missing, repeated or malformed",
        shape="oauth",
    )


class InvalidGrant(OAuth2Error):
    spec = ErrorSpec(
        "invalid_grant",
        400,
        "Incorrect email or password",
        "Wrong credentials, or a refresh token that is invalid, expired or revoked",
        shape="oauth",
    )


class UnsupportedGrantType(OAuth2Error):
    spec = ErrorSpec(
        "unsupported_grant_type",
        400,
        "Unsupported grant_type 'implicit'; use 'password' or 'refresh_token'",
        "A grant type this server does not offer",
        shape="oauth",
    )


class InvalidScope(OAuth2Error):
    spec = ErrorSpec(
        "invalid_scope",
        400,
        "Unknown scope: superuser. This service's scopes are: admin introspect user",
        "A scope that is malformed or unknown (a login grants the known scopes the account "
        "holds; a refresh may not widen the session's)",
        shape="oauth",
    )


class UnauthorizedClient(OAuth2Error):
    spec = ErrorSpec(
        "unauthorized_client",
        400,
        "The token was issued to another client",
        "The token was issued to another client",
        shape="oauth",
    )


class SlowDown(OAuth2Error):
    """`slow_down` is the registered OAuth code (RFC 8628 §3.5) for "try less often"."""

    spec = ErrorSpec(
        "slow_down",
        429,
        "Too many failed logins for this account from this address; retry in a while",
        "Too many failed logins for this account from this address, from this address, or "
        "for this account. Checked before the password is, so a throttled try costs nothing.",
        shape="oauth",
        retry_after=540,
        retry_after_meaning="Seconds until another login may be tried",
    )


class TemporarilyUnavailable(OAuth2Error):
    spec = ErrorSpec(
        "temporarily_unavailable",
        503,
        "The server is busy checking other passwords; retry shortly",
        "Too many password checks already queued (load shedding), or the database is unavailable",
        shape="oauth",
        retry_after=2,
        retry_after_meaning="Seconds after which to retry",
    )
