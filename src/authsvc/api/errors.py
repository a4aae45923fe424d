"""The error table (`authsvc.errors`) over HTTP: one handler renders every error, and
`responses(...)` documents a route's errors in OpenAPI from the same entries."""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from authsvc.errors import (
    BearerError,
    DatabaseUnavailable,
    InsufficientScope,
    InvalidBody,
    InvalidToken,
    MethodNotAllowed,
    NotFound,
    ServiceError,
)
from authsvc.schemas import ErrorBody, OAuth2ErrorBody, ValidationErrorBody

logger = logging.getLogger("authsvc")

Responses = dict[int | str, dict[str, Any]]

_BY_STATUS: dict[int, type[ServiceError]] = {404: NotFound, 405: MethodNotAllowed}
_NOT_RFC6749_TEXT = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


def body(error: type[ServiceError] | ServiceError, detail: Any = None) -> dict[str, Any]:
    """The JSON body of an error, in its shape (API or OAuth)."""
    spec = error.spec
    message = error.message if isinstance(error, ServiceError) else spec.message
    if spec.shape == "oauth":
        return {"error": spec.code, "error_description": _rfc6749_text(message)}
    return {"detail": message if detail is None else detail, "code": spec.code}


def headers(error: ServiceError) -> dict[str, str]:
    out: dict[str, str] = {}
    retry_after = error.retry_after if error.retry_after is not None else error.spec.retry_after
    if retry_after is not None:
        out["Retry-After"] = str(retry_after)
    if isinstance(error, BearerError):
        out["WWW-Authenticate"] = _challenge(error)
    return out


def render(error: ServiceError) -> JSONResponse:
    return JSONResponse(body(error), status_code=error.spec.status, headers=headers(error))


def _challenge(error: BearerError) -> str:
    """RFC 6750 §3: the WWW-Authenticate challenge of a bearer error."""
    if isinstance(error, InvalidToken):
        params = {"error": "invalid_token", "error_description": error.reason}
    elif isinstance(error, InsufficientScope):
        params = {"error": "insufficient_scope", "scope": " ".join(sorted(error.required))}
    else:
        return "Bearer"
    return "Bearer " + ", ".join(f'{key}="{value}"' for key, value in params.items())


def _rfc6749_text(description: str) -> str:
    """RFC 6749 §5.2 allows only printable ASCII less `"` and `\\` in error_description;
    descriptions may quote what the client sent, so anything else becomes `?`."""
    return _NOT_RFC6749_TEXT.sub("?", description)


class AsciiJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: what a client sent (a lone surrogate, say) can appear
    in an error's `loc` and must not make the error response itself fail to encode."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode()


def _without_input(error: dict[str, Any]) -> dict[str, Any]:
    """FastAPI echoes each rejected value back (`input`, `ctx`); we echo none: it may be a
    password, or the whole body holding one. `loc` and `msg` say what to fix."""
    error = {key: value for key, value in error.items() if key not in ("input", "ctx")}
    if tuple(error.get("loc", ())) == ("body",) and error.get("type") == "model_attributes_type":
        error["msg"] = "Send a JSON object, with Content-Type: application/json"
    return error


def add_exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        if isinstance(exc, DatabaseUnavailable):
            logger.error("database unavailable: %s", type(exc.__cause__).__name__)
        return render(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_request: Request, exc: RequestValidationError) -> Response:
        errors = jsonable_encoder([_without_input(error) for error in exc.errors()])
        return AsciiJSONResponse(body(InvalidBody, errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc.__cause__, UnicodeDecodeError):
            # FastAPI answers a non-UTF-8 JSON body with a bare 400; answer it like any
            # other malformed JSON: 422, saying what to fix.
            error = {
                "type": "json_invalid",
                "loc": ["body"],
                "msg": "The request body must be JSON encoded as UTF-8",
                "input": None,
            }
            return JSONResponse(body(InvalidBody, [error]), status_code=422)
        known = _BY_STATUS.get(exc.status_code)
        code = known.spec.code if known else f"http_{exc.status_code}"
        return JSONResponse(
            {"detail": exc.detail, "code": code},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )


# --- OpenAPI ---------------------------------------------------------------------


def responses(*errors: type[ServiceError]) -> Responses:
    """A route's `responses=`: each error's status, with an example body from the table."""
    by_status: dict[int, list[type[ServiceError]]] = defaultdict(list)
    for error in errors:
        by_status[error.spec.status].append(error)
    documented: Responses = {}
    for status, group in sorted(by_status.items()):
        shapes = {error.spec.shape for error in group}
        if len(shapes) > 1:
            raise ValueError(f"{status}: one status, one body shape ({group})")
        model: type = OAuth2ErrorBody if shapes == {"oauth"} else ErrorBody
        if group == [InvalidBody]:
            model = ValidationErrorBody
        entry: dict[str, Any] = {
            "model": model,
            "description": "; or ".join(error.spec.description for error in group),
            "content": {
                "application/json": {
                    "examples": {error.spec.code: {"value": _example(error)} for error in group}
                }
            },
        }
        response_headers = _documented_headers(group)
        if response_headers:
            entry["headers"] = response_headers
        documented[status] = entry
    return documented


def _example(error: type[ServiceError]) -> dict[str, Any]:
    if error is InvalidBody:
        return body(error, [{"type": "missing", "loc": ["body", "email"], "msg": "Field required"}])
    return body(error)


def _documented_headers(group: list[type[ServiceError]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    retry = [error.spec.retry_after for error in group if error.spec.retry_after is not None]
    if retry:
        out["Retry-After"] = {
            "description": "Seconds to wait before retrying",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "example": retry[0]},
        }
    bearer = [error for error in group if issubclass(error, BearerError)]
    if bearer:
        out["WWW-Authenticate"] = {
            "description": "RFC 6750 §3 challenge",
            "required": True,
            "schema": {"type": "string", "example": f'Bearer error="{bearer[-1].spec.code}"'},
        }
    return out
