"""Alembic migration scripts; installed as the package `authsvc.migrations`."""
