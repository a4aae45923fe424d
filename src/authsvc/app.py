"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from authsvc import __version__
from authsvc.api import auth, health, metrics, root, users
from authsvc.config import Settings
from authsvc.errors import EmailTaken, OAuth2Error, Overloaded, Throttled
from authsvc.hardening import BodySizeLimitMiddleware, fastapi_without_docs
from authsvc.middleware import RequestContextMiddleware, SecurityHeadersMiddleware
from authsvc.runtime import Runtime

logger = logging.getLogger("authsvc")

DOCS_STATIC_URL = "/static-offline-docs"

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
        try:
            yield
        finally:
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
        app.include_router(metrics.router)
    app.include_router(auth.router)
    app.include_router(users.router)

    _add_exception_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
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
            {"error": exc.error, "error_description": exc.description},
            status_code=exc.status_code,
            headers=_retry_after(exc.retry_after),
        )

    @app.exception_handler(Throttled)
    async def throttled(_request: Request, exc: Throttled) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc)}, status_code=429, headers=_retry_after(exc.retry_after)
        )

    @app.exception_handler(Overloaded)
    async def overloaded(_request: Request, exc: Overloaded) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc)}, status_code=503, headers=_retry_after(exc.retry_after)
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
    async def invalid_body(request: Request, exc: RequestValidationError) -> Response:
        errors = [_without_secret_input(e) for e in exc.errors()]
        return await request_validation_exception_handler(request, RequestValidationError(errors))

    @app.exception_handler(EmailTaken)
    async def email_taken(_request: Request, _exc: EmailTaken) -> JSONResponse:
        return JSONResponse(
            {"detail": "An account with this email already exists; log in instead"},
            status_code=409,
        )

    @app.exception_handler(sa_exc.OperationalError)
    @app.exception_handler(sa_exc.InterfaceError)
    @app.exception_handler(sa_exc.TimeoutError)
    @app.exception_handler(ConnectionError)
    async def database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
        logger.error("database unavailable: %s", type(exc).__name__)
        return JSONResponse(
            {"detail": "The database is unavailable; retry shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": "Internal server error"}, status_code=500)


def _retry_after(seconds: int | None) -> dict[str, str] | None:
    return {"Retry-After": str(seconds)} if seconds is not None else None


def _without_secret_input(error: dict[str, Any]) -> dict[str, Any]:
    """FastAPI echoes each rejected value back as `input`: never a password, nor a whole
    body (which may hold one)."""
    loc = tuple(error.get("loc", ()))
    if loc == ("body",):
        error = {key: value for key, value in error.items() if key not in ("input", "ctx")}
        if error.get("type") == "model_attributes_type":  # a body that is not a JSON object
            error["msg"] = "Send a JSON object, with Content-Type: application/json"
        return error
    if any("password" in str(part).lower() for part in loc):
        return {key: value for key, value in error.items() if key not in ("input", "ctx")}
    return error
