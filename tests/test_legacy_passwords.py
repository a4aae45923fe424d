"""The old Flask app's bcrypt hashes: checked exactly as it checked them, replaced on the
first login by a hash of the whole password (`security/passwords.py`, pure)."""

from __future__ import annotations

import bcrypt
import pytest

from authsvc.security.passwords import PasswordHasher, is_legacy_bcrypt, legacy_bcrypt_matches

LONG = "é" * 30 + "long-tail-" + "x" * 20  # 90 bytes: the first 72 end inside "x" * 20
SAME_72_BYTES = LONG[:45] + "another ending"


def old_hash(password: str, rounds: int = 4, prefix: bytes = b"2b") -> str:
    """flask_bcrypt's hash as bcrypt < 5 made it: of the first 72 bytes."""
    return bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(rounds, prefix)).decode()


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(rounds=4, workers=1)


@pytest.mark.parametrize("prefix", [b"2a", b"2b"])
def test_plain_bcrypt_hashes_are_recognised_and_ours_are_not(
    prefix: bytes, hasher: PasswordHasher
) -> None:
    assert is_legacy_bcrypt(old_hash("hunter2", prefix=prefix))
    assert is_legacy_bcrypt(old_hash("hunter2").replace("$2b$", "$2y$", 1))
    for other in (
        "$bcrypt-sha256$v=2,t=2b,r=12$n79VH.0Q2TMWmt3Oqt9uku$Kq4Noyk3094Y2QlB8NdRT8SvGiI4ft2",
        "pbkdf2:sha256:600000$salt$abc",
        old_hash("hunter2").replace("$2b$", "$2x$", 1),
        old_hash("hunter2")[:-1],
        old_hash("hunter2") + "\n",
        "",
    ):
        assert not is_legacy_bcrypt(other), other


def test_the_old_check_reads_72_bytes_as_typed() -> None:
    stored = old_hash(LONG)
    assert legacy_bcrypt_matches(LONG, stored)
    assert legacy_bcrypt_matches(SAME_72_BYTES, stored)  # what bcrypt < 5 did
    assert not legacy_bcrypt_matches(LONG[:40], stored)  # 70 bytes: short of the 72


def test_the_old_check_does_not_normalise() -> None:
    """flask_bcrypt hashed the bytes as sent; so must the check of its hashes."""
    stored = old_hash("ﬁsh and chips")  # the "ﬁ" ligature, whose NFKC form is "fi"
    assert legacy_bcrypt_matches("ﬁsh and chips", stored)
    assert not legacy_bcrypt_matches("fish and chips", stored)


@pytest.mark.parametrize("password", ["\ud800 lone surrogate", "nul\x00byte", ""])
def test_what_has_no_old_hash_never_matches(password: str) -> None:
    assert not legacy_bcrypt_matches(password, old_hash("hunter2"))


def test_an_unreadable_hash_is_no_match() -> None:
    assert not legacy_bcrypt_matches("hunter2", "$2b$04$" + "!" * 53)


async def test_a_match_is_replaced_by_a_hash_of_the_whole_password(
    hasher: PasswordHasher,
) -> None:
    ok, replacement = await hasher.verify(LONG, old_hash(LONG, rounds=12))

    assert ok
    assert replacement is not None
    assert replacement.startswith("$bcrypt-sha256$")
    assert await hasher.verify(LONG, replacement) == (True, None)
    assert (await hasher.verify(SAME_72_BYTES, replacement))[0] is False


async def test_a_wrong_password_against_an_old_hash_replaces_nothing(
    hasher: PasswordHasher,
) -> None:
    assert await hasher.verify("not hunter2", old_hash("hunter2")) == (False, None)


async def test_our_own_hashes_are_checked_as_before(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("cafe\u0301 au lait")
    assert await hasher.verify("caf\u00e9 au lait", stored) == (True, None)  # NFKC
    assert (await hasher.verify("cafe au lait", stored))[0] is False
    assert await hasher.verify("x", "not a hash at all") == (False, None)
