"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from authsvc import __version__
from authsvc.api import auth, health, metrics, root, users, wellknown
from authsvc.config import Settings
from authsvc.errors import (
    EmailTaken,
    OAuth2Error,
    PasswordChangedMeanwhile,
    SessionNotFound,
    Throttled,
    TryAgainLater,
    WrongPassword,
)
from authsvc.hardening import (
    BodySizeLimitMiddleware,
    HeaderSizeLimitMiddleware,
    fastapi_without_docs,
    only_from,
)
from authsvc.housekeeping import purge_periodically
from authsvc.middleware import RequestContextMiddleware, SecurityHeadersMiddleware
from authsvc.runtime import Runtime

logger = logging.getLogger("authsvc")

DOCS_STATIC_URL = "/static-offline-docs"
METRICS_REFUSED = (
    "/metrics is served only to the client addresses in AUTHSVC_METRICS_ALLOWED_NETWORKS "
    "(by default in production: loopback)"
)

DESCRIPTION = """
OAuth2 authentication service: register, obtain tokens with the password grant,
keep the session with rotating refresh tokens, call protected routes with a bearer token.

**Try it here:** register with `POST /auth/register`, then press **Authorize**, enter the
email as *username* and the password, tick the scopes, and call `GET /users/me`.
"""


def create_app(settings: Settings) -> FastAPI:
    runtime = Runtime.build(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # One dummy verify before serving: passlib makes its dummy hash on the first, which
        # would make the first unknown-email login slower than a wrong password.
        await runtime.hasher.dummy_verify()
        purge = None
        if settings.session_purge_interval_seconds:
            purge = asyncio.create_task(
                purge_periodically(
                    runtime.sessionmaker,
                    interval_seconds=settings.session_purge_interval_seconds,
                    retention=timedelta(days=settings.ended_session_retention_days),
                )
            )
        try:
            yield
        finally:
            if purge is not None:
                purge.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await purge
            await runtime.aclose()

    new_app: Callable[..., FastAPI] = (
        FastAPIOffline if settings.docs_enabled else fastapi_without_docs
    )
    app = new_app(
        title="authsvc",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        static_url=DOCS_STATIC_URL,
        swagger_ui_parameters={"persistAuthorization": True},
    )
    app.state.runtime = runtime

    app.include_router(root.router)
    app.include_router(health.router)
    if runtime.metrics is not None:
        allowed = only_from(
            settings.metrics_networks,
            trusted_proxies=settings.trusted_proxies,
            detail=METRICS_REFUSED,
        )
        app.include_router(metrics.router, dependencies=[Depends(allowed)])
    app.include_router(auth.router)
    app.include_router(users.router)
    app.include_router(wellknown.router)

    _add_exception_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(HeaderSizeLimitMiddleware, max_bytes=settings.max_header_bytes)
    app.add_middleware(SecurityHeadersMiddleware, cacheable_prefixes=(DOCS_STATIC_URL,))
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,  # bearer tokens, not cookies
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestContextMiddleware, metrics=runtime.metrics)  # outermost
    return app


def create_app_from_env() -> FastAPI:
    """For `uvicorn --factory` and worker processes: settings from the environment."""
    return create_app(Settings())


def _add_exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(OAuth2Error)
    async def oauth2_error(_request: Request, exc: OAuth2Error) -> JSONResponse:
        return JSONResponse(
            {"error": exc.error, "error_description": _rfc6749_text(exc.description)},
            status_code=exc.status_code,
            headers=_retry_after(exc.retry_after),
        )

    @app.exception_handler(TryAgainLater)
    async def try_again_later(_request: Request, exc: TryAgainLater) -> JSONResponse:
        status_code = 429 if isinstance(exc, Throttled) else 503  # else: Overloaded
        return JSONResponse(
            {"detail": str(exc)}, status_code=status_code, headers=_retry_after(exc.retry_after)
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc.__cause__, UnicodeDecodeError):
            # FastAPI answers a non-UTF-8 JSON body with a bare 400; answer it like any
            # other malformed JSON: 422, saying what to fix.
            error = {
                "type": "json_invalid",
                "loc": ["body"],
                "msg": "The request body must be JSON encoded as UTF-8",
                "input": None,
            }
            return JSONResponse({"detail": [error]}, status_code=422)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_request: Request, exc: RequestValidationError) -> Response:
        errors = [_without_input(error) for error in exc.errors()]
        return AsciiJSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    @app.exception_handler(EmailTaken)
    async def email_taken(_request: Request, _exc: EmailTaken) -> JSONResponse:
        return JSONResponse(
            {"detail": "An account with this email already exists; log in instead"},
            status_code=409,
        )

    @app.exception_handler(WrongPassword)
    async def wrong_password(_request: Request, _exc: WrongPassword) -> JSONResponse:
        return JSONResponse(
            {"detail": "The current password is incorrect; nothing was changed"},
            status_code=400,
        )

    @app.exception_handler(PasswordChangedMeanwhile)
    async def password_changed_meanwhile(
        _request: Request, _exc: PasswordChangedMeanwhile
    ) -> JSONResponse:
        return JSONResponse(
            {
                "detail": "The password was changed by another request at the same time; "
                "nothing was changed by this one: retry with the password now in force"
            },
            status_code=409,
        )

    @app.exception_handler(SessionNotFound)
    async def session_not_found(_request: Request, _exc: SessionNotFound) -> JSONResponse:
        return JSONResponse({"detail": "You have no live session with this id"}, status_code=404)

    @app.exception_handler(sa_exc.OperationalError)
    @app.exception_handler(sa_exc.InterfaceError)
    @app.exception_handler(sa_exc.TimeoutError)
    # Refused, reset, timed out, or a host that does not resolve (a stopped container's
    # name): the driver raises these bare while connecting.
    @app.exception_handler(OSError)
    async def database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
        logger.error("database unavailable: %s", type(exc).__name__)
        return JSONResponse(
            {"detail": "The database is unavailable; retry shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )


_NOT_RFC6749_TEXT = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


def _rfc6749_text(description: str) -> str:
    """RFC 6749 §5.2 allows only printable ASCII less `"` and `\\` in error_description;
    descriptions may quote what the client sent, so anything else becomes `?`."""
    return _NOT_RFC6749_TEXT.sub("?", description)


def _retry_after(seconds: int | None) -> dict[str, str] | None:
    return {"Retry-After": str(seconds)} if seconds is not None else None


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
