"""Request hardening: caps on header and body size, who may read /metrics, an app without
its docs."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authsvc.client_ip import Network, client_ip
from authsvc.errors import BodyTooLarge


class BodySizeLimitMiddleware:
    """Answer 413 to a body over `max_bytes` before anything parses it.

    A declared `Content-Length` over the limit is refused without reading the body (the
    server guarantees a body is as long as declared). A body without one (chunked) is
    read here up to the limit, then handed on, so no parser ever sees more than
    `max_bytes`. Auth requests are small, so holding one in memory costs little.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return

        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away: let the app see that
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = BodyTooLarge(f"The request body must be at most {self.max_bytes} bytes")
        response = JSONResponse(
            error.body(),
            status_code=error.spec.status,
            headers={"Connection": "close"},  # the rest of the body is not read
        )
        await response(scope, receive, send)


class HeaderSizeLimitMiddleware:
    """Answer 431 to a request whose line and headers exceed `max_bytes` together.

    `authsvc serve` already refuses (400) a head once more than `max_bytes` of it is
    buffered incomplete, which bounds the memory a connection holds; but a head that
    arrives in one read (up to 64 KiB) is parsed whole. This makes the limit exact for
    whatever reaches the app.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _head_size(scope) > self.max_bytes:
            response = JSONResponse(
                {"detail": f"The request line and headers must be at most {self.max_bytes} bytes"},
                status_code=431,
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _head_size(scope: Scope) -> int:
    """The size of the request line and headers as sent (`name: value\r\n` each)."""
    path = scope.get("raw_path") or scope["path"].encode()
    line = len(scope["method"]) + len(path) + 12  # " HTTP/1.1\r\n"
    query = scope.get("query_string") or b""
    headers = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
    return line + len(query) + 1 + headers + 2


def only_from(
    networks: Sequence[Network] | None, *, trusted_proxies: Sequence[Network], detail: str
) -> Callable[[Request], None]:
    """A route dependency: 403 with `detail` unless the client (as the trusted proxies
    report it; a trusted proxy's own address is not enough) is in `networks`. None lets
    anyone in."""

    def check(request: Request) -> None:
        if networks is None:
            return
        ip = client_ip(
            request.client.host if request.client else None,
            request.headers.getlist("x-forwarded-for"),
            trusted_proxies,
        )
        try:
            address = ipaddress.ip_address(ip or "")
        except ValueError:
            address = None  # no address (a Unix socket): not one of the networks
        if address is None or not any(address in network for network in networks):
            raise HTTPException(status_code=403, detail=detail)

    return check


def fastapi_without_docs(*, static_url: str | None = None, **kwargs: Any) -> FastAPI:
    """The app without /docs, /redoc and /openapi.json (AUTHSVC_DOCS_ENABLED=false).

    Takes the arguments `FastAPIOffline` takes, so the factory can pick either.
    """
    del static_url  # no docs, so no docs assets either
    return FastAPI(docs_url=None, redoc_url=None, openapi_url=None, **kwargs)
