"""Export rows and hashes, without servers: what becomes a Keycloak credential, what the facade
keeps and verifies, and what is refused before anything is written."""

from __future__ import annotations

import json

import pytest

from facade.migration.hashes import convert, verify_legacy
from facade.migration.rows import RowError, parse_row
from tests.migration.conftest import legacy_hash

LEGACY = [
    "bcrypt",
    "md5(salt+password)",
    "sha1(salt+password)",
    "sha256(salt+password)",
    "sha512(salt+password)",
    "md5(password+salt)",
    "sha1(password+salt)",
    "sha256(password+salt)",
    "sha512(password+salt)",
]


@pytest.mark.parametrize("scheme", LEGACY)
def test_legacy_schemes_are_kept_and_verified_by_passlib(scheme):
    columns = legacy_hash(scheme, "Pass-word-1")
    password = convert(
        columns["password_hash"], columns.get("hash_scheme"), columns.get("password_salt")
    )
    assert password.credential is None and password.legacy
    assert verify_legacy("Pass-word-1", password.legacy)
    assert not verify_legacy("Pass-word-2", password.legacy)


@pytest.mark.parametrize(
    ("scheme", "algorithm"),
    [
        ("pbkdf2-sha256", "pbkdf2-sha256"),
        ("pbkdf2-sha512", "pbkdf2-sha512"),
        ("django-pbkdf2", "pbkdf2-sha256"),
        ("argon2", "argon2"),
    ],
)
def test_native_schemes_become_keycloak_credentials(scheme, algorithm):
    columns = legacy_hash(scheme, "Pass-word-1")
    password = convert(columns["password_hash"], columns.get("hash_scheme"), None)
    assert password.legacy is None and password.credential is not None
    data = json.loads(password.credential["credentialData"])
    assert data["algorithm"] == algorithm
    assert data["hashIterations"] == (2 if scheme == "argon2" else 1000)
    assert set(json.loads(password.credential["secretData"])) >= {"value", "salt"}


@pytest.mark.parametrize(
    ("hash_value", "scheme", "salt", "reason"),
    [
        ("abc", None, None, "unknown scheme"),
        ("$2b$04$short", None, None, "not a valid bcrypt"),
        ("00" * 16, "sha256(salt+password)", "s", "64 hex digits"),
        ("00" * 32, "sha256(salt+password)", None, "password_salt"),
        ("00" * 32, "whirlpool(password)", None, "not supported"),
    ],
)
def test_unusable_hashes_are_refused_with_the_reason(hash_value, scheme, salt, reason):
    with pytest.raises(RowError, match=reason.replace("(", r"\(")):
        convert(hash_value, scheme, salt)


def test_rows_are_canonicalised_as_the_realm_stores_them():
    row = parse_row(
        1,
        {
            "legacy_id": "42",
            "username": "Alice",
            "phone": "+86 138 0013 8000",
            "email": "Alice@Example.COM",
            "gender": "female",
            "member_level": 2,
            "points": "7",
            "created_at": "2020-01-01T08:00:00",
            "disabled": "1",
        },
    )
    assert (row.legacy_id, row.username, row.phone, row.email) == (
        42,
        "alice",
        "13800138000",
        "alice@example.com",
    )
    assert row.attributes == {"gender": "female", "member_level_id": "2", "points": "7"}
    assert row.disabled and row.phone_verified and not row.email_verified
    assert row.created_ms == 1_577_836_800_000  # 08:00 in UTC+8 is midnight UTC


@pytest.mark.parametrize(
    ("gender", "stored"),
    [("0", None), ("1", "male"), ("2", "female"), ("unknown", None), ("M", "male")],
)
def test_app_gender_codes_are_stored_as_the_realm_stores_them(gender, stored):
    """The realm keeps OIDC's ``male``/``female`` and no value for unknown."""
    attributes = parse_row(1, {"legacy_id": 1, "gender": gender}).attributes
    assert attributes.get("gender") == stored


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"legacy_id": "x"}, "legacy_id"),
        ({"legacy_id": 1, "phone": "12345"}, "phone"),
        ({"legacy_id": 1, "username": "a b"}, "username"),
        ({"legacy_id": 1, "member_level": 12}, "member_level"),
        ({"legacy_id": 1, "disabled": "maybe"}, "disabled"),
        ({"legacy_id": 1, "nickname": "a\x00b"}, "control"),
    ],
)
def test_rows_the_realm_would_refuse_are_rejected(raw, reason):
    with pytest.raises(RowError, match=reason):
        parse_row(1, raw)
