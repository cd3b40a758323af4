"""Frozen value objects passed between the core, its adapters and the contracts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class User:
    """A Keycloak user as the core sees it: typed, with single-valued attributes."""

    id: str
    username: str
    enabled: bool = True
    email: str | None = None
    email_verified: bool = False
    first_name: str | None = None
    last_name: str | None = None
    created_at_ms: int = 0
    attributes: Mapping[str, str] = field(default_factory=dict)

    def attr(self, name: str) -> str | None:
        return self.attributes.get(name)


@dataclass(frozen=True)
class NewUser:
    """What registration hands to the identity provider, created in one call."""

    username: str
    password: str | None = None
    email: str | None = None
    email_verified: bool = False
    first_name: str | None = None
    last_name: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TokenSet:
    """Tokens Keycloak issued for one user session of one contract client."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    issued_at: int
    session_id: str | None = None
    #: Realm roles the access token carries (``admin`` for operators).
    roles: frozenset[str] = frozenset()

    @property
    def expires_at(self) -> int:
        return self.issued_at + self.expires_in


@dataclass(frozen=True)
class TokenClaims:
    """The verified claims of an access or refresh token that the core relies on."""

    subject: str
    client_id: str
    session_id: str | None
    token_id: str | None
    issued_at: int
    expires_at: int
    roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Principal:
    """The user behind a verified, unrevoked access token."""

    user: User
    claims: TokenClaims


@dataclass(frozen=True)
class SignIn:
    """A successful sign-in: who, and the tokens of the new session."""

    user: User
    tokens: TokenSet


@dataclass(frozen=True)
class Registration:
    """What a contract asks to register; phone and email arrive in canonical form."""

    username: str | None = None
    phone: str | None = None
    email: str | None = None
    password: str | None = None
    phone_verified: bool = False
    email_verified: bool = False
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Registered:
    """A user registered by a proven phone or email, and the tokens when the contract signs
    the new user in at once."""

    user: User
    tokens: TokenSet | None


@dataclass(frozen=True)
class VerifiedSignIn:
    """A sign-in by a code or WeChat: ``is_new_user`` when this very call registered the user."""

    user: User
    tokens: TokenSet
    is_new_user: bool


@dataclass(frozen=True)
class ExternalIdentity:
    """Who an outside provider (WeChat) vouches for; ``unionid`` spans a developer's apps."""

    openid: str
    unionid: str | None = None
