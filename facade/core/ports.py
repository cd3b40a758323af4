"""Protocols the core depends on; adapters implement them, tests may hand-write fakes."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Protocol

from facade.core.models import ExternalIdentity, NewUser, SignIn, TokenClaims, TokenSet, User


class IdentityProvider(Protocol):
    """Everything the core asks of Keycloak. Contracts are named by slug."""

    def create_user(self, new_user: NewUser) -> str: ...

    def get_user(self, user_id: str) -> User | None: ...

    def find_by_username(self, username: str) -> User | None: ...

    def find_by_email(self, email: str) -> User | None: ...

    def find_by_attribute(self, name: str, value: str) -> list[User]: ...

    def update_user(
        self,
        user_id: str,
        *,
        username: str | None = None,
        email: str | None = None,
        attributes: Mapping[str, str | None] | None = None,
        enabled: bool | None = None,
        email_verified: bool = True,
    ) -> User:
        """``email`` is written verified (after proof) unless ``email_verified`` is False."""
        ...

    def set_password(self, user_id: str, password: str) -> None: ...

    def has_password(self, user_id: str) -> bool: ...

    def remove_password(self, user_id: str) -> None: ...

    def all_attribute_values(self, name: str) -> list[str]: ...

    def end_session(self, session_id: str) -> None: ...

    def session_ids(self, user_id: str) -> list[str]: ...

    def logout_all_sessions(self, user_id: str) -> None: ...

    def password_grant(self, contract: str, username: str, password: str) -> TokenSet: ...

    def exchange_for_user(self, contract: str, user_id: str) -> TokenSet: ...

    def exchange_with_profile(self, contract: str, user_id: str) -> SignIn:
        """:meth:`exchange_for_user`, and the user as Keycloak issued the tokens to them."""
        ...

    def refresh(self, contract: str, refresh_token: str) -> TokenSet: ...

    def logout(self, contract: str, refresh_token: str) -> None: ...

    def verify_access_token(self, contract: str, token: str) -> TokenClaims: ...

    def verify_refresh_token(self, contract: str, token: str) -> TokenClaims: ...

    def ping(self) -> None: ...


class UserIndex(Protocol):
    """A fast map from unique attribute values (phone, uid, wechat ids) to Keycloak user ids.

    Only a cache: every hit is checked against Keycloak, every miss falls back to a Keycloak
    search, and the result repairs the entry.
    """

    def get(self, attribute: str, value: str) -> str | None: ...

    def put(self, attribute: str, value: str, user_id: str) -> None: ...

    def drop(self, attribute: str, value: str) -> None: ...


class UniqueClaims(Protocol):
    """Short exclusive claims on unique values, held while one request checks and writes."""

    def acquire(self, names: list[str], owner: str, wait_seconds: float) -> bool: ...

    def release(self, names: list[str], owner: str) -> None: ...


class UidCounter(Protocol):
    """Hands out increasing integer ids; ``None`` when it lost its state (Redis flushed)."""

    def next(self) -> int | None: ...

    def seed(self, at_least: int) -> None: ...


class ProfileCache(Protocol):
    """Cached users, dropped by every change: the facade's own writes, operators' edits (the
    admin-event follower)."""

    def get(self, user_id: str) -> User | None: ...

    def put(self, user: User) -> None:
        """Cache a user as read; a no-op while a recent :meth:`drop` holds (the read may be
        older than the change)."""
        ...

    def replace(self, user: User) -> None:
        """Cache a user as the facade itself just wrote it."""
        ...

    def drop(self, user_id: str) -> None: ...


class Revocations(Protocol):
    """Sessions ended by logout, and per-user not-before times, kept as long as tokens live."""

    def revoke_session(self, session_id: str, ttl_seconds: int) -> None: ...

    def set_not_before(self, user_id: str, timestamp: int, ttl_seconds: int) -> None: ...

    def state(self, session_id: str | None, user_id: str) -> tuple[bool, int]:
        """Whether the session was revoked, and the user's not-before time (0: none)."""
        ...

    def state_with_profile(
        self, session_id: str | None, user_id: str
    ) -> tuple[bool, int, User | None]:
        """``state`` and the user's cached profile (None: not cached) read together, so that a
        bearer check costs one round trip."""
        ...


class CodeVerifier(Protocol):
    """Checks and consumes a verification code; raises ``CodeRejected`` unless it is right."""

    def verify(
        self, contract: str, purposes: str | tuple[str, ...], target: str, code: str
    ) -> None: ...

    def held(
        self, contract: str, purposes: str | tuple[str, ...], target: str, code: str
    ) -> AbstractContextManager[None]:
        """``verify``, spending the code only when the ``with`` block succeeds."""
        ...


class WechatSessions(Protocol):
    """WeChat's ``code2Session``: a ``wx.login`` code for the user's openid and unionid."""

    def code_to_session(self, js_code: str) -> ExternalIdentity: ...
