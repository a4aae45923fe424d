"""OAuth endpoints' forms, parsed the RFC 6749 §3.2 way: form-encoded, no parameter
twice, an empty value counts as absent. Parsed by hand rather than with `Form()` so that
every malformed request gets the RFC's 400 `invalid_request`, never FastAPI's 422."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from authsvc.api.deps import RuntimeDep
from authsvc.errors import InvalidRequest
from authsvc.oauth.clients import MAX_CLIENT_ID_LENGTH
from authsvc.oauth.grants import GrantRegistry
from authsvc.schemas import TokenParameter

FormModel = TypeVar("FormModel", bound=BaseModel)


async def read_form(request: Request, names: frozenset[str]) -> dict[str, str]:
    """The parameters in `names` that were sent with a value (others are ignored)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidRequest("Send the parameters as application/x-www-form-urlencoded")
    try:
        form = await request.form()
    except Exception as exc:  # any parser failure is the client's malformed body
        raise InvalidRequest("The request body is not a valid form") from exc
    values: dict[str, str] = {}
    for key, value in form.multi_items():
        if key not in names:
            continue
        if key in values:
            raise InvalidRequest(f"Parameter {key!r} must not be given more than once")
        if not isinstance(value, str):
            raise InvalidRequest(f"Parameter {key!r} must be text, not a file")
        values[key] = value
    return {key: value for key, value in values.items() if value}


def form_model(model: type[FormModel]) -> Callable[[Request], Awaitable[FormModel]]:
    """A dependency parsing an OAuth endpoint's form into `model`."""
    names = frozenset(model.model_fields)

    async def parse(request: Request) -> FormModel:
        values = await read_form(request, names)
        try:
            return model(**values)
        except ValidationError as exc:  # only a required parameter can be wrong here
            missing = ", ".join(str(error["loc"][0]) for error in exc.errors())
            raise InvalidRequest(f"Missing parameter: {missing}") from None

    return parse


async def token_form(request: Request, runtime: RuntimeDep) -> dict[str, str]:
    """The token endpoint's form: the parameters of every registered grant."""
    return await read_form(request, runtime.grants.parameter_names())


TokenForm = Annotated[dict[str, str], Depends(token_form)]

# The form of /auth/revoke and /auth/introspect.
TokenParameterForm = Annotated[TokenParameter, Depends(form_model(TokenParameter))]


def token_form_schema(grants: GrantRegistry) -> dict[str, Any]:
    """The token endpoint's form in OpenAPI, derived from the registered grants."""
    properties: dict[str, Any] = {
        "grant_type": {
            "type": "string",
            "enum": grants.grant_types,
            "description": f"`{grants.default}` when omitted." if grants.default else "",
        },
    }
    for grant in grants:
        for parameter in grant.parameters:
            properties.setdefault(
                parameter.name, {"type": "string", "description": parameter.description}
            )
    properties["scope"] = {
        "type": "string",
        "description": "Space-separated scopes; omitted means all that are granted.",
    }
    properties["client_id"] = {
        "type": "string",
        "maxLength": MAX_CLIENT_ID_LENGTH,
        "description": f"Optional public client id: up to {MAX_CLIENT_ID_LENGTH} printable "
        "ASCII characters.",
    }
    return {"type": "object", "properties": properties}


def form_body(schema: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` documenting a form that FastAPI cannot see (parsed by hand)."""
    content = {"application/x-www-form-urlencoded": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}
