"""Test support by concern: settings, databases, the app over HTTP, server processes, Redis.

`tests/conftest.py` registers the fixtures defined here; tests import the helpers.
"""
