"""ASGI middleware: security headers, and the per-request context (id, log, metrics)."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authsvc.errors import InternalError
from authsvc.logs import request_id
from authsvc.metrics import Metrics

access_log = logging.getLogger("authsvc.access")
error_log = logging.getLogger("authsvc.error")

_ERROR_BODY = json.dumps(InternalError().body(), separators=(",", ":")).encode()
_ERROR_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_ERROR_BODY)).encode()),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
]


class SecurityHeadersMiddleware:
    """`nosniff` everywhere; `no-store` unless the route chose its own caching.

    Tokens and account data must never sit in a browser or proxy cache (RFC 6749 §5.1).
    Static documentation assets are the exception: they are public and immutable.
    """

    def __init__(self, app: ASGIApp, *, cacheable_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.cacheable_prefixes = cacheable_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith(self.cacheable_prefixes)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if not cacheable and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
                    headers["Pragma"] = "no-cache"
            await send(message)

        await self.app(scope, receive, send_with_headers)


_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestContextMiddleware:
    """Request id (accepted from `X-Request-ID` or generated, and echoed), an access-log
    line per request, and the HTTP metrics — all labelled with the route template, not
    the raw path, so ids in URLs neither leak into logs nor explode metric labels."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics | None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        rid = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        status = 500  # what the client gets if the app fails before answering
        start = time.perf_counter()

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered here rather than by Starlette's outermost error handler, so that
            # even a 500 carries the request id and the security headers, and is logged
            # with them.
            error_log.exception("unhandled error", extra={"event": "error"})
            if started:
                raise  # too late for another answer; the server closes the connection
            status = 500
            await send_with_id(
                {"type": "http.response.start", "status": 500, "headers": _ERROR_HEADERS}
            )
            await send_with_id({"type": "http.response.body", "body": _ERROR_BODY})
        finally:
            duration = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            if self.metrics is not None:
                self.metrics.requests.labels(scope["method"], route, str(status)).inc()
                self.metrics.latency.labels(scope["method"], route).observe(duration)
            access_log.info(
                "%s %s %d",
                scope["method"],
                route,
                status,
                extra={
                    "event": "request",
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration * 1000, 2),
                    "user_id": scope.get("state", {}).get("user_id"),
                },
            )
            request_id.reset(token)
