"""The token endpoint's grant types (RFC 6749 §4): one class per grant, one registry.

The registry is the only list of grant types: the token endpoint dispatches through
it, RFC 8414 metadata lists `grant_types`, and the endpoint's OpenAPI form is built from
each grant's `parameters`. Adding a grant type is writing a class with `grant_type`,
`parameters` and `exchange`, and registering it (see `Runtime.build`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from authsvc.domain import Origin, TokenPair
from authsvc.errors import InvalidRequest, UnsupportedGrantType
from authsvc.oauth.clients import check_client_id

# Parameters of the token endpoint itself, whatever the grant (RFC 6749 §3.2, §3.3).
COMMON_PARAMETERS = ("grant_type", "scope", "client_id")


@dataclass(frozen=True, slots=True)
class Parameter:
    """A form parameter a grant reads."""

    name: str
    description: str
    required: bool = True
    meaning: str | None = None  # said when it is missing: "username (the account's email)"


@dataclass(frozen=True, slots=True)
class GrantRequest:
    """What a grant is given: its parameters (present ones only), the scope asked for,
    and the origin, whose `client_id` is the form's."""

    parameters: Mapping[str, str]
    scope: str | None
    origin: Origin


class Grant(Protocol):
    @property
    def grant_type(self) -> str: ...

    @property
    def parameters(self) -> tuple[Parameter, ...]: ...

    async def exchange(self, request: GrantRequest) -> TokenPair:
        """Tokens, or an OAuth2Error saying why not (Throttled, Overloaded and
        DatabaseUnavailable too: the endpoint puts those in OAuth's words)."""
        ...


class GrantRegistry:
    def __init__(self, *, default: str | None = None) -> None:
        self._grants: dict[str, Grant] = {}
        self._frozen = False
        # RFC 6749 requires grant_type; the contract lets older clients omit it for this one.
        self.default = default

    def register(self, grant: Grant) -> None:
        if self._frozen:
            raise RuntimeError("grants are registered before the app is made (create_app)")
        if grant.grant_type in self._grants:
            raise ValueError(f"grant type {grant.grant_type!r} is registered already")
        self._grants[grant.grant_type] = grant

    def freeze(self) -> None:
        """No more grants: the token endpoint's documentation is built from these."""
        self._frozen = True

    @property
    def grant_types(self) -> list[str]:
        return list(self._grants)

    def __iter__(self) -> Iterator[Grant]:
        return iter(self._grants.values())

    def parameter_names(self) -> frozenset[str]:
        """Every form parameter the endpoint reads, for any grant."""
        own = {p.name for grant in self._grants.values() for p in grant.parameters}
        return frozenset(own | set(COMMON_PARAMETERS))

    async def exchange(self, form: Mapping[str, str], origin: Origin) -> TokenPair:
        """The token endpoint (RFC 6749 §4.3, §6): dispatch on grant_type, check its
        parameters. `form` holds the parameters that were sent (none empty)."""
        grant_type = form.get("grant_type") or self.default
        client_id = form.get("client_id")
        check_client_id(client_id)
        grant = self._grants.get(grant_type or "")
        if grant is None:
            raise UnsupportedGrantType(
                f"Unsupported grant_type {grant_type!r}; use {self.choices()}"
            )
        for parameter in grant.parameters:
            if parameter.required and not form.get(parameter.name):
                raise InvalidRequest(f"Missing parameter: {parameter.meaning or parameter.name}")
        request = GrantRequest(
            parameters={p.name: form[p.name] for p in grant.parameters if p.name in form},
            scope=form.get("scope"),
            origin=replace(origin, client_id=client_id),
        )
        return await grant.exchange(request)

    def choices(self) -> str:
        """The grant types, as a sentence names them: 'a', 'b' or 'c'."""
        quoted = [f"'{grant_type}'" for grant_type in self._grants]
        if len(quoted) < 2:
            return "".join(quoted)
        return f"{', '.join(quoted[:-1])} or {quoted[-1]}"
