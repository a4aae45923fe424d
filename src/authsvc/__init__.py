"""authsvc: an async OAuth2 authentication service."""

__version__ = "0.1.0"
