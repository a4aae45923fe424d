"""Redis, where the rate-limit counters of every replica meet."""

from __future__ import annotations

import os

import pytest

from tests.support.settings import IN_CI

REDIS_URL = os.environ.get("AUTHSVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis the throttling tests count in; each test uses its own key prefix.

    Skipped when it does not answer, except in CI (CI=true), where that is a failure.
    """
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"CI=true but Redis at {REDIS_URL} does not answer: {exc}")
        pytest.skip(
            f"Redis at {REDIS_URL} does not answer ({exc}); start one, or set "
            "AUTHSVC_TEST_REDIS_URL"
        )
    finally:
        client.close()
    return REDIS_URL
