"""Swagger UI and ReDoc work offline, and the OpenAPI document describes the auth flow."""

from __future__ import annotations

import re

from authsvc.app import create_app
from tests.support.app import Api
from tests.support.settings import make_settings


async def test_docs_page_and_every_asset_it_loads_come_from_the_service(api: Api) -> None:
    for page in ("/docs", "/redoc"):
        response = await api.client.get(page)
        assert response.status_code == 200
        assets = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', response.text)
        assert assets, f"{page} references no scripts or stylesheets"
        for url in assets:
            assert not url.startswith(("http:", "https:", "//")), f"{page} loads {url} from outside"
            asset = await api.client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 100, url


async def test_swagger_ui_is_version_5_which_renders_openapi_31(api: Api) -> None:
    bundle = await api.client.get("/static-offline-docs/swagger-ui-bundle.js")
    assert re.search(rb'"5\.\d+\.\d+"', bundle.content)
    spec = (await api.client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")


async def test_openapi_declares_the_oauth2_password_flow_with_scopes(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()

    schemes = spec["components"]["securitySchemes"]
    (scheme,) = schemes.values()
    flow = scheme["flows"]["password"]
    assert flow["tokenUrl"] == "auth/token"
    assert set(flow["scopes"]) == {"user", "admin", "introspect"}
    me = spec["paths"]["/users/me"]["get"]
    assert me["security"] == [{next(iter(schemes)): ["user"]}]
    assert {"401", "403"} <= set(me["responses"])
    token = spec["paths"]["/auth/token"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    assert "400" in token["responses"]
    assert "409" in spec["paths"]["/auth/register"]["post"]["responses"]


async def test_swagger_authorize_flow_works_as_the_browser_sends_it(api: Api) -> None:
    """What Swagger UI's Authorize button posts (form, scopes ticked), then its Try-it call."""
    await api.register("swagger@example.com")
    token = await api.client.post(
        "/auth/token",
        content="grant_type=password&username=swagger%40example.com"
        "&password=correct%20horse%20battery%20staple&scope=user",
        headers={"content-type": "application/x-www-form-urlencoded", "accept": "application/json"},
    )
    assert token.status_code == 200
    me = await api.client.get(
        "/users/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert me.status_code == 200


async def test_unknown_route_is_json_404(api: Api) -> None:
    response = await api.client.get("/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found", "code": "not_found"}


def test_every_documented_error_has_an_example() -> None:
    """So Swagger UI and generated clients can show what each error looks like."""
    spec = create_app(make_settings("sqlite+aiosqlite:///:memory:")).openapi()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and status != "422":
                    content = response["content"]["application/json"]
                    assert "example" in content or "examples" in content, (method, path, status)


def test_readme_lists_every_api_error_code() -> None:
    from pathlib import Path

    from authsvc.errors import ERRORS

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for error in ERRORS:
        if error.spec.shape == "api":
            assert f"| `{error.spec.code}` | {error.spec.status} |" in readme, error.spec.code
