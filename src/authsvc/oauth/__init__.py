"""The OAuth 2.0 side: grants (one module each, in a registry), token issuing, bearer
resolution, revocation (RFC 7009), introspection (RFC 7662) and metadata (RFC 8414)."""
