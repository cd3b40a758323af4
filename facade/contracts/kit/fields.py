"""Field types shared by every contract's request models, each constraint written once.

Each type validates and canonicalises in one place and publishes the same rule in its JSON
schema, so the OpenAPI document and the server can never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError, core_schema

from facade.core.errors import InvalidInput
from facade.core.passwords import PasswordRule
from facade.core.targets import canonical_email, canonical_phone

#: Mainland mobile as clients type it: optional +86/86 and separators (canonicalised on input).
PHONE_PATTERN = r"^(\+?86)?[ -]?1[3-9][0-9]([ -]?[0-9]){8}$"
CODE_PATTERN = r"^[0-9]{6}$"
#: Keycloak's username rule (user-profile.json: 3..255, no prohibited characters) as we accept it.
USERNAME_PATTERN = r"^[A-Za-z0-9_.@-]{3,255}$"
_URL = re.compile(r"^https?://[^\s\x00-\x1f\x7f]+$")


def utf16_length(value: str) -> int:
    """Length as Keycloak (Java) counts it: UTF-16 code units, so an emoji counts 2."""
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


#: Unicode's control characters (category Cc: U+0000-U+001F, U+007F-U+009F) but the tab, and
#: surrogates (Cs): one scan in C instead of a category lookup per character, which cost about
#: a fifth of a refresh's CPU on its ~800-character token.
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")


def refuse_unsafe_text(value: str) -> str:
    """No lone surrogates (they cannot be stored or serialised) and no control characters."""
    if _UNSAFE_TEXT.search(value):
        raise PydanticCustomError("unsafe_text", "must not contain control characters")
    return value


class RequestModel(BaseModel):
    """Base of every documented request body: JSON types strictly, extra fields ignored."""

    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        frozen=True,
        json_schema_extra={"additionalProperties": True},
    )

    @field_validator("*", mode="after")
    @classmethod
    def _safe_strings(cls, value: Any) -> Any:
        return refuse_unsafe_text(value) if isinstance(value, str) else value


def _canonical(function: Any, error_type: str, message: str) -> Any:
    def validate(value: str) -> str:
        # Checked on what the client sent: canonicalising strips "13800138000\n" clean.
        refuse_unsafe_text(value)
        try:
            return str(function(value))
        except InvalidInput:
            raise PydanticCustomError(error_type, message) from None

    return validate


Phone = Annotated[
    str,
    AfterValidator(_canonical(canonical_phone, "phone", "invalid mainland China mobile number")),
    WithJsonSchema({"type": "string", "pattern": PHONE_PATTERN, "examples": ["13800138000"]}),
]
"""A mainland China mobile number, canonicalised to 11 digits."""

Email = Annotated[
    str,
    AfterValidator(_canonical(canonical_email, "email", "invalid email address")),
    WithJsonSchema(
        {"type": "string", "format": "email", "maxLength": 254, "examples": ["user@example.com"]}
    ),
]
"""An email address, lower-cased as a whole."""

Code = Annotated[
    str,
    AfterValidator(lambda value: _match(value, CODE_PATTERN, "code", "must be 6 digits")),
    WithJsonSchema({"type": "string", "pattern": CODE_PATTERN, "examples": ["123456"]}),
]
"""A 6-digit verification code."""

Username = Annotated[
    str,
    AfterValidator(
        lambda value: _match(
            value, USERNAME_PATTERN, "username", "3-255 letters, digits, '_', '.', '-' or '@'"
        )
    ),
    WithJsonSchema({"type": "string", "pattern": USERNAME_PATTERN, "examples": ["testuser"]}),
]
"""A username Keycloak accepts (it stores usernames lower-cased)."""

HttpUrl = Annotated[
    str,
    AfterValidator(
        lambda value: _match_url(value),
    ),
    WithJsonSchema({"type": "string", "format": "uri", "maxLength": 1000, "pattern": "^https?://"}),
]
"""An http(s) URL without whitespace or control characters, at most 1000 characters."""


@dataclass(frozen=True)
class Bounded:
    """``Annotated[str, Bounded(64)]``: text of at most ``max_length`` characters as Keycloak
    counts them (UTF-16 units), and at least ``min_length``."""

    max_length: int
    min_length: int = 0

    def check(self, value: str) -> str:
        length = utf16_length(value)
        if length < self.min_length or length > self.max_length:
            raise PydanticCustomError(
                "string_length",
                "must be {min} to {max} characters",
                {"min": self.min_length, "max": self.max_length},
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        json_schema: dict[str, Any] = {"type": "string", "maxLength": self.max_length}
        if self.min_length:
            json_schema["minLength"] = self.min_length
        return json_schema


@dataclass(frozen=True)
class Rule:
    """``Annotated[str, Rule(STRONG_RULE)]``: a password under one contract's rule; a refusal
    has type ``weak_password``."""

    rule: PasswordRule

    def check(self, value: str) -> str:
        problem = self.rule.problem(value)
        if problem:
            raise PydanticCustomError("weak_password", problem)
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        json_schema: dict[str, Any] = {
            "type": "string",
            "minLength": self.rule.min_length,
            "maxLength": self.rule.max_length,
            "format": "password",
        }
        if self.rule.description:
            json_schema["description"] = self.rule.description
        return json_schema


def _match(value: str, pattern: str, error_type: str, message: str) -> str:
    if not re.fullmatch(pattern, value):
        raise PydanticCustomError(error_type, message)
    return value


def _match_url(value: str) -> str:
    if len(value) > 1000 or not _URL.match(value):
        raise PydanticCustomError("url", "must be an http(s) URL")
    return value
