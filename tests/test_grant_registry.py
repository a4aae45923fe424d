"""The grant registry: the only list of grant types, which dispatch, RFC 8414 metadata and
the OpenAPI document all derive from."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from authsvc.app import create_app
from authsvc.clock import utcnow
from authsvc.config import Settings
from authsvc.domain import Origin, TokenPair
from authsvc.errors import InvalidGrant, InvalidRequest, UnsupportedGrantType
from authsvc.oauth.grants import GrantRegistry, GrantRequest, Parameter
from authsvc.oauth.minter import TokenMinter
from authsvc.repositories.users import UserRepository
from authsvc.runtime import Runtime
from tests.support.app import Api, http_client

FAKE = "urn:example:params:oauth:grant-type:magic-word"


class MagicWordGrant:
    """A test grant: the account's email and a magic word get tokens."""

    grant_type = FAKE
    parameters = (Parameter("email", "Whose tokens"), Parameter("word", "The magic word"))

    def __init__(self, runtime: Runtime) -> None:
        self._db = runtime.db
        self._minter: TokenMinter = runtime.minter

    async def exchange(self, request: GrantRequest) -> TokenPair:
        if request.parameters["word"] != "please":
            raise InvalidGrant("Say the magic word")
        async with self._db.transaction() as session:
            user = await UserRepository(session).get_by_email(request.parameters["email"])
            if user is None:
                raise InvalidGrant("No such account")
            _login, pair = await self._minter.start_session(
                session, user_id=user.id, scopes=user.scope_set, origin=request.origin, now=utcnow()
            )
        return pair


@pytest.fixture
async def magic_api(settings: Settings) -> AsyncIterator[Api]:
    """The app with one more grant, registered through the registry and nothing else."""
    app = create_app(settings, grants=[MagicWordGrant])
    async with app.router.lifespan_context(app), http_client(app) as client:
        yield Api(client)


async def test_a_registered_grant_is_dispatched_by_the_token_endpoint(magic_api: Api) -> None:
    await magic_api.register("alice@example.com")

    response = await magic_api.client.post(
        "/auth/token", data={"grant_type": FAKE, "email": "alice@example.com", "word": "please"}
    )

    assert response.status_code == 200, response.text
    assert (await magic_api.me(response.json()["access_token"])).status_code == 200
    refused = await magic_api.client.post(
        "/auth/token", data={"grant_type": FAKE, "email": "alice@example.com", "word": "now"}
    )
    assert refused.json() == {"error": "invalid_grant", "error_description": "Say the magic word"}


async def test_a_registered_grant_checks_its_required_parameters(magic_api: Api) -> None:
    response = await magic_api.client.post("/auth/token", data={"grant_type": FAKE, "word": "x"})
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Missing parameter: email",
    }


async def test_a_registered_grant_appears_in_metadata_and_openapi(magic_api: Api) -> None:
    metadata = (await magic_api.client.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["grant_types_supported"] == ["password", "refresh_token", FAKE]

    spec = (await magic_api.client.get("/openapi.json")).json()
    form = spec["paths"]["/auth/token"]["post"]["requestBody"]["content"][
        "application/x-www-form-urlencoded"
    ]["schema"]
    assert form["properties"]["grant_type"]["enum"] == ["password", "refresh_token", FAKE]
    assert {"email", "word", "username", "refresh_token"} <= set(form["properties"])


async def test_the_default_registry_offers_password_and_refresh(api: Api) -> None:
    metadata = (await api.client.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["grant_types_supported"] == ["password", "refresh_token"]


class _Echo:
    parameters = (Parameter("value", "anything", meaning="value (what to echo)"),)

    def __init__(self, grant_type: str = "echo") -> None:
        self.grant_type = grant_type

    async def exchange(self, request: GrantRequest) -> TokenPair:
        return TokenPair(request.parameters["value"], str(request.origin.client_id), 1, "")


async def test_registry_dispatch_rules() -> None:
    registry = GrantRegistry(default="echo")
    registry.register(_Echo())

    pair = await registry.exchange({"value": "v", "client_id": "app"}, Origin())
    assert (pair.access_token, pair.refresh_token) == ("v", "app")  # grant_type defaulted
    with pytest.raises(InvalidRequest, match=r"Missing parameter: value \(what to echo\)"):
        await registry.exchange({"grant_type": "echo"}, Origin())
    with pytest.raises(UnsupportedGrantType, match="use 'echo'"):
        await registry.exchange({"grant_type": "implicit"}, Origin())
    with pytest.raises(InvalidRequest, match="client_id"):
        await registry.exchange({"value": "v", "client_id": "\x01"}, Origin())
    with pytest.raises(ValueError, match="registered already"):
        registry.register(_Echo())
    registry.freeze()
    with pytest.raises(RuntimeError, match="before the app is made"):
        registry.register(_Echo("late"))


async def test_unsupported_grant_message_lists_every_grant() -> None:
    registry = GrantRegistry()
    for name in ("a", "b", "c"):
        registry.register(_Echo(name))
    with pytest.raises(UnsupportedGrantType, match="use 'a', 'b' or 'c'"):
        await registry.exchange({"grant_type": "x"}, Origin())
