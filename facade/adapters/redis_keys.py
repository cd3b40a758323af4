"""Every Redis key the facade uses, under one namespace prefix (``FACADE_REDIS_PREFIX``).

One module names them all so that a deployment sharing a Redis can see at a glance what the
facade owns, and so that tests can isolate themselves with a prefix of their own.

On a Redis Cluster (``cluster=True``) the keys one script, MGET or MULTI touches together carry
a hash tag after the prefix, ``facade:{t:<target>}:code:...``, so they share a slot: a target's
codes and send counters, a subject's rate-limit logs, the generation marker and epoch. Tags are
per target, subject, user or session, so load still spreads over the masters. Elsewhere the
names stay untagged, as they always were, so an upgrade finds its live keys.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RedisKeys:
    prefix: str = "facade:"
    #: Tag keys that are used together with the same hash slot (Redis Cluster).
    cluster: bool = False

    def __post_init__(self) -> None:
        if self.cluster and ("{" in self.prefix or "}" in self.prefix):
            raise ValueError("FACADE_REDIS_PREFIX may not contain braces on a Redis Cluster")

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def tagged(self, tag: str, *parts: str) -> str:
        """``key(*parts)``, in the hash slot of ``tag`` on a Cluster."""
        if not self.cluster:
            return self.key(*parts)
        return self.prefix + "{" + tag.replace("}", "") + "}:" + ":".join(parts)

    def revoked_session(self, session_id: str) -> str:
        """Marks a logged-out Keycloak session until its last token expires."""
        return self.tagged(f"s:{session_id}", "revoked", "sid", session_id)

    def not_before(self, user_id: str) -> str:
        """Tokens of this user issued before the stored time are refused (password reset)."""
        return self.tagged(f"u:{user_id}", "revoked", "user", user_id)

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
        return self.tagged("g", "generation")

    def epoch(self) -> str:
        """Raised by every revocation and spent code; going back means Redis lost data."""
        return self.tagged("g", "epoch")

    def bearer_state_prefixes(self) -> tuple[str, ...]:
        """The prefixes of what a bearer check reads (revocations, cached profiles), plus the
        generation marker: what each process mirrors (:mod:`facade.adapters.redis_tracking`;
        never on a Cluster, so the untagged names)."""
        return (self.key("revoked", ""), self.key("profile", ""), self.generation())

    def profile(self, user_id: str) -> str:
        """A user as last read from Keycloak, kept for a few seconds."""
        return self.key("profile", user_id)

    def code(self, contract: str, purpose: str, target: str) -> str:
        """The HMAC and tries of one scope's live code, until it expires or is used."""
        return self.tagged(f"t:{target}", "code", contract, purpose, target)

    def code_resend(self, contract: str, target: str) -> str:
        """Held for the resend interval after a code went to a target."""
        return self.tagged(f"t:{target}", "code-sent", contract, target)

    def code_daily(self, contract: str, target: str) -> str:
        """Codes sent to a target today (China Standard Time); expires at midnight."""
        return self.tagged(f"t:{target}", "code-day", contract, target)

    def rate(self, group: str, rule: str, subject: str) -> str:
        """The sliding-window log of one rate rule for one IP, target or pair."""
        return self.tagged(f"r:{subject}", "rate", group, rule, subject)

    def dev_outbox(self, target: str) -> str:
        """Development mode only: the latest messages sent to one target."""
        return self.key("dev", "outbox", target)
