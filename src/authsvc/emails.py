"""How emails are compared: one normalisation for every entry point."""

from __future__ import annotations


def email_key(email: str) -> str:
    """The form two emails are compared in: A@x.com and a@x.com are one account."""
    return email.casefold()


def storable(text: str) -> bool:
    """PostgreSQL refuses NUL in text; no stored email has one, so a query for it finds
    nothing (and must not be sent, or it fails)."""
    return "\x00" not in text
