"""Canonical phone numbers and email addresses: one stored form whatever the client typed.

Codes, rate limits and user attributes are all keyed by these forms, so ``+86 138 0013 8000``
and ``13800138000`` must land on the same key, and ``Foo@Example.com`` on ``foo@example.com``.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from facade.core.errors import InvalidInput

#: The realm's user-profile validation of the ``phone`` attribute.
MAINLAND_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
#: What a typed phone number may contain before phonenumbers reads it; phonenumbers itself would
#: also turn letters into digits (vanity numbers), which no client of ours means.
_PHONE_CHARACTERS = re.compile(r"^[\d\s+\-().]{1,32}$")
_MAX_EMAIL_LENGTH = 254


def canonical_phone(raw: str) -> str:
    """The 11-digit national form of a mainland China mobile number.

    Accepts ``+86``, ``86`` and ``0086`` prefixes, spaces, dashes and full-width digits. The range
    check is the realm's own regex rather than phonenumbers' validity table, so that a number
    Keycloak accepts is never refused here because a new prefix is missing from the metadata.
    """
    if not isinstance(raw, str) or not _PHONE_CHARACTERS.match(raw.strip()):
        raise InvalidInput("phone", "invalid phone number")
    try:
        parsed = phonenumbers.parse(raw.strip(), "CN")
    except phonenumbers.NumberParseException:
        raise InvalidInput("phone", "invalid phone number") from None
    national = str(parsed.national_number)
    if parsed.country_code != 86 or not MAINLAND_MOBILE.match(national):
        raise InvalidInput("phone", "not a mainland China mobile number")
    return national


def canonical_email(raw: str) -> str:
    """A syntactically valid address, lower-cased as a whole (no DNS look-up)."""
    if not isinstance(raw, str) or len(raw.strip()) > _MAX_EMAIL_LENGTH:
        raise InvalidInput("email", "invalid email address")
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput("email", "invalid email address") from None
    return checked.normalized.lower()


def canonical_target(raw: str) -> str:
    """A phone or an email, told apart by the ``@``: for code checks, which get no channel."""
    if isinstance(raw, str) and "@" in raw:
        return canonical_email(raw)
    return canonical_phone(raw)


def mask_phone(phone: str) -> str:
    """``13800138000`` -> ``138****8000``: for nicknames and logs."""
    if len(phone) != 11:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[7:]}"


def mask_email(email: str) -> str:
    """``alice@example.com`` -> ``a***@example.com``: for logs."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_target(target: str) -> str:
    return mask_email(target) if "@" in target else mask_phone(target)
