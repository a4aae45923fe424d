"""Schemathesis against a live `authsvc serve`: no server error, every response as documented.

Each operation gets schema-valid (positive) and schema-violating (negative) requests, sent
both without credentials and with a real bearer token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.databases import BACKEND_NAMES, empty_tables
from tests.support.processes import authsvc_env, serve
from tests.support.settings import PASSWORD
from tests.test_cli import run_cli

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Per operation and mode (about 30 operations, admin ones included). The API's contract
# is the same on every database, and SQLite checks it in full; a server database gets
# fewer examples, enough to find what only it would refuse (a NUL, a 4-byte character,
# an overlong value), which keeps the suite on three databases inside its time.
EXAMPLES_ON_SQLITE = 25
EXAMPLES_ON_A_SERVER = 10


@pytest.fixture(scope="module", params=BACKEND_NAMES)
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int]]:
    """A live `authsvc serve` on each database, and how many examples to send it."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('conformance') / 'authsvc.db'}"
    else:
        url = request.getfixturevalue("server_database")(request.param)
        asyncio.run(empty_tables(url))
    # Generated requests may log out, end sessions and guess the current password; the
    # limits are lifted so that the fresh login before each example is never throttled.
    env = authsvc_env(
        url,
        AUTHSVC_LOGIN_LIMIT_ACCOUNT_IP="1000000/15 minutes",
        AUTHSVC_LOGIN_LIMIT_IP="1000000/15 minutes",
        AUTHSVC_LOGIN_LIMIT_ACCOUNT="10000000/hour",
        AUTHSVC_LEGACY_ROUTES="true",  # the old Flask app's routes are checked too
    )
    created = run_cli(
        "create-user",
        "schema@example.com",
        "--scope",
        "introspect",  # so that /auth/introspect is exercised past its scope check
        "--admin",  # and the /admin routes past theirs; as the last admin it stays
        "--password-stdin",
        env=env,
        stdin=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    with serve(env) as base_url:
        yield base_url, EXAMPLES_ON_SQLITE if request.param == "sqlite" else EXAMPLES_ON_A_SERVER


def fresh_bearer(base_url: str) -> dict[str, str]:
    """A new session for each example: an earlier one may have logged out (or ended every
    session), which would leave the rest checking nothing but 401s."""
    token = httpx.post(
        f"{base_url}/auth/token",
        data={"username": "schema@example.com", "password": PASSWORD},
    )
    token.raise_for_status()
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def has_inputs(definition: dict[str, object]) -> bool:
    return bool(definition.get("parameters") or definition.get("requestBody"))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_openapi_document(
    live_server: tuple[str, int], mode: GenerationMode
) -> None:
    base_url, examples = live_server
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), "the document has invalid parts"
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) >= 6  # guards against a vacuous pass on an empty document
    if mode is GenerationMode.NEGATIVE:  # only what has inputs can be sent invalid ones
        operations = [op for op in operations if has_inputs(op.definition.raw)]
        assert operations
    calls = 0

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case[Any]) -> None:
            nonlocal calls
            case.call_and_validate(base_url=base_url, checks=CHECKS)
            if "authorization" not in {name.lower() for name in case.headers or {}}:
                bearer = fresh_bearer(base_url)
                case.call_and_validate(base_url=base_url, headers=bearer, checks=CHECKS)
            calls += 1

        check()
    assert calls >= len(operations)
