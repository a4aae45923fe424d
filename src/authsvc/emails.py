"""When two email addresses are one account: the one comparison every entry point uses.

Registration validates and normalises an address (email-validator: the local part in
Unicode NFC, the domain through IDNA to its Unicode form), while a login, a password
change or a throttle key start from whatever the client typed. `email_key` maps every
spelling of an address to one key, so each of them finds the same account:

- the domain goes through IDNA (UTS #46) and back, as email-validator does it, so
  `bücher.de`, `BÜCHER.DE`, `xn--bcher-kva.de` and the decomposed `bu\u0308cher.de`
  are one domain;
- the local part is NFC-normalised, so a precomposed and a decomposed `ü` are one letter;
- both are case-folded, so `Alice@Example.com` is `alice@example.com`.

For an address registration stored (already normalised) this is the key it always had,
so stored keys stay valid. Pure functions, no I/O.
"""

from __future__ import annotations

import unicodedata

import idna


def email_key(email: str) -> str:
    """The form two emails are compared in: equal keys are one account."""
    local, at, domain = email.rpartition("@")
    if not at:
        return _fold(email)  # not an address (a login may send anything): compare as typed
    return f"{_fold(local)}@{domain_key(domain)}"


def domain_key(domain: str) -> str:
    """The domain's Unicode form, case-folded; as typed (folded) if it is not IDNA."""
    try:
        unicode_domain = idna.decode(idna.encode(domain, uts46=True))
    except (idna.IDNAError, UnicodeError, ValueError):
        return _fold(domain)
    return unicode_domain.casefold()


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def storable(text: str) -> bool:
    """PostgreSQL refuses NUL in text; no stored email has one, so a query for it finds
    nothing (and must not be sent, or it fails)."""
    return "\x00" not in text
