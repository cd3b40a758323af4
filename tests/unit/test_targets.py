"""Canonical phone numbers and emails, and their masks."""

from __future__ import annotations

import pytest

from facade.core.errors import InvalidInput
from facade.core.targets import (
    canonical_email,
    canonical_phone,
    canonical_target,
    mask_email,
    mask_phone,
)


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+8613800138000",
        "8613800138000",
        "008613800138000",
        "+86 138 0013 8000",
        "86 138-0013-8000",
        " 138 0013 8000 ",
        "(+86)13800138000",
        "１３８００１３８０００",
    ],
)
def test_every_way_of_writing_a_mobile_number_has_one_stored_form(raw):
    assert canonical_phone(raw) == "13800138000"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1380013800",
        "138001380001",
        "12345678901",
        "23800138000",
        "+1 650 253 0000",
        "+852 6123 4567",
        "1380013800O",
        "1-800-FLOWERS",
        "13800138000; drop",
        "1" * 40,
    ],
)
def test_anything_but_a_mainland_mobile_number_is_invalid_input(raw):
    with pytest.raises(InvalidInput) as invalid:
        canonical_phone(raw)
    assert invalid.value.field == "phone"


def test_a_number_the_realm_accepts_is_accepted_whatever_phonenumbers_metadata_says():
    for prefix in range(13, 20):
        assert canonical_phone(f"{prefix}912345678") == f"{prefix}912345678"


def test_emails_are_validated_and_lower_cased():
    assert canonical_email(" Alice.Smith@Example.COM ") == "alice.smith@example.com"
    for bad in ("alice", "alice@", "a b@example.com", "alice@localhost", "x@example.test"):
        with pytest.raises(InvalidInput) as invalid:
            canonical_email(bad)
        assert invalid.value.field == "email"


def test_a_target_is_an_email_when_it_has_an_at_sign():
    assert canonical_target("+86 13800138000") == "13800138000"
    assert canonical_target("Bob@Example.com") == "bob@example.com"


def test_masks_hide_the_middle_of_a_phone_and_the_local_part_of_an_email():
    assert mask_phone("13800138000") == "138****8000"
    assert mask_email("alice@example.com") == "a***@example.com"
