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


def check_known(requested: frozenset[str] | None) -> None:
    """InvalidScope for a scope this service does not have at all: decided before any
    account is looked at, so the answer is the same for every account."""
    unknown = (requested or frozenset()) - SCOPES.keys()
    if unknown:
        raise InvalidScope(
            f"Unknown scope: {' '.join(sorted(unknown))}. "
            f"This service's scopes are: {' '.join(sorted(SCOPES))}"
        )


def narrow(requested: frozenset[str] | None, held: frozenset[str]) -> frozenset[str]:
    """What a login grants (RFC 6749 §3.3 lets the server issue less than asked): the
    requested scopes the account holds, or all it holds when nothing is asked for. When
    it holds none of those asked for, only `user`, which every account holds: never more
    than was asked for beyond that. Never an error, so that a correct password is not
    told apart by a refusal that names the account's scopes."""
    if requested is None:
        return held
    return (requested & held) or frozenset({USER})


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
