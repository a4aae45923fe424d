"""Signing keys: the HS* shared secret, or asymmetric keys with rotation and a JWKS.

With RS256, ES256 or EdDSA, `AUTHSVC_JWT_PRIVATE_KEYS` holds one or more private keys
(PEM text, a PEM file, or a directory of `*.pem` files taken in file-name order). The
first key signs; every key verifies. Each key is named by its RFC 7638 thumbprint, the
`kid` in token headers and in the public JWK set, so a rotation needs no key registry:
add the new key, make it first, drop the old one once its tokens have expired.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeAlias

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey: TypeAlias = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

MIN_RSA_BITS = 2048
GENERATED_RSA_BITS = 3072  # new keys get a margin over the minimum
KEY_SETTING = "AUTHSVC_JWT_PRIVATE_KEYS"
MAX_PATH_LENGTH = 1024


# RFC 7638 §3.2: the members a thumbprint covers, which are also all a public JWK needs.
_REQUIRED_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)
_KEY_TYPE_NEEDED = {
    "RS256": f"an RSA key of at least {MIN_RSA_BITS} bits",
    "ES256": "an EC key on the P-256 curve",
    "EdDSA": "an Ed25519 key",
}


class KeyConfigError(ValueError):
    """A configured key cannot be used; the message names the key's source and why."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One asymmetric key: its private half signs, its public half verifies and is published."""

    kid: str
    algorithm: str
    private_key: PrivateKey = field(repr=False)
    source: str  # where it came from, for messages and `authsvc keys list`

    @property
    def public_key(self) -> PublicKey:
        return self.private_key.public_key()

    def public_jwk(self) -> dict[str, str]:
        """RFC 7517 public JWK: the key type's public members only, never a private one."""
        return {
            **_public_members(self.public_key),
            "kid": self.kid,
            "alg": self.algorithm,
            "use": "sig",
        }


@dataclass(frozen=True, slots=True)
class SharedSecret:
    """HS*: one secret both signs and verifies, so there is nothing to publish."""

    algorithm: str
    secret: str = field(repr=False)

    def public_jwks(self) -> list[dict[str, str]]:
        return []


@dataclass(frozen=True, slots=True)
class KeySet:
    """RS256/ES256/EdDSA: the first key signs, all of them verify (looked up by `kid`)."""

    algorithm: str
    keys: tuple[SigningKey, ...]
    # kid -> public key, made once: every token check looks one up.
    verifying: Mapping[str, PublicKey] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyConfigError(f"{KEY_SETTING}: no keys")
        verifying = {key.kid: key.public_key for key in self.keys}
        object.__setattr__(self, "verifying", MappingProxyType(verifying))

    @property
    def signing(self) -> SigningKey:
        return self.keys[0]

    def public_jwks(self) -> list[dict[str, str]]:
        return [key.public_jwk() for key in self.keys]


TokenKeys: TypeAlias = SharedSecret | KeySet


def parse_pem_keys(text: str, algorithm: str, *, source: str) -> tuple[SigningKey, ...]:
    """Every private key in `text`, in order, each checked against `algorithm`."""
    blocks = list(_PEM_BLOCK.finditer(text))
    if not blocks:
        raise KeyConfigError(f"{source}: no PEM block ('-----BEGIN PRIVATE KEY-----') found")
    keys = []
    for number, block in enumerate(blocks, start=1):
        where = source if len(blocks) == 1 else f"{source} (key {number})"
        label = block.group(1)
        if "PRIVATE KEY" not in label:
            raise KeyConfigError(
                f"{where}: a {label} block; expected a private key "
                "('-----BEGIN PRIVATE KEY-----', as `authsvc keys generate` prints)"
            )
        try:
            key = serialization.load_pem_private_key(block.group(0).encode(), password=None)
        except TypeError:
            raise KeyConfigError(f"{where}: the key is encrypted; give it unencrypted") from None
        except (ValueError, UnsupportedAlgorithm):
            raise KeyConfigError(f"{where}: not a readable PEM private key") from None
        keys.append(_signing_key(key, algorithm, where))
    reject_duplicates(keys)
    return tuple(keys)


def _signing_key(key: object, algorithm: str, source: str) -> SigningKey:
    """Check the key is one `algorithm` signs with, then name it by its thumbprint."""
    checked = _check_type(key, algorithm, source)
    return SigningKey(
        kid=thumbprint(_public_members(checked.public_key())),
        algorithm=algorithm,
        private_key=checked,
        source=source,
    )


def _check_type(key: object, algorithm: str, source: str) -> PrivateKey:
    if algorithm == "RS256" and isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise KeyConfigError(
                f"{source}: an RSA key of {key.key_size} bits; RS256 needs at least {MIN_RSA_BITS}"
            )
        return key
    if (
        algorithm == "ES256"
        and isinstance(key, ec.EllipticCurvePrivateKey)
        and isinstance(key.curve, ec.SECP256R1)
    ):
        return key
    if algorithm == "EdDSA" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    needed = _KEY_TYPE_NEEDED.get(algorithm, "no private key")
    raise KeyConfigError(
        f"{source}: {_describe(key)}, but AUTHSVC_JWT_ALGORITHM={algorithm} needs {needed}"
    )


def _describe(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"an RSA key ({key.key_size} bits)"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"an EC key on the {key.curve.name} curve"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "an Ed25519 key"
    return f"a {type(key).__name__.removeprefix('_').removesuffix('PrivateKey')} key"


def reject_duplicates(keys: list[SigningKey] | tuple[SigningKey, ...]) -> None:
    seen: dict[str, str] = {}
    for key in keys:
        if key.kid in seen:
            raise KeyConfigError(f"{key.source}: the same key as {seen[key.kid]}; list it once")
        seen[key.kid] = key.source


def _public_members(key: PublicKey) -> dict[str, str]:
    """The RFC 7638 required members of a public key: exactly its public JWK parameters."""
    jwk: dict[str, Any]
    if isinstance(key, rsa.RSAPublicKey):
        jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(key, as_dict=True)
    else:
        jwk = OKPAlgorithm.to_jwk(key, as_dict=True)
    return {name: str(jwk[name]) for name in _REQUIRED_MEMBERS[jwk["kty"]]}


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url without padding): the required members
    only, in lexicographic order, as JSON without whitespace."""
    members = {name: jwk[name] for name in sorted(_REQUIRED_MEMBERS[jwk["kty"]])}
    canonical = json.dumps(members, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def generate_private_key_pem(algorithm: str) -> str:
    """A new private key for `algorithm`, as unencrypted PKCS#8 PEM."""
    key: PrivateKey
    if algorithm == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=GENERATED_RSA_BITS)
    elif algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "EdDSA":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise KeyConfigError(f"{algorithm} does not sign with a private key")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
