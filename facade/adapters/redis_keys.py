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
