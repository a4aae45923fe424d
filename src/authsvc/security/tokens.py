"""Access tokens (RFC 9068 JWTs) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt

from authsvc.models import utcnow

ACCESS_TOKEN_TYP = "at+jwt"
REQUIRED_CLAIMS = ["iss", "aud", "sub", "client_id", "exp", "iat", "jti", "scope", "sid"]


class InvalidTokenError(Exception):
    """The access token cannot be trusted; the message says why, for the 401 body."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    scopes: frozenset[str]


class AccessTokenCodec:
    """Signs and verifies access tokens with one configured algorithm and nothing else."""

    def __init__(
        self, *, secret: str, algorithm: str, issuer: str, audience: str, lifetime: timedelta
    ) -> None:
        self._secret = secret
        self._algorithm = algorithm
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
        return jwt.encode(
            claims, self._secret, algorithm=self._algorithm, headers={"typ": ACCESS_TOKEN_TYP}
        )

    def decode(self, token: str) -> AccessClaims:
        try:
            decoded = jwt.api_jwt.decode_complete(
                token,
                self._secret,
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
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise InvalidTokenError("The access token is invalid") from exc


def new_refresh_token() -> str:
    """256 random bits: opaque, so it can never be mistaken for (or used as) an access token."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """Refresh tokens are high-entropy: a fast hash keeps the stored value useless to a thief."""
    return hashlib.sha256(token.encode()).hexdigest()
