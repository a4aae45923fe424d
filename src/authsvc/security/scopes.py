"""The scopes authsvc grants, and the RFC 6749 §3.3 scope parameter."""

from __future__ import annotations

import re

from authsvc.errors import InvalidScope, UnknownScope

USER = "user"
ADMIN = "admin"
INTROSPECT = "introspect"

SCOPES: dict[str, str] = {
    USER: "Read and manage your own account",
    ADMIN: "Manage all users",
    INTROSPECT: "Ask whether other tokens are live (RFC 7662), for resource servers",
}

_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")


def parse_scope(value: str | None) -> frozenset[str] | None:
    """The set of scopes asked for, or None when the parameter is absent or empty."""
    if value is None or not value.strip():
        return None
    tokens = value.split()
    bad = [t for t in tokens if not _SCOPE_TOKEN.match(t)]
    if bad:
        raise InvalidScope(f"Malformed scope: {bad[0]!r}")
    return frozenset(tokens)


def grant(requested: frozenset[str] | None, allowed: frozenset[str]) -> frozenset[str]:
    """What to grant: all that is allowed when nothing is asked for, else a subset or an error."""
    if requested is None:
        return allowed
    excess = requested - allowed
    if excess:
        raise InvalidScope(
            f"Scope not allowed: {' '.join(sorted(excess))}. "
            f"Request a subset of: {' '.join(sorted(allowed))}"
        )
    return requested


def format_scope(scopes: frozenset[str]) -> str:
    return " ".join(sorted(scopes))


def account_scopes(scopes: frozenset[str]) -> frozenset[str]:
    """What an account given `scopes` holds: those, and `user`, which every account holds.
    Raises UnknownScope for a scope this server does not know."""
    unknown = scopes - set(SCOPES)
    if unknown:
        raise UnknownScope(unknown, frozenset(SCOPES))
    return scopes | {USER}
