"""Public clients: a `client_id` is a label the client chooses (no client credentials)."""

from __future__ import annotations

import re

from authsvc.errors import InvalidRequest

MAX_CLIENT_ID_LENGTH = 200  # the sessions.client_id column
_CLIENT_ID = re.compile(rf"[\x20-\x7e]{{1,{MAX_CLIENT_ID_LENGTH}}}")  # RFC 6749 A.1: VSCHAR
CLIENT_ID_RULE = f"client_id must be 1 to {MAX_CLIENT_ID_LENGTH} printable ASCII characters"


def check_client_id(client_id: str | None) -> None:
    """InvalidRequest unless the client_id is absent or well-formed."""
    if client_id is not None and _CLIENT_ID.fullmatch(client_id) is None:
        raise InvalidRequest(CLIENT_ID_RULE)
