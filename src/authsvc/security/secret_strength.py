"""Whether a configured secret is obviously not random: a placeholder, a pattern.

Production refuses such an `AUTHSVC_JWT_SECRET` (and development warns), since anyone
who guesses the secret can sign tokens. This cannot measure randomness, only catch what
is plainly not random: one repeated character, a short repeated pattern, a run of
consecutive characters, a handful of distinct characters, or words a placeholder is made
of (`change-me`, `super-secret-jwt-key`). A secret from `secrets.token_urlsafe(48)` or
`openssl rand -hex 32` never trips these.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter

GENERATE = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
MIN_ESTIMATED_BITS = 80  # length x the entropy of its character frequencies
MIN_NON_PLACEHOLDER_CHARACTERS = 16
MAX_SEQUENTIAL_SHARE = 0.9  # of neighbouring characters one code point apart

# Words placeholders and hand-made secrets are made of (compared lower-case, letters and
# digits only), longest first. `change-me` is the value in .env.example.
_PLACEHOLDER_WORDS = sorted(
    [
        *("change", "changeme", "replace", "replaceme", "please", "placeholder", "example"),
        *("sample", "default", "dummy", "secret", "secrets", "password", "passwd"),
        *("passphrase", "token", "signing", "sign", "jwt", "hmac", "key", "keys", "your"),
        *("my", "the", "this", "that", "super", "very", "long", "strong", "random"),
        *("string", "value", "here", "insert", "put", "todo", "fixme", "test", "testing"),
        *("dev", "development", "prod", "production", "staging", "local", "authsvc"),
        *("app", "for", "and", "of", "to", "use", "only", "not", "real", "fake"),
    ],
    key=len,
    reverse=True,
)
_PLACEHOLDER = re.compile("|".join(_PLACEHOLDER_WORDS))
_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]")


def weakness(secret: str) -> str | None:
    """Why the secret is obviously not random (a phrase that follows "it"), or None."""
    if not secret:
        return "is empty"
    if _shortest_period(secret) <= len(secret) // 2:
        return "repeats a short pattern"
    steps = sum(abs(ord(a) - ord(b)) == 1 for a, b in itertools.pairwise(secret))
    if len(secret) > 1 and steps / (len(secret) - 1) >= MAX_SEQUENTIAL_SHARE:
        return "is a run of consecutive characters"
    if len(secret) * _entropy_per_character(secret) < MIN_ESTIMATED_BITS:
        return "uses too few different characters"
    alphanumeric = _NOT_ALPHANUMERIC.sub("", secret.lower())
    if len(_PLACEHOLDER.sub("", alphanumeric)) < MIN_NON_PLACEHOLDER_CHARACTERS:
        return "is made of placeholder words"
    return None


def _shortest_period(text: str) -> int:
    """The smallest p such that text[i] == text[i + p] throughout (KMP failure function)."""
    failure = [0] * len(text)
    matched = 0
    for i in range(1, len(text)):
        while matched and text[i] != text[matched]:
            matched = failure[matched - 1]
        if text[i] == text[matched]:
            matched += 1
        failure[i] = matched
    return len(text) - failure[-1]


def _entropy_per_character(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
