"""Authorization server metadata (RFC 8414), derived from the settings and the grants."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from authsvc.oauth.grants import GrantRegistry
from authsvc.security import scopes as scope_rules

METADATA_PATH = "/.well-known/oauth-authorization-server"


@dataclass(frozen=True, slots=True)
class ServerMetadata:
    issuer: str
    token_endpoint: str
    revocation_endpoint: str
    introspection_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    scopes_supported: list[str]
    response_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    service_documentation: str | None


def server_metadata(issuer: str, grants: GrantRegistry, *, docs: bool) -> ServerMetadata:
    base = issuer.rstrip("/")
    return ServerMetadata(
        issuer=issuer,  # exactly the tokens' `iss`, as RFC 8414 §3.3 requires
        token_endpoint=f"{base}/auth/token",
        revocation_endpoint=f"{base}/auth/revoke",
        introspection_endpoint=f"{base}/auth/introspect",
        jwks_uri=f"{base}/.well-known/jwks.json",
        grant_types_supported=grants.grant_types,
        scopes_supported=list(scope_rules.SCOPES),
        # RFC 8414 requires the member; there is no authorization endpoint, hence "none".
        response_types_supported=["none"],
        token_endpoint_auth_methods_supported=["none"],  # public clients
        revocation_endpoint_auth_methods_supported=["none"],
        service_documentation=f"{base}/docs" if docs else None,
    )


def issuer_path(issuer: str) -> str:
    """The issuer's path, without slashes ("" for an issuer at the host's root)."""
    return urlsplit(issuer).path.strip("/")


def metadata_location(issuer: str) -> str:
    """RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path."""
    path = issuer_path(issuer)
    return f"{METADATA_PATH}/{path}" if path else METADATA_PATH
