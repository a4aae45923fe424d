"""Scope rules as pure functions: parsing the RFC 6749 §3.3 parameter, and what to grant."""

from __future__ import annotations

import pytest

from authsvc.errors import InvalidScope
from authsvc.security.scopes import check_known, format_scope, grant, narrow, parse_scope


def test_an_absent_or_blank_scope_asks_for_nothing_in_particular() -> None:
    assert parse_scope(None) is None
    assert parse_scope("   ") is None


def test_scopes_are_space_separated_and_deduplicated() -> None:
    assert parse_scope("user  admin user") == frozenset({"user", "admin"})


@pytest.mark.parametrize("value", ['us"er', "a\\b", "é"])
def test_a_scope_outside_rfc6749_characters_is_malformed(value: str) -> None:
    with pytest.raises(InvalidScope, match="Malformed scope"):
        parse_scope(value)


def test_nothing_asked_grants_everything_allowed() -> None:
    assert grant(None, frozenset({"user", "admin"})) == frozenset({"user", "admin"})


def test_a_subset_is_granted_as_asked() -> None:
    assert grant(frozenset({"user"}), frozenset({"user", "admin"})) == frozenset({"user"})


def test_more_than_allowed_is_refused_naming_what_may_be_asked() -> None:
    with pytest.raises(InvalidScope, match=r"Scope not allowed: admin\. Request a subset of: user"):
        grant(frozenset({"user", "admin"}), frozenset({"user"}))


def test_scopes_are_formatted_sorted() -> None:
    assert format_scope(frozenset({"user", "admin"})) == "admin user"


def test_a_login_narrows_to_the_scopes_the_account_holds() -> None:
    held = frozenset({"user"})
    assert narrow(frozenset({"user", "admin"}), held) == held
    assert narrow(frozenset({"admin"}), held) == held  # none held: `user` alone
    assert narrow(None, frozenset({"user", "admin"})) == frozenset({"user", "admin"})
    assert narrow(frozenset({"admin"}), frozenset({"user", "admin"})) == frozenset({"admin"})


def test_asking_for_a_scope_not_held_never_grants_one_not_asked_for() -> None:
    """An admin asking only for `introspect` gets `user`, not `admin`."""
    assert narrow(frozenset({"introspect"}), frozenset({"user", "admin"})) == frozenset({"user"})


def test_an_unknown_scope_name_is_refused_whoever_asks() -> None:
    check_known(None)
    check_known(frozenset({"user", "admin", "introspect"}))
    with pytest.raises(InvalidScope, match="Unknown scope: superuser"):
        check_known(frozenset({"user", "superuser"}))
