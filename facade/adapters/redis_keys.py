"""Every Redis key the facade uses, under one namespace prefix (``FACADE_REDIS_PREFIX``).

One module names them all so that a deployment sharing a Redis can see at a glance what the
facade owns, and so that tests can isolate themselves with a prefix of their own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RedisKeys:
    prefix: str = "facade:"

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def revoked_session(self, session_id: str) -> str:
        """Marks a logged-out Keycloak session until its last token expires."""
        return self.key("revoked", "sid", session_id)

    def not_before(self, user_id: str) -> str:
        """Tokens of this user issued before the stored time are refused (password reset)."""
        return self.key("revoked", "user", user_id)

    def user_index(self, attribute: str, value: str) -> str:
        """Unique attribute value -> Keycloak user id; a cache checked on every hit."""
        return self.key("idx", attribute, value)

    def unique_claim(self, name: str) -> str:
        """Held for a few seconds while one request checks and writes a unique value."""
        return self.key("claim", name)

    def uid_counter(self) -> str:
        """The last numeric uid handed out; reseeded from Keycloak when missing."""
        return self.key("uid", "counter")

    def profile(self, user_id: str) -> str:
        """A user as last read from Keycloak, kept for a few seconds."""
        return self.key("profile", user_id)
