"""Typed errors raised by the core and its adapters; each contract renders them its own way.

Errors are data: they carry what a contract needs to choose a status and a message (the field,
the time to wait, the part that failed) and never a pre-rendered response.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class FacadeError(Exception):
    """Base of every error a contract is expected to render.

    ``kind`` names the error type and ``variant`` (when set) the case within it (the field that
    already exists, why a code was refused): contracts' error tables are keyed by
    ``kind.variant`` first, then by ``kind``.
    """

    kind = "error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.kind)
        self.detail = detail or self.kind

    @property
    def variant(self) -> str | None:
        return None


class InvalidInput(FacadeError):
    """The request is malformed: not JSON, wrong type, missing or invalid field.

    ``errors`` lists every failing field as ``{"loc": [...], "msg": ..., "type": ...}`` (the
    shape pydantic and FastAPI use); ``field`` and ``reason`` are the first of them.
    """

    kind = "invalid_input"

    def __init__(
        self,
        field: str | None = None,
        reason: str = "invalid",
        errors: tuple[Mapping[str, Any], ...] = (),
    ) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason
        self.errors = errors or (
            {"loc": [field] if field else [], "msg": reason, "type": "value_error"},
        )

    @property
    def variant(self) -> str | None:
        return self.field


class AlreadyExists(FacadeError):
    """Another user already holds a unique value (username, email, phone, wechat id)."""

    kind = "already_exists"

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} already exists")
        self.field = field

    @property
    def variant(self) -> str | None:
        return self.field


class NotFound(FacadeError):
    """The user (or other subject) does not exist."""

    kind = "not_found"

    def __init__(self, what: str = "user") -> None:
        super().__init__(f"{what} not found")
        self.what = what

    @property
    def variant(self) -> str | None:
        return self.what


class InvalidCredentials(FacadeError):
    """Wrong password, or no such user: deliberately indistinguishable to callers."""

    kind = "invalid_credentials"


class AccountDisabled(FacadeError):
    """An operator disabled the user (or brute-force detection locked it)."""

    kind = "account_disabled"


class InvalidToken(FacadeError):
    """A bearer or refresh token is missing, malformed, expired, revoked or foreign."""

    kind = "invalid_token"

    def __init__(self, reason: str = "invalid token") -> None:
        super().__init__(reason)
        self.reason = reason


class RateLimited(FacadeError):
    """Too many requests; ``retry_after`` seconds until the next one may pass."""

    kind = "rate_limited"

    def __init__(self, retry_after: int, rule: str = "") -> None:
        super().__init__(f"rate limited{': ' + rule if rule else ''}")
        self.retry_after = max(1, int(retry_after))
        self.rule = rule


class Unavailable(FacadeError):
    """A backing service (keycloak, redis, sms, email, wechat) cannot be reached."""

    kind = "unavailable"

    def __init__(self, part: str, detail: str = "") -> None:
        super().__init__(detail or f"{part} unavailable")
        self.part = part

    @property
    def variant(self) -> str | None:
        return self.part


class ExchangeRefused(Unavailable):
    """Keycloak refused to impersonate a user: the user is disabled or gone, or the realm's
    permission is missing (one answer for all three). The sign-in reads the user to tell them
    apart; unexplained, it stays a 503."""

    def __init__(self, detail: str = "token exchange refused by keycloak") -> None:
        super().__init__("keycloak", detail)


class NotImplementedYet(FacadeError):
    """An endpoint of a mounted contract whose issue has not landed yet."""

    kind = "not_implemented"


class CodeRejected(FacadeError):
    """A verification code did not verify: ``wrong``, ``expired`` (or never sent), or
    ``too_many_tries`` (burned; a new one must be requested)."""

    kind = "code_rejected"

    def __init__(self, reason: str) -> None:
        super().__init__(f"verification code {reason}")
        self.reason = reason

    @property
    def variant(self) -> str | None:
        return self.reason


class DeliveryFailed(FacadeError):
    """No provider delivered the message: ``provider_down``, ``throttled`` or
    ``target_rejected``. No usable code is left behind."""

    kind = "delivery_failed"

    def __init__(self, channel: str, reason: str, detail: str = "") -> None:
        super().__init__(detail or f"{channel} delivery failed: {reason}")
        self.channel = channel
        self.reason = reason

    @property
    def variant(self) -> str | None:
        return self.reason


class ExternalAuthRejected(FacadeError):
    """An outside identity provider (WeChat) answered but would not vouch for the user.

    Distinct from :class:`Unavailable`: the provider is up and refused this code or this user, so
    the client must start its sign-in again rather than wait for a service to return. ``reason``
    is a stable identifier (``invalid_code``, ``code_used``, ``throttled``, ``user_blocked``,
    ``misconfigured``, ``rejected``) and ``code`` the provider's own error code, for support.
    """

    kind = "external_auth_rejected"

    def __init__(self, provider: str, code: str, reason: str) -> None:
        super().__init__(f"{provider} rejected the sign-in: {reason} ({code})")
        self.provider = provider
        self.code = code
        self.reason = reason

    @property
    def variant(self) -> str | None:
        return self.reason
