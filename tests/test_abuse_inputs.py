"""Hostile inputs: email spellings, whitespace in passwords, addresses from proxies."""

from __future__ import annotations

import unicodedata

import pytest

from authsvc.emails import email_key
from authsvc.security.password_policy import PasswordRejected, check_new_password
from tests.support.app import Api, AppWith
from tests.support.settings import PASSWORD

WRONG = "not the password"

# One address, spelled every way a client may type it.
BUECHER = "a@bücher.de"
BUECHER_SPELLINGS = [
    "a@xn--bcher-kva.de",  # punycode
    "A@BÜCHER.DE",  # upper case
    "a@XN--BCHER-KVA.DE",
    unicodedata.normalize("NFD", "a@bücher.de"),  # u + combining diaeresis
    unicodedata.normalize("NFD", "A@BÜCHER.DE"),
]
JUERGEN = "jürgen@example.com"
JUERGEN_SPELLINGS = [
    unicodedata.normalize("NFD", JUERGEN),
    "JÜRGEN@EXAMPLE.COM",
    unicodedata.normalize("NFD", "JÜRGEN@Example.com"),
]


@pytest.mark.parametrize(
    ("first", "second"),
    [(BUECHER, s) for s in BUECHER_SPELLINGS] + [(JUERGEN, s) for s in JUERGEN_SPELLINGS],
)
def test_every_spelling_of_one_address_has_one_key(first: str, second: str) -> None:
    assert email_key(first) == email_key(second)


@pytest.mark.parametrize(
    ("one", "other"),
    [("a@bücher.de", "b@bücher.de"), ("a@bücher.de", "a@bucher.de"), ("ü@x.de", "u@x.de")],
)
def test_different_addresses_keep_different_keys(one: str, other: str) -> None:
    assert email_key(one) != email_key(other)


@pytest.mark.parametrize("junk", ["", "@", "no-at-sign", "a@", "a@xn--zz.de", "a@" + "x" * 5000])
def test_anything_a_login_may_send_has_a_key(junk: str) -> None:
    assert isinstance(email_key(junk), str)


def test_the_key_of_a_normalised_address_is_what_registration_always_stored() -> None:
    """Keys in existing databases were `email.casefold()` of the normalised address."""
    for email in ("Alice@Example.com", "a@bücher.de", "jürgen@example.com", "x@straße.de"):
        assert email_key(email) == email.casefold()


@pytest.mark.parametrize("spelling", BUECHER_SPELLINGS)
async def test_an_account_registered_in_unicode_logs_in_with_any_spelling(
    api: Api, spelling: str
) -> None:
    assert (await api.register(BUECHER)).status_code == 201

    assert (await api.login(spelling)).status_code == 200, spelling
    assert (await api.register(spelling)).status_code == 409


async def test_an_account_registered_in_punycode_logs_in_in_unicode(api: Api) -> None:
    assert (await api.register("a@xn--bcher-kva.de")).status_code == 201

    assert (await api.login(BUECHER)).status_code == 200
    assert (await api.login("A@BÜCHER.DE")).status_code == 200


@pytest.mark.parametrize("spelling", JUERGEN_SPELLINGS)
async def test_a_composed_local_part_logs_in_decomposed_and_upper_case(
    api: Api, spelling: str
) -> None:
    assert (await api.register(JUERGEN)).status_code == 201

    assert (await api.login(spelling)).status_code == 200
    assert (await api.register(spelling)).status_code == 409


async def test_every_spelling_counts_against_one_account(app_with: AppWith) -> None:
    async with app_with(login_limit_account_ip="3/hour") as (_app, api):
        assert (await api.register(BUECHER)).status_code == 201
        for spelling in BUECHER_SPELLINGS[:3]:
            assert (await api.login(spelling, WRONG)).status_code == 400

        response = await api.login(BUECHER_SPELLINGS[3], PASSWORD)

        assert response.status_code == 429, response.text


# --- whitespace in passwords ----------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [" " * 8, "\t" * 10, " \n " * 4, "\u3000" * 8, "\u00a0" * 8],  # ideographic, no-break
)
def test_a_password_of_only_whitespace_is_refused(password: str) -> None:
    with pytest.raises(PasswordRejected, match="only spaces"):
        check_new_password(password)


@pytest.mark.parametrize(
    "password",
    ["password ", " password", "\tpassword\n", "  iloveyou  ", "pass word", "i love you"],
)
def test_a_common_password_with_spaces_around_or_inside_is_refused(password: str) -> None:
    with pytest.raises(PasswordRejected, match="most common passwords"):
        check_new_password(password)


@pytest.mark.parametrize("password", ["a       ", "       ab", "  abc1234"])
def test_spaces_at_either_end_do_not_count_towards_the_length(password: str) -> None:
    with pytest.raises(PasswordRejected, match="at least 8 characters"):
        check_new_password(password)


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("john.smith@example.com", "John Smith!!"),
        ("marta.kowalczyk@example.com", "marta  kowalczyk 2024"),
        ("marta.kowalczyk@example.com", "M a r t a K o w a l c z y k"),
        ("marta.kowalczyk@example.com", " martakowalczyk "),
        ("marta.kowalczyk@example.com", "\u3000Marta\u3000Kowalczyk\u3000"),  # ideographic
    ],
)
def test_the_email_name_rule_treats_spaces_as_separators(email: str, password: str) -> None:
    with pytest.raises(PasswordRejected, match="name part of your email"):
        check_new_password(password, email=email)


@pytest.mark.parametrize(
    "password",
    [PASSWORD, "  correct horse battery staple  ", "a few unrelated words"],
)
def test_passphrases_with_spaces_stay_accepted_unchanged(password: str) -> None:
    assert check_new_password(password, email="john.smith@example.com") is password


async def test_registration_refuses_a_common_password_with_a_trailing_space(api: Api) -> None:
    response = await api.register("alice@example.com", "password ")

    assert response.status_code == 422
    assert "most common passwords" in response.text


async def test_the_password_is_stored_exactly_as_typed_spaces_included(api: Api) -> None:
    typed = "  correct horse battery staple  "
    assert (await api.register("alice@example.com", typed)).status_code == 201

    assert (await api.login("alice@example.com", typed)).status_code == 200
    assert (await api.login("alice@example.com", typed.strip())).status_code == 400


# --- addresses from a trusted proxy ---------------------------------------------

PROXY = "203.0.113.7"  # the peer address of the test client (tests.support.app.http_client)
HOSTILE_FORWARDED_FOR = [
    "fe80::1%" + "a" * 100,  # a zone identifier of any length
    "[fe80::1%" + "b" * 100 + "]:443",
    "::ffff:192.0.2.1%eth0",
    "x" * 5000,
    ", ".join(f"2001:db8::{n:x}" for n in range(500)),
    "192.0.2.1:99999",
    "[2001:db8::1",
    "]",
    "unknown",
    "_hidden",  # an RFC 7239 obfuscated identifier
    "\x00",
    "1.2.3.4\x00",
    "",
]


async def login_via_proxy(api: Api, forwarded_for: bytes) -> int:
    data = {"grant_type": "password", "username": "alice@example.com", "password": PASSWORD}
    headers = {b"X-Forwarded-For": forwarded_for}
    response = await api.client.post("/auth/token", data=data, headers=headers)
    return response.status_code


async def test_a_long_scoped_ipv6_address_from_a_proxy_is_stored_without_its_zone(
    app_with: AppWith,
) -> None:
    """sessions.client_ip is 64 characters: PostgreSQL refused the zone with a 500."""
    async with app_with(trusted_proxies=PROXY) as (_app, api):
        tokens = await api.signed_up()
        data = {"grant_type": "password", "username": "alice@example.com", "password": PASSWORD}
        headers = {"X-Forwarded-For": "fe80::1%" + "a" * 100}

        response = await api.client.post("/auth/token", data=data, headers=headers)

        assert response.status_code == 200, response.text
        sessions = (await api.sessions(tokens["access_token"])).json()
        assert sorted(s["client_ip"] for s in sessions) == sorted([PROXY, "fe80::1"])


@pytest.mark.parametrize("forwarded_for", HOSTILE_FORWARDED_FOR)
async def test_no_forwarded_for_value_is_a_server_error(
    app_with: AppWith, forwarded_for: str
) -> None:
    """Both a failed and a correct login, on each database; `app_with` fails on any 5xx."""
    async with app_with(trusted_proxies=PROXY) as (_app, api):
        tokens = await api.signed_up()
        data = {"grant_type": "password", "username": "alice@example.com", "password": WRONG}
        header = forwarded_for.encode("latin-1")

        wrong = await api.client.post(
            "/auth/token", data=data, headers={b"X-Forwarded-For": header}
        )
        right = await login_via_proxy(api, header)

        assert wrong.status_code == 400
        assert right == 200
        sessions = (await api.sessions(tokens["access_token"])).json()
        assert all(len(s["client_ip"]) <= 64 for s in sessions)


async def test_non_latin1_bytes_from_a_proxy_are_no_server_error(app_with: AppWith) -> None:
    async with app_with(trusted_proxies=PROXY) as (_app, api):
        await api.signed_up()
        assert await login_via_proxy(api, "ä".encode() * 50) == 200
