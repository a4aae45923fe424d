"""A site with small rate limits, reachable from any client address, on each counter
storage (this process's memory, and Redis)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support.app import Api, running_app
from tests.support.settings import make_settings

PROXY = "10.0.0.2"  # a trusted proxy, when the site sets `trusted_proxies`


@dataclass
class Site:
    app: FastAPI
    peer: Callable[..., Api]  # peer(ip, **headers): a client connecting from that address

    @property
    def hashes_run(self) -> int:
        count: int = self.app.state.runtime.hasher.hashes_run
        return count

    def via_proxy(self, client: str) -> Api:
        """A client behind the trusted proxy (set `trusted_proxies` on the site)."""
        return self.peer(PROXY, **{"X-Forwarded-For": client})


SiteFactory = Callable[..., AbstractAsyncContextManager[Site]]


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> dict[str, str]:
    """Settings for each counter storage; a key prefix of its own keeps tests apart."""
    prefix = {"throttle_key_prefix": f"test-{uuid.uuid4().hex}"}
    if request.param == "memory":
        return prefix
    return {"redis_url": request.getfixturevalue("redis_url"), **prefix}


def site_factory(database_url: str, base: dict[str, Any]) -> SiteFactory:
    """`async with factory(**settings) as site`: the app with `base` settings and these."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[Site]:
        settings = make_settings(database_url, **{**base, **overrides})
        async with running_app(settings) as app, AsyncExitStack() as stack:

            def peer(ip: str, **headers: str) -> Api:
                transport = httpx.ASGITransport(app=app, client=(ip, 40000))
                client = httpx.AsyncClient(
                    transport=transport, base_url="http://testserver", headers=headers
                )
                stack.push_async_callback(client.aclose)
                return Api(client)

            yield Site(app, peer)

    return factory
