"""The shape of an entry in the error table, and the base of every error."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

Shape = Literal["api", "oauth"]


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    code: str
    status: int
    message: str  # the default `detail` / `error_description`
    description: str  # what the OpenAPI document says of it
    shape: Shape = "api"
    # Set: the response carries Retry-After, with this many seconds unless the raiser says.
    retry_after: int | None = None
    retry_after_meaning: str = "Seconds to wait before retrying"


class ServiceError(Exception):
    """A domain error with an entry in the table (`spec`); the message may be specific."""

    spec: ClassVar[ErrorSpec]

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        self.message = message if message is not None else self.spec.message
        super().__init__(self.message)
        self.retry_after = retry_after if retry_after is not None else self.spec.retry_after

    def body(self, detail: Any = None) -> dict[str, Any]:
        """The JSON body, in the error's shape; `detail` replaces the message (a 422's list)."""
        if self.spec.shape == "oauth":
            return {"error": self.spec.code, "error_description": rfc6749_text(self.message)}
        return {"detail": self.message if detail is None else detail, "code": self.spec.code}


_NOT_RFC6749_TEXT = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


def rfc6749_text(description: str) -> str:
    """RFC 6749 §5.2 allows only printable ASCII less `"` and `\\` in error_description;
    descriptions may quote what the client sent, so anything else becomes `?`."""
    return _NOT_RFC6749_TEXT.sub("?", description)
