"""Discovery: the public signing keys (RFC 7517 JWKS) and RFC 8414 server metadata.

Both are public and change rarely, so they are cacheable (`AUTHSVC_JWKS_MAX_AGE_SECONDS`).
That max-age is also how long a new key must be published before it may sign: a verifier
may hold the old key set that long.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from authsvc.api.deps import RuntimeDep
from authsvc.errors import NotFound
from authsvc.oauth.metadata import METADATA_PATH, issuer_path, metadata_location, server_metadata
from authsvc.runtime import Runtime

router = APIRouter(tags=["discovery"])


class JsonWebKey(BaseModel):
    """A public key (RFC 7517): only public members can be stated, never a private one."""

    kty: Literal["RSA", "EC", "OKP"] = Field(examples=["OKP"])
    kid: str = Field(
        description="RFC 7638 thumbprint (SHA-256); tokens name their key with it",
        examples=["kSn1U8dFwn8V3ERp1RvmmwPP2MBB4Aoq6r6X0rVj6XM"],
    )
    alg: Literal["RS256", "ES256", "EdDSA"] = Field(examples=["EdDSA"])
    use: Literal["sig"] = "sig"
    n: str | None = Field(default=None, description="RSA modulus")
    e: str | None = Field(default=None, description="RSA exponent")
    crv: str | None = Field(default=None, description="curve: P-256 or Ed25519")
    x: str | None = Field(default=None, examples=["11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"])
    y: str | None = Field(default=None, description="EC only")


class JsonWebKeySet(BaseModel):
    """Every key a valid access token may be signed with; empty under HS* (a shared secret
    is never published)."""

    keys: list[JsonWebKey]


class AuthorizationServerMetadata(BaseModel):
    """RFC 8414 §2."""

    model_config = ConfigDict(from_attributes=True)

    issuer: str = Field(examples=["https://auth.example.com"])
    token_endpoint: str = Field(examples=["https://auth.example.com/auth/token"])
    revocation_endpoint: str = Field(examples=["https://auth.example.com/auth/revoke"])
    introspection_endpoint: str = Field(examples=["https://auth.example.com/auth/introspect"])
    jwks_uri: str = Field(examples=["https://auth.example.com/.well-known/jwks.json"])
    grant_types_supported: list[str] = Field(examples=[["password", "refresh_token"]])
    scopes_supported: list[str] = Field(examples=[["user", "admin"]])
    # RFC 8414 requires the member; there is no authorization endpoint, hence "none".
    response_types_supported: list[str] = Field(examples=[["none"]])
    token_endpoint_auth_methods_supported: list[str] = Field(examples=[["none"]])
    revocation_endpoint_auth_methods_supported: list[str] = Field(examples=[["none"]])
    service_documentation: str | None = Field(
        default=None, examples=["https://auth.example.com/docs"]
    )


def _cacheable(response: Response, runtime: Runtime) -> None:
    """Public and slow-changing: let verifiers and proxies cache it (the default is no-store)."""
    max_age = runtime.settings.jwks_max_age_seconds
    response.headers["Cache-Control"] = f"public, max-age={max_age}"


@router.get(
    "/.well-known/jwks.json",
    summary="The public keys that verify access tokens (RFC 7517 JWK set)",
    response_model=JsonWebKeySet,
    response_model_exclude_none=True,
)
async def jwks(runtime: RuntimeDep, response: Response) -> JsonWebKeySet:
    _cacheable(response, runtime)
    keys = [JsonWebKey.model_validate(jwk) for jwk in runtime.keys.public_jwks()]
    return JsonWebKeySet(keys=keys)


def _metadata(runtime: Runtime) -> AuthorizationServerMetadata:
    settings = runtime.settings
    metadata = server_metadata(settings.issuer, runtime.grants, docs=settings.docs_enabled)
    return AuthorizationServerMetadata.model_validate(metadata)


@router.get(
    METADATA_PATH,
    summary="Authorization server metadata (RFC 8414)",
    response_model=AuthorizationServerMetadata,
    response_model_exclude_none=True,
)
async def metadata(runtime: RuntimeDep, response: Response) -> AuthorizationServerMetadata:
    _cacheable(response, runtime)
    return _metadata(runtime)


@router.get(
    METADATA_PATH + "/{path:path}",
    response_model=AuthorizationServerMetadata,
    response_model_exclude_none=True,
    include_in_schema=False,  # exists only for an issuer with a path; documented above
)
async def metadata_for_issuer_path(
    path: str, runtime: RuntimeDep, response: Response
) -> AuthorizationServerMetadata:
    """RFC 8414 §3.1: for the issuer `https://host/tenant` the metadata lives at
    `/.well-known/oauth-authorization-server/tenant`."""
    expected = issuer_path(runtime.settings.issuer)
    if not expected or path.strip("/") != expected:
        where = metadata_location(runtime.settings.issuer)
        raise NotFound(f"No metadata here: this server's is at {where}")
    _cacheable(response, runtime)
    return _metadata(runtime)
