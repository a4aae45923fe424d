"""Where the signing keys come from: the settings, key files, or a development key.

The pure key handling (parsing, checking, thumbprints, the JWKS) is `security/keys.py`;
this module is the part that reads settings and files.
"""

from __future__ import annotations

import logging
from pathlib import Path

from authsvc.config import ASYMMETRIC_ALGORITHMS, Settings, development_file, resolve_jwt_secret
from authsvc.security.keys import (
    KEY_SETTING,
    MAX_PATH_LENGTH,
    KeyConfigError,
    KeySet,
    SharedSecret,
    SigningKey,
    TokenKeys,
    generate_private_key_pem,
    parse_pem_keys,
    reject_duplicates,
)

logger = logging.getLogger("authsvc")


def resolve_token_keys(settings: Settings) -> TokenKeys:
    """The configured keys; in development without any, one generated once and kept on disk.

    The development key's file is named after the algorithm, so switching algorithm
    never loads a key of the wrong type.
    """
    algorithm = settings.jwt_algorithm
    if algorithm not in ASYMMETRIC_ALGORITHMS:
        if settings.jwt_private_keys is not None:
            logger.warning("%s is ignored: AUTHSVC_JWT_ALGORITHM is %s", KEY_SETTING, algorithm)
        return SharedSecret(algorithm=algorithm, secret=resolve_jwt_secret(settings))
    if settings.jwt_private_keys is not None:
        configured = settings.jwt_private_keys.get_secret_value()
        return KeySet(algorithm=algorithm, keys=load_keys(configured, algorithm))
    filename = f".authsvc-jwt-key-{algorithm.lower()}.pem"
    pem = development_file(
        settings,
        filename,
        lambda: generate_private_key_pem(algorithm),
        what=f"{algorithm} private key",
        setting=KEY_SETTING,
    )
    return KeySet(
        algorithm=algorithm,
        keys=parse_pem_keys(pem, algorithm, source=str(settings.state_dir / filename)),
    )


def load_keys(value: str, algorithm: str) -> tuple[SigningKey, ...]:
    """Keys from PEM text, a PEM file, or a directory of `*.pem` files (in file-name order:
    the order decides which key signs)."""
    if "-----BEGIN" in value:
        if "\n" not in value and "\\n" in value:  # PEM squeezed onto one line, as in .env files
            value = value.replace("\\n", "\n")
        return parse_pem_keys(value, algorithm, source=KEY_SETTING)
    # The value may be a key in another encoding (base64 of a PEM, say): it is never
    # echoed, and only something shaped like a path is looked up as one.
    not_a_key = (
        f"{KEY_SETTING}: the value ({len(value)} characters) is neither PEM text "
        "('-----BEGIN PRIVATE KEY-----') nor the path of an existing file or directory"
    )
    candidate = value.strip()
    if not candidate or "\n" in candidate or len(candidate) > MAX_PATH_LENGTH:
        raise KeyConfigError(not_a_key)
    path = Path(candidate).expanduser()
    try:
        is_dir, is_file = path.is_dir(), path.is_file()
    except (OSError, ValueError):  # a name too long, or with NUL: not a path
        raise KeyConfigError(not_a_key) from None
    if is_dir:
        files = sorted(p for p in path.glob("*.pem") if p.is_file())
        if not files:
            raise KeyConfigError(f"{KEY_SETTING}: the directory {path} holds no *.pem files")
        keys = [key for file in files for key in _read_pem_file(file, algorithm)]
    elif is_file:
        keys = list(_read_pem_file(path, algorithm))
    else:
        raise KeyConfigError(not_a_key)
    reject_duplicates(keys)
    return tuple(keys)


def _read_pem_file(path: Path, algorithm: str) -> tuple[SigningKey, ...]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a text (PEM) file"
        raise KeyConfigError(f"{path}: cannot read it: {reason}") from None
    return parse_pem_keys(text, algorithm, source=str(path))
