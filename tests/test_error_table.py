"""One error table: every error body has a stable code, and the OpenAPI document's
error examples are exactly the table's entries."""

from __future__ import annotations

from typing import Any

import pytest

from authsvc.api.errors import responses
from authsvc.errors import (
    ERRORS,
    EmailTaken,
    InvalidGrant,
    InvalidToken,
    ServiceError,
    SlowDown,
    Throttled,
)
from tests.support.app import Api


def test_every_code_is_unique_and_every_error_is_listed() -> None:
    codes = [error.spec.code for error in ERRORS]
    assert len(codes) == len(set(codes))

    def leaves(cls: type[ServiceError]) -> set[type[ServiceError]]:
        found = set()
        for sub in cls.__subclasses__():
            found |= leaves(sub) if sub.__subclasses__() else {sub}
        return found

    assert leaves(ServiceError) <= set(ERRORS)


def test_api_errors_carry_detail_and_code_and_oauth_errors_the_rfc6749_shape() -> None:
    assert EmailTaken().body() == {
        "detail": "An account with this email already exists; log in instead",
        "code": "email_taken",
    }
    assert InvalidGrant("Incorrect email or password").body() == {
        "error": "invalid_grant",
        "error_description": "Incorrect email or password",
    }
    assert InvalidToken("The access token has expired").body()["detail"] == (
        "The access token has expired; log in again or refresh the token"
    )


def test_error_description_is_reduced_to_rfc6749_characters() -> None:
    assert InvalidGrant('bad "quote" \\ and é').body()["error_description"] == (
        "bad ?quote? ? and ?"
    )


def test_one_status_cannot_mix_body_shapes() -> None:
    with pytest.raises(ValueError, match="429"):
        responses(Throttled, SlowDown)


def _documented_examples(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                if not status.isdigit() or int(status) < 400:
                    continue
                content = response.get("content", {}).get("application/json", {})
                for example in content.get("examples", {}).values():
                    found.append((f"{method.upper()} {path}", status, example["value"]))
    return found


async def test_every_documented_error_example_comes_from_the_table(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    by_code = {error.spec.code: error for error in ERRORS}

    examples = _documented_examples(spec)

    assert len(examples) > 40  # every route documents its errors
    for operation, status, example in examples:
        code = example.get("code", example.get("error"))
        assert code in by_code, f"{operation} {status}: {example} is not in the table"
        spec = by_code[code].spec
        assert int(status) == spec.status, f"{operation}: {code} under {status}"
        if spec.shape == "api":
            assert set(example) == {"detail", "code"}, (operation, example)
            assert isinstance(example["detail"], list if code == "invalid_body" else str)
        else:
            assert set(example) == {"error", "error_description"}, (operation, example)


async def test_every_route_documents_an_error_with_a_code(api: Api) -> None:
    """Each operation that can fail says how, with an example carrying the code."""
    spec = (await api.client.get("/openapi.json")).json()
    documented = {operation for operation, _status, _example in _documented_examples(spec)}
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method in operations
        if f"{method.upper()} {path}" not in documented
        # Public, read-only pages that answer 200 or nothing at all.
        and path not in ("/", "/healthz", "/readyz", "/metrics")
        and not path.startswith("/.well-known/")
    ]
    assert not undocumented, undocumented


async def test_non_oauth_errors_at_runtime_carry_their_code(api: Api) -> None:
    missing = await api.client.get("/users/me")
    assert missing.json()["code"] == "not_authenticated"
    invalid = await api.client.get("/users/me", headers={"Authorization": "Bearer x.y.z"})
    assert invalid.json()["code"] == "invalid_token"
    assert (await api.client.get("/nowhere")).json()["code"] == "not_found"
    unprocessable = await api.client.post("/auth/register", json={"email": "nope"})
    assert unprocessable.status_code == 422
    assert unprocessable.json()["code"] == "invalid_body"
