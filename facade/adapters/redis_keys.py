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

    def generation(self) -> str:
        """A random id set once; missing or replaced means Redis lost data."""
        return self.key("generation")

    def epoch(self) -> str:
        """Raised by every revocation and spent code; going back means Redis lost data."""
        return self.key("epoch")

    def profile(self, user_id: str) -> str:
        """A user as last read from Keycloak, kept for a few seconds."""
        return self.key("profile", user_id)

    def code(self, contract: str, purpose: str, target: str) -> str:
        """The HMAC and tries of one scope's live code, until it expires or is used."""
        return self.key("code", contract, purpose, target)

    def code_resend(self, contract: str, target: str) -> str:
        """Held for the resend interval after a code went to a target."""
        return self.key("code-sent", contract, target)

    def code_daily(self, contract: str, target: str) -> str:
        """Codes sent to a target today (China Standard Time); expires at midnight."""
        return self.key("code-day", contract, target)

    def rate(self, group: str, rule: str, subject: str) -> str:
        """The sliding-window log of one rate rule for one IP, target or pair."""
        return self.key("rate", group, rule, subject)

    def dev_outbox(self, target: str) -> str:
        """Development mode only: the latest messages sent to one target."""
        return self.key("dev", "outbox", target)
