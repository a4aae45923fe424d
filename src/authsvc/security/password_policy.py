"""Which new passwords are accepted: NIST SP 800-63B §5.1.1.2, in one place.

Length only (8 to 1024 characters, any Unicode), no composition rules, and two blocklists:
the most common passwords, and the account's own email name. Spaces are characters like
any other, but they cannot hide a weak password: one of only whitespace is refused, the
length does not count whitespace at either end, and both blocklists see the password
trimmed and with whitespace as a separator (`"password "`, `"pass word"` and
`"John Smith!!"` for john.smith@ are refused). What is stored (hashed) is always the
password exactly as typed. Every place a password is
chosen (registration, `authsvc create-user`, a future password change) calls
`check_new_password`; the schemas call it from their validators.

The list of common passwords ships inside the package (see `common_passwords.NOTICE`):
SecLists' `10-million-password-list-top-100000.txt`, the 100,000 most common passwords
of Mark Burnett's public-domain 10 million password corpus, MIT-licensed by SecLists.
"""

from __future__ import annotations

import functools
import gzip
import re
from importlib import resources

from authsvc.security.passwords import normalize_password

MIN_LENGTH = 8
MAX_LENGTH = 1024
COMMON_PASSWORDS_FILE = "common_passwords.txt.gz"
# Shorter email names (`a@`, `bo@`) are in too many good passwords to forbid them inside one.
MIN_NAME_LENGTH_TO_MATCH_INSIDE = 4
_SEPARATORS = re.compile(r"[\s._\-+]")


class PasswordRejected(ValueError):
    """The password breaks the policy; the message says why, for the 422 body."""


@functools.cache
def common_passwords() -> frozenset[str]:
    """The blocklist, normalised like a password (NFKC) and case-folded.

    Read once per process, on first use (the app warms it at start-up): immutable
    package data, shared by every app in the process like any other constant.
    """
    data = resources.files("authsvc.security").joinpath(COMMON_PASSWORDS_FILE).read_bytes()
    lines = gzip.decompress(data).decode("utf-8").splitlines()
    return frozenset(_fold(line) for line in lines if line)


def check_new_password(password: str, *, email: str | None = None) -> str:
    """Return the password unchanged if the policy accepts it, else raise PasswordRejected.

    The checks run on the NFKC form, as it will be hashed, so what is compared is what
    will be stored; the blocklists compare case-insensitively, trimmed, and also with
    whitespace left out (the list has no entry with a space).
    """
    normalized = normalize_password(password)
    trimmed = normalized.strip()
    if normalized and not trimmed:
        raise PasswordRejected("The password must not be only spaces")
    if len(trimmed) < MIN_LENGTH:
        raise PasswordRejected(
            f"The password must be at least {MIN_LENGTH} characters long "
            "(not counting spaces at either end)"
        )
    if len(normalized) > MAX_LENGTH:
        raise PasswordRejected(f"The password must be at most {MAX_LENGTH} characters long")
    folded = _fold(trimmed)
    common = common_passwords()
    if folded in common or "".join(folded.split()) in common:
        raise PasswordRejected(
            "This password is one of the most common passwords, which attackers try first; "
            "choose another (a few unrelated words make a strong one)"
        )
    if email is not None and _contains_email_name(folded, email):
        raise PasswordRejected(
            "The password must not be or contain the name part of your email address"
        )
    return password


def _fold(text: str) -> str:
    return normalize_password(text).casefold()


def _contains_email_name(folded_password: str, email: str) -> bool:
    """True when the password is, or contains, the email's local part.

    `john.smith+shop@x` also matches `johnsmith` and `john.smith`: the tag and the
    separators are the parts a person drops when reusing their name as a password.
    """
    local = _fold(email.rpartition("@")[0] or email)
    untagged = local.split("+", 1)[0]
    names = {local, untagged, _SEPARATORS.sub("", local), _SEPARATORS.sub("", untagged)}
    bare_password = _SEPARATORS.sub("", folded_password)
    for name in filter(None, names):
        if folded_password == name or bare_password == name:
            return True
        if len(name) >= MIN_NAME_LENGTH_TO_MATCH_INSIDE and (
            name in folded_password or name in bare_password
        ):
            return True
    return False
