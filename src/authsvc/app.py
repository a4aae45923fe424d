"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from authsvc import __version__
from authsvc.api import admin, auth, health, metrics, oauth, root, users, wellknown
from authsvc.api.errors import add_exception_handlers
from authsvc.api.token import token_router
from authsvc.config import Settings
from authsvc.hardening import (
    BodySizeLimitMiddleware,
    HeaderSizeLimitMiddleware,
    fastapi_without_docs,
    only_from,
)
from authsvc.housekeeping import purge_periodically
from authsvc.middleware import RequestContextMiddleware, SecurityHeadersMiddleware
from authsvc.oauth.grants import Grant
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


def create_app(settings: Settings, *, grants: Sequence[Callable[[Runtime], Grant]] = ()) -> FastAPI:
    """The app. `grants` adds grant types to the built-in ones: each is made from the
    app's runtime (for its database, minter and audit) and registered before the token
    endpoint is documented."""
    runtime = Runtime.build(settings)
    for make_grant in grants:
        runtime.grants.register(make_grant(runtime))
    runtime.grants.freeze()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # One dummy verify before serving: passlib makes its dummy hash on the first, which
        # would make the first unknown-email login slower than a wrong password.
        await runtime.hasher.dummy_verify()
        purge = None
        if settings.session_purge_interval_seconds:
            purge = asyncio.create_task(
                purge_periodically(
                    runtime.sessions,
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
    app.include_router(token_router(runtime.grants))
    app.include_router(oauth.router)
    app.include_router(users.router)
    app.include_router(admin.router)
    app.include_router(wellknown.router)
    if settings.legacy_routes:
        from authsvc.api import legacy

        app.include_router(legacy.router)

    add_exception_handlers(app)
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
