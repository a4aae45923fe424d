"""Access tokens (RFC 9068 JWTs) and opaque refresh tokens."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from authsvc.clock import utcnow
from authsvc.security.keys import KeySet, TokenKeys

ACCESS_TOKEN_TYP = "at+jwt"
REQUIRED_CLAIMS = ["iss", "aud", "sub", "client_id", "exp", "iat", "jti", "scope", "sid"]


class InvalidTokenError(Exception):
    """The access token cannot be trusted; the message says why, for the 401 body."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says (the times as aware UTC datetimes)."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    scopes: frozenset[str]
    client_id: str
    token_id: str  # jti
    issued_at: datetime
    expires_at: datetime


class AccessTokenCodec:
    """Signs and verifies access tokens with one configured algorithm and nothing else.

    With a shared secret (HS*) that secret does both. With a key set (RS256, ES256,
    EdDSA) the first key signs and names itself in the header's `kid`; a token verifies
    only against the configured key its `kid` names.
    """

    def __init__(self, *, keys: TokenKeys, issuer: str, audience: str, lifetime: timedelta) -> None:
        self._keys = keys
        self._algorithm = keys.algorithm
        # The shared secret as a key PyJWT has prepared once, not on every verification.
        self._secret_key = (
            None
            if isinstance(keys, KeySet)
            else jwt.PyJWK(
                {"kty": "oct", "k": base64.urlsafe_b64encode(keys.secret.encode()).decode()},
                algorithm=keys.algorithm,
            )
        )
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime

    def encode(
        self, *, user_id: uuid.UUID, session_id: uuid.UUID, scopes: frozenset[str], client_id: str
    ) -> str:
        now = utcnow()
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "client_id": client_id,
            "iat": now,
            "exp": now + self.lifetime,
            "jti": uuid.uuid4().hex,
            "scope": " ".join(sorted(scopes)),
            "sid": str(session_id),
        }
        if isinstance(self._keys, KeySet):
            signing = self._keys.signing
            return jwt.encode(
                claims,
                signing.private_key,
                algorithm=self._algorithm,
                headers={"typ": ACCESS_TOKEN_TYP, "kid": signing.kid},
            )
        return jwt.encode(
            claims,
            self._keys.secret,
            algorithm=self._algorithm,
            headers={"typ": ACCESS_TOKEN_TYP},
        )

    def _verification_key(self, token: str) -> Any:
        """The key the token must verify against: the shared secret, or the key its `kid`
        names. A `kid` is only a lookup hint: the algorithm stays the configured one."""
        if not isinstance(self._keys, KeySet):
            return self._secret_key
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise InvalidTokenError("The access token is invalid") from exc
        key = self._keys.verifying.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidTokenError(
                "The access token is signed by an unknown key (no such kid in "
                "/.well-known/jwks.json)"
            )
        return key

    def decode(self, token: str) -> AccessClaims:
        key = self._verification_key(token)
        try:
            decoded = jwt.api_jwt.decode_complete(
                token,
                key,
                algorithms=[self._algorithm],  # pinned: no "none", no algorithm confusion
                audience=self.audience,
                issuer=self.issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidTokenError("The access token has expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidTokenError("The access token is invalid") from exc
        typ = str(decoded["header"].get("typ", "")).lower()
        if typ not in (ACCESS_TOKEN_TYP, f"application/{ACCESS_TOKEN_TYP}"):
            raise InvalidTokenError("The token is not an access token")
        payload = decoded["payload"]
        try:
            return AccessClaims(
                user_id=uuid.UUID(payload["sub"]),
                session_id=uuid.UUID(payload["sid"]),
                scopes=frozenset(str(payload["scope"]).split()),
                client_id=_string(payload["client_id"]),
                token_id=_string(payload["jti"]),
                issued_at=datetime.fromtimestamp(payload["iat"], UTC),
                expires_at=datetime.fromtimestamp(payload["exp"], UTC),
            )
        except (ValueError, TypeError, AttributeError, OverflowError, OSError) as exc:
            raise InvalidTokenError("The access token is invalid") from exc


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def looks_like_access_token(token: str) -> bool:
    """A JWT has three dot-separated parts; a refresh token (base64url) has no dot."""
    return token.count(".") == 2


def new_refresh_token() -> str:
    """256 random bits: opaque, so it can never be mistaken for (or used as) an access token."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """Refresh tokens are high-entropy: a fast hash keeps the stored value useless to a thief."""
    return hashlib.sha256(token.encode()).hexdigest()
