"""One app's export, read and checked row by row (JSON Lines or CSV, the documented columns).

A row that cannot become a valid Keycloak user is a reject with its reason, found before
anything is written, so the dry run reports it too. Bulk import skips Keycloak's user-profile
validation, so the realm's rules (phone pattern, gender and member-level options, lengths) are
checked here.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from facade.core.errors import InvalidInput
from facade.core.targets import canonical_email, canonical_phone

#: The documented columns; ``legacy_id`` is the only required one.
COLUMNS = (
    "legacy_id",
    "username",
    "phone",
    "email",
    "nickname",
    "avatar",
    "gender",
    "member_level",
    "points",
    "created_at",
    "disabled",
    "password_hash",
    "hash_scheme",
    "password_salt",
    "phone_verified",
    "email_verified",
)
#: Keycloak's default ``username-prohibited-characters`` refuses these.
_USERNAME = re.compile(r"^[^<>&\"'\s$%!#?§,;:*~/\\|^=\[\]{}()\x00-\x1f\x7f]{3,255}$")
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"", "0", "false", "no", "n", "f"}
#: The apps' 0/1/2 (or names) -> what the realm stores: OIDC's ``male``/``female``, no value for
#: unknown (``facade/realm/sso.py``; member renders its codes at its edge).
_GENDERS: dict[str, str | None] = {
    "0": None,
    "1": "male",
    "2": "female",
    "unknown": None,
    "male": "male",
    "m": "male",
    "female": "female",
    "f": "female",
}
_MAX_TEXT = 255


class RowError(ValueError):
    """Why a row cannot be imported (the reason written to the rejects file)."""


@dataclass(frozen=True)
class ExportRow:
    """A checked row: canonical phone and email, attribute values as the realm stores them."""

    line: int
    legacy_id: int
    username: str | None
    phone: str | None
    email: str | None
    phone_verified: bool
    email_verified: bool
    disabled: bool
    created_ms: int | None
    attributes: Mapping[str, str]
    password_hash: str | None
    hash_scheme: str | None
    password_salt: str | None
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class BadRow:
    line: int
    legacy_id: str
    reason: str
    raw: Mapping[str, Any]


def read_export(path: Path) -> Iterator[ExportRow | BadRow]:
    """Rows of a ``.jsonl``/``.ndjson`` or ``.csv`` file (UTF-8, a BOM allowed), checked."""
    for line, raw in _raw_rows(path):
        try:
            yield parse_row(line, raw)
        except RowError as exc:
            yield BadRow(line, str(raw.get("legacy_id", "")), str(exc), raw)


def _raw_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(handle)  # columns beyond the documented ones are ignored
            for row in reader:
                yield reader.line_num, row
            return
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                value = None
            yield number, value if isinstance(value, dict) else {"_invalid": text[:80]}


def parse_row(line: int, raw: Mapping[str, Any]) -> ExportRow:
    if "_invalid" in raw:
        raise RowError("not a JSON object")
    legacy = _text(raw, "legacy_id")
    if not legacy or not legacy.isdigit() or int(legacy) <= 0 or len(legacy) > 18:
        raise RowError("legacy_id must be a positive integer")
    username = _text(raw, "username")
    if username is not None:
        username = username.lower()
        if not _USERNAME.match(username):
            raise RowError("username: 3-255 characters, no spaces or special characters")
    phone = email = None
    try:
        if (value := _text(raw, "phone")) is not None:
            phone = canonical_phone(value)
        if (value := _text(raw, "email")) is not None:
            email = canonical_email(value)
    except InvalidInput as exc:
        raise RowError(f"{exc.field}: {exc}") from None
    attributes: dict[str, str] = {}
    for column, attribute in (("nickname", "nickname"), ("avatar", "avatar")):
        if (value := _text(raw, column)) is not None:
            if len(value) > _MAX_TEXT:
                raise RowError(f"{column}: at most {_MAX_TEXT} characters")
            attributes[attribute] = value
    if (value := _text(raw, "gender")) is not None:
        if value.lower() not in _GENDERS:
            raise RowError("gender: 0, 1, 2 (or unknown, male, female)")
        if (gender := _GENDERS[value.lower()]) is not None:
            attributes["gender"] = gender
    if (value := _text(raw, "member_level")) is not None:
        if value not in {str(n) for n in range(1, 10)}:
            raise RowError("member_level: 1 to 9")
        attributes["member_level_id"] = value
    if (value := _text(raw, "points")) is not None:
        if not value.isdigit():
            raise RowError("points: a non-negative integer")
        attributes["points"] = str(int(value))
    password_hash = _text(raw, "password_hash")
    return ExportRow(
        line=line,
        legacy_id=int(legacy),
        username=username,
        phone=phone,
        email=email,
        phone_verified=_flag(raw, "phone_verified", default=True),
        email_verified=_flag(raw, "email_verified", default=False),
        disabled=_flag(raw, "disabled", default=False),
        created_ms=_created_ms(_text(raw, "created_at")),
        attributes=attributes,
        password_hash=password_hash,
        hash_scheme=_text(raw, "hash_scheme"),
        password_salt=_text(raw, "password_salt", strip=False),
        raw=raw,
    )


def _text(raw: Mapping[str, Any], column: str, *, strip: bool = True) -> str | None:
    value = raw.get(column)
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise RowError(f"{column}: control characters")
    text = text.strip() if strip else text
    return text or None


def _flag(raw: Mapping[str, Any], column: str, *, default: bool) -> bool:
    value = _text(raw, column)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise RowError(f"{column}: true or false")


def _created_ms(value: str | None) -> int | None:
    """ISO 8601 (naive means UTC+8, the apps' local time) or Unix seconds/milliseconds."""
    if value is None:
        return None
    if value.isdigit():
        number = int(value)
        return number if number > 10**11 else number * 1000
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RowError("created_at: ISO 8601 or Unix time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_CHINA)
    return int(moment.astimezone(UTC).timestamp() * 1000)


_CHINA = timezone(timedelta(hours=8))
