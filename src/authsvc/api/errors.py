"""The error table (`authsvc.errors`) over HTTP: one handler renders every error, the
OAuth endpoints' route class puts outages in RFC 6749's words, and `responses(...)`
documents a route's errors in OpenAPI from the same entries."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from authsvc.errors import (
    BadRequest,
    BearerError,
    DatabaseUnavailable,
    InsufficientScope,
    InvalidBody,
    InvalidToken,
    MethodNotAllowed,
    NotAuthenticated,
    NotFound,
    Overloaded,
    ServiceError,
    SlowDown,
    TemporarilyUnavailable,
    Throttled,
)
from authsvc.schemas import ErrorBody, OAuth2ErrorBody, ValidationErrorBody

logger = logging.getLogger("authsvc")

Responses = dict[int | str, dict[str, Any]]
Documented = type[ServiceError] | ServiceError  # an instance: a route-specific message

_BY_STATUS: dict[int, type[ServiceError]] = {400: BadRequest, 404: NotFound, 405: MethodNotAllowed}


def headers(error: ServiceError) -> dict[str, str]:
    out: dict[str, str] = {}
    if error.retry_after is not None:
        out["Retry-After"] = str(error.retry_after)
    if isinstance(error, BearerError):
        out["WWW-Authenticate"] = challenge(error)
    return out


def render(error: ServiceError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.spec.status, headers=headers(error))


def challenge(error: BearerError) -> str:
    """RFC 6750 §3: the WWW-Authenticate challenge of a bearer error."""
    if isinstance(error, InvalidToken):
        params = {"error": "invalid_token", "error_description": error.reason}
    elif isinstance(error, InsufficientScope):
        params = {"error": "insufficient_scope", "scope": " ".join(sorted(error.required))}
    else:
        return "Bearer"
    return "Bearer " + ", ".join(f'{key}="{value}"' for key, value in params.items())


class OAuthRoute(APIRoute):
    """A route of an OAuth endpoint: what the service cannot do now is answered in RFC
    6749's shape (`slow_down`, `temporarily_unavailable`), as OAuth client libraries
    expect, instead of the API's `{"detail", "code"}`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def oauth_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except Throttled as exc:
                raise SlowDown(exc.message, retry_after=exc.retry_after) from exc
            except (Overloaded, DatabaseUnavailable) as exc:
                raise TemporarilyUnavailable(exc.message, retry_after=exc.retry_after) from exc

        return oauth_errors


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
        outage = exc if isinstance(exc, DatabaseUnavailable) else exc.__cause__
        if isinstance(outage, DatabaseUnavailable):
            logger.error("database unavailable: %s", type(outage.__cause__).__name__)
        return render(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_request: Request, exc: RequestValidationError) -> Response:
        errors = jsonable_encoder([_without_input(error) for error in exc.errors()])
        return AsciiJSONResponse(InvalidBody().body(errors), status_code=422)

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
            return JSONResponse(InvalidBody().body([error]), status_code=422)
        known = _BY_STATUS.get(exc.status_code, BadRequest)
        return JSONResponse(
            {"detail": exc.detail, "code": known.spec.code},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )


# --- OpenAPI ---------------------------------------------------------------------


def responses(*errors: Documented) -> Responses:
    """A route's `responses=`: each error's status, with an example body from the table."""
    by_status: dict[int, list[ServiceError]] = defaultdict(list)
    for documented in errors:
        error = documented if isinstance(documented, ServiceError) else _example(documented)
        by_status[error.spec.status].append(error)
    out: Responses = {}
    for status, group in sorted(by_status.items()):
        shapes = {error.spec.shape for error in group}
        if len(shapes) > 1:
            raise ValueError(f"{status}: one status, one body shape ({group})")
        model: type = OAuth2ErrorBody if shapes == {"oauth"} else ErrorBody
        if all(isinstance(error, InvalidBody) for error in group):
            model = ValidationErrorBody
        entry: dict[str, Any] = {
            "model": model,
            "description": "; or ".join(error.spec.description for error in group),
            "content": {
                "application/json": {
                    "examples": {error.spec.code: {"value": _body(error)} for error in group}
                }
            },
        }
        documented_headers = _documented_headers(group)
        if documented_headers:
            entry["headers"] = documented_headers
        out[status] = entry
    return out


def _example(error: type[ServiceError]) -> ServiceError:
    if error is InvalidToken:
        return InvalidToken("The access token has expired")
    if error is InsufficientScope:
        return InsufficientScope(frozenset({"user"}), frozenset({"user"}))
    if error is Throttled:
        return Throttled(error.spec.message, limit="", retry_after=540)
    return error()


def _body(error: ServiceError) -> dict[str, Any]:
    if isinstance(error, InvalidBody):
        return error.body([{"type": "missing", "loc": ["body", "email"], "msg": "Field required"}])
    return error.body()


def _documented_headers(group: list[ServiceError]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    retrying = [error for error in group if error.retry_after is not None]
    if retrying:
        out["Retry-After"] = {
            "description": retrying[0].spec.retry_after_meaning,
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "example": retrying[0].retry_after},
        }
    bearer = [error for error in group if isinstance(error, BearerError)]
    if bearer:
        example = max(bearer, key=lambda error: not isinstance(error, NotAuthenticated))
        out["WWW-Authenticate"] = {
            "description": "RFC 6750 §3 challenge",
            "required": True,
            "schema": {"type": "string", "example": challenge(example)},
        }
    return out
